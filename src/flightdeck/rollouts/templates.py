"""Where a Rollout asks for analysis, the AnalysisTemplates it names, and the run spec they make.

Argo resolves ``templates`` (namespaced AnalysisTemplates and ClusterAnalysisTemplates, following nested
``spec.templates``), keeps each template once, and flattens them: namespaced templates' metrics first, then
cluster templates' (utils/analysis ``NewAnalysisRunFromTemplates``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flightdeck.analysis.factory import RunCreationError, new_run
from flightdeck.analysis.types import AnalysisRunSpec, Argument, MetricRule
from flightdeck.kube.actions import Obj
from flightdeck.rollouts.objutil import as_int, name_of, namespace_of
from flightdeck.rollouts.steps import canary_of, steps_of

TemplateLookup = Callable[[str, str, str], Obj | None]
"""``(kind, namespace, name) -> object or None``; ``ObjectStore.get`` has this shape."""
TemplateSource = TemplateLookup | Iterable[Obj]


def make_lookup(source: TemplateSource | None) -> TemplateLookup:
    """A lookup from a callable, or from a collection of AnalysisTemplate/ClusterAnalysisTemplate objects."""
    if source is None:
        return lambda kind, namespace, name: None
    if callable(source):
        return source
    index: dict[tuple[str, str, str], Obj] = {}
    for obj in source:
        kind = str(obj.get("kind") or "")
        namespace = "" if kind == "ClusterAnalysisTemplate" else namespace_of(obj)
        index[(kind, namespace, name_of(obj))] = obj
    return lambda kind, namespace, name: index.get(
        (kind, "" if kind == "ClusterAnalysisTemplate" else namespace, name)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RolloutAnalysisRef:
    """One ``analysis`` block of a Rollout: a step's (``step_index``) or the background one (None)."""

    step_index: int | None
    templates: tuple[Mapping[str, Any], ...]
    args: tuple[Mapping[str, Any], ...]
    dry_run: tuple[MetricRule, ...]
    measurement_retention: tuple[MetricRule, ...]
    run_metadata: Mapping[str, Any]
    starting_step: int | None = None

    @property
    def field_path(self) -> str:
        if self.step_index is None:
            return "spec.strategy.canary.analysis.templates"
        return f"spec.strategy.canary.steps[{self.step_index}].analysis.templates"


def _ref(step_index: int | None, raw: Mapping[str, Any]) -> RolloutAnalysisRef:
    return RolloutAnalysisRef(
        step_index,
        tuple(t for t in raw.get("templates") or () if isinstance(t, Mapping)),
        tuple(a for a in raw.get("args") or () if isinstance(a, Mapping)),
        tuple(MetricRule(str(r.get("metricName") or "")) for r in raw.get("dryRun") or ()),
        tuple(
            MetricRule(str(r.get("metricName") or ""), as_int(r.get("limit")))
            for r in raw.get("measurementRetention") or ()
        ),
        raw.get("analysisRunMetadata") or {},
        None if raw.get("startingStep") is None else as_int(raw.get("startingStep")),
    )


def analysis_refs(rollout: Mapping[str, Any]) -> list[RolloutAnalysisRef]:
    """Inline step analyses in step order, then the background analysis (Argo's validation order)."""
    refs = [
        _ref(i, step["analysis"])
        for i, step in enumerate(steps_of(rollout))
        if isinstance(step.get("analysis"), Mapping)
    ]
    background = canary_of(rollout).get("analysis")
    if isinstance(background, Mapping):
        refs.append(_ref(None, background))
    return refs


def step_ref(rollout: Mapping[str, Any], index: int) -> RolloutAnalysisRef | None:
    steps = steps_of(rollout)
    if 0 <= index < len(steps) and isinstance(steps[index].get("analysis"), Mapping):
        return _ref(index, steps[index]["analysis"])
    return None


def background_ref(rollout: Mapping[str, Any]) -> RolloutAnalysisRef | None:
    background = canary_of(rollout).get("analysis")
    return _ref(None, background) if isinstance(background, Mapping) else None


class TemplateNotFound(Exception):
    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} '{name}' not found")


def resolve_templates(
    refs: Sequence[Mapping[str, Any]], rollout: Mapping[str, Any], lookup: TemplateLookup
) -> list[tuple[str, Obj]]:
    """The (kind, object) pairs a list of ``templateName`` refs names: namespaced first, each name once."""
    namespaced: list[Obj] = []
    cluster: list[Obj] = []
    _collect(refs, namespace_of(rollout), lookup, namespaced, cluster, depth=0)
    out: list[tuple[str, Obj]] = []
    for kind, objs in (("AnalysisTemplate", namespaced), ("ClusterAnalysisTemplate", cluster)):
        seen: set[str] = set()
        for obj in objs:
            if name_of(obj) not in seen:
                seen.add(name_of(obj))
                out.append((kind, obj))
    return out


def _collect(
    refs: Sequence[Mapping[str, Any]],
    namespace: str,
    lookup: TemplateLookup,
    namespaced: list[Obj],
    cluster: list[Obj],
    depth: int,
) -> None:
    if depth > 16:  # nested templates referring to each other would recurse forever in Argo too
        raise TemplateNotFound("AnalysisTemplate", "<nesting deeper than 16 levels>")
    for ref in refs:
        name = str(ref.get("templateName") or "")
        kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
        obj = lookup(kind, "" if kind == "ClusterAnalysisTemplate" else namespace, name)
        if obj is None:
            raise TemplateNotFound(kind, name)
        (cluster if kind == "ClusterAnalysisTemplate" else namespaced).append(obj)
        inner = (obj.get("spec") or {}).get("templates")
        if inner:
            _collect(inner, namespace, lookup, namespaced, cluster, depth + 1)


def new_run_spec(
    templates: Sequence[tuple[str, Mapping[str, Any]]],
    args: Sequence[Argument],
    dry_run: Sequence[MetricRule],
    retention: Sequence[MetricRule],
) -> dict[str, Any]:
    """The ``spec`` of an AnalysisRun made from ``templates`` with the rollout's ``args`` (raises RunCreationError)."""
    specs = [AnalysisRunSpec.from_dict(t.get("spec") or {}) for _, t in templates]
    run = new_run("", "", specs, args, dry_run=dry_run, measurement_retention=retention)
    spec: dict[str, Any] = {
        "metrics": [dict(m.raw) for m in run.spec.metrics],
        "args": [a.to_dict() for a in run.spec.args],
    }
    if run.spec.dry_run:
        spec["dryRun"] = [{"metricName": r.metric_name} for r in run.spec.dry_run]
    if run.spec.measurement_retention:
        spec["measurementRetention"] = [
            {"metricName": r.metric_name, "limit": r.limit} for r in run.spec.measurement_retention
        ]
    if not spec["args"]:
        del spec["args"]
    return spec


__all__ = [
    "RolloutAnalysisRef",
    "RunCreationError",
    "TemplateLookup",
    "TemplateNotFound",
    "TemplateSource",
    "analysis_refs",
    "background_ref",
    "make_lookup",
    "new_run_spec",
    "resolve_templates",
    "step_ref",
]
