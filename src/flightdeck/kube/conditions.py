"""Status conditions shaped like Deployment's and Rollout's: ``{type, status, lastUpdateTime,
lastTransitionTime, reason, message}``. Setting and removing differ between the two controllers (a Deployment
drops an empty list, a Rollout keeps it), so those stay with each controller."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.util.timefmt import rfc3339

Condition = dict[str, Any]


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Condition:
    """``NewDeploymentCondition`` / ``NewRolloutCondition``: both timestamps set to ``now``."""
    stamp = rfc3339(now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Mapping[str, Any], kind: str) -> Condition | None:
    """A copy of the condition of this type, if any."""
    for cond in status.get("conditions") or ():
        if cond.get("type") == kind:
            return dict(cond)
    return None
