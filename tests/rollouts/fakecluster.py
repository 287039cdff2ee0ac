"""A tiny in-memory cluster on a virtual clock for Rollout controller tests.

It applies the pure reconciler's actions like an API server would (uids, resourceVersion, generation,
ownerReference garbage collection), plays a ReplicaSet controller (pods appear at once and become ready
``ready_delay`` seconds later, unless their pod-template hash is in ``never_ready``), and runs AnalysisRuns
through flightdeck's real analysis engine with scripted measurement outcomes.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Measurement, Phase
from flightdeck.kube.actions import Create, Delete, Event, Obj, Reconciled, Update, UpdateStatus
from flightdeck.rollouts import reconcile_rollout
from flightdeck.util.timefmt import parse_rfc3339, rfc3339

Key = tuple[str, str, str]
Outcome = str | tuple[str, str]
"""``"S"``, ``"F"``, ``"I"``, ``"E"`` or ``("E", "message")``."""
_CODES = {"S": Phase.SUCCESSFUL, "F": Phase.FAILED, "I": Phase.INCONCLUSIVE, "E": Phase.ERROR}
START = 1_700_000_000.0


def _key(obj: Obj) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace") or "", meta["name"])


class FakeCluster:
    def __init__(self, *, start: float = START, ready_delay: float = 5.0) -> None:
        self.now = start
        self.ready_delay = ready_delay
        self.never_ready: set[str] = set()
        """Images whose pods never become ready."""
        self.objects: dict[Key, Obj] = {}
        self.events: list[Event] = []
        self.outcome: Callable[[str, str, float], Outcome] = lambda metric, run, now: "S"
        self.reconciles = 0
        self.last: Reconciled | None = None
        self._uids = itertools.count(1)
        self._rv = itertools.count(1)
        self._ready_at: dict[str, float] = {}
        self._runs: dict[str, tuple[AnalysisRun, AnalysisDriver]] = {}
        self._run_wake: dict[str, float | None] = {}
        self._rollout_wake: dict[Key, float | None] = {}

    # -- API server ----------------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        obj = self.objects.get((kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in sorted(self.objects.items())
            if k == kind and (namespace is None or ns == namespace)
        ]

    def create(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        key = _key(obj)
        assert key not in self.objects, f"{key} already exists"
        meta = obj["metadata"]
        meta["uid"] = f"uid-{next(self._uids)}"
        meta["resourceVersion"] = str(next(self._rv))
        meta["generation"] = 1
        meta["creationTimestamp"] = rfc3339(self.now)
        obj.setdefault("status", {})
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def apply(self, obj: Obj) -> Obj:
        """Create, or replace metadata labels/annotations and spec keeping status (``kubectl apply``)."""
        key = _key(obj)
        current = self.objects.get(key)
        if current is None:
            return self.create(obj)
        updated = copy.deepcopy(current)
        updated["spec"] = copy.deepcopy(obj.get("spec"))
        for field in ("labels", "annotations"):
            if field in obj["metadata"]:
                updated["metadata"][field] = {**current["metadata"].get(field, {}), **obj["metadata"][field]}
        return self.update(updated)

    def update(self, obj: Obj) -> Obj:
        key = _key(obj)
        current = self.objects[key]
        updated = copy.deepcopy(current)
        updated["spec"] = copy.deepcopy(obj.get("spec"))
        meta = updated["metadata"]
        for field in ("labels", "annotations", "ownerReferences"):
            if field in obj["metadata"]:
                meta[field] = copy.deepcopy(obj["metadata"][field])
        if updated["spec"] != current.get("spec"):
            meta["generation"] = current["metadata"]["generation"] + 1
        if updated != current:
            meta["resourceVersion"] = str(next(self._rv))
            self.objects[key] = updated
        return copy.deepcopy(updated)

    def update_status(self, obj: Obj) -> Obj:
        key = _key(obj)
        current = self.objects[key]
        if current.get("status") != obj.get("status"):
            current["status"] = copy.deepcopy(obj.get("status") or {})
            current["metadata"]["resourceVersion"] = str(next(self._rv))
        return copy.deepcopy(current)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        obj = self.objects.pop((kind, namespace, name), None)
        if obj is None:
            return
        uid = obj["metadata"]["uid"]
        for key, other in list(self.objects.items()):
            if any(ref.get("uid") == uid for ref in other["metadata"].get("ownerReferences") or ()):
                self.delete(*key)

    def apply_actions(self, actions: Iterable[object]) -> None:
        for action in actions:
            if isinstance(action, Create):
                self.create(action.obj)
            elif isinstance(action, Update):
                self.update(action.obj)
            elif isinstance(action, UpdateStatus):
                self.update_status(action.obj)
            elif isinstance(action, Delete):
                self.delete(action.kind, action.namespace, action.name)
            elif isinstance(action, Event):
                self.events.append(action)
            else:  # pragma: no cover - a new action type must be handled here
                raise AssertionError(f"unknown action {action!r}")

    # -- controllers ---------------------------------------------------------------------------------------

    def _version(self) -> tuple[str, ...]:
        return tuple(sorted(f"{k}:{o['metadata']['resourceVersion']}" for k, o in self.objects.items()))

    def reconcile_rollouts(self) -> None:
        for key in [k for k in self.objects if k[0] == "Rollout"]:
            rollout = self.get(*key)
            if rollout is None:
                continue
            ns = key[1]
            result = reconcile_rollout(
                rollout,
                self.list("ReplicaSet", ns),
                self.list("AnalysisRun", ns),
                self.get,
                self.now,
                self.list("Pod", ns),
            )
            self.reconciles += 1
            self.last = result
            self._rollout_wake[key] = result.requeue_at
            self.apply_actions(result.actions)

    def _ready_pod_status(self, pod: Obj) -> dict[str, Any]:
        since = rfc3339(self._ready_at[pod["metadata"]["name"]])
        name = pod["spec"]["containers"][0]["name"]
        return {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": since}],
            "containerStatuses": [
                {"name": name, "ready": True, "restartCount": 0, "state": {"running": {"startedAt": since}}}
            ],
        }

    def run_replicasets(self) -> None:
        """A minimal ReplicaSet controller: pods follow spec.replicas; status follows the pods."""
        for rs in self.list("ReplicaSet"):
            ns, uid = rs["metadata"]["namespace"], rs["metadata"]["uid"]
            pods = [
                p
                for p in self.list("Pod", ns)
                if any(r["uid"] == uid for r in p["metadata"].get("ownerReferences", []))
            ]
            pods.sort(key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
            desired = rs["spec"].get("replicas", 1)
            template = rs["spec"]["template"]
            images = {c.get("image") for c in template["spec"].get("containers", [])}
            while len(pods) < desired:
                name = f"{rs['metadata']['name']}-{next(self._uids):05d}"
                pod = self.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": name,
                            "namespace": ns,
                            "labels": dict(template["metadata"].get("labels", {})),
                            "ownerReferences": [
                                {
                                    "apiVersion": "apps/v1",
                                    "kind": "ReplicaSet",
                                    "name": rs["metadata"]["name"],
                                    "uid": uid,
                                    "controller": True,
                                }
                            ],
                        },
                        "spec": copy.deepcopy(template["spec"]),
                        "status": {"phase": "Pending"},
                    }
                )
                if not images & self.never_ready:
                    self._ready_at[name] = self.now + self.ready_delay
                pods.append(pod)
            while len(pods) > desired:
                victim = pods.pop()  # newest first
                self.delete("Pod", ns, victim["metadata"]["name"])
            ready = 0
            for pod in pods:
                at = self._ready_at.get(pod["metadata"]["name"])
                if at is not None and at <= self.now:
                    ready += 1
                    status = self._ready_pod_status(pod)
                    if pod.get("status") != status:
                        pod["status"] = status
                        self.update_status(pod)
            status = {
                "replicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": rs["metadata"]["generation"],
            }
            if rs.get("status") != status:
                rs["status"] = status
                self.update_status(rs)

    def _measure(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        outcome = self.outcome(task.metric.name, run.name, now)
        code, message = (outcome, "") if isinstance(outcome, str) else outcome
        value = "[0.01]" if code == "S" else "[0.2]" if code == "F" else ""
        measurement = Measurement(_CODES[code], started_at=now, finished_at=now, value=value, message=message)
        return FinishedMeasurement(task.metric.name, measurement, resumed=False)

    def run_analysis(self) -> None:
        """AnalysisRuns through the real engine (what the AnalysisRun controller does)."""
        for ar in self.list("AnalysisRun"):
            name = ar["metadata"]["name"]
            if name not in self._runs:
                spec = AnalysisRunSpec.from_dict(ar["spec"])
                created = parse_rfc3339(ar["metadata"]["creationTimestamp"])
                run = AnalysisRun(name, ar["metadata"]["namespace"], spec, created_at=created)
                self._runs[name] = (run, AnalysisDriver(self._measure))
            run, driver = self._runs[name]
            run.spec.terminate = bool(ar["spec"].get("terminate"))
            settled = driver.settle(run, self.now)
            self._run_wake[name] = None if run.status.phase.completed else settled.requeue_at
            status = run.status.to_dict()
            if ar.get("status") != status:
                ar["status"] = status
                self.update_status(ar)

    def settle(self, limit: int = 200) -> None:
        """Run every controller at the current instant until nothing changes."""
        for _ in range(limit):
            before = self._version()
            self.reconcile_rollouts()
            self.run_replicasets()
            self.run_analysis()
            if self._version() == before:
                return
        raise AssertionError("controllers did not settle")

    def next_wake(self) -> float | None:
        times = [t for t in self._rollout_wake.values() if t is not None]
        times += [t for t in self._run_wake.values() if t is not None]
        times += [t for t in self._ready_at.values() if t > self.now]
        future = [t for t in times if t > self.now]
        return min(future) if future else None

    def advance(self, seconds: float) -> None:
        """Move the clock forward, settling at every wake-up on the way."""
        end = self.now + seconds
        self.settle()
        while True:
            wake = self.next_wake()
            if wake is None or wake > end:
                break
            self.now = wake
            self.settle()
        self.now = end
        self.settle()

    def run_until(self, predicate: Callable[[], bool], limit: float = 3600.0) -> float:
        """Advance wake-up by wake-up until ``predicate`` holds; returns the elapsed virtual seconds."""
        start = self.now
        self.settle()
        while not predicate():
            wake = self.next_wake()
            if wake is None or wake - start > limit:
                raise AssertionError(f"condition not reached within {limit}s (t={self.now - start})")
            self.now = wake
            self.settle()
        return self.now - start

    # -- helpers for tests -----------------------------------------------------------------------------------

    def rollout(self, name: str = "demo", namespace: str = "default") -> Obj:
        obj = self.get("Rollout", namespace, name)
        assert obj is not None
        return obj

    def status(self, name: str = "demo") -> dict[str, Any]:
        return self.rollout(name).get("status") or {}

    def replicasets(self, namespace: str = "default") -> dict[str, Obj]:
        return {
            rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs
            for rs in self.list("ReplicaSet", namespace)
        }

    def analysis_runs(self, namespace: str = "default") -> dict[str, Obj]:
        return {ar["metadata"]["name"]: ar for ar in self.list("AnalysisRun", namespace)}

    def event_messages(self, reason: str | None = None) -> list[str]:
        return [e.message for e in self.events if reason is None or e.reason == reason]
