"""Running :func:`reconcile_rollout` under the controller manager: what it reads from the store, and which
changes of other objects bring a Rollout back to the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightdeck.kube.actions import Obj, Reconciled
from flightdeck.rollouts.objutil import namespace_of, spec_of
from flightdeck.rollouts.reconcile import reconcile_rollout

if TYPE_CHECKING:
    from flightdeck.controllers.manager import ControllerManager
    from flightdeck.kube.store import Key, ObjectStore, WatchEvent


def observe(rollout: Obj, store: ObjectStore, now: float) -> Reconciled:
    """Read the Rollout's namespace (ReplicaSets, AnalysisRuns, and Pods while a restart is pending) and reconcile."""
    namespace = namespace_of(rollout)
    pods = store.list("Pod", namespace) if spec_of(rollout).get("restartAt") else []
    return reconcile_rollout(
        rollout,
        store.list("ReplicaSet", namespace),
        store.list("AnalysisRun", namespace),
        store.get,
        now,
        pods,
    )


def _rollouts_of_namespace(event: WatchEvent, store: ObjectStore) -> list[Key]:
    """A template appeared or changed: Rollouts that were InvalidSpec may run now (Argo retries every 20 s)."""
    namespace = None if event.kind == "ClusterAnalysisTemplate" else event.namespace
    return [
        ("Rollout", namespace_of(r), str(r["metadata"]["name"])) for r in store.list("Rollout", namespace)
    ]


def register(manager: ControllerManager) -> None:
    """Register the Rollout controller: it owns ReplicaSets and AnalysisRuns (their changes requeue it)."""
    manager.register(
        "Rollout",
        observe,
        owns=("ReplicaSet", "AnalysisRun"),
        maps={"AnalysisTemplate": _rollouts_of_namespace, "ClusterAnalysisTemplate": _rollouts_of_namespace},
        name="rollouts-controller",
    )
