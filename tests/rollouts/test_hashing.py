"""currentStepHash and rollouts-pod-template-hash."""

from __future__ import annotations

import re

import yaml

from flightdeck.rollouts.hashing import pod_template_hash, safe_encode, step_hash, steps_json
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
