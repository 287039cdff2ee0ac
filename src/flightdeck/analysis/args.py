"""Argument handling: ``{{args.x}}`` substitution into metrics, template merging, rollout-side args.

Argo substitutes into the *JSON text* of a metric (utils/template, utils/analysis/factory.go), so a
value can land in any field (``count``, ``interval``, a header) and the error reported for several
bad tags is the last one in JSON field order. We do the same on a JSON rendering in Go's field
order.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flightdeck.analysis.types import Argument, Metric
from flightdeck.util.gofmt import format_float_v, go_quote


class ArgumentError(Exception):
    """``str()`` is Argo's text, e.g. ``failed to resolve {{args.x}}``."""


# Go struct field order of v1alpha1.Metric, which decides json.Marshal's key order.
_METRIC_FIELD_ORDER = (
    "name",
    "interval",
    "initialDelay",
    "count",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "provider",
    "consecutiveSuccessLimit",
)
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _go_quote_inner(value: str) -> str:
    """``strconv.Quote(v)`` without the surrounding quotes (Argo's ResolveQuotedArgs)."""
    return go_quote(value)[1:-1]


def _metric_json(raw: Mapping[str, Any]) -> str:
    ordered: dict[str, Any] = {k: raw[k] for k in _METRIC_FIELD_ORDER if raw.get(k) is not None}
    for key, value in raw.items():
        if key not in ordered and value is not None:
            ordered[key] = value
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def substitute(template: str, values: Mapping[str, str]) -> str:
    """fasttemplate with Argo's resolver: every ``{{tag}}`` must name a known key (spaces trimmed)."""
    if "{{" not in template:
        return template
    unresolved: str | None = None
    out: list[str] = []
    pos = 0
    while True:
        start = template.find("{{", pos)
        if start < 0:
            out.append(template[pos:])
            break
        end = template.find("}}", start + 2)
        if end < 0:
            rest = template[start + 2 :]
            raise ArgumentError(
                f"Cannot find end tag={json.dumps('}}')} in the template={json.dumps(template)} "
                f"starting from {json.dumps(rest)}"
            )
        out.append(template[pos:start])
        tag = template[start + 2 : end]
        value = values.get(tag.strip())
        if value is None:
            unresolved = tag
        else:
            out.append(value)
        pos = end + 2
    if unresolved is not None:
        raise ArgumentError(f"failed to resolve {{{{{unresolved}}}}}")
    return "".join(out)


def arg_values(args: Sequence[Argument]) -> dict[str, str]:
    """The substitution map; every declared arg needs a value, used or not (Argo's ResolveArgs)."""
    values: dict[str, str] = {}
    for arg in args:
        if arg.value is None:
            raise ArgumentError(f'argument "{arg.name}" was not supplied')
        values[f"args.{arg.name}"] = _go_quote_inner(arg.value)
    return values


def resolve_metrics(metrics: Sequence[Metric], args: Sequence[Argument]) -> tuple[Metric, ...]:
    """Substitute ``args`` into every metric of a run."""
    values = arg_values(args)
    return tuple(resolve_metric(m, args, values) for m in metrics)


def resolve_metric(
    metric: Metric, args: Sequence[Argument], values: Mapping[str, str] | None = None
) -> Metric:
    """Substitute ``args`` into one metric (Argo's ResolveMetricArgs); ``values`` is
    ``arg_values(args)`` when the caller already has it."""
    if values is None:
        values = arg_values(args)
    text = metric.json_text
    if text is None:
        text = _metric_json(metric.raw)
        # A cache of a frozen value: derived from ``raw``, which is never mutated.
        object.__setattr__(metric, "json_text", text)
    if "{{" not in text:
        return metric
    if all(map(_json_plain, values)) and all(map(_json_plain, values.values())):
        # Substituting into each string leaf gives what substituting into the JSON text and decoding
        # it gives, when no key or value needs escaping; any failure takes the text path below,
        # which produces Argo's exact error.
        try:
            raw = {k: _substitute_leaves(v, values) for k, v in metric.raw.items() if v is not None}
        except (ArgumentError, _NotPlain):
            pass
        else:
            return Metric.from_dict(raw)
    resolved = substitute(text, values)
    try:
        raw = json.loads(resolved)
    except json.JSONDecodeError as exc:
        raise ArgumentError(f"invalid character in resolved metric: {exc.msg}") from None
    return Metric.from_dict(raw)


class _NotPlain(Exception):
    """A structure the leaf-wise substitution does not handle exactly (the text path does)."""


def _json_plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _substitute_leaves(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, values) if "{{" in value else value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or "{{" in key:
                raise _NotPlain
            out[key] = _substitute_leaves(item, values)
        return out
    if isinstance(value, list | tuple):
        return [_substitute_leaves(item, values) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise _NotPlain


# -- compiled metrics: one template resolved for many runs --------------------------------------

_SCHEDULING_FIELDS = frozenset(
    {
        "name",
        "interval",
        "initialDelay",
        "count",
        "failureLimit",
        "inconclusiveLimit",
        "consecutiveErrorLimit",
        "consecutiveSuccessLimit",
    }
)
"""The fields validation, rule matching and scheduling read; a tag in one of them makes every run's
metric its own shape."""

_Edit = Callable[[Any, Mapping[str, str]], Any]
"""Rebuilds a value holding tags for a run: (template value, substitution map) → the run's value.
Only the containers on the way to tagged leaves are copied; the rest is the template's."""


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledMetric:
    """A metric whose ``{{…}}`` tags all sit whole inside plain string leaves, outside the fields
    validation and scheduling read: resolving it for a run rebuilds only the containers on the paths
    to those leaves and shares the rest with the template. Every run of such a template therefore has
    the template's validation outcome and timings.

    :meth:`resolve` gives exactly what :func:`resolve_metric` gives when :meth:`applies` holds;
    otherwise callers use :func:`resolve_metric`, which also produces Argo's error texts."""

    metric: Metric
    base: dict[str, Any]
    """The top-level fields without null ones (as the text round trip drops them)."""
    edits: tuple[tuple[str, _Edit], ...]
    tags: frozenset[str]

    def applies(self, values: Mapping[str, str]) -> bool:
        """Every tag resolves; ``values`` must come from :func:`plain_arg_values`."""
        return self.tags.issubset(values.keys())

    def resolve(self, values: Mapping[str, str]) -> Metric:
        if not self.edits:
            return self.metric
        raw = self.base.copy()
        for key, edit in self.edits:
            raw[key] = edit(raw[key], values)
        return Metric(str(raw.get("name") or ""), raw)


def plain_arg_values(args: Sequence[Argument]) -> dict[str, str] | None:
    """``arg_values(args)`` when every arg has a value and no name or value needs escaping (so that
    substituting leaf by leaf equals substituting into the JSON text); None otherwise, for the
    general path, which also raises Argo's errors."""
    values: dict[str, str] = {}
    for arg in args:
        value = arg.value
        # A plain value is its own quoted form.
        if value is None or not _json_plain(value) or not _json_plain(arg.name):
            return None
        values["args." + arg.name] = value
    return values


def compile_metric(metric: Metric) -> CompiledMetric | None:
    """None when the metric needs :func:`resolve_metric` for every run: a tag in a scheduling field,
    an unclosed or escaped tag, a tag in a key, or a value kind the leaf-wise path does not handle."""
    raw = metric.raw
    tags: set[str] = set()
    edits: list[tuple[str, _Edit]] = []
    base: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if value is None:
                continue
            if not isinstance(key, str) or "{{" in key:
                return None
            base[key] = value
            edit = _compile_value(value, tags)
            if edit is not None:
                if key in _SCHEDULING_FIELDS:
                    return None
                edits.append((key, edit))
    except _NotPlain:
        return None
    return CompiledMetric(metric, base, tuple(edits), frozenset(tags))


def _compile_value(value: Any, tags: set[str]) -> _Edit | None:
    """The edit for ``value``, None when it holds no tag; raises :class:`_NotPlain`."""
    if isinstance(value, str):
        return _compile_leaf(value, tags) if "{{" in value else None
    children: list[tuple[Any, _Edit]] = []
    # Exact types only: a copy of a subclass would not be the plain value the leaf-wise path builds.
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str) or "{{" in key:
                raise _NotPlain
            edit = _compile_value(item, tags)
            if edit is not None:
                children.append((key, edit))
    elif type(value) is list:
        for index, item in enumerate(value):
            edit = _compile_value(item, tags)
            if edit is not None:
                children.append((index, edit))
    elif value is None or isinstance(value, bool | int | float):
        return None
    else:
        # Tuples and subclasses included: the leaf-wise path builds plain lists and dicts of them.
        raise _NotPlain
    if not children:
        return None
    if len(children) == 1:
        ((key, child),) = children

        def one(template: Any, values: Mapping[str, str]) -> Any:
            out = template.copy()
            out[key] = child(template[key], values)
            return out

        return one

    def several(template: Any, values: Mapping[str, str]) -> Any:
        out = template.copy()
        for key, child in children:
            out[key] = child(template[key], values)
        return out

    return several


def _compile_leaf(text: str, tags: set[str]) -> _Edit:
    # The same scan as substitute(); a tag's text must look the same inside the JSON text, so that
    # Argo's text-level substitution sees the same tag.
    parts: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        end = text.find("}}", start + 2)
        if end < 0:
            raise _NotPlain
        tag = text[start + 2 : end]
        if not _json_plain(tag):
            raise _NotPlain
        parts.append(text[pos:start])
        parts.append(tag.strip())
        tags.add(tag.strip())
        pos = end + 2
    slots = range(1, len(parts), 2)

    def leaf(template: Any, values: Mapping[str, str]) -> str:
        pieces = parts.copy()
        for i in slots:
            pieces[i] = values[pieces[i]]
        return "".join(pieces)

    return leaf


def without_secrets(args: Sequence[Argument]) -> list[Argument]:
    """Secret-backed args get a placeholder so that validation can run before secrets are read."""
    return [
        Argument(a.name, "temp-for-secret") if a.value_from and a.value_from.get("secretKeyRef") else a
        for a in args
    ]


SecretLookup = Callable[[str, str, str], str]
"""``(namespace, secret name, key) -> value``; raises :class:`ArgumentError` with Argo's text."""


def with_secrets(
    args: Sequence[Argument], namespace: str, lookup: SecretLookup
) -> tuple[list[Argument], list[str]]:
    """Read secret-backed args; returns the resolved args and the secret values to redact."""
    resolved: list[Argument] = []
    secrets: list[str] = []
    for arg in args:
        ref = arg.value_from.get("secretKeyRef") if arg.value_from else None
        if ref:
            value = lookup(namespace, str(ref.get("name") or ""), str(ref.get("key") or ""))
            secrets.append(value)
            resolved.append(Argument(arg.name, value))
        else:
            resolved.append(arg)
    return resolved, secrets


def merge_args(incoming: Sequence[Argument], template_args: Sequence[Argument]) -> list[Argument]:
    """Argo's MergeArgs: rollout args override same-named template args; all must end up resolved."""
    merged = list(template_args)
    for arg in incoming:
        for i, existing in enumerate(merged):
            if existing.name == arg.name:
                if arg.value is not None:
                    merged[i] = Argument(existing.name, arg.value, existing.value_from)
                elif arg.value_from is not None:
                    merged[i] = Argument(existing.name, existing.value, arg.value_from)
                break
    for arg in merged:
        if arg.value is None and arg.value_from is None:
            raise ArgumentError(f"args.{arg.name} was not resolved")
    return merged


def flatten_args(arg_lists: Sequence[Sequence[Argument]]) -> list[Argument]:
    """Combine the args of several templates (Argo's flattenArgs)."""
    combined: list[Argument] = []
    for args in arg_lists:
        for new in args:
            for i, prev in enumerate(combined):
                if prev.name == new.name:
                    if prev.value is not None and new.value is not None and prev.value != new.value:
                        raise ArgumentError(
                            f"Argument `{prev.name}` specified multiple times with different values: "
                            f"'{prev.value}', '{new.value}'"
                        )
                    if prev.value is None:
                        combined[i] = new
                    break
            else:
                combined.append(new)
    return combined


# -- rollout-side arguments (BuildArgumentsForRolloutAnalysisRun) ---------------------------------

_FIELD_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def extract_metadata_field(obj: Mapping[str, Any], path: str) -> str:
    """Kubernetes ``fieldpath.ExtractFieldPathAsString`` for ``metadata.*`` paths."""
    meta = obj.get("metadata") or {}
    match = _FIELD_LABEL.match(path)
    if match:
        kind, key = match.groups()
        return str((meta.get(kind) or {}).get(key, ""))
    simple = {
        "metadata.name": "name",
        "metadata.namespace": "namespace",
        "metadata.uid": "uid",
        "metadata.generateName": "generateName",
    }
    if path in simple:
        return str(meta.get(simple[path]) or "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f"{k}={go_quote(str(v))}" for k, v in sorted(items.items()))
    raise ArgumentError(f"unsupported fieldPath: {path}")


def extract_value_from_rollout(rollout: Mapping[str, Any], path: str) -> str:
    """Walk the Rollout's JSON by ``.``/``[i]`` segments (Argo's extractValueFromRollout)."""
    node: Any = rollout
    for section in re.split(r"[.\[\]]+", path):
        if section == "":
            continue
        if isinstance(node, list):
            body = section[1:] if section[:1] in ("+", "-") else section
            if not (body.isascii() and body.isdigit()):
                raise ArgumentError(f"invalid index '{section}'")
            index = int(section)
            if index >= len(node):
                raise ArgumentError(f"index {index} out of range")
            node = node[index]
        elif isinstance(node, Mapping):
            node = node.get(section)
        else:
            raise ArgumentError(f"invalid path {path} in rollout")
    if node is None:
        raise ArgumentError(f"invalid path {path} in rollout")
    if isinstance(node, list | Mapping):
        raise ArgumentError(f"path {path} in rollout must terminate in a primitive value")
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int | float):
        return format_float_v(float(node))
    return str(node)


def build_rollout_args(
    rollout_args: Sequence[Mapping[str, Any]],
    rollout: Mapping[str, Any],
    *,
    stable_hash: str,
    latest_hash: str,
) -> list[Argument]:
    """Turn a Rollout's analysis args into concrete values.

    As in Argo, a non-metadata fieldRef that cannot be read yields "" and the (last) error is
    raised after all args were built, so callers can tell "invalid now" from "invalid spec".
    """
    built: list[Argument] = []
    error: ArgumentError | None = None
    for raw in rollout_args:
        value = raw.get("value")
        text = "" if value is None else str(value)
        source = raw.get("valueFrom") or {}
        if source.get("podTemplateHashValue") is not None:
            which = source["podTemplateHashValue"]
            text = latest_hash if which == "Latest" else stable_hash if which == "Stable" else ""
        elif source.get("fieldRef") is not None:
            path = str((source["fieldRef"] or {}).get("fieldPath") or "")
            if path.startswith("metadata"):
                text = extract_metadata_field(rollout, path)
            else:
                # Go assigns err on every such arg, so only the last one's outcome counts.
                try:
                    text, error = extract_value_from_rollout(rollout, path), None
                except ArgumentError as exc:
                    text, error = "", exc
        built.append(Argument(str(raw.get("name") or ""), text))
    if error is not None:
        raise error
    return built
