"""Basic-canary replica arithmetic (Argo's utils/replicaset/canary.go and replicaset.go), as pure functions.

``RS`` values are ReplicaSet dicts; only ``spec.replicas`` and ``status.availableReplicas`` are read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.rollouts.constants import DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, MAX_TRAFFIC_WEIGHT
from flightdeck.rollouts.objutil import rs_available, rs_replicas, same, sum_available, sum_replicas

RS = Mapping[str, Any]


class IntOrPercentError(ValueError):
    """maxSurge/maxUnavailable that is neither an int nor a percentage."""


def _int_or_percent(value: Any) -> tuple[int, bool]:
    """apimachinery's deprecated ``getIntOrPercentValue``: every string is a percentage ("25" = 25%)."""
    if isinstance(value, bool):
        raise IntOrPercentError(f"invalid value {value!r}")
    if isinstance(value, int):
        return value, False
    text = str(value).replace("%", "")
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.isdigit()):
        raise IntOrPercentError(f'invalid value "{value}"')
    return int(text), True


def value_from_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    number, percent = _int_or_percent(0 if value is None else value)
    if not percent:
        return number
    scaled = number * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailable down; both zero makes unavailable 1. Errors resolve to (0, 0) as
    in Argo, whose callers drop the error because validation reports it."""
    try:
        surge = value_from_int_or_percent(max_surge, desired, True)
        unavailable = value_from_int_or_percent(max_unavailable, desired, False)
    except IntOrPercentError:
        return 0, 0
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def surge_setting(canary: Mapping[str, Any]) -> Any:
    value = canary.get("maxSurge")
    return DEFAULT_MAX_SURGE if value is None else value


def unavailable_setting(canary: Mapping[str, Any]) -> Any:
    value = canary.get("maxUnavailable")
    return DEFAULT_MAX_UNAVAILABLE if value is None else value


def max_surge(replicas: int, canary: Mapping[str, Any]) -> int:
    surge, _ = resolve_fenceposts(surge_setting(canary), unavailable_setting(canary), replicas)
    return surge


def max_unavailable(replicas: int, canary: Mapping[str, Any]) -> int:
    if replicas == 0:
        return 0
    _, unavailable = resolve_fenceposts(surge_setting(canary), unavailable_setting(canary), replicas)
    return min(unavailable, replicas)


def _floor_ceiling_tied(weight: int, max_weight: int, total: int) -> bool:
    product = total * (weight / max_weight)
    return product - math.floor(product) == 0.5


def _weight_delta(weight: int, max_weight: int, canary: int, total: int) -> float:
    return abs(canary * max_weight / total - weight)


def approximate_weighted_counts(
    replicas: int, weight: int, surge: int, max_weight: int = MAX_TRAFFIC_WEIGHT
) -> tuple[int, int]:
    """``approximateWeightedCanaryStableReplicaCounts``: (canary, stable) closest to ``weight``."""
    if replicas == 0:
        return 0, 0
    ceil_count = math.ceil(replicas * weight / max_weight)
    floor_count = math.floor(replicas * weight / max_weight)
    tied = _floor_ceiling_tied(weight, max_weight, replicas)
    zero_allowed = weight in (max_weight, 0) or (replicas == 1 and surge == 0)
    options: list[tuple[int, int]] = []
    if ceil_count < replicas or zero_allowed:
        options.append((ceil_count, replicas))
    if not tied and (floor_count != 0 or zero_allowed):
        options.append((floor_count, replicas))
    if surge > 0:
        options.append((ceil_count, replicas + 1))
        if not _floor_ceiling_tied(weight, max_weight, replicas + 1) and (floor_count != 0 or zero_allowed):
            options.append((floor_count, replicas + 1))
    if not options:
        return 0, replicas
    best = options[0]
    best_delta = _weight_delta(weight, max_weight, *best)
    for option in options[1:]:
        delta = _weight_delta(weight, max_weight, *option)
        if delta < best_delta:  # strict: the first of equally close options wins (ties round up)
            best, best_delta = option, delta
    return best[0], best[1] - best[0]


def replicas_for_scale_down(rs: RS | None, ignore_availability: bool) -> int:
    """``GetReplicasForScaleDown``."""
    if rs is None:
        return 0
    spec = rs_replicas(rs)
    if spec < rs_available(rs):
        return spec
    if ignore_availability:
        return spec
    return rs_available(rs)


def _scale_down_count(drain: RS | None, desired: int, scale_down: int, current: int) -> int:
    if drain is not None and rs_replicas(drain) > desired:
        return max(desired, rs_replicas(drain) - scale_down)
    return current


def _adjust_within_limits(
    drain: RS | None,
    adjust: RS | None,
    drain_count: int,
    adjust_count: int,
    max_total: int,
    min_available: int,
) -> tuple[int, int]:
    total_available = 0
    over = max(0, adjust_count + drain_count - max_total)
    if drain is not None:
        total_available += min(rs_available(drain), drain_count)
    if adjust is not None:
        adjust_count -= over
        total_available += min(rs_available(adjust), adjust_count)
        extra_available = max(0, rs_available(adjust) - adjust_count)
        need_available = max(0, min_available - total_available)
        adjust_count += min(extra_available, need_available)
        over = max(0, adjust_count + drain_count - max_total)
        drain_count -= over
    return drain_count, adjust_count


def stable_exists(new_rs: RS | None, stable_rs: RS | None) -> bool:
    """``CheckStableRSExists``: a stable RS that is not the new one."""
    if stable_rs is None:
        return False
    return new_rs is None or not same(new_rs, stable_rs)


def basic_canary_counts(
    replicas: int,
    weight: int,
    canary: Mapping[str, Any],
    new_rs: RS | None,
    stable_rs: RS | None,
    other_rss: Sequence[RS],
) -> tuple[int, int]:
    """``CalculateReplicaCountsForBasicCanary``: the (new, stable) replica counts to move to now."""
    surge = max_surge(replicas, canary)
    desired_new, desired_stable = approximate_weighted_counts(replicas, weight, surge)
    new_count = rs_replicas(new_rs) if new_rs is not None else 0
    stable_count = 0
    scale_stable = stable_exists(new_rs, stable_rs)
    if scale_stable:
        stable_count = rs_replicas(stable_rs)
    else:
        desired_new, desired_stable = replicas, 0
    max_total = replicas + surge
    all_rss: list[RS | None] = [*other_rss, new_rs]
    if scale_stable:
        all_rss.append(stable_rs)
    scale_up = max_total - sum_replicas(all_rss)

    if scale_stable and rs_replicas(stable_rs) < desired_stable and scale_up > 0:
        if rs_replicas(stable_rs) + scale_up < desired_stable:
            stable_count = rs_replicas(stable_rs) + scale_up
            scale_up = 0
        else:
            stable_count = desired_stable
            scale_up -= desired_stable - rs_replicas(stable_rs)

    if new_rs is not None and rs_replicas(new_rs) < desired_new and scale_up > 0:
        new_count = min(rs_replicas(new_rs) + scale_up, desired_new)

    if sum_replicas(other_rss) > 0:
        # Older ReplicaSets are scaled down first.
        return new_count, stable_count

    min_available = replicas - max_unavailable(replicas, canary)
    increasing = new_rs is None or desired_new >= rs_replicas(new_rs)
    to_scale_down = replicas_for_scale_down(new_rs, not increasing) + replicas_for_scale_down(
        stable_rs, increasing
    )
    if to_scale_down <= min_available:
        return new_count, stable_count
    scale_down = to_scale_down - min_available
    if not increasing:
        # Shrinking the canary (abort): drain it, ignoring its availability.
        new_count = _scale_down_count(new_rs, desired_new, scale_down, new_count)
        new_count, stable_count = _adjust_within_limits(
            new_rs, stable_rs, new_count, stable_count, max_total, min_available
        )
    elif scale_stable:
        stable_count = _scale_down_count(stable_rs, desired_stable, scale_down, stable_count)
        stable_count, new_count = _adjust_within_limits(
            stable_rs, new_rs, stable_count, new_count, max_total, min_available
        )
    return new_count, stable_count


def progress_threshold_met(threshold: Mapping[str, Any] | None, rs: RS | None, desired: int) -> bool:
    """``ReplicaProgressThresholdMet`` (``replicaProgressThreshold: {type: Pod|Percent, value}``)."""
    value = None if threshold is None else threshold.get("value")
    if threshold is None or rs is None or value is None or int(value) < 0:
        return rs is not None and desired == rs_replicas(rs) and desired == rs_available(rs)
    if threshold.get("type") == "Percent":
        if desired == 0:
            return True
        current = rs_available(rs) / desired * 100
        return current >= int(value) or abs(current - int(value)) <= 1e-10
    return rs_available(rs) >= int(value)


def at_desired_counts(
    replicas: int,
    weight: int,
    canary: Mapping[str, Any],
    new_rs: RS | None,
    stable_rs: RS | None,
    other_rss: Sequence[RS],
) -> bool:
    """``AtDesiredReplicaCountsForCanary`` without a traffic router."""
    desired_new, desired_stable = basic_canary_counts(replicas, weight, canary, new_rs, stable_rs, other_rss)
    if not progress_threshold_met(canary.get("replicaProgressThreshold"), new_rs, desired_new):
        return False
    if stable_rs is None or not (
        desired_stable == rs_replicas(stable_rs) and desired_stable == _status_replicas(stable_rs)
    ):
        return False
    return sum_available(other_rss) == 0


def _status_replicas(rs: RS) -> int:
    status = rs.get("status")
    value = status.get("replicas") if isinstance(status, Mapping) else None
    return int(value) if isinstance(value, int) else 0
