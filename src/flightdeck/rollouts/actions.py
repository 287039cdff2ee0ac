"""What ``kubectl argo rollouts <action>`` patches on a Rollout (v1.9 plugin, pkg/kubectl-argo-rollouts/cmd/*),
as pure functions: the patched object, which parts changed, and the line the plugin prints.

The caller writes ``spec``/``metadata`` with the store's update and ``status`` with its status update (the
plugin patches the status subresource first, then the spec).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.kube.actions import Obj
from flightdeck.kube.durations import DurationError, parse_go_duration
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.objutil import (
    controller_uid,
    labels_of,
    name_of,
    namespace_of,
    revision_or_none,
    selector_matches,
    spec_of,
    status_of,
    uid_of,
)
from flightdeck.rollouts.patch import merge_apply
from flightdeck.rollouts.steps import current_step, steps_of
from flightdeck.util.timefmt import rfc3339


class ActionError(Exception):
    """``str()`` is the plugin's error text."""


@dataclasses.dataclass(frozen=True, slots=True)
class ActionResult:
    rollout: Obj
    """The Rollout with the plugin's patches applied."""
    spec_changed: bool
    """``metadata``/``spec`` changed: write with the store's update."""
    status_changed: bool
    """``status`` changed: write with the store's status update."""
    message: str
    """The line the plugin prints (e.g. ``rollout 'demo' promoted``)."""


def _apply(
    rollout: Obj, spec_patch: Mapping[str, Any] | None, status_patch: Mapping[str, Any] | None, message: str
) -> ActionResult:
    out = copy.deepcopy(rollout)
    if status_patch is not None:
        out["status"] = merge_apply(status_of(out), status_patch)
    if spec_patch is not None:
        out["spec"] = merge_apply(spec_of(out), spec_patch)
    return ActionResult(
        out,
        spec_changed=spec_of(out) != spec_of(rollout),
        status_changed=status_of(out) != status_of(rollout),
        message=message,
    )


def _is_inconclusive(rollout: Mapping[str, Any]) -> bool:
    run = (status_of(rollout).get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
    return bool(
        spec_of(rollout).get("strategy", {}).get("canary") is not None and run.get("status") == "Inconclusive"
    )


def _next_index(rollout: Mapping[str, Any]) -> int | None:
    _, index = current_step(rollout)
    if index is None:
        return None
    return index + 1 if index < len(steps_of(rollout)) else index


def promote(
    rollout: Obj, *, full: bool = False, skip_current_step: bool = False, skip_all_steps: bool = False
) -> ActionResult:
    """``promote`` (``--full``; the deprecated ``--skip-current-step``/``--skip-all-steps`` too)."""
    if skip_current_step and skip_all_steps:
        raise ActionError("Cannot use skip-current-step and skip-all-steps flags at the same time")
    strategy = spec_of(rollout).get("strategy") or {}
    if skip_current_step or skip_all_steps:
        if strategy.get("blueGreen") is not None:
            raise ActionError("Cannot skip steps of a bluegreen rollout. Run without a flags")
        if strategy.get("canary") is not None and not steps_of(rollout):
            raise ActionError("Cannot skip steps of a rollout without steps")
    status = status_of(rollout)
    paused = bool(spec_of(rollout).get("paused"))
    spec_patch: dict[str, Any] | None = None
    status_patch: dict[str, Any] | None = None
    if skip_current_step:
        index = _next_index(rollout)
        if index is not None:
            status_patch = {"currentStepIndex": index}
    elif skip_all_steps:
        status_patch = {"currentStepIndex": len(steps_of(rollout))}
    elif full:
        if paused:
            spec_patch = {"paused": False}
        if (status.get("currentPodHash") or "") != (status.get("stableRS") or ""):
            status_patch = {"promoteFull": True}
    else:
        if paused:
            spec_patch = {"paused": False}
        if _is_inconclusive(rollout) and status.get("pauseConditions") and status.get("controllerPause"):
            index = _next_index(rollout)
            if index is not None:
                status_patch = {"pauseConditions": None, "controllerPause": False, "currentStepIndex": index}
        elif status.get("pauseConditions"):
            status_patch = {"pauseConditions": None}
        elif strategy.get("canary") is not None:
            index = _next_index(rollout)
            if index is not None:
                status_patch = {"pauseConditions": None, "currentStepIndex": index}
    verb = "fully promoted" if full else "promoted"
    return _apply(rollout, spec_patch, status_patch, f"rollout '{name_of(rollout)}' {verb}")


def abort(rollout: Obj) -> ActionResult:
    return _apply(rollout, None, {"abort": True}, f"rollout '{name_of(rollout)}' aborted")


def retry(rollout: Obj) -> ActionResult:
    """``retry rollout``."""
    return _apply(rollout, None, {"abort": False}, f"rollout '{name_of(rollout)}' retried")


def pause(rollout: Obj) -> ActionResult:
    return _apply(rollout, {"paused": True}, None, f"rollout '{name_of(rollout)}' paused")


def resume(rollout: Obj) -> ActionResult:
    """Clear ``spec.paused``. The v1.9 plugin has no ``resume`` command (``promote`` also clears spec.paused and
    moves the canary on); this is the spec half of it, for a Rollout paused with ``pause``."""
    return _apply(rollout, {"paused": False}, None, f"rollout '{name_of(rollout)}' resumed")


def restart(rollout: Obj, now: float, in_duration: str | None = None) -> ActionResult:
    """``restart [--in DURATION]``: ``spec.restartAt`` = now (+ duration), second precision, UTC."""
    delay = 0.0
    if in_duration:
        try:
            delay = parse_go_duration(in_duration)
        except DurationError as exc:
            raise ActionError(str(exc)) from None
    shown = in_duration or "0s"
    return _apply(
        rollout,
        {"restartAt": rfc3339(int(now + delay))},
        None,
        f"rollout '{name_of(rollout)}' restarts in {shown}",
    )


def parse_image_arg(text: str) -> tuple[str, str]:
    """``CONTAINER=IMAGE`` as the plugin splits it."""
    parts = text.split("=")
    if len(parts) != 2:
        raise ActionError("Usage: set image ROLLOUT_NAME CONTAINER=IMAGE")
    return parts[0], parts[1]


def set_image(rollout: Obj, container: str, image: str) -> ActionResult:
    """``set image ROLLOUT CONTAINER=IMAGE`` (``*`` for every container, init and ephemeral ones included)."""
    if spec_of(rollout).get("workloadRef") is not None:
        raise ActionError("not supported: set image on a Rollout with spec.workloadRef")
    out = copy.deepcopy(rollout)
    found = False
    pod_spec = (spec_of(out).get("template") or {}).get("spec") or {}
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for item in pod_spec.get(field) or ():
            if isinstance(item, dict) and (item.get("name") == container or container == "*"):
                item["image"] = image
                found = True
    if not found:
        raise ActionError(f'unable to find container named "{container}"')
    kind = str(rollout.get("kind") or "Rollout").lower()
    return ActionResult(
        out, spec_of(out) != spec_of(rollout), False, f'{kind} "{name_of(rollout)}" image updated'
    )


def _derivative(desired: Any, live: Any) -> bool:
    """``apiequality.Semantic.DeepDerivative``: fields unset in ``desired`` are ignored."""
    if desired is None:
        return True
    if isinstance(desired, Mapping):
        if not desired:
            return True
        if not isinstance(live, Mapping) or len(desired) > len(live):
            return False
        return all(k in live and _derivative(v, live[k]) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(map(_derivative, desired, live))
    if isinstance(desired, str):
        return desired == "" or desired == live
    return bool(desired == live)


def _without_hash_label(template: Any) -> Any:
    template = copy.deepcopy(template) if isinstance(template, Mapping) else {}
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(c.POD_TEMPLATE_HASH_LABEL, None)
    return template


def undo(rollout: Obj, replicasets: Sequence[Obj], to_revision: int = 0) -> ActionResult:
    """``undo [--to-revision N]``: put an older ReplicaSet's pod template back into ``spec.template``."""
    if spec_of(rollout).get("workloadRef") is not None:
        raise ActionError("not supported: undo of a Rollout with spec.workloadRef")
    selector = spec_of(rollout).get("selector") or {}
    owned = [
        rs
        for rs in replicasets
        if namespace_of(rs) == namespace_of(rollout)
        and controller_uid(rs) == uid_of(rollout)
        and selector_matches(selector, labels_of(rs))
    ]
    target = _revision(rollout, owned, to_revision)
    rs_template = _without_hash_label(spec_of(target).get("template"))
    rollout_template = _without_hash_label(spec_of(rollout).get("template"))
    if _derivative(rollout_template, rs_template):
        return ActionResult(
            copy.deepcopy(rollout),
            False,
            False,
            f"skipped rollback (current template already matches revision {to_revision})",
        )
    out = copy.deepcopy(rollout)
    out.setdefault("spec", {})["template"] = rs_template
    return ActionResult(out, True, False, f"rollout '{name_of(rollout)}' undo")


def _revision(rollout: Mapping[str, Any], owned: Sequence[Obj], to_revision: int) -> Obj:
    latest: Obj | None = None
    previous: Obj | None = None
    latest_revision = previous_revision = -1
    for rs in owned:
        value = revision_or_none(rs)
        if value is None:
            value = (
                0 if c.REVISION_ANNOTATION not in (rs.get("metadata") or {}).get("annotations", {}) else None
            )
        if value is None:
            continue
        if to_revision == 0:
            if latest_revision < value:
                previous_revision, previous = latest_revision, latest
                latest_revision, latest = value, rs
            elif previous_revision < value:
                previous_revision, previous = value, rs
        elif to_revision == value:
            return rs
    if to_revision > 0:
        raise ActionError(f"unable to find specified revision {to_revision} in history")
    if previous is None:
        raise ActionError(f'no revision found for rollout "{name_of(rollout)}"')
    return previous
