"""The canary strategy without a traffic router, one pass (Argo's ``rolloutCanary``)."""

from __future__ import annotations

from flightdeck.rollouts import constants as c
from flightdeck.rollouts.analysis_runs import reconcile_analysis_runs
from flightdeck.rollouts.context import Pass, ReconcileError, pause_condition
from flightdeck.rollouts.objutil import spec_of, status_of, timestamp
from flightdeck.rollouts.podrestart import reconcile_restart
from flightdeck.rollouts.replicasets import (
    classify,
    reconcile_canary_replica_sets,
    reconcile_revision_history,
    sync_revision,
)
from flightdeck.rollouts.status import pod_template_or_steps_changed, sync_status
from flightdeck.rollouts.steps import current_step, pause_duration_seconds, steps_of

# A timed pause completes strictly after its deadline; wake just past it.
_AFTER = 0.001


def reconcile_pause(p: Pass) -> bool:
    """``reconcileCanaryPause``: True while the current step is a pause (adds the pause condition on arrival)."""
    if spec_of(p.ro).get("paused") or status_of(p.ro).get("promoteFull") or not steps_of(p.ro):
        return False
    step, _ = current_step(p.ro)
    if step is None or step.get("pause") is None:
        return False
    cond = pause_condition(p.ro, c.PAUSE_CANARY_STEP)
    if cond is None:
        if not status_of(p.ro).get("controllerPause"):
            p.pause.add_reasons.append(c.PAUSE_CANARY_STEP)
        return True
    pause = step["pause"] if isinstance(step.get("pause"), dict) else {}
    if pause.get("duration") is None:
        return True
    start = timestamp(cond.get("startTime"))
    if start is not None:
        deadline = start + pause_duration_seconds(pause)
        if deadline > p.now:
            p.requeue_at(deadline + _AFTER)
        else:
            p.requeue_at(p.now + _AFTER)
    return True


def rollout_canary(p: Pass) -> None:
    if pod_template_or_steps_changed(p):
        p.new_rs = sync_revision(p) or p.new_rs
        sync_status(p)
        return
    p.new_rs = sync_revision(p) or p.new_rs
    if reconcile_restart(p) > 0:
        # Availability counts no longer include the evicted pods; scale only on the next pass.
        return
    reconcile_revision_history(p)
    error: ReconcileError | None = None
    try:
        reconcile_analysis_runs(p)
    except ReconcileError as exc:
        error = exc
    if p.pause.has_add_pause():
        sync_status(p)
        return
    if error is not None:
        raise error
    if reconcile_canary_replica_sets(p):
        sync_status(p)
        return
    reconcile_pause(p)
    sync_status(p)


__all__ = ["classify", "reconcile_pause", "rollout_canary"]
