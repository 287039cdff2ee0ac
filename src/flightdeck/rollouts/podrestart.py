"""``kubectl argo rollouts restart``: evict pods older than ``spec.restartAt`` a few at a time (Argo's
RolloutPodRestarter). Evictions are Pod deletes; the ReplicaSet controller replaces the pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.rollouts.context import Pass
from flightdeck.rollouts.objutil import (
    as_int,
    created_at,
    deleting,
    meta,
    name_of,
    spec_of,
    status_of,
    sum_replicas,
    timestamp,
    uid_of,
)
from flightdeck.rollouts.replicas import max_unavailable
from flightdeck.rollouts.steps import canary_of, replicas_of

RESTART_CHECK_SECONDS = 30.0


def needs_restart(rollout: Mapping[str, Any], now: float) -> bool:
    restart_at = timestamp(spec_of(rollout).get("restartAt"))
    if restart_at is None:
        return False
    if restart_at == timestamp(status_of(rollout).get("restartedAt")):
        return False
    return now > restart_at


def pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """``podutil.IsPodAvailable``: Ready, and Ready for at least minReadySeconds."""
    for cond in status_of(pod).get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            if min_ready_seconds == 0:
                return True
            since = timestamp(cond.get("lastTransitionTime"))
            return since is not None and since + min_ready_seconds < now
    return False


def reconcile_restart(p: Pass) -> int:
    """Evict what may be evicted now; returns how many pods were restarted in this pass."""
    restart_at = timestamp(spec_of(p.ro).get("restartAt"))
    if restart_at is not None and p.now <= restart_at:
        p.requeue_at(restart_at + 0.001)
    if not needs_restart(p.ro, p.now) or restart_at is None:
        return 0
    rs_uids = {uid_of(rs) for rs in p.all_rss if uid_of(rs)}
    pods = sorted(
        (
            pod
            for pod in p.pods
            if any(ref.get("uid") in rs_uids for ref in meta(pod).get("ownerReferences") or ())
        ),
        key=name_of,
    )
    replicas = replicas_of(p.ro)
    min_ready = as_int(spec_of(p.ro).get("minReadySeconds"))
    available = sum(1 for pod in pods if pod_available(pod, min_ready, p.now) and not deleting(pod))
    concurrent = max(max_unavailable(replicas, canary_of(p.ro)), 1)
    can_restart = available - (max(replicas, sum_replicas(p.all_rss)) - concurrent)
    needed = restarted = 0
    for pod in pods:
        if created_at(pod) >= restart_at:
            continue
        needed += 1
        if can_restart <= 0 or deleting(pod):
            continue
        p.delete("Pod", pod)
        can_restart -= 1
        restarted += 1
    if needed != restarted:
        p.requeue_at(p.now + RESTART_CHECK_SECONDS)
    else:
        p.new_status["restartedAt"] = spec_of(p.ro).get("restartAt")
    return restarted
