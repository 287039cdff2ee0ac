"""Creating AnalysisRuns from templates (Argo's NewAnalysisRunFromTemplates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flightdeck.analysis.args import ArgumentError, flatten_args, merge_args
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Argument, MetricRule
from flightdeck.analysis.validate import SpecError, check_duplicate_rules


class RunCreationError(Exception):
    """The templates and args do not make a valid run (Argo reports these on the Rollout)."""


def flatten_templates(specs: Sequence[AnalysisRunSpec]) -> AnalysisRunSpec:
    """Concatenate metrics and rules of several templates, merging their args."""
    metrics = [m for spec in specs for m in spec.metrics]
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen:
            raise RunCreationError(f"two metrics have the same name '{metric.name}'")
        seen.add(metric.name)
    dry_run = [r for spec in specs for r in spec.dry_run]
    retention = [r for spec in specs for r in spec.measurement_retention]
    try:
        check_duplicate_rules(dry_run, "Dry-Run")
        check_duplicate_rules(retention, "Measurement Retention")
        args = flatten_args([spec.args for spec in specs])
    except (SpecError, ArgumentError) as exc:
        raise RunCreationError(str(exc)) from None
    return AnalysisRunSpec(metrics=metrics, args=args, dry_run=dry_run, measurement_retention=retention)


def new_run(
    name: str,
    namespace: str,
    templates: Sequence[AnalysisRunSpec],
    args: Sequence[Argument] = (),
    *,
    dry_run: Sequence[MetricRule] = (),
    measurement_retention: Sequence[MetricRule] = (),
    labels: Mapping[str, str] | None = None,
    created_at: float | None = None,
) -> AnalysisRun:
    """A new AnalysisRun whose args are the templates' args overridden by ``args``."""
    flat = flatten_templates(templates)
    try:
        merged = merge_args(args, flat.args)
        rules_dry = [*dry_run, *flat.dry_run]
        rules_retention = [*measurement_retention, *flat.measurement_retention]
        check_duplicate_rules(rules_dry, "Dry-Run")
        check_duplicate_rules(rules_retention, "Measurement Retention")
    except (SpecError, ArgumentError) as exc:
        raise RunCreationError(str(exc)) from None
    spec = AnalysisRunSpec(
        metrics=flat.metrics,
        args=merged,
        dry_run=rules_dry,
        measurement_retention=rules_retention,
    )
    return AnalysisRun(
        name=name, namespace=namespace, spec=spec, labels=dict(labels or {}), created_at=created_at
    )
