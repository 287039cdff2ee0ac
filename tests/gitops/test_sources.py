"""Rendering Application sources from polled repositories: cached per commit, failures dated from their start."""

from __future__ import annotations

from pathlib import Path

from flightdeck.gitops.app_reconcile import Rendered, RenderFailure
from flightdeck.gitops.poller import RepoPoller
from flightdeck.gitops.sources import SourceRenderer
from tests.gitops.gitrepo import TempRepo

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_render_caches_per_commit_and_dates_failures(tmp_path: Path) -> None:
    repo = TempRepo(tmp_path / "repo")
    repo.write("app/a.yaml", CM.format(name="a"))
    first = repo.commit()
    poller = RepoPoller(tmp_path / "cache", poll_seconds=10)
    renderer = SourceRenderer(poller)
    source = {"repoURL": repo.url, "targetRevision": "HEAD", "path": "app"}
    one = renderer.render(source, 0.0)
    assert isinstance(one, Rendered) and one.revision == first and one.source_type == "Directory"
    assert renderer.render(source, 1.0) is one  # same commit: no re-render

    repo.write("app/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n")
    broken = repo.commit()
    poller.poll_due(10.0)
    failure = renderer.render(source, 10.0)
    assert isinstance(failure, RenderFailure)
    assert failure.revision == broken and failure.since == 10.0
    assert failure.message.startswith("app/a.yaml:5: invalid YAML")
    assert renderer.render(source, 25.0) == failure  # still the same failure, still dated 10 s

    repo.write("app/a.yaml", CM.format(name="b"))
    fixed = repo.commit()
    poller.poll_due(30.0)
    good = renderer.render(source, 30.0)
    assert isinstance(good, Rendered) and good.revision == fixed
    assert [m["metadata"]["name"] for m in good.manifests] == ["b"]
    repo.write("app/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n")
    repo.commit()
    poller.poll_due(40.0)
    again = renderer.render(source, 40.0)
    assert isinstance(again, RenderFailure) and again.since == 40.0  # a new run of failures


def test_hard_refresh_polls_and_rerenders(tmp_path: Path) -> None:
    repo = TempRepo(tmp_path / "repo")
    repo.write("app/kustomization.yaml", "resources:\n- a.yaml\n")
    repo.write("app/a.yaml", CM.format(name="a"))
    repo.commit()
    poller = RepoPoller(tmp_path / "cache", poll_seconds=10)
    renderer = SourceRenderer(poller)
    source = {"repoURL": repo.url, "path": "app"}
    assert isinstance(renderer.render(source, 0.0), Rendered)
    repo.write("app/a.yaml", CM.format(name="b"))
    sha = repo.commit()
    result = renderer.render(source, 1.0, hard=True)  # before the next poll
    assert isinstance(result, Rendered) and result.revision == sha and result.source_type == "Kustomize"
