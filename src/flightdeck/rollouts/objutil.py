"""Small readers over Kubernetes-shaped dicts (ReplicaSets, Rollouts, AnalysisRuns) used by the controller."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from flightdeck.kube import podutil
from flightdeck.kube.actions import Obj
from flightdeck.kube.podutil import name_of as name_of
from flightdeck.kube.podutil import namespace_of as namespace_of
from flightdeck.kube.podutil import uid_of as uid_of
from flightdeck.rollouts.constants import POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION
from flightdeck.util.timefmt import parse_rfc3339_or_none


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    # Unlike kube.podutil.meta, the live dict: the reconciler edits annotations and ownerReferences in place.
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    # The live dict, not podutil.labels_of's copy: read on every ReplicaSet/AnalysisRun of each pass.
    value = meta(obj).get("labels")
    return value if isinstance(value, dict) else {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    value = meta(obj).get("annotations")
    return value if isinstance(value, dict) else {}


def spec_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def as_int(value: Any, default: int = 0) -> int:
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        return default


# An RFC 3339 field as epoch seconds (None when absent or unreadable); the name the rollout modules read.
timestamp = parse_rfc3339_or_none
created_at = podutil.creation_time
deleting = podutil.is_being_deleted


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """UID of the owner reference marked ``controller: true`` (``metav1.GetControllerOf``)."""
    for ref in meta(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller"):
            return str(ref.get("uid") or "")
    return None


def controller_ref(owner: Mapping[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    """``metav1.NewControllerRef``."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


# -- ReplicaSets ------------------------------------------------------------------------------------


def rs_replicas(rs: Mapping[str, Any] | None) -> int:
    """``*rs.Spec.Replicas`` (the API server defaults a missing value to 1)."""
    if rs is None:
        return 0
    return as_int(spec_of(rs).get("replicas"), 1)


def rs_status_replicas(rs: Mapping[str, Any] | None) -> int:
    return 0 if rs is None else as_int(status_of(rs).get("replicas"))


def rs_ready(rs: Mapping[str, Any] | None) -> int:
    return 0 if rs is None else as_int(status_of(rs).get("readyReplicas"))


def rs_available(rs: Mapping[str, Any] | None) -> int:
    return 0 if rs is None else as_int(status_of(rs).get("availableReplicas"))


def pod_hash(rs: Mapping[str, Any] | None) -> str:
    if rs is None:
        return ""
    return str(labels_of(rs).get(POD_TEMPLATE_HASH_LABEL) or "")


def revision_of(obj: Mapping[str, Any] | None) -> int:
    """``replicasetutil.Revision``: the revision annotation (0 when absent or unreadable)."""
    if obj is None:
        return 0
    value = annotations_of(obj).get(REVISION_ANNOTATION)
    if value is None:
        return 0
    try:
        return int(str(value))
    except ValueError:
        return 0


def revision_or_none(obj: Mapping[str, Any]) -> int | None:
    value = annotations_of(obj).get(REVISION_ANNOTATION)
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def max_revision(rss: Iterable[Mapping[str, Any]]) -> int:
    return max((revision_of(rs) for rs in rss), default=0)


def sum_replicas(rss: Iterable[Mapping[str, Any] | None]) -> int:
    return sum(rs_replicas(rs) for rs in rss if rs is not None)


def sum_available(rss: Iterable[Mapping[str, Any] | None]) -> int:
    return sum(rs_available(rs) for rs in rss if rs is not None)


def sum_status_replicas(rss: Iterable[Mapping[str, Any] | None]) -> int:
    return sum(rs_status_replicas(rs) for rs in rss if rs is not None)


def sum_ready(rss: Iterable[Mapping[str, Any] | None]) -> int:
    return sum(rs_ready(rs) for rs in rss if rs is not None)


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """``controller.ReplicaSetsByCreationTimestamp`` (name breaks ties)."""
    return sorted(rss, key=lambda rs: (created_at(rs), name_of(rs)))


def same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return a is not None and b is not None and name_of(a) == name_of(b)


def deep(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; an empty selector matches all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or ())
        if op == "In" and (key not in labels or labels[key] not in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
