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
import functools
import math
from collections.abc import Mapping, Sequence

from flightdeck.analysis.args import ArgumentError, SecretLookup, resolve_metric, with_secrets
from flightdeck.analysis.prepare import (
    MEASUREMENT_HISTORY_LIMIT,
    MetricPlan,
    Prepared,
    plan_metric,
    prepare,
)
from flightdeck.analysis.tasks import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import (
    PHASE_SEVERITY,
    AnalysisRun,
    AnalysisRunStatus,
    Argument,
    Measurement,
    MetricResult,
    Phase,
    RunSummary,
)

ERROR_RETRY_INTERVAL = 10.0
"""Argo's DefaultErrorRetryInterval: an Error measurement is retried after 10 s, whatever the interval."""


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
    final: bool = False
    """Set with ``changed`` when that other pass would be a no-op all the same: the run completed, or
    the status is at its fixed point and a pass would ask for what this one asked for (nothing).
    Drivers skip Argo's extra pass then, as its outcome is this one's."""


# Enum members looked up through their class cost a lookup each time; these run per measurement.
_ERROR = Phase.ERROR
_FAILED = Phase.FAILED
_INCONCLUSIVE = Phase.INCONCLUSIVE
_PENDING = Phase.PENDING
_RUNNING = Phase.RUNNING
_SUCCESSFUL = Phase.SUCCESSFUL

_STOPPING = frozenset({_FAILED, _ERROR, _INCONCLUSIVE})


def is_terminating(run: AnalysisRun, status: AnalysisRunStatus) -> bool:
    """Argo's IsTerminating: asked to stop, or a non-dry-run metric already Failed/Error/Inconclusive."""
    if run.spec.terminate:
        return True
    for r in status.metric_results:  # noqa: SIM110 - a generator costs twice as much on this hot path
        if r.phase in _STOPPING and not r.dry_run:
            return True
    return False


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
    if in_place:
        status = run.status
        status.passes += 1  # makes what the at-rest passes derived from it stale
    else:
        status = run.status.copy()
    events: list[Event] = []
    prepared = run.prepared
    if type(prepared) is not Prepared:
        prepared = prepare(run)
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
    # Assessment is a function of the results and spec.terminate only, so a pass that brings no
    # measurements to a status already at its fixed point would reassess to the same values.
    if not finished and status.settled_terminate is terminate:
        return schedule_pass(run, status, results, prepared, now, started_before, secret_args, redact, events)
    # Measurements that land on a status at its fixed point and leave the phases of their metrics
    # as they were cannot change anything else: the other metrics reassess to themselves, the
    # summaries count the same completed metrics with the same counters, and an unfinished metric
    # keeps the run Running with no message. Only their history needs trimming then.
    at_rest = status.settled_terminate is terminate and _at_rest(run, status, results, finished, prepared)
    touched = [
        apply_measurement(status, results, f.metric_name, f.measurement, now, prepared, f.metadata, f.resumed)
        for f in finished
    ]
    if at_rest and _phases_kept(touched, prepared):
        trim_history(touched, prepared)
        return schedule_pass(run, status, results, prepared, now, started_before, secret_args, redact, events)
    return assess_and_schedule(
        run, status, results, prepared, now, started_before, events, secret_args, redact
    )


def assess_and_schedule(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: Prepared,
    now: float,
    started_before: float | None,
    events: list[Event],
    secret_args: Sequence[Argument] | None = None,
    redact: tuple[str, ...] = (),
) -> Reconciled:
    """The rest of a pass once its measurements are applied to ``status`` (edited in place):
    Argo's assessRunStatus and its consequences, then the tasks and requeue time.

    ``results`` maps names to ``status.metric_results``; ``started_before`` is the run's start time
    before the pass."""
    terminate = bool(run.spec.terminate)
    phase, message, changed, terminating = _assess_run(run, status, results, prepared, now, events)
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
    # Assessing again reproduces this assessment unless it would see the run terminating where
    # this one did not (a metric has just failed): only then is the status not at its fixed point.
    if not changed or is_terminating(run, status) is terminating:
        status.settled_terminate = terminate
    else:
        status.settled_terminate = None

    if status.phase.completed:
        status.rest = None
        return Reconciled(status, [], None, events, changed, final=True)
    reconciled = schedule_pass(
        run, status, results, prepared, now, started_before, secret_args, redact, events, changed
    )
    if (
        changed
        and not reconciled.tasks
        and status.settled_terminate is terminate
        and (started_before is not None or not _due_once_started(prepared, results, now, status.started_at))
    ):
        # The next pass would not assess, and would schedule from the same status with the same
        # start time, so ask for nothing either.
        reconciled.final = True
    return reconciled


def _due_once_started(
    prepared: Prepared, results: Mapping[str, MetricResult], now: float, started: float | None
) -> bool:
    """Whether a metric waiting for its initial delay is due now that the run has started (in the pass
    that starts it, Argo counts the delay from the previous start time, which was none)."""
    if started is None:
        return True
    for plan in prepared.plans:
        if plan.has_delay and plan.delay is not None and started + plan.delay <= now:
            result = results.get(plan.name)
            if result is None or (not result.measurements and not result.phase.completed):
                return True
    return False


def schedule_pass(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: Prepared,
    now: float,
    started_before: float | None,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
    events: list[Event],
    changed: bool = False,
) -> Reconciled:
    """The end of a pass: its tasks and requeue time (an argument error ends the run)."""
    try:
        tasks, requeue_at = _schedule(
            run, status, results, prepared, now, started_before, secret_args, redact
        )
    except ArgumentError as exc:
        return _errored(status, f"Unable to resolve metric arguments: {exc}", events)
    return Reconciled(status, tasks, requeue_at, events, changed)


def _at_rest(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    finished: Sequence[FinishedMeasurement],
    prepared: Prepared,
) -> bool:
    """Whether ``finished`` lands on a status at its fixed point (``settled_terminate`` matches) of a
    Running, not terminating run, each on an unfinished metric of the spec."""
    if status.phase is not _RUNNING or is_terminating(run, status):
        return False
    by_name = prepared.by_name
    for item in finished:
        result = results.get(item.metric_name)
        if (result is not None and result.phase.completed) or item.metric_name not in by_name:
            return False
    return True


def _phases_kept(touched: Sequence[MetricResult], prepared: Prepared) -> bool:
    """After the apply: whether every metric that got a measurement keeps its assessed phase (the
    run was not terminating, and an apply does not change any phase that would make it so)."""
    by_name = prepared.by_name
    return all(assess_metric(by_name[r.name], r, False) is r.phase for r in touched)


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
    status.phase = _ERROR
    status.message = message
    status.rest = None
    events.append(_completion_event(_ERROR))
    return Reconciled(status, [], None, events, True, final=True)


@functools.cache
def _completion_event(phase: Phase) -> Event:
    # Events are immutable values, so runs share them.
    return Event(
        f"AnalysisRun{phase.value}",
        f"Analysis Completed. Result: {phase.value}",
        "Warning" if phase in (_ERROR, _FAILED) else "Normal",
    )


def apply_measurement(
    status: AnalysisRunStatus,
    results: dict[str, MetricResult],
    name: str,
    measurement: Measurement,
    now: float,
    prepared: Prepared,
    metadata: Mapping[str, str] | None = None,
    resumed: bool = False,
) -> MetricResult:
    """Add a finished measurement of metric ``name`` to its result (Argo's runMeasurements
    bookkeeping); ``resumed`` replaces the last (in-flight) one instead of appending."""
    result = results.get(name)
    if result is None:
        plan = prepared.by_name.get(name)
        result = MetricResult(
            name,
            _RUNNING,
            dry_run=plan is not None and plan.dry_run,
            metadata=dict(metadata) if metadata else None,
        )
        status.metric_results.append(result)
        results[name] = result
    phase = measurement.phase
    if phase.completed:
        if measurement.finished_at is None:
            measurement = dataclasses.replace(measurement, finished_at=now)
        count_measurement(result, phase)
    if resumed and result.measurements:
        result.measurements[-1] = measurement
    else:
        result.measurements.append(measurement)
    return result


def count_measurement(result: MetricResult, phase: Phase) -> None:
    """Argo's counters for one completed measurement of ``phase`` (runMeasurements)."""
    if phase is _ERROR:
        result.error += 1
        result.consecutive_error += 1
        result.consecutive_success = 0
    else:
        result.count += 1
        result.consecutive_error = 0
        if phase is _SUCCESSFUL:
            result.successful += 1
            result.consecutive_success += 1
        else:
            result.consecutive_success = 0
            if phase is _FAILED:
                result.failed += 1
            else:
                result.inconclusive += 1


def limit_violation(plan: MetricPlan, result: MetricResult) -> tuple[Phase | None, str]:
    """Argo's assessMetricFailureInconclusiveOrError: later checks overwrite earlier ones."""
    phase: Phase | None = None
    reason = ""
    if plan.failure_limit >= 0 and result.failed > plan.failure_limit:
        phase, reason = _FAILED, f"failed ({result.failed}) > failureLimit ({plan.failure_limit})"
    if result.inconclusive > plan.inconclusive_limit:
        phase = _INCONCLUSIVE
        reason = f"inconclusive ({result.inconclusive}) > inconclusiveLimit ({plan.inconclusive_limit})"
    if result.consecutive_error > plan.error_limit:
        phase = _ERROR
        reason = (
            f"consecutiveErrors ({result.consecutive_error}) > consecutiveErrorLimit ({plan.error_limit})"
        )
    return phase, reason


def assess_metric(plan: MetricPlan, result: MetricResult, terminating: bool) -> Phase:
    """Argo's assessMetricStatus."""
    if result.phase.completed:
        return result.phase
    if not result.measurements:
        return _SUCCESSFUL if terminating else _PENDING
    if not result.measurements[-1].phase.completed:
        return _RUNNING
    # limit_violation's conditions first: the common case (none broken) builds no message
    if (
        (plan.failure_limit >= 0 and result.failed > plan.failure_limit)
        or result.inconclusive > plan.inconclusive_limit
        or result.consecutive_error > plan.error_limit
    ):
        violated, _ = limit_violation(plan, result)
        if violated is not None:
            return violated
    success_limit = plan.success_limit
    if success_limit > 0 and result.consecutive_success >= success_limit:
        return _SUCCESSFUL
    count = plan.count
    if count is not None and result.count >= count:
        if success_limit > 0:
            return _INCONCLUSIVE if plan.failure_limit >= 0 else _FAILED
        return _SUCCESSFUL
    return _SUCCESSFUL if terminating else _RUNNING


def _assess_run(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: Prepared,
    now: float,
    events: list[Event],
) -> tuple[Phase, str, bool, bool]:
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
    # [count, successful, failed, inconclusive, error], as RunSummary's fields
    summary = [0, 0, 0, 0, 0]
    dry_summary = [0, 0, 0, 0, 0]
    for plan in prepared.plans:
        dry = plan.dry_run
        if dry:
            dry_summary[0] += 1
        else:
            summary[0] += 1
        result = results.get(plan.name)
        if result is None:
            everything_completed = False
            continue
        phase = assess_metric(plan, result, terminating)
        if phase != result.phase:
            if phase.completed:
                changed = True
                events.append(_metric_event(plan.name, phase))
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
            summary[_SUMMARY_FIELD.get(limit_phase, 1)] += 1
        else:
            if worst is None:
                worst = _SUCCESSFUL
            if reason:
                result.message = f"Metric assessed {phase.value} due to {reason}"
            dry_summary[_SUMMARY_FIELD.get(limit_phase, 1)] += 1
    status.run_summary = _summary(status.run_summary, summary)
    status.dry_run_summary = _summary(status.dry_run_summary, dry_summary)
    worst_message = worst_message.strip()
    if terminating:
        return (worst or _SUCCESSFUL), worst_message, changed, terminating
    if not everything_completed or worst is None:
        return _RUNNING, "", changed, terminating
    return worst, worst_message, changed, terminating


@functools.lru_cache(maxsize=4096)
def _metric_event(name: str, phase: Phase) -> Event:
    return Event(
        f"Metric{phase.value}",
        f"Metric '{name}' Completed. Result: {phase.value}",
        "Warning" if phase in (_ERROR, _FAILED) else "Normal",
    )


def _summary(old: RunSummary | None, counts: list[int]) -> RunSummary:
    """``old`` set to ``counts`` (the pass owns its status, a copy has its own summaries), or a new
    summary: each of 10,000 runs would otherwise leave an old one behind at every assessment, for
    the garbage collector to walk until it is freed."""
    if old is None:
        return RunSummary(*counts)
    old.count, old.successful, old.failed, old.inconclusive, old.error = counts
    return old


# Argo counts a completed metric by the phase of its limit check, and as successful when no limit
# was broken, so a metric that ends Failed through count + consecutiveSuccessLimit is summed as
# successful. Values index RunSummary's fields (count, successful, failed, inconclusive, error).
_SUMMARY_FIELD: Mapping[Phase | None, int] = {_FAILED: 2, _INCONCLUSIVE: 3, _ERROR: 4}


def _trim_measurements(
    status: AnalysisRunStatus, results: Mapping[str, MetricResult], prepared: Prepared
) -> None:
    for plan in prepared.plans:
        result = results.get(plan.name)
        if result is not None:
            trim(plan, result)


def trim_history(touched: Sequence[MetricResult], prepared: Prepared) -> None:
    """Trim the metrics that just got measurements (the others were trimmed when they last did)."""
    by_name = prepared.by_name
    for result in touched:
        trim(by_name[result.name], result)


def trim(plan: MetricPlan, result: MetricResult) -> None:
    """Keep the last ``measurementRetention`` (default 10) measurements of a metric."""
    if len(result.measurements) > plan.retention:
        del result.measurements[: len(result.measurements) - plan.retention]


ALWAYS = -math.inf
NEVER = math.inf

Timing = tuple[float, float | None, Measurement | None]
"""(due at, moment for the requeue time, measurement in flight); see :func:`metric_timing`."""


def metric_timing(
    plan: MetricPlan, result: MetricResult | None, started_before: float | None, start: float
) -> Timing | None:
    """One metric's part of Argo's generateMetricTasks and calculateNextReconcileTime: when its next
    measurement is due (``ALWAYS``, a time, or ``NEVER``), the moment it adds to the run's requeue
    time (None: none), and its last measurement when that one is still in flight (to be resumed, or
    terminated, once due). None when the metric takes no more measurements.

    ``started_before`` is the run's start time before the pass, ``start`` after it (or now)."""
    if result is None or not result.measurements:
        if result is not None and result.phase.completed:
            return None
        if not plan.has_delay:
            return ALWAYS, None, None
        if plan.delay is None:
            return NEVER, None, None
        return (NEVER if started_before is None else started_before + plan.delay), start + plan.delay, None
    if result.phase.completed:
        return None
    last = result.measurements[-1]
    if last.finished_at is None:
        resume = last.resume_at
        return (ALWAYS if resume is None else resume), resume, last
    if plan.count is not None and result.count >= plan.count:
        return None
    if last.phase is _ERROR:
        moment = last.finished_at + ERROR_RETRY_INTERVAL
        return moment, moment, None
    if plan.has_interval:
        if plan.interval is None:
            return NEVER, None, None
        moment = last.finished_at + plan.interval
        return moment, moment, None
    # Argo waits the error-retry interval here but schedules no requeue for it.
    return last.finished_at + ERROR_RETRY_INTERVAL, None, None


def _schedule(
    run: AnalysisRun,
    status: AnalysisRunStatus,
    results: Mapping[str, MetricResult],
    prepared: Prepared,
    now: float,
    started_before: float | None,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
) -> tuple[list[MeasurementTask], float | None]:
    """Argo's generateMetricTasks for the pass that starts now, and calculateNextReconcileTime:
    the earliest moment any unfinished metric is due. One walk over the metrics serves both."""
    terminating = is_terminating(run, status)
    start = status.started_at if status.started_at is not None else now
    tasks: list[MeasurementTask] = []
    earliest: float | None = None
    for plan in prepared.plans:
        timing = metric_timing(plan, results.get(plan.name), started_before, start)
        if timing is None:
            continue
        due_at, moment, in_flight = timing
        # Argo requeues exactly at the boundary and runs just past it; on a virtual clock the
        # boundary itself is due.
        if due_at <= now:
            if in_flight is not None:
                tasks.append(
                    _task(
                        run, plan, prepared, secret_args, redact, incomplete=in_flight, terminate=terminating
                    )
                )
            elif not terminating:
                tasks.append(_task(run, plan, prepared, secret_args, redact))
        if moment is not None and (earliest is None or moment < earliest):
            earliest = moment
    return tasks, earliest


def _task(
    run: AnalysisRun,
    plan: MetricPlan,
    prepared: Prepared,
    secret_args: Sequence[Argument] | None,
    redact: tuple[str, ...],
    incomplete: Measurement | None = None,
    terminate: bool = False,
) -> MeasurementTask:
    if secret_args is None:
        # Without secret args the metric resolved for validation is already the final one.
        if incomplete is None and not terminate:
            return prepared.tasks[plan.index]
        return MeasurementTask(prepared.tasks[plan.index].metric, incomplete, terminate)
    metric = resolve_metric(run.spec.metrics[plan.index], secret_args)
    return MeasurementTask(metric, incomplete, terminate, redact)


def ttl_deadline(run: AnalysisRun) -> float | None:
    """When a completed run with ``spec.ttlStrategy`` may be deleted (Argo's isAnalysisRunTtlExceeded)."""
    ttl = run.spec.ttl_strategy
    status = run.status
    if not ttl or not status.phase.completed or status.completed_at is None:
        return None
    seconds: object = None
    if status.phase is _SUCCESSFUL and ttl.get("secondsAfterSuccess") is not None:
        seconds = ttl["secondsAfterSuccess"]
    elif status.phase is _FAILED and ttl.get("secondsAfterFailure") is not None:
        seconds = ttl["secondsAfterFailure"]
    elif ttl.get("secondsAfterCompletion") is not None:
        seconds = ttl["secondsAfterCompletion"]
    if not isinstance(seconds, int):
        return None
    # Argo deletes once the whole seconds elapsed exceed the TTL.
    return status.completed_at + seconds + 1


__all__ = [
    "ALWAYS",
    "ERROR_RETRY_INTERVAL",
    "MEASUREMENT_HISTORY_LIMIT",
    "NEVER",
    "Event",
    "FinishedMeasurement",
    "MeasurementTask",
    "MetricPlan",
    "Prepared",
    "Reconciled",
    "Timing",
    "apply_measurement",
    "assess_and_schedule",
    "assess_metric",
    "is_terminating",
    "limit_violation",
    "metric_timing",
    "plan_metric",
    "reconcile",
    "schedule_pass",
    "trim",
    "trim_history",
    "ttl_deadline",
]
