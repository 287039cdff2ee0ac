"""Comparing desired and live objects the way a client-side ``kubectl apply`` sees them, and the merge it
performs: only what the manifest sets is compared (server-filled fields and defaults are ignored), and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation tells which fields were removed from git."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.kube.actions import Obj

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Set by the API server / controllers, never compared.
_SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
        "ownerReferences",
        "finalizers",
    }
)


def last_applied(live: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if live is None:
        return None
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def applied_configuration(desired: Mapping[str, Any]) -> str:
    """The annotation value kubectl writes: the object as applied, compact JSON with sorted keys."""
    clean = copy.deepcopy(dict(desired))
    annotations = (clean.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            clean["metadata"].pop("annotations")
    clean.pop("status", None)
    return json.dumps(clean, sort_keys=True, separators=(",", ":")) + "\n"


def _equal_scalar(want: Any, got: Any) -> bool:
    if want == got and type(want) is type(got):
        return True
    # YAML numbers and the API server's canonical forms differ in type only (port 8080 vs 8080.0).
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(want == got) and isinstance(want, bool) and isinstance(got, bool)
    if isinstance(want, int | float) and isinstance(got, int | float):
        return float(want) == float(got)
    return False


def _covers(live: Any, want: Any, previous: Any) -> bool:
    """``live`` has every value ``want`` sets and none that ``previous`` set and ``want`` dropped."""
    if isinstance(want, dict):
        if not isinstance(live, dict):
            return False
        for key, value in want.items():
            if value is None:
                if live.get(key) is not None:
                    return False
                continue
            if key not in live:
                return False
            prev = previous.get(key) if isinstance(previous, dict) else None
            if not _covers(live[key], value, prev):
                return False
        if isinstance(previous, dict):
            for key in previous:
                if key not in want and key in live:
                    return False
        return True
    if isinstance(want, list):
        if not isinstance(live, list) or len(live) != len(want):
            return False
        prev_list = (
            previous if isinstance(previous, list) and len(previous) == len(want) else [None] * len(want)
        )
        return all(_covers(got, w, p) for got, w, p in zip(live, want, prev_list, strict=True))
    return _equal_scalar(want, live)


def _comparable(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    if obj is None:
        return {}
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def _without_pointers(obj: dict[str, Any], pointers: Sequence[str]) -> dict[str, Any]:
    if not pointers:
        return obj
    out = copy.deepcopy(obj)
    for pointer in pointers:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        node: Any = out
        for part in parts[:-1]:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
            if node is None:
                break
        if not parts or node is None:
            continue
        if isinstance(node, dict):
            node.pop(parts[-1], None)
        elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
            node.pop(int(parts[-1]))
    return out


def is_modified(desired: Mapping[str, Any], live: Mapping[str, Any], ignore: Sequence[str] = ()) -> bool:
    """Would applying ``desired`` change ``live``? (the diff Argo CD shows as OutOfSync); ``ignore`` are
    JSON pointers of ``ignoreDifferences`` left out of the comparison."""
    previous = last_applied(live)
    return not _covers(
        _without_pointers(_comparable(live), ignore),
        _without_pointers(_comparable(desired), ignore),
        _without_pointers(_comparable(previous), ignore) if previous is not None else None,
    )


def _merge(live: Any, want: Any, previous: Any) -> Any:
    if isinstance(want, dict) and isinstance(live, dict):
        out = dict(live)
        if isinstance(previous, dict):
            for key in previous:
                if key not in want:
                    out.pop(key, None)
        for key, value in want.items():
            if value is None:
                out.pop(key, None)
                continue
            prev = previous.get(key) if isinstance(previous, dict) else None
            out[key] = _merge(live.get(key), value, prev)
        return out
    return copy.deepcopy(want)


def merge_apply(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> Obj:
    """The object a client-side apply of ``desired`` leaves behind: live's server-side fields and status kept,
    fields removed since the last apply dropped, desired fields set; the last-applied annotation updated."""
    applied = applied_configuration(desired)
    target = copy.deepcopy(dict(desired))
    target.pop("status", None)
    if live is None:
        result = target
    else:
        previous = last_applied(live)
        result = _merge(copy.deepcopy(dict(live)), target, previous)
        if "status" in live:
            result["status"] = copy.deepcopy(live["status"])
    meta = result.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations[LAST_APPLIED] = applied
    meta["annotations"] = annotations
    return result
