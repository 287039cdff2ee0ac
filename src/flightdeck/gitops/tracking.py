"""How Argo CD marks the objects an Application manages: the ``app.kubernetes.io/instance`` label and/or the
``argocd.argoproj.io/tracking-id`` annotation (``<app>:<group>/<kind>:<namespace>/<name>``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flightdeck.kube.actions import Obj

TRACKING_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
LABEL_MAX_LENGTH = 63

TrackingMethod = Literal["label", "annotation", "annotation+label"]
DEFAULT_TRACKING: TrackingMethod = "annotation+label"
"""Both marks, tracked by the annotation: the label keeps ``-l app.kubernetes.io/instance=APP`` selectors working
(Argo CD 2.x's default) and the annotation is what Argo CD 3.x tracks by."""


def group_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def tracking_id(app_name: str, obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{app_name}:{group_of(obj)}/{obj.get('kind') or ''}:{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def set_instance(obj: Obj, app_name: str, method: TrackingMethod = DEFAULT_TRACKING) -> None:
    """Mark ``obj`` (in place) as managed by ``app_name``."""
    meta = obj.setdefault("metadata", {})
    if method in ("annotation", "annotation+label"):
        annotations = dict(meta.get("annotations") or {})
        annotations[TRACKING_ANNOTATION] = tracking_id(app_name, obj)
        meta["annotations"] = annotations
    if method in ("label", "annotation+label"):
        value = app_name
        if method == "annotation+label" and len(value) > LABEL_MAX_LENGTH:
            value = value[:LABEL_MAX_LENGTH].rstrip("-_.")
        labels = dict(meta.get("labels") or {})
        labels[TRACKING_LABEL] = value
        meta["labels"] = labels


def app_name_of(obj: Mapping[str, Any], method: TrackingMethod = DEFAULT_TRACKING) -> str:
    """The Application that manages ``obj`` ("" when none)."""
    meta = obj.get("metadata") or {}
    if method == "label":
        return str((meta.get("labels") or {}).get(TRACKING_LABEL) or "")
    value = str((meta.get("annotations") or {}).get(TRACKING_ANNOTATION) or "")
    app, sep, _ = value.partition(":")
    return app if sep else ""


def is_self_referenced(
    obj: Mapping[str, Any], app_name: str, method: TrackingMethod = DEFAULT_TRACKING
) -> bool:
    """True when the tracking annotation names this very object (not one copied from another object)."""
    if method == "label":
        return True
    meta = obj.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(TRACKING_ANNOTATION)
    if value is None:
        return True
    return bool(value == tracking_id(app_name, obj))


def is_tracked_by(obj: Mapping[str, Any], app_name: str, method: TrackingMethod = DEFAULT_TRACKING) -> bool:
    return app_name_of(obj, method) == app_name and is_self_referenced(obj, app_name, method)
