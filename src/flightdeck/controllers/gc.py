"""Owner-reference garbage collection for dependents whose owners are gone.

Deleting an owner through the store already removes its dependents in the same transaction. This
controller covers what remains: a dependent created (or restored) with an ownerReference to an owner that
no longer exists — a controller racing a deletion, or a manifest naming a stale uid. As with Kubernetes'
garbage collector, a dependent whose owners are all gone is deleted; one that still has a live owner only
loses the dangling references.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flightdeck.kube.actions import Delete, Reconciled, Update
from flightdeck.kube.podutil import name_of, namespace_of
from flightdeck.kube.store import ObjectStore

Obj = dict[str, Any]

# Kinds that carry ownerReferences in flightdeck's cluster.
DEPENDENT_KINDS = (
    "Pod",
    "ReplicaSet",
    "AnalysisRun",
    "Service",
    "ConfigMap",
    "Secret",
    "Deployment",
    "DaemonSet",
    "Rollout",
    "Application",
)


def reconcile_dependent(obj: Obj, live_owner_uids: Collection[str]) -> Reconciled:
    refs = [r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if isinstance(r, dict)]
    if not refs:
        return Reconciled()
    live = [r for r in refs if r.get("uid") in live_owner_uids]
    if len(live) == len(refs):
        return Reconciled()
    if not live:
        return Reconciled([Delete(str(obj.get("kind")), namespace_of(obj), name_of(obj))])
    updated = {**obj, "metadata": {**obj["metadata"], "ownerReferences": live}}
    return Reconciled([Update(updated)])


def observe(obj: Obj, store: ObjectStore, now: float) -> Reconciled:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    live = {str(r.get("uid")) for r in refs if isinstance(r, dict) and store.exists_uid(str(r.get("uid")))}
    return reconcile_dependent(obj, live)
