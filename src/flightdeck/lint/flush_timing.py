"""Cross-object check: analysis metrics that read ``rate()`` of span metrics before there is a rate.

The spanmetrics connector flushes cumulative series every ``metrics_flush_interval`` F, on a ticker
that runs from the collector's start. A canary's series therefore appear at the first flush after its
traffic starts (up to F later) and first *increase* at the second (up to 2F later, plus the Prometheus
scrape interval, which lint does not know and leaves out: the times below are the earliest). Until
then ``rate()`` over them is 0, ``histogram_quantile`` of it (or a ratio of two) NaN, and a condition
like ``result[0] < 1000`` is false, so the measurement is Failed. Before the first flush the query has
no series at all.

For every prometheus metric of an AnalysisTemplate/ClusterAnalysisTemplate whose query applies a
rate-like function to a series of a linted collector's spanmetrics connector, lint takes the metric's
measurement times (``initialDelay + k × interval`` for the ``count`` measurements; the time between
a measurement and the next is at least the interval, so these are the earliest), evaluates the query
abstractly for both young stages (:mod:`flightdeck.lint.flush_values`), runs the conditions on those
values through the provider's own result processing, and replays the engine's counters and limit
checks for every place of the first flush in [0, F). When some place makes the metric Failed it warns,
with the text Argo Rollouts would print.

Not warned: conditions that mention ``isNaN`` (the author decided what NaN means), dry-run metrics,
values lint cannot determine (the query mixes in other metrics), timing fields that use arguments
without a declared value, and collector configurations the collector rejects (it never runs; that
error is reported on its own).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flightdeck.analysis.evaluate import ConditionError
from flightdeck.analysis.providers.prometheus import QueryValue, process_response

# Imported from reconcile (not its helper modules) to stay on the engine's public surface.
from flightdeck.analysis.reconcile import (
    MetricPlan,
    assess_metric,
    count_measurement,
    limit_violation,
    plan_metric,
)
from flightdeck.analysis.types import Measurement, Metric, MetricResult, Phase
from flightdeck.analysis.validate import SpecError, match_rules
from flightdeck.kube.objects import AnalysisTemplate
from flightdeck.lint import conditions, promql
from flightdeck.lint.diagnostics import Diagnostic, Severity, at
from flightdeck.lint.flush_values import EMPTY, Empty, RateCall, Value, rate_calls, young_value
from flightdeck.lint.spanmetrics import SpanMetricsSource
from flightdeck.util.gofmt import format_float

_TAG = "{{"


def lint_flush_timing(
    templates: Iterable[AnalysisTemplate], sources: Sequence[SpanMetricsSource]
) -> list[Diagnostic]:
    """One warning per metric that a young canary's span metrics can fail."""
    if not sources:
        return []
    out: list[Diagnostic] = []
    for template in templates:
        values = {a.name: a.value for a in template.spec.args if a.value is not None}
        try:
            dry_run = set(match_rules(template.spec.dry_run, template.spec.metrics, "dryRun"))
        except SpecError:
            dry_run = set()  # reported by lint_template
        for index, metric in enumerate(template.spec.metrics):
            if metric.name in dry_run or metric.provider_type != "prometheus":
                continue
            message = _check(metric, values, sources)
            if message:
                out.append(at(template.manifest, ("spec", "metrics", index), Severity.WARNING, message))
    return out


class _Scenario:
    """One place of the first flush that makes the metric Failed."""

    __slots__ = ("early", "reason", "times")

    def __init__(self, times: list[float], early: bool, reason: str) -> None:
        self.times = times
        """The Failed measurements, in order, up to the one that failed the metric."""
        self.early = early
        """Some of them came before the first flush (no series)."""
        self.reason = reason


def _check(metric: Metric, values: Mapping[str, str], sources: Sequence[SpanMetricsSource]) -> str:
    resolved = _resolved(metric, values)
    if resolved is None:
        return ""
    success, failure = resolved.success_condition, resolved.failure_condition
    if any(conditions.mentions_nan_check(c) for c in (success, failure) if c):
        return ""
    config = metric.provider.get("prometheus")
    query = str(config.get("query") or "") if isinstance(config, Mapping) else ""
    node = promql.parse(query, values)
    if isinstance(node, str):
        return ""  # reported by lint_template
    plan = plan_metric(resolved)
    if plan.failure_limit < 0 or (plan.has_interval and plan.interval is None):
        return ""
    if plan.has_delay and plan.delay is None:
        return ""
    kind = "scalar" if promql.result_type(node) == "scalar" else "vector"
    matched = [(s, calls) for s in sources if (calls := rate_calls(node, s))]
    if any(s.used for s, _ in matched):
        matched = [(s, calls) for s, calls in matched if s.used]
    # Several connectors feed the query: the slowest flush is the worst case.
    for source, calls in sorted(matched, key=lambda m: -m[0].flush_seconds):
        flush = source.flush_seconds
        zero = young_value(node, source, 0.0)
        zero_phase = _phase(zero, kind, resolved)
        if zero_phase is not Phase.FAILED:
            continue
        early_phase = _phase(young_value(node, source, EMPTY), kind, resolved)
        times = _times(plan, 2 * flush)
        scenario = _worst_case(plan, times, flush, early_phase)
        if scenario is not None:
            assert isinstance(zero, float)
            return _message(resolved, plan, source, calls, zero, scenario)
    return ""


def _resolved(metric: Metric, values: Mapping[str, str]) -> Metric | None:
    """The metric without its provider, declared argument values substituted; None when a field
    still refers to an argument without a declared value (it comes from the Rollout)."""
    unresolved = False

    def sub(value: Any) -> Any:
        nonlocal unresolved
        if isinstance(value, str) and _TAG in value:
            text = promql.substitute(value, values, _TAG)
            unresolved = unresolved or _TAG in text
            return text
        return value

    raw = {k: sub(v) for k, v in metric.raw.items() if k != "provider"}
    return None if unresolved else Metric.from_dict(raw)


def _phase(value: Value, kind: str, metric: Metric) -> Phase | None:
    """The measurement's phase for a query value, as the Prometheus provider decides it."""
    if value is None:
        return None
    # No series: an empty vector (a scalar query has turned it into NaN already).
    samples = ([] if kind == "vector" else [math.nan]) if isinstance(value, Empty) else [value]
    try:
        _, phase = process_response(QueryValue(kind, samples), metric)
    except ConditionError:
        return Phase.ERROR
    return phase


def _times(plan: MetricPlan, horizon: float) -> list[float]:
    """The earliest times of the measurements before ``horizon``, from the analysis start."""
    delay = plan.delay or 0.0
    interval = plan.interval or 0.0
    out: list[float] = []
    k = 0
    while plan.count is None or k < plan.count:
        t = delay + k * interval
        if t >= horizon:
            break
        out.append(t)
        if interval <= 0:
            break  # no interval: a single measurement
        k += 1
    return out


def _worst_case(
    plan: MetricPlan, times: list[float], flush: float, early_phase: Phase | None
) -> _Scenario | None:
    """A place of the first flush in [0, F) that fails the metric, or None. The measurements that see
    the connector's series change only where the first flush passes a measurement time (t) or the
    second one does (t - F): trying those places and the points between them tries every case."""
    edges = sorted({0.0, *(t for t in times if t < flush), *(t - flush for t in times if t >= flush)})
    places = list(edges)
    places += [(a + b) / 2 for a, b in zip(edges, [*edges[1:], flush], strict=True)]
    for first in sorted(places):
        scenario = _replay(plan, times, first, flush, early_phase)
        if scenario is not None:
            return scenario
    return None


def _replay(
    plan: MetricPlan, times: list[float], first: float, flush: float, early_phase: Phase | None
) -> _Scenario | None:
    """The engine's bookkeeping and assessment over the young measurements, the first flush at
    ``first``: before it the query has no data (``early_phase``), then it reads the young value."""
    result = MetricResult(plan.name, Phase.RUNNING)
    failed: list[float] = []
    early = False
    for t in times:
        if t >= first + flush:
            break
        phase = (early_phase or Phase.SUCCESSFUL) if t < first else Phase.FAILED
        if phase is Phase.FAILED:
            failed.append(t)
            early = early or t < first
        _record(result, Measurement(phase, started_at=t, finished_at=t))
        assessed = assess_metric(plan, result, terminating=False)
        if assessed is Phase.FAILED:
            _, reason = limit_violation(plan, result)
            return _Scenario(failed, early, reason)
        if assessed.completed:
            return None  # the metric ends otherwise first (Error, Inconclusive, Successful)
    return None


def _record(result: MetricResult, measurement: Measurement) -> None:
    """The engine's own counters for one finished measurement, then the history."""
    count_measurement(result, measurement.phase)
    result.measurements.append(measurement)


def _seconds(value: float) -> str:
    return f"{format_float(value)}s"


def _listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _message(
    metric: Metric,
    plan: MetricPlan,
    source: SpanMetricsSource,
    calls: list[RateCall],
    zero: float,
    scenario: _Scenario,
) -> str:
    flush = source.flush_seconds
    reads = "NaN" if math.isnan(zero) else format_float(zero)
    what = _listing([f"{c.function}() of {c.metric}" for c in calls])
    origin = (
        f"whose metrics_flush_interval is {_seconds(flush)} ({source.flush_where})"
        if source.flush_where
        else f"whose flush interval is the connector's default {_seconds(flush)}"
    )
    if metric.failure_condition:
        verdict = f'"{metric.failure_condition}" is true'
    else:
        verdict = f'"{metric.success_condition}" is false'
    early = " (before the first flush it has no data, which fails too)" if scenario.early else ""
    timing = [f"initialDelay {metric.initial_delay}" if metric.initial_delay else "no initialDelay"]
    if metric.interval:
        timing.append(f"interval {metric.interval}")
    count = metric.raw.get("count")
    if count is not None:
        timing.append(f"count {count}")
    shown = _listing([_seconds(t) for t in scenario.times])
    several = "all " if len(scenario.times) > 1 else ""
    delay = plan.delay or 0.0
    fixes = []
    if delay > 0:
        fixes.append(
            f"set metrics_flush_interval under {_seconds(delay / 2)} (twice it plus the scrape interval "
            "before the first measurement)"
        )
    fixes.append(
        f"start the checks later (initialDelay {_seconds(2 * flush)} plus the scrape interval or more)"
    )
    if math.isnan(zero):
        fixes.append(
            "decide what NaN means (isNaN(result[0]), or a failureCondition so that NaN is Inconclusive)"
        )
    return (
        f"the query takes {what}, a series of the {source.connector} connector ({source.connector_where}) "
        f"{origin}. A new canary's series appear at the first flush after its traffic starts (up to "
        f"{_seconds(flush)} later) and first increase at the second (up to {_seconds(2 * flush)}, plus the "
        f"Prometheus scrape interval); until then the rate is 0 and the query {reads}, for which "
        f"{verdict}: the measurement is Failed{early}. Counted from the analysis start "
        f"({', '.join(timing)}), the measurements at {shown} can {several}come before that, and a healthy "
        f'canary is then aborted with: Metric "{metric.name}" assessed Failed due to {scenario.reason}. '
        f"Fix: {_or(fixes)}"
    )


def _or(items: list[str]) -> str:
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]
