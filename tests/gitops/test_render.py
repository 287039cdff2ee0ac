"""Manifest generation for Application sources (Argo CD's repo-server rules for directories, kustomize
detection, app path checks) with file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightdeck.gitops.render import RenderError, glob_match, render_source


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def _names(root: Path, source: dict[str, object]) -> list[str]:
    return [m.obj["metadata"]["name"] for m in render_source(root, source)]


def test_directory_is_not_recursive_by_default(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/b.yaml": CM.format(name="b"),
            "app/a.yml": CM.format(name="a") + "---\n" + CM.format(name="a2"),
            "app/c.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}',
            "app/nested/d.yaml": CM.format(name="d"),
            "app/README.md": "# not a manifest\n",
            "app/values.yaml": "replicas: 3\n",  # an unrelated YAML file: ignored, as Argo CD does
            "app/skip.yaml": "# +argocd:skip-file-rendering\n" + CM.format(name="skipped"),
        },
    )
    assert _names(tmp_path, {"path": "app"}) == ["a", "a2", "b", "c"]
    assert _names(tmp_path, {"path": "app", "directory": {"recurse": True}}) == ["a", "a2", "b", "c", "d"]


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/a.yaml": CM.format(name="a"),
            "app/b.yaml": CM.format(name="b"),
            "app/x/c.yaml": CM.format(name="c"),
        },
    )
    assert _names(tmp_path, {"path": "app", "directory": {"recurse": True, "exclude": "{a.yaml,x/*}"}}) == [
        "b"
    ]
    assert _names(tmp_path, {"path": "app", "directory": {"recurse": True, "include": "*/c.yaml"}}) == ["c"]
    assert glob_match("*.yaml", "x/y.yaml")  # gobwas without separators: '*' crosses '/'


def test_list_kinds_are_flattened(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- "
            + CM.format(name="a").replace("\n", "\n  ").rstrip()
            + "\n"
        },
    )
    assert _names(tmp_path, {"path": "app"}) == ["a"]


def test_invalid_yaml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, {"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n"})
    with pytest.raises(RenderError) as exc:
        render_source(tmp_path, {"path": "app"})
    assert str(exc.value).startswith("app/bad.yaml:6: invalid YAML:")


def test_a_document_without_kind_in_a_manifest_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, {"app/x.yaml": CM.format(name="a") + "---\napiVersion: v1\nmetadata:\n  name: b\n"})
    with pytest.raises(RenderError, match=r"^app/x.yaml:6: Object 'Kind' is missing$"):
        render_source(tmp_path, {"path": "app"})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing", "missing: app path does not exist"),
        ("file.yaml", "file.yaml: app path is not a directory"),
        ("../outside", "../outside: app path is outside the repository"),
    ],
)
def test_app_path_errors(tmp_path: Path, path: str, message: str) -> None:
    _write(tmp_path, {"file.yaml": CM.format(name="a")})
    with pytest.raises(RenderError, match=f"^{message}$"):
        render_source(tmp_path, {"path": path})


def test_kustomization_is_detected_and_source_options_apply(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/kustomization.yaml": "resources:\n- cm.yaml\n",
            "app/cm.yaml": CM.format(name="settings"),
        },
    )
    assert _names(tmp_path, {"path": "app"}) == ["settings"]
    options = {"namePrefix": "dev-", "commonLabels": {"team": "a"}}
    (manifest,) = render_source(tmp_path, {"path": "app", "kustomize": options})
    assert manifest.obj["metadata"] == {"name": "dev-settings", "labels": {"team": "a"}}


def test_kustomize_images_option_uses_kustomize_edit_syntax(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/kustomization.yaml": "resources:\n- pod.yaml\n",
            "app/pod.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                "  - name: a\n    image: jaegertracing/example-hotrod:1.75.0\n"
            ),
        },
    )
    (manifest,) = render_source(
        tmp_path, {"path": "app", "kustomize": {"images": ["jaegertracing/example-hotrod:1.76.0"]}}
    )
    assert manifest.obj["spec"]["containers"][0]["image"] == "jaegertracing/example-hotrod:1.76.0"


def test_kustomize_failures_name_the_kustomization(tmp_path: Path) -> None:
    _write(tmp_path, {"app/kustomization.yaml": "resources:\n- missing.yaml\n"})
    with pytest.raises(RenderError) as exc:
        render_source(tmp_path, {"path": "app"})
    assert str(exc.value) == (
        "kustomize build app failed: app/kustomization.yaml:2: accumulating resources: "
        "'missing.yaml': no such file or directory"
    )


@pytest.mark.parametrize("option", ["helm", "plugin"])
def test_other_source_types_are_not_supported(tmp_path: Path, option: str) -> None:
    _write(tmp_path, {"app/a.yaml": CM.format(name="a")})
    with pytest.raises(RenderError, match=f"^not supported: spec.source.{option}"):
        render_source(tmp_path, {"path": "app", option: {"x": 1}})
