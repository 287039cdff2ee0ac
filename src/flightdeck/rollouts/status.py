"""Computing and persisting the Rollout status (Argo's syncRolloutStatusCanary, calculateBaseStatus,
calculateRolloutConditions, persistRolloutStatus, shouldFullPromote/promoteStable)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flightdeck.rollouts import constants as c
from flightdeck.rollouts.conditions import (
    calculate_phase,
    get_condition,
    new_condition,
    progress_deadline,
    remove_condition,
    rollout_completed,
    rollout_healthy,
    rollout_progressing,
    rollout_timed_out,
    set_condition,
)
from flightdeck.rollouts.context import Pass, pause_condition
from flightdeck.rollouts.hashing import step_hash
from flightdeck.rollouts.objutil import (
    as_int,
    meta,
    name_of,
    pod_hash,
    revision_of,
    rs_available,
    rs_status_replicas,
    spec_of,
    status_of,
    sum_available,
    sum_ready,
    sum_status_replicas,
    timestamp,
)
from flightdeck.rollouts.replicas import at_desired_counts, progress_threshold_met
from flightdeck.rollouts.replicasets import reconcile_canary_replica_sets, template_hash
from flightdeck.rollouts.steps import (
    canary_of,
    current_step,
    desired_weight,
    is_indefinite_step,
    pause_duration_seconds,
    replicas_of,
    step_string,
    steps_of,
)

Status = dict[str, Any]


def format_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: requirements sorted by key; ``<none>`` when empty."""
    if not isinstance(selector, Mapping):
        return "<none>"
    parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        key, op = str(expr.get("key") or ""), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or ()))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(str(op), key)
        parts.append((key, text))
    text = ",".join(t for _, t in sorted(parts, key=lambda kv: kv[0]))
    return text or "<none>"


def pod_template_or_steps_changed(p: Pass) -> bool:
    status = status_of(p.ro)
    if not status.get("currentStepHash") or status.get("currentStepHash") != step_hash(_raw_steps(p)):
        return True
    current = status.get("currentPodHash") or ""
    if not current:
        return False
    return current != (pod_hash(p.new_rs) if p.new_rs is not None else template_hash(p.ro))


def _raw_steps(p: Pass) -> list[Mapping[str, Any]] | None:
    steps = canary_of(p.ro).get("steps")
    return steps if isinstance(steps, list) else None


def base_status(p: Pass) -> Status:
    """``calculateBaseStatus``."""
    previous = copy.deepcopy(status_of(p.ro))
    remove_condition(previous, c.COND_INVALID_SPEC)  # only reached with a valid spec
    new = copy.deepcopy(p.new_status)
    new["currentPodHash"] = pod_hash(p.new_rs) if p.new_rs is not None else template_hash(p.ro)
    new["replicas"] = sum_status_replicas(p.all_rss)
    new["updatedReplicas"] = rs_status_replicas(p.new_rs)
    new["readyReplicas"] = sum_ready(p.all_rss)
    if previous.get("collisionCount") is not None:
        new["collisionCount"] = previous["collisionCount"]
    new["conditions"] = previous.get("conditions") or []
    # Argo compares with the still-empty stableRS here, so promoteFull simply carries over.
    new["promoteFull"] = new["currentPodHash"] != (new.get("stableRS") or "") and bool(
        previous.get("promoteFull")
    )
    return new


def reset_status(p: Pass, new: Status) -> None:
    """``resetRolloutStatus``: the start of a new update."""
    p.pause.clear = True
    p.pause.remove_abort = True
    # Argo sets restartedAt on its context copy, which this pass's status no longer reads.
    p.new_status["restartedAt"] = spec_of(p.ro).get("restartAt")
    new.pop("promoteFull", None)
    canary = new.setdefault("canary", {})
    canary.pop("currentStepAnalysisRunStatus", None)
    canary.pop("currentBackgroundAnalysisRunStatus", None)
    new["currentStepIndex"] = 0 if steps_of(p.ro) else None


def should_full_promote(p: Pass) -> str:
    """``shouldFullPromote``: why the new ReplicaSet becomes stable now ("" while in the middle of an update)."""
    if p.stable_rs is None:
        return "Initial deploy"
    if p.pause.is_aborted():
        return ""
    replicas = replicas_of(p.ro)
    if p.new_rs is None or (
        rs_available(p.new_rs) < replicas
        and not progress_threshold_met(canary_of(p.ro).get("replicaProgressThreshold"), p.new_rs, replicas)
    ):
        return ""
    if status_of(p.ro).get("promoteFull"):
        return "Full promotion requested"
    _, index = current_step(p.ro)
    count = len(steps_of(p.ro))
    if count == 0 or (index is not None and index == count):
        return f"Completed all {count} canary steps"
    return ""


def promote_stable(p: Pass, new: Status, reason: str) -> None:
    p.pause.clear = True
    p.pause.remove_abort = True
    new.pop("promoteFull", None)
    count = len(steps_of(p.ro))
    new["currentStepIndex"] = count if count > 0 else None
    if (new.get("stableRS") or "") != new.get("currentPodHash"):
        new["stableRS"] = new["currentPodHash"]
        p.event(
            c.ROLLOUT_COMPLETED_REASON,
            c.ROLLOUT_COMPLETED_MESSAGE.format(revision_of(p.ro), new["currentPodHash"], reason),
        )


def calculate_conditions(p: Pass, new: Status) -> Status:
    """``calculateRolloutConditions``: Healthy, Progressing (incl. abort and deadline), Available, ReplicaFailure,
    Completed."""
    status = status_of(p.ro)
    paused = bool(status.get("pauseConditions")) or bool(spec_of(p.ro).get("paused"))
    aborted = p.pause.is_aborted()
    became_unhealthy = False
    if not paused and rollout_healthy(p.ro, new):
        set_condition(
            new,
            new_condition(c.COND_HEALTHY, "True", c.ROLLOUT_HEALTHY_REASON, c.ROLLOUT_HEALTHY_MESSAGE, p.now),
        )
    elif get_condition(status, c.COND_HEALTHY) is not None:
        became_unhealthy = set_condition(
            new,
            new_condition(
                c.COND_HEALTHY, "False", c.ROLLOUT_HEALTHY_REASON, c.ROLLOUT_NOT_HEALTHY_MESSAGE, p.now
            ),
        )
    if aborted:
        message = c.ROLLOUT_ABORTED_MESSAGE.format(revision_of(p.ro))
        if p.pause.abort_message:
            message = f"{message}: {p.pause.abort_message}"
        cond = new_condition(c.COND_PROGRESSING, "False", c.ROLLOUT_ABORTED_REASON, message, p.now)
        if set_condition(new, cond):
            p.event(c.ROLLOUT_ABORTED_REASON, message, warning=True)
    current = get_condition(status, c.COND_PROGRESSING)
    rs_name = name_of(p.new_rs) if p.new_rs is not None else ""
    if not aborted:
        if rollout_healthy(p.ro, new):
            cond = new_condition(
                c.COND_PROGRESSING,
                "True",
                c.NEW_RS_AVAILABLE_REASON,
                c.REPLICA_SET_COMPLETED_MESSAGE.format(rs_name),
                p.now,
            )
            set_condition(new, cond)
        elif rollout_progressing(p.ro, new) or became_unhealthy:
            if p.new_rs is not None:
                message = c.REPLICA_SET_PROGRESSING_MESSAGE.format(rs_name)
            else:
                message = c.ROLLOUT_PROGRESSING_MESSAGE.format(name_of(p.ro))
            reason = c.REPLICA_SET_UPDATED_REASON
            if new.get("stableRS") == new.get("currentPodHash") and became_unhealthy:
                reason, message = c.REPLICA_SET_NOT_AVAILABLE_REASON, c.NOT_AVAILABLE_MESSAGE
            cond = new_condition(c.COND_PROGRESSING, "True", reason, message, p.now)
            # Progress refreshes lastUpdateTime even with an unchanged reason (so the deadline restarts).
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(new, c.COND_PROGRESSING)
            set_condition(new, cond)
        elif not is_indefinite_step(p.ro) and rollout_timed_out(p.ro, new, p.now):
            if p.new_rs is not None:
                message = c.REPLICA_SET_TIMEOUT_MESSAGE.format(rs_name)
            else:
                message = c.ROLLOUT_TIMEOUT_MESSAGE.format(name_of(p.ro))
            cond = new_condition(c.COND_PROGRESSING, "False", c.TIMED_OUT_REASON, message, p.now)
            changed = set_condition(new, cond)
            abort_on_deadline = bool(spec_of(p.ro).get("progressDeadlineAbort"))
            if abort_on_deadline and (changed or not p.pause.is_aborted()):
                p.pause.add_abort_with(message)
                p.event(c.ROLLOUT_ABORTED_REASON, message, warning=True)
    replicas = replicas_of(p.ro)
    if sum_available(p.all_rss) >= replicas:
        set_condition(
            new, new_condition(c.COND_AVAILABLE, "True", c.AVAILABLE_REASON, c.AVAILABLE_MESSAGE, p.now)
        )
    else:
        set_condition(
            new, new_condition(c.COND_AVAILABLE, "False", c.AVAILABLE_REASON, c.NOT_AVAILABLE_MESSAGE, p.now)
        )
    failure = _replica_failure(p)
    if failure is not None:
        set_condition(new, failure)
    else:
        remove_condition(new, c.COND_REPLICA_FAILURE)
    if rollout_completed(new):
        set_condition(
            new,
            new_condition(
                c.COND_COMPLETED, "True", c.ROLLOUT_COMPLETED_REASON, c.ROLLOUT_COMPLETED_REASON, p.now
            ),
        )
    elif set_condition(
        new,
        new_condition(
            c.COND_COMPLETED, "False", c.ROLLOUT_COMPLETED_REASON, c.ROLLOUT_COMPLETED_REASON, p.now
        ),
    ):
        p.event(
            c.ROLLOUT_NOT_COMPLETED_REASON,
            c.ROLLOUT_NOT_COMPLETED_MESSAGE.format(revision_of(p.ro), new.get("currentPodHash") or ""),
        )
    return new


def _replica_failure(p: Pass) -> dict[str, Any] | None:
    """``getReplicaFailures``: a ReplicaFailure condition of the new ReplicaSet, else of any other."""
    ordered = ([p.new_rs] if p.new_rs is not None else []) + list(p.all_rss)
    for rs in ordered:
        for cond in status_of(rs).get("conditions") or ():
            if cond.get("type") == c.COND_REPLICA_FAILURE:
                stamp = cond.get("lastTransitionTime")
                return {
                    "type": c.COND_REPLICA_FAILURE,
                    "status": cond.get("status"),
                    "lastUpdateTime": stamp,
                    "lastTransitionTime": stamp,
                    "reason": cond.get("reason", ""),
                    "message": cond.get("message", ""),
                }
    return None


def persist(p: Pass, new: Status) -> None:
    """``persistRolloutStatus``: pause/abort fields, observedGeneration, phase; merge-patch the status."""
    p.pause.calculate(new, p.now)
    new.pop("workloadObservedGeneration", None)
    new["observedGeneration"] = str(as_int(meta(p.ro).get("generation")))
    new["phase"], new["message"] = calculate_phase(spec_of(p.ro), new)
    previous = status_of(p.ro)
    if p.patch_status(previous, new):
        _state_change_events(p, previous, new)
    _requeue_stuck(p, new)


def _state_change_events(p: Pass, previous: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    was_paused = bool(previous.get("pauseConditions"))
    is_paused = bool(new.get("pauseConditions"))
    if was_paused == is_paused:
        return
    if is_paused:
        reason = new["pauseConditions"][0].get("reason")
        p.event(c.ROLLOUT_PAUSED_REASON, f"{c.ROLLOUT_PAUSED_MESSAGE} ({reason})")
    elif new.get("abortedAt") is None:
        p.event(c.ROLLOUT_RESUMED_REASON, c.ROLLOUT_RESUMED_MESSAGE)


def _requeue_stuck(p: Pass, new: Mapping[str, Any]) -> None:
    """``requeueStuckRollout``: look again when the progress deadline would pass."""
    status = status_of(p.ro)
    cond = get_condition(status, c.COND_PROGRESSING)
    if cond is None:
        return
    paused = bool(status.get("pauseConditions")) or bool(spec_of(p.ro).get("paused"))
    if (
        rollout_healthy(p.ro, new)
        or cond.get("reason") == c.TIMED_OUT_REASON
        or paused
        or status.get("abort")
        or is_indefinite_step(p.ro)
    ):
        return
    since = timestamp(cond.get("lastUpdateTime"))
    if since is not None:
        # Argo adds a second to avoid waking just before the deadline.
        p.requeue_at(max(since + progress_deadline(p.ro) + 1.0, p.now + 0.001))


def sync_status(p: Pass) -> None:
    """``syncRolloutStatusCanary``: advance steps, promote, abort; then persist."""
    new = base_status(p)
    new["availableReplicas"] = sum_available(p.all_rss)
    new["HPAReplicas"] = sum_status_replicas(p.all_rss)
    new["selector"] = format_selector(spec_of(p.ro).get("selector"))
    step, index = current_step(p.ro)
    new["stableRS"] = status_of(p.ro).get("stableRS") or ""
    new["currentStepHash"] = step_hash(_raw_steps(p))
    count = len(steps_of(p.ro))

    if pod_template_or_steps_changed(p):
        reset_status(p, new)
        if (
            p.new_rs is not None
            and count > 0
            and (status_of(p.ro).get("stableRS") or "") == pod_hash(p.new_rs)
        ):
            p.event(c.SKIP_STEPS_REASON, c.ROLLBACK_TO_STABLE_MESSAGE)
            new["currentStepIndex"] = count
        persist(p, calculate_conditions(p, new))
        return

    if status_of(p.ro).get("promoteFull"):
        p.pause.clear = True
        p.pause.remove_abort = True
        if count > 0:
            index = count

    reason = should_full_promote(p)
    if reason:
        promote_stable(p, new, reason)
        persist(p, calculate_conditions(p, new))
        return

    if p.pause.is_aborted():
        if count > 0:
            new["currentStepIndex"] = count if new.get("stableRS") == new.get("currentPodHash") else 0
        persist(p, calculate_conditions(p, new))
        return

    if completed_current_step(p) and step is not None and index is not None:
        description = step_string(step)
        index += 1
        new.setdefault("canary", {}).pop("currentStepAnalysisRunStatus", None)
        p.event(
            c.ROLLOUT_STEP_COMPLETED_REASON,
            c.ROLLOUT_STEP_COMPLETED_MESSAGE.format(index, count, description),
        )
        p.pause.remove_reasons.append(c.PAUSE_CANARY_STEP)
    new["currentStepIndex"] = index
    persist(p, calculate_conditions(p, new))


def completed_current_step(p: Pass) -> bool:
    """``completedCurrentCanaryStep``."""
    if spec_of(p.ro).get("paused"):
        return False
    step, _ = current_step(p.ro)
    if step is None:
        return False
    pause = step.get("pause")
    if pause is not None:
        return completed_pause_step(p, pause if isinstance(pause, Mapping) else {})
    if step.get("setCanaryScale") is not None or step.get("setWeight") is not None:
        return at_desired_counts(
            replicas_of(p.ro), desired_weight(p.ro), canary_of(p.ro), p.new_rs, p.stable_rs, p.other_rss
        )
    if step.get("experiment") is not None:
        return False
    if step.get("analysis") is not None:
        return p.current_step_ar is not None and status_of(p.current_step_ar).get("phase") == "Successful"
    return bool(step.get("setHeaderRoute") is not None or step.get("setMirrorRoute") is not None)


def completed_pause_step(p: Pass, pause: Mapping[str, Any]) -> bool:
    """``CompletedCanaryPauseStep``: a human removed the pause condition, or its duration has passed."""
    cond = pause_condition(p.ro, c.PAUSE_CANARY_STEP)
    if status_of(p.ro).get("controllerPause") and cond is None:
        return True
    if pause.get("duration") is not None and cond is not None:
        start = timestamp(cond.get("startTime"))
        if start is not None and p.now > start + pause_duration_seconds(pause):
            return True
    return False


def check_paused_conditions(p: Pass) -> None:
    """``checkPausedConditions``: Progressing/Paused conditions follow pauses (so a pause never times out)."""
    status = status_of(p.ro)
    progressing = get_condition(status, c.COND_PROGRESSING)
    progressing_paused = progressing is not None and progressing.get("reason") == c.ROLLOUT_PAUSED_REASON
    paused = bool(status.get("pauseConditions")) or bool(spec_of(p.ro).get("paused"))
    abort_condition = progressing is not None and progressing.get("reason") == c.ROLLOUT_ABORTED_REASON
    updates: list[dict[str, Any]] = []
    if paused != progressing_paused and not abort_condition and not rollout_completed(status):
        if paused:
            updates.append(
                new_condition(
                    c.COND_PROGRESSING, "Unknown", c.ROLLOUT_PAUSED_REASON, c.ROLLOUT_PAUSED_MESSAGE, p.now
                )
            )
        else:
            updates.append(
                new_condition(
                    c.COND_PROGRESSING, "Unknown", c.ROLLOUT_RESUMED_REASON, c.ROLLOUT_RESUMED_MESSAGE, p.now
                )
            )
    if not status.get("abort") and abort_condition:
        updates.append(
            new_condition(
                c.COND_PROGRESSING, "Unknown", c.ROLLOUT_RETRY_REASON, c.ROLLOUT_RETRY_MESSAGE, p.now
            )
        )
    paused_condition = get_condition(status, c.COND_PAUSED)
    paused_true = paused_condition is not None and paused_condition.get("status") == "True"
    if paused != paused_true and not abort_condition:
        updates.append(
            new_condition(
                c.COND_PAUSED,
                "True" if paused else "False",
                c.ROLLOUT_PAUSED_REASON,
                c.ROLLOUT_PAUSED_MESSAGE,
                p.now,
            )
        )
    if updates:
        p.patch_condition(status, copy.deepcopy(status), *updates)


def sync_replicas_only(p: Pass) -> None:
    """``syncReplicasOnly``: spec.replicas changed; rescale and keep the rest of the status."""
    new = copy.deepcopy(status_of(p.ro))
    reconcile_canary_replica_sets(p)
    new["availableReplicas"] = sum_available(p.all_rss)
    new["HPAReplicas"] = sum_status_replicas(p.all_rss)
    persist(p, new)
