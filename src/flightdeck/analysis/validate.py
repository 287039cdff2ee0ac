"""Argo's ``ValidateMetrics`` (utils/analysis/factory.go) with its exact messages, plus the
``dryRun``/``measurementRetention`` rule matching that shares its error channel."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flightdeck.analysis.types import Metric, MetricRule, int_or_string
from flightdeck.kube.durations import DurationError, parse_go_duration


class SpecError(Exception):
    """``str()`` is the text after ``Analysis spec invalid: ``."""


def validate_metrics(metrics: Sequence[Metric]) -> None:
    if not metrics:
        raise SpecError("no metrics specified")
    seen: set[str] = set()
    for i, metric in enumerate(metrics):
        if metric.name in seen:
            raise SpecError(f"metrics[{i}]: duplicate name '{metric.name}'")
        seen.add(metric.name)
        problem = metric_problem(metric)
        if problem:
            raise SpecError(f"metrics[{i}]: {problem}")


_SHAPE_FIELDS = (
    "count",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "consecutiveSuccessLimit",
    "interval",
    "initialDelay",
)
_SHAPE_CACHE_LIMIT = 4096
_problems: dict[tuple[object, ...], str | None] = {}


def metric_shape(metric: Metric) -> tuple[object, ...] | None:
    """The fields validation and scheduling depend on; runs of one template share it, so derived
    data is computed once per shape. None when a field holds an unhashable value."""
    raw = metric.raw
    provider = raw.get("provider")
    providers = tuple(k for k, v in provider.items() if v is not None) if isinstance(provider, dict) else ()
    key = (*(raw.get(f) for f in _SHAPE_FIELDS), providers)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def metric_problem(metric: Metric) -> str | None:
    """The first rule a metric breaks, or None (Argo's ValidateMetric, v1.8+ rules)."""
    key = metric_shape(metric)
    if key is None:
        return _metric_problem(metric)
    if key not in _problems:
        if len(_problems) >= _SHAPE_CACHE_LIMIT:
            _problems.clear()
        _problems[key] = _metric_problem(metric)
    return _problems[key]


def _metric_problem(metric: Metric) -> str | None:
    count = metric.count or 0
    failure_limit = metric.failure_limit
    success_limit = metric.consecutive_success_limit
    inconclusive_limit = metric.inconclusive_limit
    if success_limit < 0:
        return "consecutiveSuccessLimit must be >= 0"
    if failure_limit < -1:
        return "failureLimit must be >= 0, or -1 to be disabled"
    if success_limit == 0 and failure_limit == -1:
        return "failureLimit and consecutiveSuccessLimit cannot both be disabled"
    if inconclusive_limit < 0:
        return "inconclusiveLimit must be >= 0"
    error_limit = int_or_string(metric.raw.get("consecutiveErrorLimit"))
    if error_limit is not None and error_limit < 0:
        return "consecutiveErrorLimit must be >= 0"
    if count > 0:
        if success_limit >= 0 and failure_limit >= 0:
            if count < failure_limit + success_limit:
                return (
                    f"count ({count}) must be >= failureLimit + consecutiveSuccessLimit "
                    f"({failure_limit} + {success_limit}) if both >= 0"
                )
        elif success_limit >= 0 and failure_limit < 0 and count < success_limit:
            return "count must be >= consecutiveSuccessLimit"
        if count < inconclusive_limit:
            return "count must be >= inconclusiveLimit"
    if count > 1 and not metric.interval:
        return "interval must be specified when count > 1"
    if metric.interval:
        try:
            parse_go_duration(metric.interval)
        except DurationError as exc:
            return f"invalid interval string: {exc}"
    if metric.initial_delay:
        try:
            parse_go_duration(metric.initial_delay)
        except DurationError as exc:
            return f"invalid startDelay string: {exc}"
    providers = [k for k, v in metric.provider.items() if v is not None]
    if not providers:
        return "no provider specified"
    if len(providers) > 1:
        return "multiple providers specified"
    return None


def _matches(pattern: str, name: str) -> bool:
    """Go's ``regexp.MatchString``: unanchored; an invalid pattern matches nothing."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def match_rules(rules: Sequence[MetricRule], metrics: Sequence[Metric], field: str) -> dict[str, MetricRule]:
    """Map metric names to the rule that selects them; a rule matching nothing is a spec error."""
    selected: dict[str, MetricRule] = {}
    for index, rule in enumerate(rules):
        matched = False
        for metric in metrics:
            if _matches(rule.metric_name, metric.name):
                selected[metric.name] = rule
                matched = True
        if not matched:
            raise SpecError(f"{field}[{index}]: Rule didn't match any metric name(s)")
    return selected


def check_duplicate_rules(rules: Sequence[MetricRule], what: str) -> None:
    """``what`` is ``Dry-Run`` or ``Measurement Retention``."""
    seen: set[str] = set()
    for rule in rules:
        if rule.metric_name in seen:
            raise SpecError(f"two {what} metric rules have the same name '{rule.metric_name}'")
        seen.add(rule.metric_name)
