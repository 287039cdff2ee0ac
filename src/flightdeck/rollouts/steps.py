"""Canary steps: which step is current, the weight in effect, how a step prints (Argo's replicasetutil/rolloututil)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.kube.durations import DurationError, parse_go_duration
from flightdeck.rollouts.constants import MAX_TRAFFIC_WEIGHT
from flightdeck.rollouts.objutil import as_int, spec_of, status_of

Step = Mapping[str, Any]


def canary_of(rollout: Mapping[str, Any]) -> dict[str, Any]:
    strategy = spec_of(rollout).get("strategy")
    canary = strategy.get("canary") if isinstance(strategy, Mapping) else None
    return canary if isinstance(canary, dict) else {}


def steps_of(rollout: Mapping[str, Any]) -> list[Step]:
    steps = canary_of(rollout).get("steps")
    return [s if isinstance(s, Mapping) else {} for s in steps] if isinstance(steps, list) else []


def replicas_of(rollout: Mapping[str, Any]) -> int:
    """``GetReplicasOrDefault(spec.replicas)``."""
    return as_int(spec_of(rollout).get("replicas"), 1)


def current_step(rollout: Mapping[str, Any]) -> tuple[Step | None, int | None]:
    """``GetCurrentCanaryStep``: (step, index); the step is None past the last one, both None without steps."""
    steps = steps_of(rollout)
    if not steps:
        return None, None
    raw = status_of(rollout).get("currentStepIndex")
    index = as_int(raw) if raw is not None else 0
    if index >= len(steps):
        return None, index
    return steps[index], index


def current_set_weight(rollout: Mapping[str, Any]) -> int:
    """``GetCurrentSetWeight``: the last setWeight at or before the current step; 0 when aborted."""
    if status_of(rollout).get("abort"):
        return 0
    step, index = current_step(rollout)
    if step is None or index is None:
        return MAX_TRAFFIC_WEIGHT
    steps = steps_of(rollout)
    for i in range(index, -1, -1):
        weight = steps[i].get("setWeight")
        if weight is not None:
            return as_int(weight)
    return 0


def desired_weight(rollout: Mapping[str, Any]) -> int:
    """``GetCanaryReplicasOrWeight`` without a traffic router (setCanaryScale needs one, so it never applies)."""
    status = status_of(rollout)
    stable = status.get("stableRS") or ""
    if status.get("promoteFull") or not stable or (status.get("currentPodHash") or "") == stable:
        return MAX_TRAFFIC_WEIGHT
    return current_set_weight(rollout)


def pause_duration_seconds(pause: Mapping[str, Any]) -> int:
    """``RolloutPause.DurationSeconds``: int seconds, digits-only string = seconds, else a Go duration; -1 if bad."""
    value = pause.get("duration")
    if value is None:
        return 0
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    text = str(value)
    body = text[1:] if text[:1] in "+-" else text
    if body.isascii() and body.isdigit():
        return int(text)
    try:
        return int(parse_go_duration(text))
    except DurationError:
        return -1


def step_string(step: Step) -> str:
    """``CanaryStepString``: how events name a step (``setWeight: 50``, ``pause: 30s``, ``analysis``)."""
    if step.get("setWeight") is not None:
        return f"setWeight: {as_int(step['setWeight'])}"
    pause = step.get("pause")
    if pause is not None:
        duration = pause.get("duration") if isinstance(pause, Mapping) else None
        return "pause" if duration is None else f"pause: {duration}"
    if step.get("experiment") is not None:
        return "experiment"
    if step.get("analysis") is not None:
        return "analysis"
    scale = step.get("setCanaryScale")
    if isinstance(scale, Mapping):
        if scale.get("weight") is not None:
            return f"setCanaryScale{{weight: {as_int(scale['weight'])}}}"
        if scale.get("matchTrafficWeight"):
            return "setCanaryScale{matchTrafficWeight: true}"
        if scale.get("replicas") is not None:
            return f"setCanaryScale{{replicas: {as_int(scale['replicas'])}}}"
    for key, label in (
        ("plugin", "plugin"),
        ("setHeaderRoute", "setHeaderRoute"),
        ("setMirrorRoute", "setMirrorRoute"),
    ):
        value = step.get(key)
        if isinstance(value, Mapping):
            return f"{label}: {value.get('name') or ''}"
    return "invalid"


def is_indefinite_step(rollout: Mapping[str, Any]) -> bool:
    """``isIndefiniteStep``: experiment, analysis and pause steps do not count against the progress deadline."""
    step, _ = current_step(rollout)
    if step is not None and any(step.get(k) is not None for k in ("experiment", "analysis", "pause")):
        return True
    for cond in status_of(rollout).get("conditions") or ():
        if cond.get("type") == "Paused" and cond.get("status") == "True":
            return True
    return False


def before_starting_step(rollout: Mapping[str, Any]) -> bool:
    """``BeforeStartingStep`` of the background analysis."""
    analysis = canary_of(rollout).get("analysis")
    if not isinstance(analysis, Mapping) or analysis.get("startingStep") is None:
        return False
    _, index = current_step(rollout)
    if index is None:
        return False
    return index < as_int(analysis["startingStep"])
