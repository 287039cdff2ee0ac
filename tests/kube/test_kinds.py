"""Kinds: structural validation, unsupported-field warnings, lint API, defaults."""

from __future__ import annotations

from pathlib import Path

from flightdeck.kube.defaults import apply_defaults
from flightdeck.kube.kinds import find_kind, kind_spec, lint_object
from flightdeck.kube.manifest import load_paths

CHALLENGE = Path("/work/shared/challenge")
if not CHALLENGE.exists():  # pragma: no cover - CI has shared/ beside the clone
    CHALLENGE = Path(__file__).resolve().parents[3] / "shared" / "challenge"


def pod(**spec: object) -> dict[str, object]:
    base = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {**base, **spec}}


def test_challenge_manifests_are_clean() -> None:
    for manifest in load_paths([CHALLENGE / "expert-solved"]):
        problems = lint_object(manifest.obj)
        assert problems == [], (manifest.source.file, [str(p) for p in problems])


def test_unsupported_fields_are_warnings() -> None:
    problems = lint_object(pod(nodeSelector={"a": "b"}, initContainers=[{"name": "i", "image": "x"}]))
    assert [(p.severity, str(p)) for p in problems] == [
        (
            "warning",
            "spec.nodeSelector: not supported by flightdeck (one local node: no scheduling or placement); ignored",
        ),
        ("warning", "spec.initContainers: not supported by flightdeck (init containers); ignored"),
    ]
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    assert [str(p) for p in lint_object(svc)] == [
        'spec.type: "LoadBalancer" is not supported by flightdeck (Services are ClusterIP on loopback); ignored'
    ]


def test_errors() -> None:
    problems = lint_object(
        pod(
            containers=[
                {"name": "Bad_Name", "image": "x", "imagePullPolicy": "Sometimes"},
                {"name": "dup", "image": "x", "unknownThing": 1},
                {"name": "dup", "image": "x"},
            ]
        )
    )
    texts = [str(p) for p in problems if p.severity == "error"]
    assert 'unknown field "spec.containers[1].unknownThing"' in texts
    assert (
        'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "Never", "IfNotPresent"'
    ) in texts
    assert 'spec.containers[2].name: Duplicate value: "dup"' in texts
    assert any(
        t.startswith('spec.containers[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label')
        for t in texts
    )
    probe = pod(containers=[{"name": "c", "image": "x", "livenessProbe": {"periodSeconds": 3}}])
    assert [str(p) for p in lint_object(probe)] == [
        "spec.containers[0].livenessProbe: Required value: must specify a handler type"
    ]
    unknown = lint_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert unknown[0].severity == "warning" and "Widget" in unknown[0].message


def test_env_value_from_and_volumes_are_supported() -> None:
    p = pod(
        containers=[
            {
                "name": "c",
                "image": "x",
                "env": [
                    {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['x']"}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                    {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "m", "key": "k"}}},
                ],
                "volumeMounts": [{"name": "conf", "mountPath": "/conf"}],
                "readinessProbe": {"tcpSocket": {"port": "http"}},
            }
        ],
        volumes=[{"name": "conf", "configMap": {"name": "m"}}, {"name": "tmp", "emptyDir": {}}],
    )
    assert lint_object(p) == []


def test_defaults_and_kind_lookup() -> None:
    svc = apply_defaults({"kind": "Service", "spec": {"ports": [{"port": 80, "name": "http"}]}})
    assert svc["spec"]["ports"][0] == {"port": 80, "name": "http", "protocol": "TCP", "targetPort": 80}
    assert svc["spec"]["type"] == "ClusterIP"
    p = apply_defaults(pod(containers=[{"name": "c", "image": "busybox"}]))
    assert p["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # untagged → Always
    assert p["spec"]["restartPolicy"] == "Always"
    ds = apply_defaults({"kind": "DaemonSet", "spec": {}})
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    spec = kind_spec("Deployment")
    assert spec is not None and spec.resource == "deployments.apps" and spec.api_versions == ("apps/v1",)
    found = find_kind("rs")
    assert found is not None and found.kind == "ReplicaSet"
    cat = find_kind("clusteranalysistemplates")
    assert cat is not None and not cat.namespaced
