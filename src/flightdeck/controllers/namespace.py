"""The namespace controller: a Namespace being deleted has its content deleted, then its ``kubernetes``
finalizer removed, at which point the store forgets it (kubernetes ``pkg/controller/namespace``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flightdeck.kube.actions import Action, Delete, Reconciled, Update
from flightdeck.kube.podutil import is_being_deleted, name_of
from flightdeck.kube.store import ObjectStore

Obj = dict[str, Any]

FINALIZER = "kubernetes"
# Content with finalizers of its own may take a while to go: look again after this long.
RECHECK_SECONDS = 1.0


def reconcile_namespace(ns: Obj, content: Iterable[Obj], now: float) -> Reconciled:
    if not is_being_deleted(ns):
        return Reconciled()
    namespace = name_of(ns)
    actions: list[Action] = []
    remaining = 0
    for obj in content:
        remaining += 1
        if not is_being_deleted(obj):
            actions.append(Delete(str(obj.get("kind")), namespace, name_of(obj)))
    if remaining:
        # Deletions are synchronous in the store; what stays has finalizers (or arrived meanwhile).
        return Reconciled(actions, now + (0.0 if actions else RECHECK_SECONDS))
    finalizers = list((ns.get("spec") or {}).get("finalizers") or [])
    if FINALIZER in finalizers:
        finalizers.remove(FINALIZER)
        updated = {**ns, "spec": {**(ns.get("spec") or {}), "finalizers": finalizers}}
        return Reconciled([Update(updated)])
    return Reconciled()


def observe(ns: Obj, store: ObjectStore, now: float) -> Reconciled:
    if not is_being_deleted(ns):
        return Reconciled()
    return reconcile_namespace(ns, store.list_namespace(name_of(ns)), now)
