"""currentStepHash and rollouts-pod-template-hash."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.kube import gostruct
from flightdeck.kube import hashing as kube_hashing
from flightdeck.kube.defaults import apply_defaults, rollout_template
from flightdeck.rollouts.hashing import (
    pod_template_hash,
    safe_encode,
    step_hash,
    steps_json,
    template_issues,
)
from tests.rollouts import mirror


def test_step_hash_matches_argo() -> None:
    # The value a real cluster stores for these steps (Go json.Marshal, FNV-32a, SafeEncodeString).
    assert step_hash([{"setWeight": 10}, {"pause": {}}]) == "849b756fd4"


def test_steps_json_uses_go_field_order_and_omitempty() -> None:
    steps = [
        {"pause": {"duration": 30}},
        {
            "analysis": {
                "args": [
                    {"name": "h", "valueFrom": {"podTemplateHashValue": "Latest"}},
                    {"name": "v", "value": ""},
                ],
                "templates": [{"templateName": "t", "clusterScope": False}],
            }
        },
        {"setWeight": 50},
    ]
    assert steps_json(steps) == (
        '[{"pause":{"duration":30}},'
        '{"analysis":{"templates":[{"templateName":"t","clusterScope":false}],'
        '"args":[{"name":"h","valueFrom":{"podTemplateHashValue":"Latest"}},{"name":"v"}]}},'
        '{"setWeight":50}]'
    )
    assert steps_json(None) == "null"


def test_safe_encoding_has_no_vowels() -> None:
    assert safe_encode("0123456789") == "456789bcdf"
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]+", pod_template_hash({"spec": {}}, None))


def test_pod_template_hash_changes_with_template_and_collision_count() -> None:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    other = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}
    assert pod_template_hash(template, None) == pod_template_hash(dict(template), None)
    assert pod_template_hash(template, None) != pod_template_hash(other, None)
    assert pod_template_hash(template, None) != pod_template_hash(template, 1)


@mirror.needs_mirror
def test_step_hash_of_argo_testdata() -> None:
    rollout = yaml.safe_load(
        mirror.show("pkg/kubectl-argo-rollouts/info/testdata/rollout-aborted/rollout.yaml")
    )
    assert step_hash(rollout["spec"]["strategy"]["canary"]["steps"]) == rollout["status"]["currentStepHash"]


# -- rollouts-pod-template-hash: Go json.Marshal of the template the API server returns -------------------------

SEED = Path(__file__).resolve().parents[3] / "shared" / "challenge" / "expert-solved"
if not SEED.is_dir():
    SEED = Path("/work/shared/challenge/expert-solved")

DEMO_TEMPLATE = {
    "metadata": {"labels": {"app": "rollouts-demo"}},
    "spec": {
        "containers": [
            {
                "name": "rollouts-demo",
                "image": "argoproj/rollouts-demo:blue",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"memory": "32Mi", "cpu": "5m"}},
            }
        ]
    },
}


def test_getting_started_rollout_hash_of_v1_9() -> None:
    # Published outputs of this template show 687d76d795: that was Argo Rollouts <= v1.8, whose apimachinery wrote
    # "creationTimestamp":null (tests/kube/test_hashing.py checks that value); v1.9 omits it.
    assert pod_template_hash(DEMO_TEMPLATE, None) == "5cd66ff7ff"
    assert template_issues(DEMO_TEMPLATE) == ()


def test_crd_defaults_are_applied_before_hashing() -> None:
    # The Rollout CRD defaults ports[].protocol to TCP, so leaving it out hashes the same as writing it.
    container = DEMO_TEMPLATE["spec"]["containers"][0]  # type: ignore[index]
    bare = {
        **DEMO_TEMPLATE,
        "spec": {"containers": [{**container, "ports": [{"name": "http", "containerPort": 8080}]}]},
    }
    assert pod_template_hash(bare, None) == "5cd66ff7ff"
    # ... and prunes spec.template.metadata to labels and annotations.
    named = {**DEMO_TEMPLATE, "metadata": {"name": "x", "namespace": "y", "labels": {"app": "rollouts-demo"}}}
    assert pod_template_hash(named, None) == "5cd66ff7ff"


def test_rollout_template_defaults_and_copies_only_what_changes() -> None:
    template = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1, "protocol": "UDP"}]}],
            "containers": [
                {
                    "name": "c",
                    "ports": [{"containerPort": 80}, {"containerPort": 81, "protocol": None}],
                    "env": [
                        {
                            "name": "F",
                            "valueFrom": {"fileKeyRef": {"volumeName": "v", "path": "p", "key": "k"}},
                        }
                    ],
                    "readinessProbe": {"grpc": {"port": 9000}},
                    "livenessProbe": {"httpGet": {"port": 80}},
                }
            ],
        },
    }
    snapshot = repr(template)
    out = rollout_template(template)
    assert repr(template) == snapshot  # the stored object is never modified
    c = out["spec"]["containers"][0]
    assert [p["protocol"] for p in c["ports"]] == ["TCP", "TCP"]
    assert c["env"][0]["valueFrom"]["fileKeyRef"]["optional"] is False
    assert c["readinessProbe"]["grpc"]["service"] == ""
    assert c["livenessProbe"] is template["spec"]["containers"][0]["livenessProbe"]  # type: ignore[index]
    assert out["spec"]["initContainers"] is template["spec"]["initContainers"]  # type: ignore[index]
    assert out["metadata"] is template["metadata"]
    assert rollout_template(out) is out  # defaulting twice changes nothing


@pytest.mark.skipif(not SEED.is_dir(), reason="no seed challenge manifests")
def test_hotrod_rollout_hashes_without_unknown_fields() -> None:
    rollout = yaml.safe_load((SEED / "hotrod" / "rollout.yaml").read_text())
    template = rollout["spec"]["template"]
    assert template_issues(template) == ()
    data = kube_hashing.rollout_template_json(rollout_template(template)).data
    assert data.count(b'"protocol":"TCP"') == 3
    assert (
        b'"resources":{"limits":{"cpu":"100m","memory":"100M"},"requests":{"cpu":"100m","memory":"100M"}}'
        in data
    )
    assert pod_template_hash(template, None) == "547db7f774"


@given(st.randoms(use_true_random=False))
def test_key_order_never_changes_the_rollout_hash(rng: random.Random) -> None:
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = [(k, shuffled(v)) for k, v in value.items()]
            rng.shuffle(items)
            return dict(items)
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    template = {
        **DEMO_TEMPLATE,
        "metadata": {"labels": {"app": "rollouts-demo", "tier": "web"}, "annotations": {"a": "1", "b": "2"}},
    }
    assert pod_template_hash(shuffled(template), 3) == pod_template_hash(template, 3)


def _crd_template_schema() -> dict[str, Any]:
    crd = yaml.safe_load(mirror.show("manifests/crds/rollout-crd.yaml"))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    template: dict[str, Any] = schema["properties"]["spec"]["properties"]["template"]
    return template


def _go_fields(type_name: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, kind, options in gostruct.GO_TYPES[type_name]:
        if options == "inline":
            fields.update(_go_fields(kind))
        else:
            fields[name] = kind
    return fields


def _walk(schema: dict[str, Any], kind: str, path: str, found: list[str]) -> None:
    """Compare a CRD schema node with the Go kind the tables give for it."""
    while kind.startswith("*"):
        kind = kind[1:]
    if kind.startswith("[]"):
        if "items" in schema:
            _walk(schema["items"], kind[2:], path + "[]", found)
        return
    if kind.startswith("map[string]"):
        return
    if kind not in gostruct.GO_TYPES or "properties" not in schema:
        return
    fields = _go_fields(kind)
    props = schema["properties"]
    for name in sorted(set(props) - set(fields)):
        found.append(f"{path}.{name}: in the CRD, not in the tables")
    if kind != "meta.ObjectMeta":  # the CRD declares only labels and annotations of template.metadata
        for name in sorted(set(fields) - set(props)):
            found.append(f"{path}.{name}: in the tables, not in the CRD")
    for name in sorted(set(props) & set(fields)):
        _walk(props[name], fields[name], f"{path}.{name}", found)


@mirror.needs_mirror
def test_tables_match_the_fields_of_argo_rollouts_crd() -> None:
    # The v1.9.1 CRD is generated from the same k8s.io/api types: every field it declares under spec.template (all
    # but volumes, which it leaves schemaless) must be in the tables, in both directions.
    found: list[str] = []
    _walk(_crd_template_schema(), gostruct.ROOT, "spec.template", found)
    assert found == []


def _defaults(schema: dict[str, Any], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    out = [(path, schema["default"])] if "default" in schema else []
    for name, child in (schema.get("properties") or {}).items():
        out += _defaults(child, (*path, name))
    if isinstance(schema.get("items"), dict):
        out += _defaults(schema["items"], (*path, "[]"))
    return out


def _build(path: tuple[str, ...], leaf: Any) -> Any:
    """A template holding just the objects on ``path``, with ``leaf`` (if any) at its end."""
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if head == "[]":
        return [_build(rest, leaf)]
    if not rest:
        return {} if leaf is _ABSENT else {head: leaf}
    return {head: _build(rest, leaf)}


_ABSENT = object()


@mirror.needs_mirror
def test_every_crd_default_is_applied_or_changes_no_byte() -> None:
    defaults = _defaults(_crd_template_schema(), ())
    assert len(defaults) >= 20
    for path, value in defaults:
        # The parent object exists without the field: the API server fills in the default.
        without = _build(path, _ABSENT)
        with_default = _build(path, value)
        assert pod_template_hash(without, None) == pod_template_hash(with_default, None), ".".join(path)


def test_the_store_defaults_a_rollout_template_as_the_api_server_does() -> None:
    rollout = {
        "kind": "Rollout",
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "a"}, "name": "pruned"},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]},
            }
        },
    }
    template = apply_defaults(rollout)["spec"]["template"]
    assert template["metadata"] == {"labels": {"app": "a"}}
    assert template["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert rollout_template(template) is template
