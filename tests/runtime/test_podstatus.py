"""Pod status as the kubelet computes it: phase, conditions, container states."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.runtime.podstatus import ContainerView, PodView, Terminated, build_status, phase_of, qos_class
from flightdeck.util.timefmt import rfc3339

T0 = 1_800_000_000.0


def running(name: str = "c", ready: bool = True) -> ContainerView:
    return ContainerView(name, "img", running_since=T0, ready=ready, started=True)


def crashed(name: str = "c", code: int = 1) -> ContainerView:
    view = ContainerView(
        name, "img", restart_count=1, waiting_reason="CrashLoopBackOff", waiting_message="back-off"
    )
    view.last_terminated = Terminated(code, "Error", T0, T0 + 1)
    return view


def done(name: str = "c", code: int = 0) -> ContainerView:
    return ContainerView(
        name, "img", terminated=Terminated(code, "Completed" if code == 0 else "Error", T0, T0 + 1)
    )


@pytest.mark.parametrize(
    ("policy", "containers", "terminal", "phase"),
    [
        ("Always", [ContainerView("c", "img")], False, "Pending"),
        ("Always", [running(), ContainerView("d", "img")], False, "Pending"),
        ("Always", [running()], False, "Running"),
        ("Always", [crashed()], False, "Running"),
        ("Always", [running(), crashed("d")], False, "Running"),
        ("OnFailure", [done()], False, "Succeeded"),
        ("OnFailure", [crashed()], False, "Running"),
        ("Never", [done(code=0)], False, "Succeeded"),
        ("Never", [done(code=2)], False, "Failed"),
        ("Never", [done("a", 0), done("b", 1)], False, "Failed"),
        ("Always", [done(code=143)], True, "Failed"),
        ("Always", [done(code=0)], True, "Succeeded"),
    ],
)
def test_phase(policy: str, containers: list[ContainerView], terminal: bool, phase: str) -> None:
    assert phase_of(policy, containers, terminal) == phase


def view(containers: list[ContainerView], **kw: Any) -> PodView:
    spec = kw.pop("spec", {"containers": [{"name": c.name} for c in containers]})
    return PodView(spec, containers, "127.10.0.2", "127.0.0.1", T0, T0, **kw)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_not_ready_messages_and_transition_times() -> None:
    first = build_status(view([running("a", ready=False), running("b", ready=False)]), T0 + 5)
    cond = conditions(first)
    assert cond["Ready"]["status"] == "False"
    assert cond["Ready"]["reason"] == "ContainersNotReady"
    assert cond["Ready"]["message"] == "containers with unready status: [a b]"
    assert cond["ContainersReady"]["message"] == "containers with unready status: [a b]"
    assert cond["PodScheduled"]["lastTransitionTime"] == rfc3339(T0)
    assert (
        first["phase"] == "Running" and first["podIP"] == "127.10.0.2" and first["startTime"] == rfc3339(T0)
    )
    # a later status keeps the time of conditions that did not change
    second = build_status(view([running("a"), running("b")], previous_conditions=first["conditions"]), T0 + 9)
    cond2 = conditions(second)
    assert cond2["Ready"] == {
        "type": "Ready",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": rfc3339(T0 + 9),
    }
    assert cond2["Initialized"]["lastTransitionTime"] == rfc3339(T0 + 5)


def test_completed_and_failed_pods() -> None:
    spec = {"restartPolicy": "Never", "containers": [{"name": "c"}]}
    ok = conditions(build_status(view([done()], spec=spec), T0))
    assert (ok["Ready"]["status"], ok["Ready"]["reason"]) == ("False", "PodCompleted")
    bad = build_status(view([done(code=3)], spec=spec), T0)
    assert bad["phase"] == "Failed" and conditions(bad)["ContainersReady"]["reason"] == "PodFailed"


def test_readiness_gates() -> None:
    spec = {"containers": [{"name": "c"}], "readinessGates": [{"conditionType": "example.com/lb"}]}
    missing = conditions(build_status(view([running()], spec=spec), T0))["Ready"]
    assert missing["reason"] == "ReadinessGatesNotReady"
    assert (
        missing["message"] == 'corresponding condition of pod readiness gate "example.com/lb" does not exist.'
    )
    gate = {"type": "example.com/lb", "status": "False"}
    status = build_status(view([running()], spec=spec, previous_conditions=[gate]), T0)
    assert conditions(status)["Ready"]["message"] == (
        'the status of pod readiness gate "example.com/lb" is not "True", but False'
    )
    assert gate in status["conditions"]  # someone else's condition survives
    gate["status"] = "True"
    assert (
        conditions(build_status(view([running()], spec=spec, previous_conditions=[gate]), T0))["Ready"][
            "status"
        ]
        == "True"
    )


def test_container_status_shape() -> None:
    c = crashed(code=3)
    c.resources = {"limits": {"memory": "100M"}}
    status = build_status(view([c]), T0)["containerStatuses"][0]
    assert status == {
        "name": "c",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
        "lastState": {
            "terminated": {
                "exitCode": 3,
                "reason": "Error",
                "startedAt": rfc3339(T0),
                "finishedAt": rfc3339(T0 + 1),
            }
        },
        "ready": False,
        "restartCount": 1,
        "image": "img",
        "imageID": "",
        "started": False,
        "resources": {"limits": {"memory": "100M"}},
    }
    assert build_status(view([running()]), T0)["containerStatuses"][0]["lastState"] == {}


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ([{}], "BestEffort"),
        (
            [{"limits": {"cpu": "100m", "memory": "100M"}, "requests": {"cpu": "0.1", "memory": "100M"}}],
            "Guaranteed",
        ),
        ([{"limits": {"cpu": "100m", "memory": "128Mi"}}], "Guaranteed"),
        ([{"requests": {"cpu": "20m"}}], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
    ],
)
def test_qos(resources: list[dict[str, Any]], qos: str) -> None:
    assert qos_class({"containers": [{"resources": r} for r in resources]}) == qos


def test_unsupported_fields_are_named() -> None:
    from flightdeck.runtime.node import unsupported

    spec = {
        "activeDeadlineSeconds": 30,
        "containers": [
            {
                "name": "hotrod",
                "resources": {"limits": {"cpu": "100m", "memory": "100M"}},
                "lifecycle": {"preStop": {}},
            },
        ],
    }
    assert unsupported(spec) == [
        "spec.activeDeadlineSeconds",
        "containers[hotrod].lifecycle (postStart/preStop hooks are not run)",
        "containers[hotrod].resources.limits.cpu (not enforced)",
    ]
