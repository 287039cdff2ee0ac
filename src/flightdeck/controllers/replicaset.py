"""The ReplicaSet controller (kubernetes ``pkg/controller/replicaset``), as a pure reconciler.

Keeps ``spec.replicas`` active pods: creates ``<rs>-<5 chars>`` pods from the template (owned by the
ReplicaSet, with the template's labels), deletes surplus pods in ``ActivePods`` order (not-ready ones
first), adopts matching orphans, releases pods that no longer match, removes pods that ended
(Succeeded/Failed: a ReplicaSet's pods restart in place, so a terminal pod is replaced), and reports
``replicas``, ``fullyLabeledReplicas``, ``readyReplicas``, ``availableReplicas`` (``minReadySeconds``) and
``observedGeneration``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flightdeck.controllers.pods import deletion_order, generated_names, pod_from_template
from flightdeck.kube.actions import Action, Create, Delete, Event, Reconciled, Update, UpdateStatus
from flightdeck.kube.podutil import (
    available_at,
    controller_ref,
    generation_of,
    is_being_deleted,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    labels_of,
    name_of,
    namespace_of,
    new_controller_ref,
    phase_of,
    uid_of,
)
from flightdeck.kube.selectors import SelectorError, from_label_selector, from_match_labels
from flightdeck.kube.store import Key, ObjectStore, WatchEvent

Obj = dict[str, Any]

BURST_REPLICAS = 500
# Availability is "ready for strictly longer than minReadySeconds": look again just after the boundary.
AVAILABILITY_EPSILON = 0.001


def replica_set_status(rs: Obj, pods: list[Obj], now: float) -> tuple[Obj, float | None]:
    """``calculateStatus`` over the active pods the ReplicaSet owns; also when the next pod becomes available."""
    spec = rs.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    template_labels = from_match_labels(
        ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    )
    fully = ready = available = 0
    next_available: float | None = None
    for pod in pods:
        if template_labels.matches(labels_of(pod)):
            fully += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
            else:
                at = available_at(pod, min_ready)
                if at is not None:
                    when = at + AVAILABILITY_EPSILON
                    next_available = when if next_available is None else min(next_available, when)
    old = rs.get("status") or {}
    status: Obj = {"replicas": len(pods)}
    if fully:
        status["fullyLabeledReplicas"] = fully
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    generation = generation_of(rs)
    if generation:
        status["observedGeneration"] = generation
    if old.get("conditions"):
        status["conditions"] = old["conditions"]
    return status, next_available


def reconcile_replicaset(rs: Obj, pods: Iterable[Obj], now: float) -> Reconciled:
    """``pods``: the pods in the ReplicaSet's namespace that it owns or that are orphans (candidates)."""
    actions: list[Action] = []
    uid = uid_of(rs)
    name = name_of(rs)
    namespace = namespace_of(rs)
    spec = rs.get("spec") or {}
    try:
        selector = from_label_selector(spec.get("selector"))
    except SelectorError as exc:
        return Reconciled([Event("ReplicaSet", namespace, name, "InvalidSelector", str(exc), "Warning")])
    deleting = is_being_deleted(rs)

    filtered: list[Obj] = []
    terminal: list[Obj] = []
    taken: set[str] = set()
    for pod in pods:
        taken.add(name_of(pod))
        ref = controller_ref(pod)
        matches = selector.matches(labels_of(pod))
        if ref is None:
            # Adopt matching orphans (ClaimPods), unless we are going away.
            if matches and not deleting and is_pod_active(pod):
                adopted = dict(pod)
                adopted["metadata"] = {
                    **pod["metadata"],
                    "ownerReferences": [
                        *(pod["metadata"].get("ownerReferences") or []),
                        new_controller_ref(rs),
                    ],
                }
                actions.append(Update(adopted))
                filtered.append(pod)
            continue
        if ref.get("uid") != uid:
            continue
        if not matches:
            # Release: the pod no longer matches our selector.
            released = dict(pod)
            refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            released["metadata"] = {k: v for k, v in pod["metadata"].items() if k != "ownerReferences"}
            if refs:
                released["metadata"]["ownerReferences"] = refs
            actions.append(Update(released))
            continue
        if is_pod_active(pod):
            filtered.append(pod)
        elif phase_of(pod) in ("Succeeded", "Failed"):
            terminal.append(pod)

    for pod in terminal:
        actions.append(Delete("Pod", namespace, name_of(pod)))

    if not deleting:
        raw_replicas = spec.get("replicas")
        replicas = int(raw_replicas) if raw_replicas is not None else 1
        diff = len(filtered) - replicas
        template = spec.get("template") or {}
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            for pod_name in generated_names(rs, count, now, taken):
                actions.append(Create(pod_from_template(rs, template, pod_name)))
                actions.append(
                    Event("ReplicaSet", namespace, name, "SuccessfulCreate", f"Created pod: {pod_name}")
                )
        elif diff > 0:
            for pod in deletion_order(filtered)[: min(diff, BURST_REPLICAS)]:
                actions.append(Delete("Pod", namespace, name_of(pod)))
                actions.append(
                    Event("ReplicaSet", namespace, name, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}")
                )

    status, next_available = replica_set_status(rs, filtered, now)
    if status != (rs.get("status") or {}):
        actions.append(UpdateStatus({**rs, "status": status}))
    return Reconciled(actions, next_available)


def observe(rs: Obj, store: ObjectStore, now: float) -> Reconciled:
    """Gather the ReplicaSet's pods (owned, and orphans in its namespace) and reconcile."""
    uid = uid_of(rs)
    namespace = namespace_of(rs)
    pods: list[Obj] = store.dependents(uid, "Pod")
    owned = {name_of(p) for p in pods}
    try:
        selector = from_label_selector((rs.get("spec") or {}).get("selector"))
    except SelectorError:
        selector = None
    if selector is not None and not selector.empty:
        for pod in store.list("Pod", namespace, selector):
            if name_of(pod) not in owned and controller_ref(pod) is None:
                pods.append(pod)
    return reconcile_replicaset(rs, pods, now)


def map_orphan_pods(event: WatchEvent, store: ObjectStore) -> list[Key]:
    """An orphan pod may be adopted by any ReplicaSet whose selector matches it."""
    if event.type == "DELETED" or controller_ref(event.obj) is not None:
        return []
    labels = labels_of(event.obj)
    keys: list[Key] = []
    for rs in store.list("ReplicaSet", event.namespace):
        try:
            selector = from_label_selector((rs.get("spec") or {}).get("selector"))
        except SelectorError:
            continue
        if not selector.empty and selector.matches(labels):
            keys.append(("ReplicaSet", event.namespace, name_of(rs)))
    return keys
