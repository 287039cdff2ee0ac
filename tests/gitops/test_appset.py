"""ApplicationSet parsing, placeholders and generators; the seed's ApplicationSets render the seed's apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightdeck.gitops import appset as A
from flightdeck.gitops.appset_reconcile import render_applications
from flightdeck.gitops.poller import RepoPoller
from flightdeck.kube.manifest import ManifestError, load_text
from tests.gitops.gitrepo import TempRepo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hotrod-gitops"
EXPERT_SOLVED = Path("/work/shared/challenge/expert-solved")

APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: demo
  namespace: argocd
spec:
  generators:
    - git:
        repoURL: https://example.invalid/repo.git
        revision: HEAD
        directories:
          - path: apps/*
          - path: apps/skip
            exclude: true
  template:
    metadata:
      name: '{{path.basename}}'
    spec:
      project: default
      source:
        repoURL: https://example.invalid/repo.git
        targetRevision: HEAD
        path: '{{path}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: '{{path[1]}}'
"""


def _parse(text: str) -> A.ApplicationSetSpec:
    return A.parse(load_text(text, "appset.yaml")[0])


def test_parse_reads_generators_and_template() -> None:
    spec = _parse(APPSET)
    (gen,) = spec.generators
    assert isinstance(gen, A.GitGenerator)
    assert gen.directories == (A.PathItem("apps/*", False), A.PathItem("apps/skip", True))
    assert gen.requeue_after_seconds == 180.0
    assert spec.sync_policy == "sync"
    assert spec.namespace == "argocd"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("        revision: HEAD\n", "        revision: HEAD\n        bogus: 1\n"),
            'appset.yaml:11: unknown field "spec.generators[0].git.bogus"',
        ),
        (
            ("  template:\n", "  goTemplate: true\n  template:\n"),
            "appset.yaml:15: not supported: goTemplate: true",
        ),
        (
            ("    - git:\n", "    - matrix:\n        generators: []\n    - git:\n"),
            "appset.yaml:8: not supported: the matrix generator",
        ),
        (
            ("      project: default\n", "      project: 7\n"),
            "appset.yaml:19: spec.template.spec.project: expected string, got integer 7",
        ),
    ],
)
def test_parse_errors_have_file_and_line(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ManifestError) as exc:
        _parse(APPSET.replace(*edit))
    assert str(exc.value).startswith(message)


def test_placeholder_is_reported_with_its_line_and_filled_by_repo_url(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as exc:
        A.load(EXAMPLE / "appset.yaml")
    assert str(exc.value) == (
        f'{EXAMPLE / "appset.yaml"}:9: spec.generators[0].git.repoURL: placeholder "__REPO_URL__" is not '
        "filled in: pass the repository with --repo-url (flightdeck up --repo-url URL) (2 placeholders in all)"
    )
    (manifest,) = A.load(EXAMPLE / "appset.yaml", repo_url="/srv/repo")
    assert manifest.obj["spec"]["generators"][0]["git"]["repoURL"] == "/srv/repo"
    assert manifest.obj["spec"]["template"]["spec"]["source"]["repoURL"] == "/srv/repo"


def test_directory_params_and_normalized_basename() -> None:
    assert A.directory_params("apps/My_App") == {
        "path": "apps/My_App",
        "path.basename": "My_App",
        "path.basenameNormalized": "my-app",
        "path[0]": "apps",
        "path[1]": "My_App",
    }
    assert A.directory_params("x", prefix="svc")["svc.path.basename"] == "x"


def test_filter_directories_include_exclude_and_bad_patterns() -> None:
    items = [A.PathItem("apps/*", False), A.PathItem("apps/skip", True), A.PathItem("[", False)]
    kept, warnings = A.filter_directories(items, ["apps", "apps/a", "apps/skip", "apps/a/deep", "other"])
    assert kept == ["apps/a"]
    assert warnings == ["error while matching appPath to requestedPath '[': syntax error in pattern"]


def test_list_generator_elements_and_values() -> None:
    text = APPSET.replace(
        """    - git:
        repoURL: https://example.invalid/repo.git
        revision: HEAD
        directories:
          - path: apps/*
          - path: apps/skip
            exclude: true
""",
        """    - list:
        elements:
          - cluster: in-cluster
            path: apps/one
            values: {team: a}
          - cluster: in-cluster
            path: apps/two
""",
    )
    spec = _parse(text)
    (generated,), warnings = A.generate(spec, lambda url, rev: [])
    assert warnings == []
    assert generated.params == (
        {"cluster": "in-cluster", "path": "apps/one", "values.team": "a"},
        {"cluster": "in-cluster", "path": "apps/two"},
    )
    bad = _parse(text.replace("path: apps/two", "path: 2"))
    with pytest.raises(A.GeneratorError, match="error parsing value as string"):
        A.generate(bad, lambda url, rev: [])


def test_git_failures_become_generator_errors() -> None:
    def broken(url: str, revision: str) -> list[str]:
        raise RuntimeError("failed to list refs: fatal: repository not found")

    with pytest.raises(A.GeneratorError) as exc:
        A.generate(_parse(APPSET), broken)
    assert str(exc.value) == (
        "error generating params from git: error getting directories from repo: "
        "failed to list refs: fatal: repository not found"
    )


def _render(appset_path: Path, repo: TempRepo, tmp_path: Path) -> list[tuple[str, str, str]]:
    (manifest,) = A.load(appset_path, repo_url=repo.url)
    spec = A.parse(manifest)
    poller = RepoPoller(tmp_path / "cache")
    generated, _ = A.generate(spec, lambda url, rev: poller.directories(url, rev, 0.0))
    apps = render_applications(spec, generated, manifest.obj)
    return [
        (a["metadata"]["name"], a["spec"]["source"]["path"], a["spec"]["destination"]["namespace"])
        for a in apps
    ]


def test_the_example_appset_renders_exactly_the_seed_apps(tmp_path: Path) -> None:
    repo = TempRepo(tmp_path / "repo")
    repo.copy_tree(EXAMPLE)
    repo.commit("example")
    assert _render(EXAMPLE / "appset.yaml", repo, tmp_path) == [
        ("hotrod", "hotrod", "hotrod"),
        ("otel", "otel", "otel"),
        ("traffic-generator", "traffic-generator", "traffic-generator"),
    ]


@pytest.mark.skipif(not EXPERT_SOLVED.exists(), reason="the challenge's manifests are not on this machine")
def test_the_expert_solved_appset_renders_its_nested_paths(tmp_path: Path) -> None:
    repo = TempRepo(tmp_path / "repo")
    base = "adventures/01-echoes-lost-in-orbit/expert/manifests"
    repo.copy_tree(EXPERT_SOLVED, base)
    repo.commit("challenge")
    assert _render(EXPERT_SOLVED / "appset.yaml", repo, tmp_path) == [
        ("hotrod", f"{base}/hotrod", "hotrod"),
        ("otel", f"{base}/otel", "otel"),
        ("traffic-generator", f"{base}/traffic-generator", "traffic-generator"),
    ]
