"""Which pods serve a Service port."""

from __future__ import annotations

from typing import Any

from flightdeck.runtime.endpoints import service_ports


def pod(name: str, ip: str, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "hotrod",
            "labels": extra.pop("labels", {"app": "hotrod"}),
            **extra.pop("meta", {}),
        },
        "spec": {
            "containers": [
                {"name": "hotrod", "ports": extra.pop("ports", [{"name": "frontend", "containerPort": 8080}])}
            ]
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def service(**spec: Any) -> dict[str, Any]:
    base = {
        "selector": {"app": "hotrod"},
        "clusterIP": "127.20.0.2",
        "ports": [{"name": "http", "port": 8080}],
    }
    return {"metadata": {"name": "hotrod", "namespace": "hotrod"}, "spec": {**base, **spec}}


def test_ready_matching_pods_only() -> None:
    pods = [
        pod("b", "127.10.0.2"),
        pod("a", "127.10.0.1"),
        pod("c", "127.10.0.3", ready=False),
        pod("d", "127.10.0.4", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
        pod("e", "127.10.0.5", labels={"app": "other"}),
        {
            **pod("f", "127.10.0.6"),
            "metadata": {"name": "f", "namespace": "elsewhere", "labels": {"app": "hotrod"}},
        },
    ]
    ports, problems = service_ports([service()], pods)
    assert problems == []
    assert ports[0].backends == (("127.10.0.1", 8080), ("127.10.0.2", 8080))
    ports, _ = service_ports([service(publishNotReadyAddresses=True)], pods)
    assert [b[0] for b in ports[0].backends] == ["127.10.0.1", "127.10.0.2", "127.10.0.3"]


def test_named_target_ports() -> None:
    pods = [
        pod("a", "127.10.0.1"),
        pod("b", "127.10.0.2", ports=[{"name": "frontend", "containerPort": 9090}]),
        pod("c", "127.10.0.3", ports=[]),
    ]
    ports, _ = service_ports([service(ports=[{"port": 80, "targetPort": "frontend"}])], pods)
    assert ports[0].backends == (("127.10.0.1", 8080), ("127.10.0.2", 9090))
    ports, _ = service_ports([service(ports=[{"port": 80, "targetPort": 8081}])], pods[:1])
    assert ports[0].backends == (("127.10.0.1", 8081),)


def test_problems_are_reported() -> None:
    _ports, problems = service_ports(
        [
            service(clusterIP="None"),
            service(selector=None),
            service(ports=[{"port": 53, "protocol": "UDP"}]),
        ],
        [],
    )
    assert problems == [
        "Service hotrod/hotrod: not supported: headless Service (clusterIP: None)",
        "Service hotrod/hotrod: not supported: Service without selector (manually managed endpoints)",
        "Service hotrod/hotrod: port 53/UDP: not supported: only TCP is proxied",
    ]
