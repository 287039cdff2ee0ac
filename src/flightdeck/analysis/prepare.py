"""What a run's spec resolves to before any pass: resolved metrics, validation, parsed limits and timings.

Argo resolves arguments and validates the metrics at the start of every reconcile; the outcome only
depends on the spec, so it is derived once per run and cached on it (``run.prepared``).

Runs made from one template differ only in their argument values, and where the template's tags sit
only in queries, conditions and other provider fields (the usual case, and the seed's), validation,
rule matching and timings are the template's. Those are derived once per *family* (the same template
metric objects and rules); a run then only substitutes its values into the tagged leaves. Anything
else (a tag in ``count``, a secret-backed arg, a value that needs escaping) takes the general path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from flightdeck.analysis.args import (
    ArgumentError,
    CompiledMetric,
    compile_metric,
    plain_arg_values,
    resolve_metrics,
    without_secrets,
)
from flightdeck.analysis.tasks import MeasurementTask
from flightdeck.analysis.types import AnalysisRun, Metric, MetricRule
from flightdeck.analysis.validate import SpecError, match_rules, metric_shape, validate_metrics
from flightdeck.kube.durations import DurationError, parse_go_duration

MEASUREMENT_HISTORY_LIMIT = 10
"""Argo's DefaultMeasurementHistoryLimit."""


@dataclasses.dataclass(frozen=True, slots=True)
class MetricPlan:
    """A metric's limits and timings parsed once, so passes do no parsing."""

    index: int
    name: str
    failure_limit: int
    inconclusive_limit: int
    error_limit: int
    success_limit: int
    count: int | None
    """Argo's EffectiveCount; None is unbounded."""
    interval: float | None
    """None when unset or invalid (validation reports invalid ones before any pass)."""
    has_interval: bool
    delay: float | None
    has_delay: bool
    dry_run: bool
    retention: int


_Timing = tuple[int, int, int, int, int | None, float | None, bool, float | None, bool]
_timings: dict[tuple[object, ...], _Timing] = {}


def _duration_or_none(text: str) -> float | None:
    try:
        return parse_go_duration(text)
    except DurationError:
        return None


def _timing(metric: Metric) -> _Timing:
    return (
        metric.failure_limit,
        metric.inconclusive_limit,
        metric.consecutive_error_limit,
        metric.consecutive_success_limit,
        metric.effective_count(),
        _duration_or_none(metric.interval) if metric.interval else None,
        bool(metric.interval),
        _duration_or_none(metric.initial_delay) if metric.initial_delay else None,
        bool(metric.initial_delay),
    )


def plan_metric(metric: Metric, index: int = 0, *, dry_run: bool = False, retention: int = 0) -> MetricPlan:
    key = metric_shape(metric)
    if key is None:
        timing = _timing(metric)
    else:
        cached = _timings.get(key)
        if cached is None:
            if len(_timings) >= 4096:
                _timings.clear()
            cached = _timings[key] = _timing(metric)
        timing = cached
    return MetricPlan(
        index,
        metric.name,
        *timing,
        dry_run=dry_run,
        retention=retention if retention > 0 else MEASUREMENT_HISTORY_LIMIT,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """A run's resolved spec; derived data, cached on the run between passes."""

    plans: tuple[MetricPlan, ...]
    tasks: tuple[MeasurementTask, ...] = ()
    """Per metric, in spec order, a plain task (the metric with every argument substituted, nothing
    in flight): immutable, so every pass shares it. Empty when the run has secret-backed args."""
    by_name: Mapping[str, MetricPlan] = dataclasses.field(default_factory=dict)
    uses_secrets: bool = False
    error: str = ""


def prepare(run: AnalysisRun) -> Prepared:
    cached = run.prepared
    if isinstance(cached, Prepared):
        return cached
    prepared = _prepare_uncached(run)
    run.prepared = prepared
    return prepared


def _uses_secrets(run: AnalysisRun) -> bool:
    for arg in run.spec.args:  # noqa: SIM110 - a loop: this runs for every run created
        if arg.value_from and arg.value_from.get("secretKeyRef"):
            return True
    return False


def _prepare_uncached(run: AnalysisRun) -> Prepared:
    if not _uses_secrets(run):
        family = _family(run)
        if family is not None:
            prepared = family.prepare(run)
            if prepared is not None:
                return prepared
    return _prepare_generally(run)


def _prepare_generally(run: AnalysisRun) -> Prepared:
    try:
        args = without_secrets(run.spec.args)
        metrics = resolve_metrics(run.spec.metrics, args)
    except ArgumentError as exc:
        return Prepared((), error=f"Unable to resolve metric arguments: {exc}")
    plans = _plans(metrics, run.spec.dry_run, run.spec.measurement_retention)
    if isinstance(plans, str):
        return Prepared((), error=plans)
    uses_secrets = _uses_secrets(run)
    return Prepared(
        plans,
        () if uses_secrets else tuple(MeasurementTask(m) for m in metrics),
        {p.name: p for p in plans},
        uses_secrets=uses_secrets,
    )


def _plans(
    metrics: tuple[Metric, ...], dry_run_rules: list[MetricRule], retention_rules: list[MetricRule]
) -> tuple[MetricPlan, ...] | str:
    """Argo's validation and rule matching, then the plans; a str is the run's error message."""
    try:
        validate_metrics(metrics)
        dry_run = match_rules(dry_run_rules, metrics, "dryRun")
        retention = match_rules(retention_rules, metrics, "measurementRetention")
    except SpecError as exc:
        return f"Analysis spec invalid: {exc}"
    return tuple(
        plan_metric(
            m,
            i,
            dry_run=m.name in dry_run,
            retention=retention[m.name].limit if m.name in retention else 0,
        )
        for i, m in enumerate(metrics)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Family:
    templates: tuple[Metric, ...]
    """Kept so that the ids in the cache key stay those of these objects."""
    compiled: tuple[CompiledMetric, ...]
    plans: tuple[MetricPlan, ...] | str
    by_name: Mapping[str, MetricPlan]
    tags: frozenset[str]
    """Every metric's tags."""

    def prepare(self, run: AnalysisRun) -> Prepared | None:
        """The run's preparation, or None when it needs the general path (which reports errors in
        Argo's order: arguments, then validation)."""
        values = plain_arg_values(run.spec.args)
        if values is None or not self.tags.issubset(values.keys()):
            return None  # the general path reports a missing one
        if isinstance(self.plans, str):
            return Prepared((), error=self.plans)
        return Prepared(
            self.plans, tuple([MeasurementTask(c.resolve(values)) for c in self.compiled]), self.by_name
        )


_FAMILY_LIMIT = 256
_families: dict[tuple[object, ...], _Family | None] = {}


def _family(run: AnalysisRun) -> _Family | None:
    spec = run.spec
    key = (tuple(map(id, spec.metrics)), tuple(spec.dry_run), tuple(spec.measurement_retention))
    if key in _families:
        return _families[key]
    family = _new_family(tuple(spec.metrics), spec.dry_run, spec.measurement_retention)
    if len(_families) >= _FAMILY_LIMIT:
        _families.clear()
    _families[key] = family
    return family


def _new_family(
    templates: tuple[Metric, ...], dry_run_rules: list[MetricRule], retention_rules: list[MetricRule]
) -> _Family | None:
    compiled: list[CompiledMetric] = []
    for metric in templates:
        c = compile_metric(metric)
        if c is None:
            return None
        compiled.append(c)
    # Tags sit outside every field validation, rule matching and timings read, so the template
    # metrics give the outcome every resolved run gets.
    plans = _plans(templates, dry_run_rules, retention_rules)
    by_name = {} if isinstance(plans, str) else {p.name: p for p in plans}
    tags = frozenset().union(*(c.tags for c in compiled))
    return _Family(templates, tuple(compiled), plans, by_name, tags)


__all__ = ["MEASUREMENT_HISTORY_LIMIT", "MetricPlan", "Prepared", "plan_metric", "prepare"]
