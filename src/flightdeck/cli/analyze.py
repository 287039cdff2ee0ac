"""``flightdeck analyze``: run an AnalysisTemplate now, against any Prometheus, and follow it live."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from flightdeck.analysis.factory import RunCreationError, new_run
from flightdeck.analysis.live import InvalidRun, follow, measure_once
from flightdeck.analysis.reconcile import FinishedMeasurement
from flightdeck.analysis.secrets import SecretStore
from flightdeck.analysis.types import PHASE_SEVERITY, AnalysisRun, Argument, Metric, Phase
from flightdeck.cli.errors import UserError
from flightdeck.kube.manifest import ManifestError, load_paths
from flightdeck.kube.objects import AnalysisTemplate, ManifestErrors, load_objects
from flightdeck.util.timefmt import rfc3339

EXIT_CODES = {
    Phase.SUCCESSFUL: 0,
    Phase.FAILED: 1,
    Phase.ERROR: 2,
    Phase.INCONCLUSIVE: 3,
}
EXIT_INVALID_INPUT = 4


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="run an AnalysisTemplate now and follow its measurements",
        description="Start an AnalysisRun from TEMPLATE now and follow it live, with Argo Rollouts' "
        "semantics and messages. Exit status: 0 Successful, 1 Failed, 2 Error, 3 Inconclusive, "
        "4 invalid input.",
    )
    parser.add_argument("template", metavar="TEMPLATE", help="a file or directory with the AnalysisTemplate")
    parser.add_argument("--template-name", metavar="NAME", help="which template, when TEMPLATE holds several")
    parser.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus address for every prometheus metric (overrides `address`)",
    )
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a template argument (repeatable)",
    )
    parser.add_argument(
        "--namespace", "-n", help="namespace of the run (default: the template's, else default)"
    )
    parser.add_argument(
        "--secrets",
        action="append",
        default=[],
        metavar="PATH",
        help="Secret manifests for secretKeyRef args",
    )
    parser.add_argument(
        "--once", action="store_true", help="take one measurement of every metric now and exit"
    )
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    parser.set_defaults(func=run_command)


def _parse_args(pairs: Sequence[str]) -> list[Argument]:
    args: list[Argument] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UserError(f"--arg {pair!r}: expected NAME=VALUE", EXIT_INVALID_INPUT)
        args.append(Argument(name, value))
    return args


def _pick_template(path: str, name: str | None) -> AnalysisTemplate:
    try:
        objects = load_objects([path])
    except ManifestErrors as exc:
        raise UserError(str(exc), EXIT_INVALID_INPUT) from None
    templates = objects.templates
    if name:
        templates = [t for t in templates if t.name == name]
    if not templates:
        what = f"named {name!r} " if name else ""
        raise UserError(
            f"{path}: no AnalysisTemplate or ClusterAnalysisTemplate {what}found", EXIT_INVALID_INPUT
        )
    if len(templates) > 1:
        names = ", ".join(t.name for t in templates)
        raise UserError(
            f"{path}: several templates ({names}); choose one with --template-name", EXIT_INVALID_INPUT
        )
    return templates[0]


def _override_address(metric: Metric, url: str) -> Metric:
    provider = metric.provider
    if "prometheus" not in provider or not isinstance(provider["prometheus"], dict):
        return metric
    raw = dict(metric.raw)
    raw["provider"] = {**provider, "prometheus": {**provider["prometheus"], "address": url}}
    return Metric.from_dict(raw)


def build_run(ns: argparse.Namespace, now: float) -> AnalysisRun:
    template = _pick_template(ns.template, ns.template_name)
    spec = template.spec
    if ns.prometheus:
        spec.metrics = [_override_address(m, ns.prometheus) for m in spec.metrics]
    namespace = ns.namespace or template.namespace or "default"
    try:
        return new_run(
            f"{template.name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime(now))}",
            namespace,
            [spec],
            _parse_args(ns.arg),
            created_at=now,
        )
    except RunCreationError as exc:
        raise UserError(f"{template.manifest.where()}: {exc}", EXIT_INVALID_INPUT) from None


def _secrets(paths: Sequence[str]) -> SecretStore | None:
    if not paths:
        return None
    try:
        return SecretStore.from_manifests(load_paths(paths))
    except ManifestError as exc:
        raise UserError(str(exc), EXIT_INVALID_INPUT) from None


class TextReport:
    """Human-readable progress: one line per measurement, then the outcome."""

    def __init__(self, run: AnalysisRun, out: TextIO) -> None:
        self.run = run
        self.out = out
        self.start = run.created_at or time.time()
        self.width = max((len(m.name) for m in run.spec.metrics), default=10)

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def header(self) -> None:
        self._print(f"AnalysisRun {self.run.name} (namespace {self.run.namespace})")
        for metric in self.run.spec.metrics:
            schedule = []
            if metric.initial_delay:
                schedule.append(f"initialDelay {metric.initial_delay}")
            if metric.interval:
                schedule.append(f"every {metric.interval}")
            count = metric.effective_count()
            schedule.append("until stopped" if count is None else f"{count}×")
            self._print(f"  {metric.name:<{self.width}}  {', '.join(schedule)}")
        self._print("")

    def measurement(self, run: AnalysisRun, item: FinishedMeasurement) -> None:
        m = item.measurement
        elapsed = (m.finished_at or m.started_at or time.time()) - self.start
        result = run.status.result(item.metric_name)
        detail = m.value if m.phase is not Phase.ERROR and m.value else m.message or m.value
        progress = ""
        if result is not None:
            progress = (
                f"  [✔ {result.successful} ✖ {result.failed} ? {result.inconclusive} ⚠ {result.error}]"
                f" metric {result.phase.value}"
            )
        self._print(
            f"+{elapsed:5.0f}s  {item.metric_name:<{self.width}}  {m.phase.value:<12} {detail}{progress}"
        )

    def waiting(self, run: AnalysisRun, seconds: float) -> None:
        if seconds >= 5:
            self._print(f"        … next measurement in {seconds:.0f}s")

    def outcome(self, run: AnalysisRun) -> None:
        status = run.status
        self._print("")
        for result in status.metric_results:
            self._print(
                f"  {result.name:<{self.width}}  {result.phase.value:<12} "
                f"{result.count} measured, {result.successful} successful, {result.failed} failed, "
                f"{result.inconclusive} inconclusive, {result.error} errors"
            )
        self._print(f"Phase:    {status.phase.value}")
        if status.message:
            self._print(f"Message:  {status.message}")


def run_to_dict(run: AnalysisRun) -> dict[str, Any]:
    """The run as the Kubernetes object Argo would store."""
    metadata: dict[str, Any] = {"name": run.name, "namespace": run.namespace}
    if run.labels:
        metadata["labels"] = dict(run.labels)
    if run.created_at is not None:
        metadata["creationTimestamp"] = rfc3339(run.created_at)
    spec: dict[str, Any] = {"metrics": [dict(m.raw) for m in run.spec.metrics]}
    if run.spec.args:
        spec["args"] = [a.to_dict() for a in run.spec.args]
    if run.spec.dry_run:
        spec["dryRun"] = [{"metricName": r.metric_name} for r in run.spec.dry_run]
    if run.spec.measurement_retention:
        spec["measurementRetention"] = [
            {"metricName": r.metric_name, "limit": r.limit} for r in run.spec.measurement_retention
        ]
    if run.spec.terminate:
        spec["terminate"] = True
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": metadata,
        "spec": spec,
        "status": run.status.to_dict(),
    }


def _once(run: AnalysisRun, ns: argparse.Namespace, secrets: SecretStore | None) -> int:
    try:
        results = measure_once(run, secrets=secrets)
    except InvalidRun as exc:
        if ns.output == "json":
            print(json.dumps({"phase": Phase.ERROR.value, "message": str(exc)}, indent=2))
        else:
            print(f"Phase:    Error\nMessage:  {exc}")
        return EXIT_CODES[Phase.ERROR]
    dry = {r.metric_name for r in run.spec.dry_run}
    worst = Phase.SUCCESSFUL
    for item in results:
        if item.measurement.phase in EXIT_CODES and item.metric_name not in dry:
            phase = item.measurement.phase
            if PHASE_SEVERITY[phase] > PHASE_SEVERITY[worst]:
                worst = phase
    if ns.output == "json":
        doc = [{"metric": i.metric_name, **i.measurement.to_dict()} for i in results]
        print(json.dumps(doc, indent=2))
    else:
        width = max((len(i.metric_name) for i in results), default=10)
        for item in results:
            m = item.measurement
            detail = m.value if m.phase is not Phase.ERROR and m.value else m.message or m.value
            print(f"{item.metric_name:<{width}}  {m.phase.value:<12} {detail}")
    return EXIT_CODES[worst]


def run_command(ns: argparse.Namespace) -> int:
    now = time.time()
    run = build_run(ns, now)
    secrets = _secrets(ns.secrets)
    if ns.once:
        return _once(run, ns, secrets)
    report = TextReport(run, sys.stdout) if ns.output == "text" else None
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    previous_term = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if report is not None:
            report.header()
        phase = follow(
            run,
            on_measurement=report.measurement if report else None,
            on_wait=report.waiting if report else None,
            stop=stop,
            secrets=secrets,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    if report is not None:
        report.outcome(run)
    else:
        print(json.dumps(run_to_dict(run), indent=2))
    return EXIT_CODES.get(phase, EXIT_CODES[Phase.ERROR])
