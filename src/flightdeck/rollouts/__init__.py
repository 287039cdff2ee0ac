"""Argo Rollouts' Rollout controller (v1.9, canary strategy without a traffic router) as a pure reconciler,
the kubectl plugin's actions as pure patches, and the ``get rollout`` tree."""

from flightdeck.rollouts.actions import (
    ActionError,
    ActionResult,
    abort,
    pause,
    promote,
    restart,
    resume,
    retry,
    set_image,
    undo,
)
from flightdeck.rollouts.reconcile import reconcile_rollout
from flightdeck.rollouts.render import render_rollout_tree

__all__ = [
    "ActionError",
    "ActionResult",
    "abort",
    "pause",
    "promote",
    "reconcile_rollout",
    "render_rollout_tree",
    "restart",
    "resume",
    "retry",
    "set_image",
    "undo",
]
