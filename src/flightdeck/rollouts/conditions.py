"""Rollout conditions and phase (Argo's utils/conditions and rolloututil.CalculateRolloutPhase).

A status is a plain dict; conditions are ``{type, status, lastUpdateTime, lastTransitionTime, reason, message}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.kube.conditions import Condition as Condition
from flightdeck.kube.conditions import get_condition as get_condition
from flightdeck.kube.conditions import new_condition as new_condition
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.objutil import as_int, spec_of, timestamp
from flightdeck.rollouts.steps import canary_of, replicas_of

Status = dict[str, Any]


def set_condition(status: Status, cond: Condition) -> bool:
    """``SetRolloutCondition``: unchanged when status and reason match; keeps lastTransitionTime when only
    the reason changes. Returns whether anything changed."""
    current = get_condition(status, cond["type"])
    if (
        current is not None
        and current.get("status") == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return False
    cond = dict(cond)
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [
        *(x for x in status.get("conditions") or () if x.get("type") != cond["type"]),
        cond,
    ]
    return True


def remove_condition(status: Status, kind: str) -> None:
    status["conditions"] = [x for x in status.get("conditions") or () if x.get("type") != kind]


def _step_index(status: Mapping[str, Any]) -> int | None:
    raw = status.get("currentStepIndex")
    return None if raw is None else as_int(raw)


def rollout_progressing(rollout: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``RolloutProgressing``: did anything move since the last observed status?"""
    old = rollout.get("status") or {}
    old_index, new_index = _step_index(old), _step_index(new)
    strategy_progress = (
        (new.get("stableRS") or "") != (old.get("stableRS") or "")
        or (old_index is not None and new_index is not None and old_index != new_index)
        or (new.get("currentStepHash") or "") != (old.get("currentStepHash") or "")
    )
    old_old = as_int(old.get("replicas")) - as_int(old.get("updatedReplicas"))
    new_old = as_int(new.get("replicas")) - as_int(new.get("updatedReplicas"))
    return (
        as_int(new.get("updatedReplicas")) != as_int(old.get("updatedReplicas"))
        or new_old < old_old
        or as_int(new.get("readyReplicas")) > as_int(old.get("readyReplicas"))
        or as_int(new.get("availableReplicas")) > as_int(old.get("availableReplicas"))
        or strategy_progress
    )


def generation_observed(rollout: Mapping[str, Any]) -> bool:
    status = rollout.get("status") or {}
    generation = as_int((rollout.get("metadata") or {}).get("generation"))
    return str(status.get("observedGeneration") or "") == str(generation)


def rollout_healthy(rollout: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``RolloutHealthy``: every replica updated and available, all steps done, the new RS stable, old pods gone."""
    replicas = replicas_of(rollout)
    steps = canary_of(rollout).get("steps") or []
    index = _step_index(new)
    executed_all = True if not steps or index is None else index == len(steps)
    stable = new.get("stableRS") or ""
    completed = (
        executed_all
        and stable != ""
        and stable == new.get("currentPodHash")
        and as_int(new.get("replicas")) == replicas
    )
    return (
        as_int(new.get("updatedReplicas")) == replicas
        and as_int(new.get("availableReplicas")) == replicas
        and generation_observed(rollout)
        and completed
    )


def rollout_completed(status: Mapping[str, Any]) -> bool:
    stable = status.get("stableRS") or ""
    return stable != "" and stable == status.get("currentPodHash")


def progress_deadline(rollout: Mapping[str, Any]) -> int:
    value = spec_of(rollout).get("progressDeadlineSeconds")
    return c.DEFAULT_PROGRESS_DEADLINE_SECONDS if value is None else as_int(value)


def rollout_timed_out(rollout: Mapping[str, Any], new: Mapping[str, Any], now: float) -> bool:
    """``RolloutTimedOut``: the Progressing condition has not moved for progressDeadlineSeconds."""
    cond = get_condition(new, c.COND_PROGRESSING)
    if cond is None or cond.get("reason") in (c.ROLLOUT_ABORTED_REASON, c.ROLLOUT_PAUSED_REASON):
        return False
    if cond.get("reason") == c.TIMED_OUT_REASON:
        return True
    since = timestamp(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + progress_deadline(rollout) < now


def calculate_phase(spec: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str, str]:
    """``CalculateRolloutPhase`` for a canary Rollout: (phase, message); first match wins."""
    for cond in status.get("conditions") or ():
        if cond.get("type") == c.COND_INVALID_SPEC:
            return c.PHASE_DEGRADED, f"{c.COND_INVALID_SPEC}: {cond.get('message', '')}"
        if cond.get("reason") in (c.ROLLOUT_ABORTED_REASON, c.TIMED_OUT_REASON):
            return c.PHASE_DEGRADED, f"{cond['reason']}: {cond.get('message', '')}"
    if spec.get("paused"):
        return c.PHASE_PAUSED, "manually paused"
    for pause in status.get("pauseConditions") or ():
        return c.PHASE_PAUSED, str(pause.get("reason") or "")
    restart_at = spec.get("restartAt")
    if restart_at and timestamp(restart_at) != timestamp(status.get("restartedAt")):
        return c.PHASE_PROGRESSING, "rollout is restarting"
    replicas = as_int(spec.get("replicas"), 1)
    updated = as_int(status.get("updatedReplicas"))
    if updated < replicas:
        return c.PHASE_PROGRESSING, "more replicas need to be updated"
    if as_int(status.get("availableReplicas")) < updated:
        return c.PHASE_PROGRESSING, "updated replicas are still becoming available"
    strategy = spec.get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        return c.PHASE_PROGRESSING, "active service cutover pending"
    canary = strategy.get("canary")
    if canary is not None:
        if canary.get("trafficRouting") is None and as_int(status.get("replicas")) > updated:
            return c.PHASE_PROGRESSING, "old replicas are pending termination"
        if not status.get("stableRS") or status.get("stableRS") != status.get("currentPodHash"):
            return c.PHASE_PROGRESSING, "waiting for all steps to complete"
    return c.PHASE_HEALTHY, ""


def rollout_phase(rollout: Mapping[str, Any]) -> tuple[str, str]:
    """``GetRolloutPhase``, what clients show: waits for the controller to observe spec changes and unpauses."""
    status = rollout.get("status") or {}
    observed = str(status.get("observedGeneration") or "")
    generation = as_int((rollout.get("metadata") or {}).get("generation"))
    if observed.isdigit() and int(observed) < generation:
        return c.PHASE_PROGRESSING, "waiting for rollout spec update to be observed"
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return c.PHASE_PROGRESSING, "waiting for rollout to unpause"
    if status.get("phase"):
        return str(status["phase"]), str(status.get("message") or "")
    return calculate_phase(spec_of(rollout), status)
