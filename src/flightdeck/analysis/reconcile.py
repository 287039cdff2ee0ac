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
    resolve_metrics,
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
    Phase,
    RunSummary,
)
from flightdeck.analysis.validate import SpecError, match_rules, metric_shape, validate_metrics
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
    changed: bool = False
    """A metric or the run completed, or the run started: another pass at the same instant may differ
    (a failed metric makes the run terminate, which completes its siblings)."""


@dataclasses.dataclass(frozen=True, slots=True)
class MetricPlan:
    """A resolved metric with its limits and timings parsed once, so passes do no parsing."""

    metric: Metric
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
        metric,
        index,
        metric.name,
        *timing,
        dry_run=dry_run,
        retention=retention if retention > 0 else MEASUREMENT_HISTORY_LIMIT,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    """What a run's spec resolves to; derived data, cached on the run between passes."""

    plans: tuple[MetricPlan, ...]
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
    try:
        args = without_secrets(run.spec.args)
        metrics = resolve_metrics(run.spec.metrics, args)
    except ArgumentError as exc:
        return _Prepared((), error=f"Unable to resolve metric arguments: {exc}")
    try:
        validate_metrics(metrics)
        dry_run = match_rules(run.spec.dry_run, metrics, "dryRun")
        retention = match_rules(run.spec.measurement_retention, metrics, "measurementRetention")
    except SpecError as exc:
        return _Prepared((), error=f"Analysis spec invalid: {exc}")
    plans = tuple(
        plan_metric(
            m,
            i,
            dry_run=m.name in dry_run,
            retention=retention[m.name].limit if m.name in retention else 0,
        )
        for i, m in enumerate(metrics)
    )
    return _Prepared(
        plans,
        uses_secrets=any(a.value_from and a.value_from.get("secretKeyRef") for a in run.spec.args),
    )


_STOPPING = frozenset({Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE})


def is_terminating(run: AnalysisRun, status: AnalysisRunStatus) -> bool:
    """Argo's IsTerminating: asked to stop, or a non-dry-run metric already Failed/Error/Inconclusive."""
    if run.spec.terminate:
        return True
    return any(not r.dry_run and r.phase in _STOPPING for r in status.metric_results)


def reconcile(
    run: AnalysisRun,
    now: float,
    finished: Sequence[FinishedMeasurement] = (),
    secrets: SecretLookup | None = None,
    *,
    in_place: bool = False,
) -> Reconciled:
    """One reconcile pass. ``run`` is not modified (but for its derived-data cache), unless
    ``in_place`` is set by a caller that replaces ``run.status`` with the result anyway."""
    if run.status.phase.completed:
        return Reconciled(run.status, [], None, [])
    status = run.status if in_place else run.status.copy()
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
    results = {r.name: r for r in status.metric_results}
    terminate = bool(run.spec.terminate)
    changed = False
    # Assessment is a function of the results and spec.terminate only, so a pass that brings no
    # measurements to a status already at its fixed point would reassess to the same values.
    if finished or status.settled_terminate is not terminate:
        for item in finished:
            _apply(status, results, item, now, prepared)
        phase, message, changed = _assess_run(run, status, results, prepared, now, events)
        if phase.completed and _terminations_due(status, now):
            # Argo terminates in-flight (asynchronous, e.g. job) measurements before it assesses the
            # run; here those terminations are this pass's tasks, and the pass that applies them
            # completes the run.
            phase, message = status.phase, status.message
        if phase != status.phase:
            changed = True
            status.phase = phase
            status.message = message
            if phase.completed:
                events.append(_completion_event(phase))
                if status.completed_at is None:
                    status.completed_at = now
        _trim_measurements(status, results, prepared)
        status.settled_terminate = None if changed else terminate

    if status.phase.completed:
        return Reconciled(status, [], None, events, changed)
    try:
        tasks, requeue_at = _schedule(
            run, status, results, prepared, now, started_before, secret_args, redact
        )
    except ArgumentError as exc:
        return _errored(status, f"Unable to resolve metric arguments: {exc}", events)
    return Reconciled(status, tasks, requeue_at, events, changed)


def _terminations_due(status: AnalysisRunStatus, now: float) -> bool:
    """Whether an unfinished measurement will be terminated by this pass's tasks (one waiting for a
    future ``resumeAt`` is left alone, as in Argo)."""
    for result in status.metric_results:
        if result.phase.completed or not result.measurements:
            continue
        last = result.measurements[-1]
        if last.finished_at is None and (last.resume_at is None or last.resume_at <= now):
            return True
    return False


def _errored(status: AnalysisRunStatus, message: str, events: list[Event]) -> Reconciled:
    status.phase = Phase.ERROR
    status.message = message
    events.append(_completion_event(Phase.ERROR))
    return Reconciled(status, [], None, events, True)


def _completion_event(phase: Phase) -> Event:
    return Event(
        f"AnalysisRun{phase.value}",
        f"Analysis Completed. Result: {phase.value}",
        "Warning" if phase in (Phase.ERROR, Phase.FAILED) else "Normal",
    )


def _apply(
    status: AnalysisRunStatus,
    results: dict[str, MetricResult],
    item: FinishedMeasurement,
    now: float,
    prepared: _Prepared,
) -> None:
    result = results.get(item.metric_name)
    if result is None:
        dry = any(p.dry_run for p in prepared.plans if p.name == item.metric_name)
        result = MetricResult(
            name=item.metric_name,
            phase=Phase.RUNNING,
            dry_run=dry,
            metadata=dict(item.metadata) if item.metadata else None,
        )
        status.metric_results.append(result)
        results[item.metric_name] = result
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


def limit_violation(plan: MetricPlan, result: MetricResult) -> tuple[Phase | None, str]:
    """Argo's assessMetricFailureInconclusiveOrError: later checks overwrite earlier ones."""
    phase: Phase | None = None
    reason = ""
    if plan.failure_limit >= 0 and result.failed > plan.failure_limit:
        phase, reason = Phase.FAILED, f"failed ({result.failed}) > failureLimit ({plan.failure_limit})"
    if result.inconclusive > plan.inconclusive_limit:
        phase = Phase.INCONCLUSIVE
        reason = f"inconclusive ({result.inconclusive}) > inconclusiveLimit ({plan.inconclusive_limit})"
    if result.consecutive_error > plan.error_limit:
        phase = Phase.ERROR
        reason = (
            f"consecutiveErrors ({result.consecutive_error}) > consecutiveErrorLimit ({plan.error_limit})"
        )
    return phase, reason


def _violated(plan: MetricPlan, result: MetricResult) -> bool:
    return (
        (plan.failure_limit >= 0 and result.failed > plan.failure_limit)
        or result.inconclusive > plan.inconclusive_limit
        or result.consecutive_error > plan.error_limit
    )


def assess_metric(plan: MetricPlan, result: MetricResult, terminating: bool) -> Phase:
    """Argo's assessMetricStatus."""
    if result.phase.completed:
        return result.phase
    if not result.measurements:
        return Phase.SUCCESSFUL if terminating else Phase.PENDING
    if not result.measurements[-1].phase.completed:
        return Phase.RUNNING
    if _violated(plan, result):
        violated, _ = limit_violation(plan, result)
        if violated is not None:
            return violated
    success_limit = plan.success_limit
    if success_limit > 0 and result.consecutive_success >= success_limit:
        return Phase.SUCCESSFUL
    count = plan.count
    if count is not None and result.count >= count:
        if success_limit > 0:
            return Phase.INCONCLUSIVE if plan.failure_limit >= 0 else Phase.FAILED
        return Phase.SUCCESSFUL
    return Phase.SUCCESSFUL if terminating else Phase.RUNNING


def _assess_run(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: _Prepared,
    now: float,
    events: list[Event],
) -> tuple[Phase, str, bool]:
    """Argo's assessRunStatus: metric phases, summaries, then the worst completed phase; and
    whether a metric completed or the run started, which can change the next assessment."""
    terminating = is_terminating(run, status)
    everything_completed = True
    changed = False
    if status.started_at is None:
        status.started_at = now
        changed = True
    worst: Phase | None = None
    worst_message = "Run Terminated" if run.spec.terminate else ""
    summary = RunSummary()
    dry_summary = RunSummary()
    for plan in prepared.plans:
        dry = plan.dry_run
        if dry:
            dry_summary.count += 1
        else:
            summary.count += 1
        result = results.get(plan.name)
        if result is None:
            everything_completed = False
            continue
        phase = assess_metric(plan, result, terminating)
        if phase != result.phase:
            if phase.completed:
                changed = True
                events.append(
                    Event(
                        f"Metric{phase.value}",
                        f"Metric '{plan.name}' Completed. Result: {phase.value}",
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
        limit_phase, reason = limit_violation(plan, result)
        if not dry:
            if worst is None or PHASE_SEVERITY[phase] > PHASE_SEVERITY[worst]:
                worst = phase
                if reason:
                    worst_message = f'Metric "{plan.name}" assessed {phase.value} due to {reason}'
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
        return (worst or Phase.SUCCESSFUL), worst_message, changed
    if not everything_completed or worst is None:
        return Phase.RUNNING, "", changed
    return worst, worst_message, changed


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


def _trim_measurements(
    status: AnalysisRunStatus, results: Mapping[str, MetricResult], prepared: _Prepared
) -> None:
    for plan in prepared.plans:
        result = results.get(plan.name)
        if result is not None and len(result.measurements) > plan.retention:
            del result.measurements[: len(result.measurements) - plan.retention]


def _schedule(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: _Prepared,
    now: float,
    started_before: float | None,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
) -> tuple[list[MeasurementTask], float | None]:
    """Argo's generateMetricTasks for the pass that starts now, and calculateNextReconcileTime:
    the earliest moment any unfinished metric is due. One walk over the metrics serves both."""
    terminating = is_terminating(run, status)
    tasks: list[MeasurementTask] = []
    earliest: float | None = None
    for plan in prepared.plans:
        result = results.get(plan.name)
        moment: float | None = None
        if result is None or not result.measurements:
            if result is not None and result.phase.completed:
                continue
            if plan.has_delay:
                if plan.delay is not None:
                    moment = (status.started_at if status.started_at is not None else now) + plan.delay
                due = not (started_before is None or plan.delay is None or started_before + plan.delay > now)
            else:
                due = True
            if due and not terminating:
                tasks.append(_task(run, plan, secret_args, redact))
        else:
            if result.phase.completed:
                continue
            last = result.measurements[-1]
            if last.finished_at is None:
                moment = last.resume_at
                if moment is None or moment <= now:
                    tasks.append(
                        _task(run, plan, secret_args, redact, incomplete=last, terminate=terminating)
                    )
            elif plan.count is not None and result.count >= plan.count:
                continue
            else:
                if last.phase is Phase.ERROR:
                    moment = last.finished_at + ERROR_RETRY_INTERVAL
                elif plan.has_interval:
                    moment = None if plan.interval is None else last.finished_at + plan.interval
                else:
                    # Argo waits the error-retry interval here but schedules no requeue for it.
                    if not terminating and now >= last.finished_at + ERROR_RETRY_INTERVAL:
                        tasks.append(_task(run, plan, secret_args, redact))
                    continue
                # Argo requeues exactly at the boundary and runs just past it; on a virtual clock
                # the boundary itself is due.
                if not terminating and moment is not None and now >= moment:
                    tasks.append(_task(run, plan, secret_args, redact))
        if moment is not None and (earliest is None or moment < earliest):
            earliest = moment
    return tasks, earliest


def _task(
    run: AnalysisRun,
    plan: MetricPlan,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
    incomplete: Measurement | None = None,
    terminate: bool = False,
) -> MeasurementTask:
    # Without secret args the metric resolved for validation is already the final one.
    metric = plan.metric if secret_args is None else resolve_metric(run.spec.metrics[plan.index], secret_args)
    return MeasurementTask(metric, incomplete, terminate, redact)


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
    "MetricPlan",
    "Reconciled",
    "assess_metric",
    "is_terminating",
    "limit_violation",
    "plan_metric",
    "reconcile",
    "ttl_deadline",
]
