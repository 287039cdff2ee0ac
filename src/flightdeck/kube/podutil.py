"""Reading pods and owner references the way Kubernetes' controllers do (``podutil``, ``metav1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.util.timefmt import parse_rfc3339_or_none

Obj = dict[str, Any]


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    labels = meta(obj).get("labels")
    return dict(labels) if isinstance(labels, Mapping) else {}


def controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``metav1.GetControllerOf``: the ownerReference with ``controller: true``."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def is_controlled_by(obj: Mapping[str, Any], owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner_uid


def new_controller_ref(owner: Mapping[str, Any]) -> Obj:
    return {
        "apiVersion": str(owner.get("apiVersion") or ""),
        "kind": str(owner.get("kind") or ""),
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_being_deleted(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    status = pod.get("status")
    if not isinstance(status, Mapping):
        return None
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> float | None:
    """When the pod last became ready (the Ready condition's lastTransitionTime), if it is ready."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_rfc3339_or_none(cond.get("lastTransitionTime"))


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """``podutil.IsPodAvailable``: ready, and ready for strictly longer than ``minReadySeconds``."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def available_at(pod: Mapping[str, Any], min_ready_seconds: int) -> float | None:
    """The first instant at which a ready pod counts as available (None if not ready)."""
    since = ready_since(pod)
    if since is None:
        return None
    return since + min_ready_seconds


def phase_of(pod: Mapping[str, Any]) -> str:
    status = pod.get("status")
    return str(status.get("phase") or "") if isinstance(status, Mapping) else ""


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """``controller.IsPodActive``: not Succeeded/Failed and not being deleted."""
    return phase_of(pod) not in ("Succeeded", "Failed") and not is_being_deleted(pod)


def restart_count(pod: Mapping[str, Any]) -> int:
    status = pod.get("status")
    if not isinstance(status, Mapping):
        return 0
    counts = [
        int(cs.get("restartCount") or 0)
        for cs in status.get("containerStatuses") or []
        if isinstance(cs, Mapping)
    ]
    return max(counts, default=0)


def creation_time(obj: Mapping[str, Any]) -> float:
    """``metadata.creationTimestamp`` as epoch seconds (0 when absent or unreadable)."""
    stamp = parse_rfc3339_or_none(meta(obj).get("creationTimestamp"))
    return 0.0 if stamp is None else stamp


def generation_of(obj: Mapping[str, Any]) -> int:
    return int(meta(obj).get("generation") or 0)


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int, or ``"25%"`` of ``total`` rounded up or down."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f'invalid value for IntOrString: invalid type: string is not a percentage: "{text}"')
    pct = int(text[:-1])
    scaled = pct * total
    return -(-scaled // 100) if round_up else scaled // 100
