"""Probe specs with the API defaults, and the probe worker's thresholds on a virtual clock."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.runtime.probes import (
    ProbeSpecError,
    failed_to_restart,
    failure_event,
    new_tracker,
    parse_probe,
    record,
    restart_message,
    skip,
)

COLLECTOR: dict[str, Any] = {
    "name": "collector",
    "ports": [{"name": "health", "containerPort": 13133}],
    "livenessProbe": {
        "httpGet": {"path": "/", "port": 13133},
        "initialDelaySeconds": 15,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
    },
    "readinessProbe": {
        "httpGet": {"path": "/", "port": "health"},
        "initialDelaySeconds": 15,
        "periodSeconds": 5,
        "timeoutSeconds": 3,
    },
}


def test_seed_collector_probes() -> None:
    live = parse_probe("liveness", COLLECTOR["livenessProbe"], COLLECTOR)
    ready = parse_probe("readiness", COLLECTOR["readinessProbe"], COLLECTOR)
    assert (live.action, live.port, live.path, live.timeout, live.period) == (
        "httpGet",
        13133,
        "/",
        5.0,
        10.0,
    )
    assert ready.port == 13133  # the named port
    assert live.describe() == "http-get http://:13133/ delay=15s timeout=5s period=10s #success=1 #failure=3"


def test_defaults_and_errors() -> None:
    spec = parse_probe("readiness", {"tcpSocket": {"port": 80}}, {"name": "c"})
    assert (
        spec.initial_delay,
        spec.period,
        spec.timeout,
        spec.success_threshold,
        spec.failure_threshold,
    ) == (
        0.0,
        10.0,
        1.0,
        1,
        3,
    )
    assert (
        parse_probe("liveness", {"exec": {"command": ["true"]}, "successThreshold": 3}, {}).success_threshold
        == 1
    )
    with pytest.raises(ProbeSpecError, match="couldn't find port: web in c"):
        parse_probe("readiness", {"httpGet": {"port": "web"}}, {"name": "c"})
    with pytest.raises(ProbeSpecError, match="no handler"):
        parse_probe("readiness", {"periodSeconds": 3}, {})


def test_readiness_thresholds_on_a_virtual_clock() -> None:
    spec = parse_probe(
        "readiness",
        {
            "httpGet": {"port": 1},
            "initialDelaySeconds": 15,
            "periodSeconds": 5,
            "successThreshold": 2,
            "failureThreshold": 2,
        },
        {},
    )
    t = new_tracker(spec, started_at=100.0)
    assert t.result is False  # readiness starts failed
    assert not t.due(114.9, started=True) and t.due(115.0, started=True)
    results = []
    now = 115.0
    for ok in (True, True, False, True, False, False, True, True):
        t = record(t, ok, now)
        results.append(t.result)
        assert t.next_at == now + 5
        now = t.next_at
    assert results == [False, True, True, True, True, False, False, True]


def test_liveness_failure_restarts_and_holds() -> None:
    spec = parse_probe("liveness", {"tcpSocket": {"port": 1}, "periodSeconds": 10}, {})
    t = new_tracker(spec, started_at=0.0)
    assert t.result is True  # liveness starts passing
    for now in (0.0, 10.0):
        t = record(t, False, now)
        assert not failed_to_restart(t)
    t = record(t, False, 20.0)
    assert failed_to_restart(t) and t.on_hold and not t.due(100.0, started=True)
    assert (
        restart_message("collector", "liveness")
        == "Container collector failed liveness probe, will be restarted"
    )
    assert failure_event("liveness", "HTTP probe failed with statuscode: 500") == (
        "Liveness probe failed: HTTP probe failed with statuscode: 500"
    )


def test_startup_gates_the_others() -> None:
    startup = new_tracker(
        parse_probe("startup", {"exec": {"command": ["true"]}, "periodSeconds": 1}, {}), 0.0
    )
    ready = new_tracker(
        parse_probe("readiness", {"exec": {"command": ["true"]}, "periodSeconds": 1}, {}), 0.0
    )
    assert startup.result is None
    assert startup.due(0.0, started=False) and not startup.due(0.0, started=True)
    assert not ready.due(0.0, started=False)
    ready = skip(ready, 0.0)
    assert ready.next_at == 1.0 and ready.due(1.0, started=True)
