"""Lint rules for Rollouts and how they use AnalysisTemplates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.analysis.args import ArgumentError, flatten_args
from flightdeck.analysis.types import Argument
from flightdeck.kube.objects import AnalysisTemplate, ObjectSet, Rollout
from flightdeck.lint.diagnostics import Diagnostic, Severity, at
from flightdeck.lint.templates import declared_values, is_traffic_check


def _templates_of(
    rollout: Rollout, refs: tuple[Mapping[str, Any], ...], objects: ObjectSet, base: tuple[str | int, ...]
) -> tuple[list[AnalysisTemplate], list[Diagnostic]]:
    found: list[AnalysisTemplate] = []
    out: list[Diagnostic] = []
    for index, ref in enumerate(refs):
        name = str(ref.get("templateName") or "")
        cluster = bool(ref.get("clusterScope"))
        template = objects.find_template(name, cluster=cluster, namespace=rollout.namespace)
        if template is None:
            kind = "ClusterAnalysisTemplate" if cluster else "AnalysisTemplate"
            out.append(
                at(
                    rollout.manifest,
                    (*base, "templates", index, "templateName"),
                    Severity.ERROR,
                    f'{kind} "{name}" not found among the linted manifests: the Rollout would be InvalidSpec '
                    f'({kind.lower()}.argoproj.io "{name}" not found)',
                )
            )
        else:
            found.append(template)
    return found, out


def lint_rollout(rollout: Rollout, objects: ObjectSet) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    manifest = rollout.manifest
    if (
        not rollout.canary
        and (rollout.obj.get("spec") or {}).get("strategy", {}).get("blueGreen") is not None
    ):
        out.append(
            at(
                manifest,
                ("spec", "strategy", "blueGreen"),
                Severity.WARNING,
                "blueGreen is not run by flightdeck yet",
            )
        )
    has_step_analysis = False
    traffic_checked = False
    for ref in rollout.analysis_refs():
        templates, problems = _templates_of(rollout, ref.templates, objects, ref.path)
        out.extend(problems)
        if ref.step_index is not None:
            has_step_analysis = True
        supplied = {str(a.get("name") or "") for a in ref.args}
        try:
            merged = flatten_args([t.spec.args for t in templates])
        except ArgumentError as exc:
            out.append(at(manifest, ref.path, Severity.ERROR, str(exc)))
            merged = []
        for arg in merged:
            if arg.value is None and arg.value_from is None and arg.name not in supplied:
                out.append(
                    at(
                        manifest,
                        (*ref.path, "args") if ref.args else ref.path,
                        Severity.ERROR,
                        f"args.{arg.name} was not resolved: the template declares it without a value and this "
                        "analysis does not supply it (the Rollout would be Degraded with InvalidSpec)",
                    )
                )
        declared = {a.name for a in merged}
        for index, raw in enumerate(ref.args):
            name = str(raw.get("name") or "")
            if templates and name not in declared:
                out.append(
                    at(
                        manifest,
                        (*ref.path, "args", index, "name"),
                        Severity.WARNING,
                        f'argument "{name}" is not declared by the referenced templates and is ignored',
                    )
                )
        for template in templates:
            values = {**declared_values(template), **_literal_args(ref.args)}
            if ref.step_index is not None:
                for metric in template.spec.metrics:
                    if metric.effective_count() is None:
                        count = metric.raw.get("count")
                        out.append(
                            at(
                                manifest,
                                ref.path,
                                Severity.ERROR,
                                f"AnalysisTemplate {template.name} has metric {metric.name} which runs indefinitely. "
                                f"Invalid value for count: {count if count is not None else '<nil>'}",
                            )
                        )
            if any(is_traffic_check(m, values) for m in template.spec.metrics):
                traffic_checked = True
    if has_step_analysis and not traffic_checked:
        first = next(r for r in rollout.analysis_refs() if r.step_index is not None)
        out.append(
            at(
                manifest,
                first.path,
                Severity.WARNING,
                "the canary analysis has no minimum-traffic check: a canary that receives no requests has no "
                "errors and no slow requests, so its checks cannot fail for the right reason and an untested "
                "canary can be promoted (or every query returns no data and the run ends Error). Add a metric "
                "such as traffic-detection: sum(rate(<requests>{<canary pods>}[2m])) with successCondition "
                '"result[0] >= 0.05"',
            )
        )
    return out


def _literal_args(args: tuple[Mapping[str, Any], ...]) -> dict[str, str]:
    return {str(a.get("name")): str(a["value"]) for a in args if a.get("value") is not None}


__all__ = ["Argument", "lint_rollout"]
