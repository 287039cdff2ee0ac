"""Kustomize pieces: the content hash (kustomize's own expected values), strategic merge and JSON patches,
and errors with file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.gitops.kustomize import KustomizeError, build, jsonpatch, smp
from flightdeck.gitops.kustomize.generators import content_hash
from flightdeck.util.gojson import go_json


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # The hashes kustomize's hasher tests expect for these inputs.
        ({"kind": "ConfigMap"}, "6ct58987ht"),
        ({"kind": "ConfigMap", "data": {"one": ""}}, "9g67k2htb6"),
        ({"kind": "ConfigMap", "data": {"two": 2, "one": "", "three": 3}}, "7757f9kkct"),
        ({"kind": "ConfigMap", "binaryData": {"one": ""}}, "6mtk2m274t"),
        ({"kind": "ConfigMap", "data": {"one": ""}, "binaryData": {"two": ""}}, "698h7c7t9m"),
        ({"kind": "Secret", "type": "my-type"}, "5gmgkf8578"),
        ({"kind": "Secret", "type": "my-type", "data": {"one": ""}}, "74bd68bm66"),
        ({"kind": "Secret", "type": "my-type", "data": {"one": ""}, "stringData": {"two": 2}}, "c4h4264gdb"),
        # The name is not part of the hash (kustomize looks it up as a single field "metadata/name").
        ({"kind": "ConfigMap", "metadata": {"name": "any"}, "data": {"one": ""}}, "9g67k2htb6"),
    ],
)
def test_content_hash(obj: dict[str, Any], expected: str) -> None:
    assert content_hash(obj) == expected


def test_go_json_escapes_like_go() -> None:
    assert go_json({"b": "<a&b>", "a": "é\u2028"}) == '{"a":"é\\u2028","b":"\\u003ca\\u0026b\\u003e"}'


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}], "args": ["x"]},
                    {"name": "sidecar", "image": "envoy"},
                ],
                "tolerations": [{"key": "a"}],
            }
        }
    },
}


def test_strategic_merge_directives_and_merge_keys() -> None:
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"b": None, "c": "3"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "sidecar", "$patch": "delete"},
                        {"name": "web", "ports": [{"containerPort": 8080}], "args": ["y"]},
                    ],
                    "tolerations": [{"key": "b"}],
                }
            }
        },
    }
    out = smp.apply(DEPLOYMENT, patch)
    assert out is not None
    assert out["metadata"] == {"name": "web", "labels": {"a": "1", "c": "3"}}
    spec = out["spec"]["template"]["spec"]
    assert spec["containers"] == [
        # ports merge by containerPort (patched ones first), args are replaced
        {
            "name": "web",
            "image": "nginx",
            "ports": [{"containerPort": 8080}, {"containerPort": 80}],
            "args": ["y"],
        }
    ]
    assert spec["tolerations"] == [{"key": "b"}]  # no merge key: replaced
    assert (
        smp.apply(DEPLOYMENT, {"kind": "Deployment", "metadata": {"name": "web"}, "$patch": "delete"}) is None
    )


def test_custom_resources_merge_lists_by_name() -> None:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "spec": {"steps": [{"setWeight": 5}], "items": [{"name": "a", "v": 1}, {"name": "b"}]},
    }
    out = smp.apply(rollout, {"spec": {"steps": [{"setWeight": 50}], "items": [{"name": "a", "v": 2}]}})
    assert out is not None
    assert out["spec"] == {"steps": [{"setWeight": 50}], "items": [{"name": "a", "v": 2}, {"name": "b"}]}


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2, 3]}, "c": "x"}
    ops = [
        {"op": "add", "path": "/a/b/1", "value": 9},
        {"op": "remove", "path": "/a/b/0"},
        {"op": "replace", "path": "/c", "value": "y"},
        {"op": "copy", "from": "/c", "path": "/d"},
        {"op": "move", "from": "/d", "path": "/a/e"},
        {"op": "add", "path": "/a/b/-", "value": 4},
        {"op": "test", "path": "/a/e", "value": "y"},
        {"op": "add", "path": "/a~1b", "value": 1},
    ]
    assert jsonpatch.apply(doc, ops) == {"a": {"b": [9, 2, 3, 4], "e": "y"}, "c": "y", "a/b": 1}
    assert doc == {"a": {"b": [1, 2, 3]}, "c": "x"}  # not modified in place
    with pytest.raises(
        jsonpatch.JsonPatchError, match="replace operation does not apply: doc is missing key: /z"
    ):
        jsonpatch.apply(doc, [{"op": "replace", "path": "/z", "value": 1}])
    with pytest.raises(jsonpatch.JsonPatchError, match="testing value /c failed"):
        jsonpatch.apply(doc, [{"op": "test", "path": "/c", "value": "nope"}])


@given(
    st.dictionaries(st.text(alphabet="abc~/", min_size=1, max_size=4), st.integers(), max_size=5),
    st.text(alphabet="abc~/", min_size=1, max_size=4),
    st.integers(),
)
def test_json_patch_add_then_remove_is_identity(doc: dict[str, int], key: str, value: int) -> None:
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    if key in doc:
        return
    added = jsonpatch.apply(doc, [{"op": "add", "path": pointer, "value": value}])
    assert added[key] == value
    assert jsonpatch.apply(added, [{"op": "remove", "path": pointer}]) == doc


def _kustomization(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "kustomization.yaml").write_text(text)
    for rel, body in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "resources:\n- a.yaml\nbogus: 1\n",
            'kustomization.yaml:3: invalid Kustomization: json: unknown field "bogus"',
        ),
        ("helmCharts:\n- name: x\n", "kustomization.yaml:1: not supported: kustomize helmCharts"),
        ("resources:\n- https://github.com/x/y\n", "kustomization.yaml:2: not supported: remote resource"),
        ("resources:\n- ../outside.yaml\n", "kustomization.yaml:2: security; file"),
        (
            "resources:\n- a.yaml\n- a.yaml\n",
            "kustomization.yaml:3: may not add resource with an already registered id: ConfigMap.v1.[noGrp]/a.[noNs]",
        ),
        (
            "resources:\n- a.yaml\npatches:\n- patch: |-\n    - op: add\n      path: /data/x\n      value: y\n",
            "kustomization.yaml:4: must specify a target for JSON patch",
        ),
        (
            "resources:\n- a.yaml\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: nope\n",
            'kustomization.yaml:4: no resource matches strategic merge patch "ConfigMap.v1.[noGrp]/nope.[noNs]"',
        ),
        (
            "configMapGenerator:\n- name: c\n  literals:\n  - novalue\n",
            "kustomization.yaml:2: invalid literal source novalue, expected key=value",
        ),
        (
            "resources:\n- a.yaml\nconfigMapGenerator:\n- name: a\n",
            "kustomization.yaml:4: id ConfigMap.v1.[noGrp]/a.[noNs] exists; can not use behavior: 'create'",
        ),
    ],
)
def test_errors_name_the_kustomization_line(tmp_path: Path, text: str, message: str) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (tmp_path / "outside.yaml").write_text("kind: ConfigMap\n")
    _kustomization(root, text, {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"})
    with pytest.raises(KustomizeError) as exc:
        build(root, tmp_path, root)
    assert str(exc.value).startswith(message)


def test_invalid_yaml_in_a_resource_names_its_line(tmp_path: Path) -> None:
    _kustomization(tmp_path, "resources:\n- a.yaml\n", {"a.yaml": "apiVersion: v1\nkind: [\n"})
    with pytest.raises(KustomizeError, match=r"^a.yaml:3: invalid YAML"):
        build(tmp_path)


def test_base_cycle_is_detected(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "kustomization.yaml").write_text("resources:\n- ../b\n")
    (tmp_path / "b" / "kustomization.yaml").write_text("resources:\n- ../a\n")
    with pytest.raises(KustomizeError, match="cycle detected"):
        build(tmp_path / "a", tmp_path)
