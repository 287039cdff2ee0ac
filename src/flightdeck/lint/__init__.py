"""``flightdeck lint``: static checks of AnalysisTemplates and Rollouts before anything runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flightdeck.kube.kinds import kind_spec, lint_object
from flightdeck.kube.manifest import Manifest, ManifestError, format_path, iter_manifest_files, load_file
from flightdeck.kube.objects import (
    OTHER_KNOWN_KINDS,
    ObjectSet,
    build,
    problems_of,
)
from flightdeck.kube.schema import KINDS
from flightdeck.lint.diagnostics import Diagnostic, Severity, at, count_errors, format_report


def lint_paths(paths: Iterable[str | Path]) -> list[Diagnostic]:
    """Every diagnostic for the manifests under ``paths``, in file and line order."""
    from flightdeck.lint.collector import collector_configs, lint_collector_configs
    from flightdeck.lint.flush_timing import lint_flush_timing
    from flightdeck.lint.rollouts import lint_rollout
    from flightdeck.lint.spanmetrics import spanmetrics_sources
    from flightdeck.lint.templates import lint_template

    diagnostics: list[Diagnostic] = []
    manifests: list[Manifest] = []
    for file in iter_manifest_files(paths):
        try:
            manifests.extend(load_file(file))
        except ManifestError as exc:
            diagnostics.append(_located(exc))
    objects = ObjectSet()
    for manifest in manifests:
        kind = manifest.kind
        if not kind:
            diagnostics.append(at(manifest, (), Severity.ERROR, "a manifest needs apiVersion and kind"))
            continue
        if kind not in KINDS:
            if kind_spec(kind) is not None:
                # Core kinds and Argo CD's: the API server's structural checks, and warnings for valid
                # Kubernetes fields the local node does not act on.
                for problem in lint_object(manifest.obj):
                    severity = Severity.ERROR if problem.severity == "error" else Severity.WARNING
                    shown = format_path(problem.path) if problem.show_path else ""
                    diagnostics.append(
                        Diagnostic(
                            manifest.source.file,
                            manifest.source.line_of(problem.path),
                            severity,
                            problem.message,
                            shown,
                        )
                    )
            elif kind not in OTHER_KNOWN_KINDS:
                diagnostics.append(
                    at(
                        manifest,
                        ("kind",),
                        Severity.WARNING,
                        f'unknown kind "{kind}" ({manifest.api_version}): not checked',
                    )
                )
            objects.others.append(manifest)
            continue
        problems = problems_of(manifest)
        diagnostics.extend(_located(problem) for problem in problems)
        if not problems:
            objects.add(build(manifest))
    for template in objects.templates:
        diagnostics.extend(lint_template(template))
    for rollout in objects.rollouts:
        diagnostics.extend(lint_rollout(rollout, objects))
    collectors = collector_configs(objects.others)
    diagnostics.extend(lint_collector_configs(collectors))
    # Cross-object: templates whose rate() over span metrics reads 0/NaN before the connector's second flush.
    diagnostics.extend(lint_flush_timing(objects.templates, spanmetrics_sources(collectors)))
    order = {str(f): i for i, f in enumerate(dict.fromkeys(m.source.file for m in manifests))}
    diagnostics.sort(key=lambda d: (order.get(d.file, -1), d.line))
    return diagnostics


def _located(error: ManifestError) -> Diagnostic:
    return Diagnostic(error.file, error.line, Severity.ERROR, error.message, format_path(error.path))


__all__ = ["Diagnostic", "Severity", "count_errors", "format_report", "lint_paths"]
