"""The AnalysisRun reconciler: a pure function of (run, now, finished measurements).

It follows Argo Rollouts' ``reconcileAnalysisRun`` (analysis/analysis.go) pass for pass, split at
the one place where Argo does I/O: Argo generates measurement tasks, runs them, then assesses.
Here a call first applies the measurements that finished since the previous call and assesses,
then returns the tasks that are due. A driver alternates ``reconcile`` and "run the tasks" at the
same timestamp until nothing is due and the status is unchanged, which reproduces Argo's sequence
of passes (including the immediate extra pass an informer update triggers).

Nothing here reads the clock, sleeps or does I/O, so the same code runs on a real clock in the
server and on a virtual clock in tests and simulations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from flightdeck.analysis.args import (
    ArgumentError,
    SecretLookup,
    resolve_metric,
    with_secrets,
    without_secrets,
)
from flightdeck.analysis.types import (
    PHASE_SEVERITY,
    AnalysisRun,
    AnalysisRunStatus,
    Argument,
    Measurement,
    Metric,
    MetricResult,
    MetricRule,
    Phase,
    RunSummary,
)
from flightdeck.analysis.validate import SpecError, match_rules, validate_metrics
from flightdeck.kube.durations import DurationError, parse_go_duration

ERROR_RETRY_INTERVAL = 10.0
"""Argo's DefaultErrorRetryInterval: an Error measurement is retried after 10 s, whatever the interval."""

MEASUREMENT_HISTORY_LIMIT = 10
"""Argo's DefaultMeasurementHistoryLimit."""


@dataclasses.dataclass(frozen=True, slots=True)
class MeasurementTask:
    """A measurement the driver must take (or resume/terminate) now."""

    metric: Metric
    """The metric with every argument, secrets included, substituted."""
    incomplete: Measurement | None = None
    terminate: bool = False
    secrets: tuple[str, ...] = ()
    """Secret values to redact (``*****``) from the measurement's message."""


@dataclasses.dataclass(frozen=True, slots=True)
class FinishedMeasurement:
    """What a driver hands back for one task."""

    metric_name: str
    measurement: Measurement
    metadata: Mapping[str, str] | None = None
    resumed: bool = False
    """True when ``measurement`` replaces the last (in-flight) one instead of being appended."""


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclasses.dataclass(slots=True)
class Reconciled:
    status: AnalysisRunStatus
    tasks: list[MeasurementTask]
    requeue_at: float | None
    events: list[Event]


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    """What a run's spec resolves to; derived data, cached on the run between passes."""

    metrics: tuple[Metric, ...]
    dry_run: frozenset[str]
    retention: Mapping[str, MetricRule]
    intervals: Mapping[str, float | None]
    delays: Mapping[str, float | None]
    uses_secrets: bool = False
    error: str = ""


def _duration_or_none(text: str) -> float | None:
    try:
        return parse_go_duration(text)
    except DurationError:
        return None


def _prepare(run: AnalysisRun) -> _Prepared:
    cached = run.prepared
    if isinstance(cached, _Prepared):
        return cached
    prepared = _prepare_uncached(run)
    run.prepared = prepared
    return prepared


def _prepare_uncached(run: AnalysisRun) -> _Prepared:
    empty = _Prepared((), frozenset(), {}, {}, {})
    try:
        args = without_secrets(run.spec.args)
        metrics = tuple(resolve_metric(m, args) for m in run.spec.metrics)
    except ArgumentError as exc:
        return dataclasses.replace(empty, error=f"Unable to resolve metric arguments: {exc}")
    try:
        validate_metrics(metrics)
        dry_run = match_rules(run.spec.dry_run, metrics, "dryRun")
        retention = match_rules(run.spec.measurement_retention, metrics, "measurementRetention")
    except SpecError as exc:
        return dataclasses.replace(empty, error=f"Analysis spec invalid: {exc}")
    return _Prepared(
        metrics=metrics,
        dry_run=frozenset(dry_run),
        retention=retention,
        intervals={m.name: _duration_or_none(m.interval) if m.interval else None for m in metrics},
        delays={m.name: _duration_or_none(m.initial_delay) if m.initial_delay else None for m in metrics},
        uses_secrets=any(a.value_from and a.value_from.get("secretKeyRef") for a in run.spec.args),
    )


def is_terminating(run: AnalysisRun, status: AnalysisRunStatus) -> bool:
    """Argo's IsTerminating: asked to stop, or a non-dry-run metric already Failed/Error/Inconclusive."""
    if run.spec.terminate:
        return True
    return any(
        not r.dry_run and r.phase in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE)
        for r in status.metric_results
    )


def reconcile(
    run: AnalysisRun,
    now: float,
    finished: Sequence[FinishedMeasurement] = (),
    secrets: SecretLookup | None = None,
) -> Reconciled:
    """One reconcile pass. ``run`` is not modified (but for its derived-data cache)."""
    if run.status.phase.completed:
        return Reconciled(run.status, [], None, [])
    status = run.status.copy()
    events: list[Event] = []
    prepared = _prepare(run)
    if prepared.error:
        return _errored(status, prepared.error, events)

    secret_args: list[Argument] | None = None
    redact: tuple[str, ...] = ()
    if prepared.uses_secrets:
        if secrets is None:
            return _errored(
                status, "Unable to resolve metric arguments: no secrets source is configured", events
            )
        try:
            secret_args, secret_values = with_secrets(run.spec.args, run.namespace, secrets)
        except ArgumentError as exc:
            return _errored(status, f"Unable to resolve metric arguments: {exc}", events)
        redact = tuple(v for v in secret_values if v)

    started_before = status.started_at
    for item in finished:
        _apply(status, item, now, prepared.dry_run)

    phase, message = _assess_run(run, status, prepared, now, events)
    if phase != status.phase:
        status.phase = phase
        status.message = message
        if phase.completed:
            events.append(_completion_event(phase))
            if status.completed_at is None:
                status.completed_at = now
    _trim_measurements(status, prepared)

    tasks: list[MeasurementTask] = []
    if not status.phase.completed:
        try:
            tasks = _due_tasks(run, status, prepared, now, started_before, secret_args, redact)
        except ArgumentError as exc:
            return _errored(status, f"Unable to resolve metric arguments: {exc}", events)
    requeue = None if status.phase.completed else _next_reconcile(status, prepared, now)
    return Reconciled(status, tasks, requeue, events)


def _errored(status: AnalysisRunStatus, message: str, events: list[Event]) -> Reconciled:
    status.phase = Phase.ERROR
    status.message = message
    events.append(_completion_event(Phase.ERROR))
    return Reconciled(status, [], None, events)


def _completion_event(phase: Phase) -> Event:
    return Event(
        f"AnalysisRun{phase.value}",
        f"Analysis Completed. Result: {phase.value}",
        "Warning" if phase in (Phase.ERROR, Phase.FAILED) else "Normal",
    )


def _apply(status: AnalysisRunStatus, item: FinishedMeasurement, now: float, dry_run: frozenset[str]) -> None:
    result = status.result(item.metric_name)
    if result is None:
        result = MetricResult(
            name=item.metric_name,
            phase=Phase.RUNNING,
            dry_run=item.metric_name in dry_run,
            metadata=dict(item.metadata) if item.metadata else None,
        )
        status.metric_results.append(result)
    measurement = item.measurement
    phase = measurement.phase
    if phase.completed:
        if measurement.finished_at is None:
            measurement = dataclasses.replace(measurement, finished_at=now)
        if phase is Phase.ERROR:
            result.error += 1
            result.consecutive_error += 1
            result.consecutive_success = 0
        else:
            result.count += 1
            result.consecutive_error = 0
            if phase is Phase.SUCCESSFUL:
                result.successful += 1
                result.consecutive_success += 1
            else:
                result.consecutive_success = 0
                if phase is Phase.FAILED:
                    result.failed += 1
                else:
                    result.inconclusive += 1
    if item.resumed and result.measurements:
        result.measurements[-1] = measurement
    else:
        result.measurements.append(measurement)


def limit_violation(metric: Metric, result: MetricResult) -> tuple[Phase | None, str]:
    """Argo's assessMetricFailureInconclusiveOrError: later checks overwrite earlier ones."""
    phase: Phase | None = None
    reason = ""
    failure_limit = metric.failure_limit
    if failure_limit >= 0 and result.failed > failure_limit:
        phase, reason = Phase.FAILED, f"failed ({result.failed}) > failureLimit ({failure_limit})"
    inconclusive_limit = metric.inconclusive_limit
    if result.inconclusive > inconclusive_limit:
        phase = Phase.INCONCLUSIVE
        reason = f"inconclusive ({result.inconclusive}) > inconclusiveLimit ({inconclusive_limit})"
    error_limit = metric.consecutive_error_limit
    if result.consecutive_error > error_limit:
        phase = Phase.ERROR
        reason = f"consecutiveErrors ({result.consecutive_error}) > consecutiveErrorLimit ({error_limit})"
    return phase, reason


def assess_metric(metric: Metric, result: MetricResult, terminating: bool) -> Phase:
    """Argo's assessMetricStatus."""
    if result.phase.completed:
        return result.phase
    if not result.measurements:
        return Phase.SUCCESSFUL if terminating else Phase.PENDING
    if not result.measurements[-1].phase.completed:
        return Phase.RUNNING
    violated, _ = limit_violation(metric, result)
    if violated is not None:
        return violated
    success_limit = metric.consecutive_success_limit
    if success_limit > 0 and result.consecutive_success >= success_limit:
        return Phase.SUCCESSFUL
    count = metric.effective_count()
    if count is not None and result.count >= count:
        failure_applicable = metric.failure_limit >= 0
        if success_limit > 0:
            return Phase.INCONCLUSIVE if failure_applicable else Phase.FAILED
        return Phase.SUCCESSFUL
    return Phase.SUCCESSFUL if terminating else Phase.RUNNING


def _assess_run(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    prepared: _Prepared,
    now: float,
    events: list[Event],
) -> tuple[Phase, str]:
    """Argo's assessRunStatus: metric phases, summaries, then the worst completed phase."""
    terminating = is_terminating(run, status)
    everything_completed = True
    if status.started_at is None:
        status.started_at = now
    worst: Phase | None = None
    worst_message = "Run Terminated" if run.spec.terminate else ""
    summary = RunSummary()
    dry_summary = RunSummary()
    for metric in prepared.metrics:
        dry = metric.name in prepared.dry_run
        if dry:
            dry_summary.count += 1
        else:
            summary.count += 1
        result = status.result(metric.name)
        if result is None:
            everything_completed = False
            continue
        phase = assess_metric(metric, result, terminating)
        if phase != result.phase:
            if phase.completed:
                events.append(
                    Event(
                        f"Metric{phase.value}",
                        f"Metric '{metric.name}' Completed. Result: {phase.value}",
                        "Warning" if phase in (Phase.ERROR, Phase.FAILED) else "Normal",
                    )
                )
            last = result.last_measurement()
            if last is not None:
                result.message = last.message
            result.phase = phase
        if not phase.completed:
            everything_completed = False
            continue
        limit_phase, reason = limit_violation(metric, result)
        if not dry:
            if worst is None or PHASE_SEVERITY[phase] > PHASE_SEVERITY[worst]:
                worst = phase
                if reason:
                    worst_message = f'Metric "{metric.name}" assessed {phase.value} due to {reason}'
                    if result.message:
                        worst_message += f': "Error Message: {result.message}"'
            _count(summary, limit_phase)
        else:
            if worst is None:
                worst = Phase.SUCCESSFUL
            if reason:
                result.message = f"Metric assessed {phase.value} due to {reason}"
            _count(dry_summary, limit_phase)
    status.run_summary = summary
    status.dry_run_summary = dry_summary
    worst_message = worst_message.strip()
    if terminating:
        return (worst or Phase.SUCCESSFUL), worst_message
    if not everything_completed or worst is None:
        return Phase.RUNNING, ""
    return worst, worst_message


def _count(summary: RunSummary, phase: Phase | None) -> None:
    # Argo counts by the limit-check phase and defaults to successful, so a metric that ends
    # Failed through count + consecutiveSuccessLimit is summed as successful.
    if phase is Phase.ERROR:
        summary.error += 1
    elif phase is Phase.FAILED:
        summary.failed += 1
    elif phase is Phase.INCONCLUSIVE:
        summary.inconclusive += 1
    else:
        summary.successful += 1


def _trim_measurements(status: AnalysisRunStatus, prepared: _Prepared) -> None:
    known = {m.name for m in prepared.metrics}
    for result in status.metric_results:
        rule = prepared.retention.get(result.name)
        limit = rule.limit if rule is not None and rule.limit > 0 else MEASUREMENT_HISTORY_LIMIT
        if len(result.measurements) > limit and result.name in known:
            del result.measurements[: len(result.measurements) - limit]


def _due_tasks(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    prepared: _Prepared,
    now: float,
    started_before: float | None,
    args: Sequence[Argument] | None,
    redact: tuple[str, ...],
) -> list[MeasurementTask]:
    """Argo's generateMetricTasks, evaluated for the pass that starts now."""
    terminating = is_terminating(run, status)
    tasks: list[MeasurementTask] = []
    for index, metric in enumerate(prepared.metrics):
        result = status.result(metric.name)
        if result is not None and result.phase.completed:
            continue
        last = result.last_measurement() if result is not None else None
        spec_metric = run.spec.metrics[index]
        if last is not None and last.finished_at is None:
            if last.resume_at is not None and last.resume_at > now:
                continue
            tasks.append(_task(metric, spec_metric, args, redact, incomplete=last, terminate=terminating))
            continue
        if terminating:
            continue
        if last is None:
            if metric.initial_delay:
                delay = prepared.delays.get(metric.name)
                if started_before is None or delay is None or started_before + delay > now:
                    continue
            tasks.append(_task(metric, spec_metric, args, redact))
            continue
        count = metric.effective_count()
        if count is not None and result is not None and result.count >= count:
            continue
        if last.phase is Phase.ERROR or not metric.interval:
            wait: float | None = ERROR_RETRY_INTERVAL
        else:
            wait = prepared.intervals.get(metric.name)
        if wait is None or last.finished_at is None:
            continue
        # Argo requeues exactly at the boundary and runs just past it; on a virtual clock the
        # boundary itself is due.
        if now >= last.finished_at + wait:
            tasks.append(_task(metric, spec_metric, args, redact))
    return tasks


def _task(
    metric: Metric,
    spec_metric: Metric,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
    incomplete: Measurement | None = None,
    terminate: bool = False,
) -> MeasurementTask:
    # Without secret args the metric resolved for validation is already the final one.
    if secret_args is not None:
        metric = resolve_metric(spec_metric, secret_args)
    return MeasurementTask(metric, incomplete, terminate, redact)


def _next_reconcile(status: AnalysisRunStatus, prepared: _Prepared, now: float) -> float | None:
    """Argo's calculateNextReconcileTime: the earliest moment any unfinished metric is due."""
    earliest: float | None = None

    def consider(moment: float) -> None:
        nonlocal earliest
        if earliest is None or moment < earliest:
            earliest = moment

    for metric in prepared.metrics:
        result = status.result(metric.name)
        if result is not None and result.phase.completed:
            continue
        last = result.last_measurement() if result is not None else None
        if last is None:
            if metric.initial_delay:
                delay = prepared.delays.get(metric.name)
                if delay is not None:
                    consider((status.started_at if status.started_at is not None else now) + delay)
            continue
        if last.finished_at is None:
            if last.resume_at is not None:
                consider(last.resume_at)
            continue
        count = metric.effective_count()
        if count is not None and result is not None and result.count >= count:
            continue
        if last.phase is Phase.ERROR:
            consider(last.finished_at + ERROR_RETRY_INTERVAL)
        elif metric.interval:
            interval = prepared.intervals.get(metric.name)
            if interval is not None:
                consider(last.finished_at + interval)
    return earliest


def ttl_deadline(run: AnalysisRun) -> float | None:
    """When a completed run with ``spec.ttlStrategy`` may be deleted (Argo's isAnalysisRunTtlExceeded)."""
    ttl = run.spec.ttl_strategy
    status = run.status
    if not ttl or not status.phase.completed or status.completed_at is None:
        return None
    seconds: object = None
    if status.phase is Phase.SUCCESSFUL and ttl.get("secondsAfterSuccess") is not None:
        seconds = ttl["secondsAfterSuccess"]
    elif status.phase is Phase.FAILED and ttl.get("secondsAfterFailure") is not None:
        seconds = ttl["secondsAfterFailure"]
    elif ttl.get("secondsAfterCompletion") is not None:
        seconds = ttl["secondsAfterCompletion"]
    if not isinstance(seconds, int):
        return None
    # Argo deletes once the whole seconds elapsed exceed the TTL.
    return status.completed_at + seconds + 1


__all__ = [
    "ERROR_RETRY_INTERVAL",
    "Event",
    "FinishedMeasurement",
    "MeasurementTask",
    "Reconciled",
    "assess_metric",
    "is_terminating",
    "limit_violation",
    "reconcile",
    "ttl_deadline",
]
