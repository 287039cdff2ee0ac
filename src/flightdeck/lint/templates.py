"""Lint rules for AnalysisTemplates and ClusterAnalysisTemplates."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from flightdeck.analysis.providers import known_providers
from flightdeck.analysis.types import Metric
from flightdeck.analysis.validate import SpecError, match_rules, metric_problem
from flightdeck.kube.manifest import PathKey
from flightdeck.kube.objects import AnalysisTemplate
from flightdeck.lint import conditions, promql
from flightdeck.lint.diagnostics import Diagnostic, Severity, at

_ANY_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_ARG_TAG = re.compile(r"^\s*args\.(\S+?)\s*$")


def _strings(value: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def declared_values(template: AnalysisTemplate) -> dict[str, str]:
    return {a.name: a.value for a in template.spec.args if a.value is not None}


def _stand_in_metric(metric: Metric, values: Mapping[str, str]) -> Metric:
    """The metric with declared arg values (or harmless stand-ins) substituted, for validation."""

    def sub(value: Any) -> Any:
        if isinstance(value, str):
            return _ANY_TAG.sub(lambda m: values.get(m.group(1).strip().removeprefix("args."), "1"), value)
        if isinstance(value, Mapping):
            return {k: sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v) for v in value]
        return value

    return Metric.from_dict(sub(dict(metric.raw)))


def lint_template(template: AnalysisTemplate) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    manifest = template.manifest
    declared = {a.name for a in template.spec.args}
    values = declared_values(template)
    seen: dict[str, int] = {}
    for index, metric in enumerate(template.spec.metrics):
        base: PathKey = ("spec", "metrics", index)
        if metric.name in seen:
            out.append(
                at(manifest, (*base, "name"), Severity.ERROR, f"duplicate metric name '{metric.name}'")
            )
        seen[metric.name] = index
        out.extend(_tags(template, metric, base, declared))
        problem = metric_problem(_stand_in_metric(metric, values))
        if problem:
            out.append(at(manifest, base, Severity.ERROR, problem))
        out.extend(_provider(template, metric, base, values))
    for field in ("dryRun", "measurementRetention"):
        rules = template.spec.dry_run if field == "dryRun" else template.spec.measurement_retention
        try:
            match_rules(rules, template.spec.metrics, field)
        except SpecError as exc:
            out.append(at(manifest, ("spec", field), Severity.ERROR, str(exc), show_path=False))
    return out


def _tags(template: AnalysisTemplate, metric: Metric, base: PathKey, declared: set[str]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    names = ", ".join(sorted(declared)) or "none"
    for path, text in _strings(dict(metric.raw), base):
        if "{{" in text and "}}" not in text[text.index("{{") :]:
            out.append(
                at(template.manifest, path, Severity.ERROR, 'unclosed "{{": Argo cannot substitute arguments')
            )
            continue
        for match in _ANY_TAG.finditer(text):
            tag = match.group(0)
            arg = _ARG_TAG.match(match.group(1))
            if arg is None:
                out.append(
                    at(
                        template.manifest,
                        path,
                        Severity.ERROR,
                        f"{tag} is not an argument reference: only {{{{args.NAME}}}} is substituted (no filters or "
                        f'other variables); the run would end Error: "Unable to resolve metric arguments: failed to '
                        f'resolve {tag}"',
                    )
                )
            elif arg.group(1) not in declared:
                out.append(
                    at(
                        template.manifest,
                        path,
                        Severity.ERROR,
                        f"{tag} refers to an argument the template does not declare (declared: {names}); the run "
                        f'would end Error: "Unable to resolve metric arguments: failed to resolve {tag}"',
                    )
                )
    return out


def _provider(
    template: AnalysisTemplate, metric: Metric, base: PathKey, values: Mapping[str, str]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    manifest = template.manifest
    kind = metric.provider_type
    if kind and kind not in known_providers():
        out.append(
            at(
                manifest,
                (*base, "provider", kind),
                Severity.WARNING,
                f'provider "{kind}" is not supported by flightdeck (known: {", ".join(known_providers())}); '
                "its measurements would be Errors here",
            )
        )
    result_type = "vector"
    shape: promql.QueryShape | None = None
    if kind == "prometheus":
        config = metric.provider.get("prometheus") or {}
        query = str(config.get("query") or "")
        analysed = promql.analyse(query, values)
        if isinstance(analysed, str):
            out.append(
                at(
                    manifest,
                    (*base, "provider", "prometheus", "query"),
                    Severity.ERROR,
                    f"invalid PromQL: {analysed}",
                )
            )
        else:
            shape = analysed
            # Argo flattens vectors and matrices to []float64; only a scalar stays a float64.
            result_type = "scalar" if analysed.result_type == "scalar" else "vector"
    for field in ("successCondition", "failureCondition"):
        source = str(metric.raw.get(field) or "")
        if not source:
            continue
        problem = conditions.problem(source, result_type) if kind == "prometheus" else _syntax_only(source)
        if problem:
            hint = ""
            if "[]float64" in problem and kind == "prometheus":
                hint = " (the Prometheus provider passes a vector query's result as a list: use result[0])"
            out.append(at(manifest, (*base, field), Severity.ERROR, f"{problem}{hint}"))
    if kind == "prometheus" and shape is not None:
        out.extend(_prometheus_traps(template, metric, base, shape))
    return out


def _syntax_only(source: str) -> str | None:
    # Other providers' result types are only known at run time; check that it compiles.
    return conditions.parse_problem(source)


def _prometheus_traps(
    template: AnalysisTemplate, metric: Metric, base: PathKey, shape: promql.QueryShape
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    manifest = template.manifest
    success = metric.success_condition
    failure = metric.failure_condition
    if shape.result_type != "scalar":
        for field, source in (("successCondition", success), ("failureCondition", failure)):
            if source and conditions.indexes_result_unguarded(source):
                limit = metric.consecutive_error_limit
                out.append(
                    at(
                        manifest,
                        (*base, field),
                        Severity.WARNING,
                        f'"{source}" indexes the result without a guard against an empty result: when the query '
                        "returns no data (no traffic yet, a label that does not match), every measurement is an "
                        "Error and the metric ends Error after consecutiveErrorLimit+1 = "
                        f'{limit + 1} measurements with: Metric "{metric.name}" assessed Error due to '
                        f"consecutiveErrors ({limit + 1}) > consecutiveErrorLimit ({limit}): "
                        '"Error Message: reflect: slice index out of range". Guard it, e.g. '
                        f'"len(result) > 0 && {source}", and check for traffic in a separate metric',
                    )
                )
                break
    if shape.is_ratio and success and not failure and not conditions.mentions_nan_check(success):
        out.append(
            at(
                manifest,
                (*base, "successCondition"),
                Severity.WARNING,
                "the query is a ratio, which is NaN when its divisor is 0 (no requests in the window); NaN "
                f'compares false, so "{success}" makes such a measurement Failed and an idle canary fails this '
                "metric. Decide explicitly: add a failureCondition so NaN is Inconclusive, or test isNaN(result[0])",
            )
        )
    return out


def is_traffic_check(metric: Metric, values: Mapping[str, str]) -> bool:
    """A metric that demands a minimum of something that is not a ratio (a request rate, say)."""
    if metric.provider_type != "prometheus":
        return False
    query = str((metric.provider.get("prometheus") or {}).get("query") or "")
    shape = promql.analyse(query, values)
    if isinstance(shape, str) or shape.is_ratio:
        return False
    threshold = (
        conditions.minimum_check_threshold(metric.success_condition) if metric.success_condition else None
    )
    return threshold is not None
