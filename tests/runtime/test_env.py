"""A container's environment as the kubelet builds it."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from flightdeck.runtime.env import (
    ContainerConfigError,
    EnvBuilder,
    PodFacts,
    field_ref_value,
    resource_field_value,
    service_link_env,
)

POD: dict[str, Any] = {
    "metadata": {
        "name": "hotrod-6d9f7c-x2x4k",
        "namespace": "hotrod",
        "uid": "0b6d3c1e",
        "labels": {"app": "hotrod", "rollouts-pod-template-hash": "6d9f7c"},
        "annotations": {"prometheus.io/port": "8080", "note": 'say "hi"'},
    },
    "spec": {"serviceAccountName": "default"},
}
FACTS = PodFacts(POD, "127.10.0.7", "127.0.0.1", "flightdeck")
OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("ConfigMap", "hotrod", "settings"): {"data": {"MODE": "fast", "bad key": "x", "LEVEL": "debug"}},
    ("Secret", "hotrod", "creds"): {"data": {"password": base64.b64encode(b"s3cret").decode()}},
}


def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


def build(container: dict[str, Any], service_env: dict[str, str] | None = None) -> dict[str, str]:
    return EnvBuilder(FACTS, lookup).build(container, service_env or {})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("metadata.name", "hotrod-6d9f7c-x2x4k"),
        ("metadata.namespace", "hotrod"),
        ("metadata.uid", "0b6d3c1e"),
        ("metadata.labels['rollouts-pod-template-hash']", "6d9f7c"),
        ("metadata.labels['missing']", ""),
        ("metadata.annotations['prometheus.io/port']", "8080"),
        ("metadata.labels", 'app="hotrod"\nrollouts-pod-template-hash="6d9f7c"'),
        ("metadata.annotations", 'note="say \\"hi\\""\nprometheus.io/port="8080"'),
        ("status.podIP", "127.10.0.7"),
        ("status.podIPs", "127.10.0.7"),
        ("status.hostIP", "127.0.0.1"),
        ("spec.nodeName", "flightdeck"),
        ("spec.serviceAccountName", "default"),
    ],
)
def test_field_refs(path: str, value: str) -> None:
    assert field_ref_value(path, FACTS) == value


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("spec.containers", "unsupported fieldPath: spec.containers"),
        ("metadata.name['x']", "fieldPath \"metadata.name['x']\" does not support subscript"),
    ],
)
def test_field_ref_errors(path: str, message: str) -> None:
    with pytest.raises(
        ContainerConfigError, match="^" + message.replace("[", r"\[").replace("]", r"\]") + "$"
    ):
        field_ref_value(path, FACTS)


def test_seed_hotrod_environment() -> None:
    container = {
        "env": [
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.otel.svc.cluster.local:4318"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {
                "name": "POD_HASH",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['rollouts-pod-template-hash']"}},
            },
            {
                "name": "OTEL_RESOURCE_ATTRIBUTES",
                "value": "hotrod.pod.name=$(POD_NAME),hotrod.namespace=$(POD_NAMESPACE),hotrod.pod.hash=$(POD_HASH)",
            },
        ]
    }
    env = build(container)
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == (
        "hotrod.pod.name=hotrod-6d9f7c-x2x4k,hotrod.namespace=hotrod,hotrod.pod.hash=6d9f7c"
    )
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector.otel.svc.cluster.local:4318"


def test_order_and_precedence() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "env": [
            {"name": "LATER", "value": "$(EARLIER)"},  # not yet defined: kept as written
            {"name": "EARLIER", "value": "e"},
            {"name": "USES", "value": "$(EARLIER)/$(CFG_MODE)/$(SVC_SERVICE_HOST)"},
            {"name": "FROM_FIELD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
            {"name": "SVC_SERVICE_PORT", "value": "override"},
            {"name": "EMPTY", "value": ""},
        ],
    }
    builder = EnvBuilder(FACTS, lookup)
    env = builder.build(container, {"SVC_SERVICE_HOST": "127.20.0.1", "SVC_SERVICE_PORT": "80"})
    assert env["LATER"] == "$(EARLIER)"
    assert env["USES"] == "e/fast/127.20.0.1"
    assert env["FROM_FIELD"] == 'say "hi"'
    assert env["SVC_SERVICE_PORT"] == "override"
    assert env["EMPTY"] == ""
    assert env["CFG_LEVEL"] == "debug"
    assert "CFG_bad key" not in env
    assert builder.skipped_keys == ["CFG_bad key"]


def test_config_map_and_secret_refs() -> None:
    container = {
        "env": [
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "MODE"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}},
            {
                "name": "OPTKEY",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k", "optional": True}},
            },
        ]
    }
    env = build(container)
    assert env["MODE"] == "fast"
    assert env["PASSWORD"] == "s3cret"
    assert "OPT" not in env and "OPTKEY" not in env


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"configMapKeyRef": {"name": "absent", "key": "k"}}, 'configmap "absent" not found'),
        ({"secretKeyRef": {"name": "absent", "key": "k"}}, 'secret "absent" not found'),
        (
            {"configMapKeyRef": {"name": "settings", "key": "k"}},
            "couldn't find key k in ConfigMap hotrod/settings",
        ),
        ({"secretKeyRef": {"name": "creds", "key": "user"}}, "couldn't find key user in Secret hotrod/creds"),
    ],
)
def test_reference_errors(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ContainerConfigError) as info:
        build({"env": [{"name": "X", "valueFrom": source}]})
    assert str(info.value) == message


def test_resource_field_refs() -> None:
    container = {"resources": {"limits": {"cpu": "100m", "memory": "128Mi"}, "requests": {"memory": "100M"}}}

    def value(resource: str, divisor: str | None = None) -> str:
        ref: dict[str, Any] = {"resource": resource}
        if divisor:
            ref["divisor"] = divisor
        return resource_field_value(ref, container, node_cpu=2, node_memory=8 << 30)

    assert value("limits.cpu") == "1"  # ceil(0.1 core)
    assert value("limits.cpu", "1m") == "100"
    assert value("limits.memory") == str(128 << 20)
    assert value("limits.memory", "1Mi") == "128"
    assert value("requests.memory") == "100000000"
    assert value("requests.cpu", "1m") == "100"  # defaulted from the limit
    assert resource_field_value({"resource": "limits.memory"}, {}, 2, 8 << 30) == str(8 << 30)
    with pytest.raises(ContainerConfigError, match=r"unsupported container resource : limits\.gpu"):
        value("limits.gpu")


def test_service_link_variables() -> None:
    svc = {
        "metadata": {"name": "hotrod-canary"},
        "spec": {
            "clusterIP": "127.20.0.9",
            "ports": [{"name": "http", "port": 8080}, {"name": "grpc-otlp", "port": 4317, "protocol": "TCP"}],
        },
    }
    env = service_link_env(
        [svc, {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}]
    )
    assert env == {
        "HOTROD_CANARY_SERVICE_HOST": "127.20.0.9",
        "HOTROD_CANARY_SERVICE_PORT": "8080",
        "HOTROD_CANARY_SERVICE_PORT_HTTP": "8080",
        "HOTROD_CANARY_SERVICE_PORT_GRPC_OTLP": "4317",
        "HOTROD_CANARY_PORT": "tcp://127.20.0.9:8080",
        "HOTROD_CANARY_PORT_8080_TCP": "tcp://127.20.0.9:8080",
        "HOTROD_CANARY_PORT_8080_TCP_PROTO": "tcp",
        "HOTROD_CANARY_PORT_8080_TCP_PORT": "8080",
        "HOTROD_CANARY_PORT_8080_TCP_ADDR": "127.20.0.9",
        "HOTROD_CANARY_PORT_4317_TCP": "tcp://127.20.0.9:4317",
        "HOTROD_CANARY_PORT_4317_TCP_PROTO": "tcp",
        "HOTROD_CANARY_PORT_4317_TCP_PORT": "4317",
        "HOTROD_CANARY_PORT_4317_TCP_ADDR": "127.20.0.9",
    }
