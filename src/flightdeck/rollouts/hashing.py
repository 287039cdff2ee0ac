"""The two hashes a Rollout's status carries: ``currentPodHash`` and ``currentStepHash``.

Both are FNV-32a sums rendered through apimachinery's ``rand.SafeEncodeString``, computed exactly as Argo Rollouts
v1.9 does, over Go's ``json.Marshal`` of the steps and of the pod template, so the values match a real cluster's.

The pod template is hashed as the controller receives it from the API server, which applies the Rollout CRD's
structural schema before anyone reads the object: its defaults are filled in and ``spec.template.metadata`` is pruned
to the two fields the schema declares. flightdeck's object store keeps custom resources as written, so
:func:`flightdeck.kube.defaults.rollout_template` does both here too (a no-op on a template the store
already defaulted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.kube import hashing as kube_hashing
from flightdeck.kube.defaults import rollout_template
from flightdeck.util.gojson import go_json

fnv32a = kube_hashing.fnv32a
safe_encode = kube_hashing.safe_encode


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """``rollouts-pod-template-hash`` of a Rollout's ``spec.template`` (``hash.ComputePodTemplateHash``)."""
    return kube_hashing.rollout_pod_template_hash(rollout_template(template), collision_count)


def template_issues(template: Mapping[str, Any]) -> tuple[str, ...]:
    """What in the template makes its hash differ from a real cluster's (unknown fields, wrong JSON types)."""
    return kube_hashing.rollout_template_json(rollout_template(template)).issues


# -- currentStepHash: Go json.Marshal of []CanaryStep --------------------------------------------


def _go_json_any(value: Any) -> str:
    """A value whose Go type is a map or raw JSON: maps marshal with sorted keys."""
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{go_json(str(k))}:{_go_json_any(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_go_json_any(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return go_json(str(value))


# (field, kind, omitempty): kind is "int", "str", "bool", "intorstr", "any" or a nested field list;
# lists of structs are ("list", fields).
_Fields = Sequence[tuple[str, Any, bool]]
_TEMPLATE_REF: _Fields = (("templateName", "str", False), ("clusterScope", "ptrbool", True))
_FIELD_REF: _Fields = (("fieldPath", "str", False),)
_VALUE_FROM: _Fields = (("podTemplateHashValue", "ptrstr", True), ("fieldRef", _FIELD_REF, True))
_ARG: _Fields = (("name", "str", False), ("value", "str", True), ("valueFrom", _VALUE_FROM, True))
_DRY_RUN: _Fields = (("metricName", "str", False),)
_RETENTION: _Fields = (("metricName", "str", False), ("limit", "int", False))
_RUN_METADATA: _Fields = (("labels", "any", True), ("annotations", "any", True))
_ANALYSIS: _Fields = (
    ("templates", ("list", _TEMPLATE_REF), True),
    ("args", ("list", _ARG), True),
    ("dryRun", ("list", _DRY_RUN), True),
    ("measurementRetention", ("list", _RETENTION), True),
    ("analysisRunMetadata", _RUN_METADATA, True),
)
_STEP: _Fields = (
    ("setWeight", "ptrint", True),
    ("pause", (("duration", "intorstr", True),), True),
    ("experiment", "any", True),
    ("analysis", _ANALYSIS, True),
    (
        "setCanaryScale",
        (("weight", "ptrint", True), ("replicas", "ptrint", True), ("matchTrafficWeight", "bool", True)),
        True,
    ),
    ("setHeaderRoute", "any", True),
    ("setMirrorRoute", "any", True),
    ("plugin", (("name", "str", False), ("config", "any", True)), True),
)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0


def _encode(value: Any, kind: Any) -> str | None:
    """Go's encoding of one field value, or None when ``omitempty`` drops it."""
    if kind == "str":
        return go_json("" if value is None else str(value))
    if kind == "int":
        return str(_as_int(value))
    if kind == "bool":
        return "true" if value else "false"
    if kind == "ptrint":
        return None if value is None else str(_as_int(value))
    if kind == "ptrstr":
        return None if value is None else go_json(str(value))
    if kind == "ptrbool":
        return None if value is None else ("true" if value else "false")
    if kind == "intorstr":
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return go_json(str(value))
    if kind == "any":
        return None if value is None else _go_json_any(value)
    if isinstance(kind, tuple) and kind and kind[0] == "list":
        items = value if isinstance(value, list) else []
        return "[" + ",".join(_struct(item, kind[1]) for item in items) + "]"
    return None if value is None else _struct(value, kind)


def _is_empty(value: Any, kind: Any) -> bool:
    if value is None:
        return True
    if kind == "str":
        return bool(value == "")
    if kind in ("int",):
        return _as_int(value) == 0
    if kind == "bool":
        return not value
    if kind == "any" and isinstance(value, Mapping | list):
        return len(value) == 0
    if isinstance(kind, tuple) and kind and kind[0] == "list":
        return not value
    return False


def _struct(value: Any, fields: _Fields) -> str:
    obj = value if isinstance(value, Mapping) else {}
    parts: list[str] = []
    for name, kind, omitempty in fields:
        raw = obj.get(name)
        if omitempty and _is_empty(raw, kind):
            continue
        encoded = _encode(raw, kind)
        if encoded is None:
            if omitempty:
                continue
            encoded = "null"
        parts.append(f'"{name}":{encoded}')
    return "{" + ",".join(parts) + "}"


def steps_json(steps: Sequence[Mapping[str, Any]] | None) -> str:
    """Go's ``json.Marshal(rollout.Spec.Strategy.Canary.Steps)`` (nil slice marshals as ``null``)."""
    if steps is None:
        return "null"
    return "[" + ",".join(_struct(step, _STEP) for step in steps) + "]"


def step_hash(steps: Sequence[Mapping[str, Any]] | None) -> str:
    """``conditions.ComputeStepHash`` for a canary Rollout."""
    return safe_encode(str(fnv32a(steps_json(steps).encode())))
