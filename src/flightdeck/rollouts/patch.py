"""JSON merge patches (RFC 7386) and the status shape Argo's Go structs marshal to.

Argo writes a Rollout's status as a merge patch from the status it read to the one it computed, so a field
it did not change keeps whatever an earlier write in the same pass put there. The controller here does the
same on dicts, which requires both sides in the form Go's ``json.Marshal`` produces (``omitempty``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_DELETE = object()


def merge_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch turning ``old`` into ``new`` (None means delete the key)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = copy.deepcopy(value)
        elif old[key] != value:
            if isinstance(value, Mapping) and isinstance(old[key], Mapping):
                patch[key] = merge_diff(old[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def merge_apply(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(target))
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping):
            current = out.get(key)
            out[key] = merge_apply(current if isinstance(current, Mapping) else {}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# RolloutStatus fields that are Go pointers (serialised even when zero) or structs (always serialised).
_POINTER_FIELDS = frozenset({"currentStepIndex", "collisionCount", "abortedAt", "restartedAt", "alb"})
_STRUCT_FIELDS = ("canary", "blueGreen")


def _empty(value: Any) -> bool:
    return (
        value is None
        or value is False
        or (value == 0 and not isinstance(value, bool))
        or value in ("", [], {})
    )


# Fields of nested status structs that Go serialises without ``omitempty``.
_KEPT = frozenset({"type", "status", "reason", "message", "name"})


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if not _empty(v) or k in _KEPT}
    return value


def normalize_status(status: Mapping[str, Any] | None) -> dict[str, Any]:
    """``status`` as Go marshals a ``RolloutStatus``: zero values dropped except pointers; ``canary`` and
    ``blueGreen`` always present (struct fields ignore ``omitempty``)."""
    out: dict[str, Any] = {}
    for key, value in (status or {}).items():
        if key in _STRUCT_FIELDS:
            continue
        if key in _POINTER_FIELDS:
            if value is not None:
                out[key] = _clean(value)
        elif not _empty(value):
            out[key] = [_clean(v) for v in value] if isinstance(value, list) else _clean(value)
    for key in _STRUCT_FIELDS:
        nested = (status or {}).get(key)
        out[key] = _clean(nested) if isinstance(nested, Mapping) else {}
    return out
