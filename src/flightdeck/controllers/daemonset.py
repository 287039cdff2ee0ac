"""The DaemonSet controller for flightdeck's single node (kubernetes ``pkg/controller/daemon``), pure.

One node means one daemon pod. Its labels carry ``controller-revision-hash`` (the template hash) and
``pod-template-generation``; a template change replaces the pod — RollingUpdate deletes the old pod first
(``maxUnavailable`` 1) or, with ``maxSurge`` > 0, starts the new one and deletes the old one once the new
one is available; OnDelete waits for the user. Failed daemon pods are deleted and recreated. Status:
desired/current/updated number scheduled, numberReady, numberAvailable, numberUnavailable,
observedGeneration. ControllerRevision objects are not kept (no ``kubectl rollout undo`` for DaemonSets).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flightdeck.controllers.pods import generated_names, pod_from_template
from flightdeck.kube.actions import Action, Create, Delete, Event, Reconciled, UpdateStatus
from flightdeck.kube.hashing import pod_template_hash
from flightdeck.kube.podutil import (
    available_at,
    creation_time,
    generation_of,
    int_or_percent,
    is_being_deleted,
    is_controlled_by,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    labels_of,
    name_of,
    namespace_of,
    phase_of,
    uid_of,
)
from flightdeck.kube.store import ObjectStore

Obj = dict[str, Any]

REVISION_HASH = "controller-revision-hash"
TEMPLATE_GENERATION = "pod-template-generation"
AVAILABILITY_EPSILON = 0.001


def reconcile_daemonset(ds: Obj, pods: Iterable[Obj], now: float) -> Reconciled:
    """``pods``: the pods this DaemonSet owns."""
    actions: list[Action] = []
    name, namespace = name_of(ds), namespace_of(ds)
    spec = ds.get("spec") or {}
    template = spec.get("template") or {}
    collision = (ds.get("status") or {}).get("collisionCount")
    current_hash = pod_template_hash(template, collision)
    generation = generation_of(ds)
    min_ready = int(spec.get("minReadySeconds") or 0)
    owned = [p for p in pods if is_controlled_by(p, uid_of(ds))]
    taken = {name_of(p) for p in owned}

    active: list[Obj] = []
    for pod in owned:
        if phase_of(pod) == "Failed":
            actions.append(Delete("Pod", namespace, name_of(pod)))
            actions.append(
                Event(
                    "DaemonSet",
                    namespace,
                    name,
                    "FailedDaemonPod",
                    f"Found failed daemon pod {namespace}/{name_of(pod)} on node flightdeck, will try to kill it",
                    "Warning",
                )
            )
        elif is_pod_active(pod):
            active.append(pod)

    def is_current(pod: Obj) -> bool:
        labels = labels_of(pod)
        if REVISION_HASH in labels:
            return labels[REVISION_HASH] == current_hash
        return labels.get(TEMPLATE_GENERATION) == str(generation)

    current = sorted((p for p in active if is_current(p)), key=lambda p: (creation_time(p), name_of(p)))
    old = sorted((p for p in active if not is_current(p)), key=lambda p: (creation_time(p), name_of(p)))

    def create() -> None:
        pod_name = generated_names(ds, 1, now, taken)[0]
        pod = pod_from_template(
            ds, template, pod_name, {REVISION_HASH: current_hash, TEMPLATE_GENERATION: str(generation)}
        )
        actions.append(Create(pod))
        actions.append(Event("DaemonSet", namespace, name, "SuccessfulCreate", f"Created pod: {pod_name}"))

    def delete(pod: Obj) -> None:
        actions.append(Delete("Pod", namespace, name_of(pod)))
        actions.append(
            Event("DaemonSet", namespace, name, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}")
        )

    if not is_being_deleted(ds):
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        ru = strategy.get("rollingUpdate") or {}
        surge = int_or_percent(ru.get("maxSurge", 0), 1, True) if rolling else 0
        # More than one current pod on the node: keep the oldest (syncNodes).
        for extra in current[1:]:
            delete(extra)
        if not rolling:
            if not current and not old:
                create()
        elif surge > 0:
            if not current:
                create()
            elif is_pod_available(current[0], min_ready, now):
                for pod in old:
                    delete(pod)
        else:
            if old:
                # maxUnavailable (≥ 1 on one node): replace the old pod by deleting it first.
                for pod in old:
                    delete(pod)
            elif not current:
                create()

    scheduled = 1 if active else 0
    ready = 1 if any(is_pod_ready(p) for p in active) else 0
    available = 1 if any(is_pod_available(p, min_ready, now) for p in active) else 0
    updated = 1 if current else 0
    status: Obj = {
        "currentNumberScheduled": scheduled,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": ready,
    }
    if generation:
        status["observedGeneration"] = generation
    if updated:
        status["updatedNumberScheduled"] = updated
    if available:
        status["numberAvailable"] = available
    if 1 - available:
        status["numberUnavailable"] = 1 - available
    if collision is not None:
        status["collisionCount"] = collision
    requeue: float | None = None
    if ready and not available:
        times = [t for t in (available_at(p, min_ready) for p in active) if t is not None]
        if times:
            requeue = min(times) + AVAILABILITY_EPSILON
    if status != (ds.get("status") or {}):
        actions.append(UpdateStatus({**ds, "status": status}))
    return Reconciled(actions, requeue)


def observe(ds: Obj, store: ObjectStore, now: float) -> Reconciled:
    return reconcile_daemonset(ds, store.dependents(uid_of(ds), "Pod"), now)
