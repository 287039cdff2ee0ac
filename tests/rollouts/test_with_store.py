"""The Rollout controller under the real controller manager and object store, with the ReplicaSet controller
and the AnalysisRun controller (scripted measurements); a stand-in kubelet marks pods ready."""

from __future__ import annotations

import copy

from flightdeck.analysis.controller import AnalysisRunController, inline_executor
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, Measurement, Phase
from flightdeck.controllers import ControllerManager, register_builtin
from flightdeck.kube.store import ObjectStore
from flightdeck.rollouts import controller as rollout_controller
from flightdeck.rollouts import render_rollout_tree
from flightdeck.util.clock import VirtualClock
from flightdeck.util.timefmt import rfc3339
from tests.rollouts import manifests as m


class Cluster:
    def __init__(self, outcome: str = "S") -> None:
        self.clock = VirtualClock()
        self.store = ObjectStore(None)
        self.manager = ControllerManager(self.store, self.clock)
        register_builtin(self.manager)
        rollout_controller.register(self.manager)
        self.outcome = outcome
        self.analysis = AnalysisRunController(
            self.store, self.clock.now, executor=inline_executor(), measure=self._measure
        )
        self.analysis.register(self.manager)

    def _measure(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        phase = Phase.SUCCESSFUL if self.outcome == "S" else Phase.FAILED
        return FinishedMeasurement(
            task.metric.name, Measurement(phase, started_at=now, finished_at=now, value="[0.01]")
        )

    def kubelet(self) -> None:
        """Pods become ready 5 s after they were created."""
        for pod in self.store.list("Pod"):
            if (pod.get("status") or {}).get("phase") == "Running":
                continue
            created = pod["metadata"]["creationTimestamp"]
            if created <= rfc3339(self.clock.now() - 5):
                pod = copy.deepcopy(pod)
                pod["status"] = {
                    "phase": "Running",
                    "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(self.clock.now())}
                    ],
                    "containerStatuses": [
                        {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}
                    ],
                }
                self.store.update_status(pod)

    def run(self, seconds: float, tick: float = 1.0) -> None:
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.manager.settle()
            self.kubelet()
            self.manager.settle()
            self.clock.advance(tick)

    def status(self) -> dict[str, object]:
        rollout = self.store.get("Rollout", "default", "demo")
        assert rollout is not None
        return rollout.get("status") or {}


def test_canary_to_promotion_with_the_real_store() -> None:
    c = Cluster()
    c.store.apply(m.error_rate_template())
    c.store.apply(m.rollout())
    c.run(15)
    assert c.status()["phase"] == "Healthy"
    first = c.status()["stableRS"]
    c.store.apply(m.with_image(m.rollout(), "example/app:v2"))
    c.run(20)
    assert c.status()["phase"] == "Paused" and c.status()["message"] == "CanaryPauseStep"
    c.run(60)
    status = c.status()
    assert status["phase"] == "Healthy" and status["stableRS"] != first
    runs = c.store.list("AnalysisRun", "default")
    assert [r["status"]["phase"] for r in runs] == ["Successful"]
    reasons = [
        e["reason"] for e in c.store.list("Event", "default") if e["involvedObject"]["kind"] == "Rollout"
    ]
    assert {"RolloutStepCompleted", "RolloutPaused", "RolloutCompleted", "ScalingReplicaSet"} <= set(reasons)
    tree = render_rollout_tree(
        c.store.get("Rollout", "default", "demo") or {},
        c.store.list("ReplicaSet", "default"),
        c.store.list("Pod", "default"),
        runs,
        c.clock.now(),
    )
    assert "✔ Healthy" in tree and "Step:          3/3" in tree


def test_failed_analysis_aborts_with_the_real_store() -> None:
    c = Cluster(outcome="F")
    c.store.apply(m.error_rate_template())
    c.store.apply(m.rollout())
    c.run(15)
    c.store.apply(m.with_image(m.rollout(), "example/app:v2"))
    c.run(70)
    assert c.status()["message"] == (
        "RolloutAborted: Rollout aborted update to revision 2: Step-based analysis phase error/failed: "
        'Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)'
    )
    live = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
        for rs in c.store.list("ReplicaSet")
    }
    assert live == {"example/app:v1": 2, "example/app:v2": 0}
