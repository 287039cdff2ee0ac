"""Resource health by Argo CD's rules (gitops-engine's checks, argo-cd's Rollout Lua) and the app's aggregate."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.gitops.health import Health, is_worse, resource_health


def _obj(
    api_version: str, kind: str, spec: Any = None, status: Any = None, generation: int = 1, **meta: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", "generation": generation, **meta},
    }
    if spec is not None:
        obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def _rollout(status: Any, spec: Any = None, generation: int = 1) -> dict[str, Any]:
    return _obj(
        "argoproj.io/v1alpha1",
        "Rollout",
        spec if spec is not None else {"replicas": 2, "strategy": {"canary": {"steps": [{"setWeight": 50}]}}},
        status,
        generation,
    )


ROLLOUT_CASES = [
    # The seed's Rollout as Argo Rollouts reports it: status.phase and message are surfaced as they are.
    (
        {"observedGeneration": "1", "phase": "Progressing", "message": "more replicas need to be updated"},
        Health("Progressing", "more replicas need to be updated"),
    ),
    (
        {"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep"},
        Health("Suspended", "CanaryPauseStep"),
    ),
    (
        {
            "observedGeneration": "1",
            "phase": "Degraded",
            "message": 'RolloutAborted: Rollout aborted update to revision 2: Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)',
        },
        Health(
            "Degraded",
            'RolloutAborted: Rollout aborted update to revision 2: Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)',
        ),
    ),
    ({"observedGeneration": "1", "phase": "Healthy"}, Health("Healthy", "")),
    # Before the controller has seen the spec.
    (None, Health("Progressing", "Waiting for rollout spec update to be observed")),
    (
        {"observedGeneration": "1"},
        Health("Progressing", "Waiting for rollout to finish: status has not been reconciled."),
    ),
    # A generation the controller has not observed yet (numeric observedGeneration, v0.10+).
    (
        {"observedGeneration": 1, "phase": "Healthy"},
        Health("Progressing", "Waiting for rollout spec update to be observed"),
    ),
    # Older controllers without phase: conditions, pause and replica counts decide.
    (
        {"observedGeneration": "2", "conditions": [{"type": "InvalidSpec", "message": "bad"}]},
        Health("Degraded", "bad"),
    ),
    (
        {
            "observedGeneration": "2",
            "conditions": [{"type": "Progressing", "reason": "RolloutAborted", "message": "aborted"}],
        },
        Health("Degraded", "aborted"),
    ),
    (
        {
            "observedGeneration": "2",
            "pauseConditions": [{"reason": "CanaryPauseStep"}],
            "currentPodHash": "h",
        },
        Health("Suspended", "Rollout is paused"),
    ),
    (
        {
            "observedGeneration": "2",
            "currentPodHash": "new",
            "replicas": 2,
            "updatedReplicas": 1,
            "availableReplicas": 1,
        },
        Health("Progressing", "Waiting for roll out to finish: More replicas need to be updated"),
    ),
    (
        {
            "observedGeneration": "2",
            "currentPodHash": "new",
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": 1,
        },
        Health(
            "Progressing", "Waiting for roll out to finish: updated replicas are still becoming available"
        ),
    ),
    (
        {
            "observedGeneration": "2",
            "currentPodHash": "new",
            "replicas": 3,
            "updatedReplicas": 2,
            "availableReplicas": 2,
        },
        Health("Progressing", "Waiting for roll out to finish: old replicas are pending termination"),
    ),
    (
        {
            "observedGeneration": "2",
            "currentPodHash": "new",
            "stableRS": "old",
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": 2,
        },
        Health("Progressing", "Waiting for rollout to finish steps"),
    ),
    (
        {
            "observedGeneration": "2",
            "currentPodHash": "new",
            "stableRS": "new",
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": 2,
        },
        Health("Healthy", ""),
    ),
]


@pytest.mark.parametrize(("status", "expected"), ROLLOUT_CASES)
def test_rollout_health(status: Any, expected: Health) -> None:
    generation = 2 if status is not None and status.get("observedGeneration") in ("2", 1) else 1
    assert resource_health(_rollout(status, generation=generation)) == expected


def test_paused_rollout_spec_is_suspended() -> None:
    rollout = _rollout(
        {"observedGeneration": "1", "currentPodHash": "h"}, {"paused": True, "strategy": {"canary": {}}}
    )
    assert resource_health(rollout) == Health("Suspended", "Rollout is paused")


DEPLOYMENT = "apps/v1"
CASES = [
    (
        _obj(DEPLOYMENT, "Deployment", {"replicas": 2, "paused": True}, {}),
        Health("Suspended", "Deployment is paused"),
    ),
    (
        _obj(DEPLOYMENT, "Deployment", {"replicas": 2}, {"observedGeneration": 0}),
        Health(
            "Progressing",
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        ),
    ),
    (
        _obj(DEPLOYMENT, "Deployment", {"replicas": 2}, {"observedGeneration": 1, "updatedReplicas": 1}),
        Health("Progressing", "Waiting for rollout to finish: 1 out of 2 new replicas have been updated..."),
    ),
    (
        _obj(
            DEPLOYMENT,
            "Deployment",
            {"replicas": 2},
            {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2},
        ),
        Health("Progressing", "Waiting for rollout to finish: 1 old replicas are pending termination..."),
    ),
    (
        _obj(
            DEPLOYMENT,
            "Deployment",
            {"replicas": 2},
            {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
        ),
        Health("Progressing", "Waiting for rollout to finish: 1 of 2 updated replicas are available..."),
    ),
    (
        _obj(
            DEPLOYMENT,
            "Deployment",
            {"replicas": 1},
            {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
        ),
        Health("Healthy"),
    ),
    (
        _obj(
            DEPLOYMENT,
            "Deployment",
            {},
            {
                "observedGeneration": 1,
                "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
            },
        ),
        Health("Degraded", 'Deployment "x" exceeded its progress deadline'),
    ),
    (
        _obj(DEPLOYMENT, "ReplicaSet", {"replicas": 2}, {"observedGeneration": 1, "availableReplicas": 1}),
        Health("Progressing", "Waiting for rollout to finish: 1 out of 2 new replicas are available..."),
    ),
    (
        _obj(
            DEPLOYMENT,
            "ReplicaSet",
            {"replicas": 2},
            {
                "observedGeneration": 1,
                "conditions": [{"type": "ReplicaFailure", "status": "True", "message": "quota"}],
            },
        ),
        Health("Degraded", "quota"),
    ),
    (
        _obj(
            DEPLOYMENT,
            "DaemonSet",
            {},
            {"observedGeneration": 1, "desiredNumberScheduled": 1, "updatedNumberScheduled": 0},
        ),
        Health(
            "Progressing",
            'Waiting for daemon set "x" rollout to finish: 0 out of 1 new pods have been updated...',
        ),
    ),
    (
        _obj(
            DEPLOYMENT,
            "DaemonSet",
            {},
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 1,
                "updatedNumberScheduled": 1,
                "numberAvailable": 0,
            },
        ),
        Health(
            "Progressing",
            'Waiting for daemon set "x" rollout to finish: 0 of 1 updated pods are available...',
        ),
    ),
    (
        _obj(
            DEPLOYMENT,
            "DaemonSet",
            {},
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 1,
                "updatedNumberScheduled": 1,
                "numberAvailable": 1,
            },
        ),
        Health("Healthy"),
    ),
    (_obj("v1", "Service", {"type": "ClusterIP"}), Health("Healthy")),
    (_obj("v1", "Service", {"type": "LoadBalancer"}, {"loadBalancer": {}}), Health("Progressing")),
    (_obj("v1", "Pod", {}, {"phase": "Pending", "message": "waiting"}), Health("Progressing", "waiting")),
    (
        _obj("v1", "Pod", {}, {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
        Health("Healthy"),
    ),
    (
        _obj("v1", "Pod", {}, {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
        Health("Progressing"),
    ),
    (
        _obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "c",
                        "state": {
                            "waiting": {
                                "reason": "CrashLoopBackOff",
                                "message": "back-off 10s restarting failed container",
                            }
                        },
                    }
                ],
            },
        ),
        Health("Degraded", "back-off 10s restarting failed container"),
    ),
    (
        _obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "c",
                        "state": {"waiting": {"reason": "ErrImagePull", "message": "no such image"}},
                    }
                ],
            },
        ),
        Health("Degraded", "no such image"),
    ),
    (
        _obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Failed",
                "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 1}}}],
            },
        ),
        Health("Degraded", 'container "c" failed with exit code 1'),
    ),
    (_obj("v1", "Pod", {"restartPolicy": "Never"}, {"phase": "Running"}), Health("Progressing")),
    (_obj("v1", "Pod", {}, {"phase": "Succeeded"}), Health("Healthy")),
    (_obj("v1", "ConfigMap"), None),
    (
        _obj("v1", "Pod", {}, {"phase": "Running"}, deletionTimestamp="2024-01-01T00:00:00Z"),
        Health("Progressing", "Pending deletion"),
    ),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_resource_health(obj: dict[str, Any], expected: Health | None) -> None:
    assert resource_health(obj) == expected


def test_health_order() -> None:
    order = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
    for i, better in enumerate(order):
        for worse in order[i + 1 :]:
            assert is_worse(better, worse)
            assert not is_worse(worse, better)
