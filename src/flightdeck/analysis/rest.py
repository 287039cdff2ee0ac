"""Passes of a run at rest, for drivers that reconcile many runs at one instant.

Most passes of a long analysis find the run *at rest*: Running, its status at the fixed point of
assessment (``settled_terminate`` is False), not terminating, no secret args, nothing in flight. For
such a run :func:`flightdeck.analysis.reconcile.reconcile` only schedules (the pass that finds the
due measurements), and the pass that applies them, when no metric changes its phase, only applies,
trims and schedules again. :func:`rest_pass` and :func:`rest_apply` are those two passes, computed
with the reconciler's own functions (``metric_timing``, ``apply_measurement``, ``assess_metric``,
``trim``). What one pass derives (each metric's result and timing) is kept in ``status.rest`` for
the next; only the timings of measured metrics change in between, and any ``reconcile`` pass over
the status makes it stale.

When the pass that applies measurements leaves that path (a metric changes its phase, a measurement
stays in flight, the run is asked to terminate, a provider answers for another metric),
:func:`rest_apply` finishes it with the reconciler's code from that point on; see its docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from flightdeck.analysis.prepare import Prepared
from flightdeck.analysis.reconcile import (
    NEVER,
    Reconciled,
    Timing,
    apply_measurement,
    assess_and_schedule,
    assess_metric,
    is_terminating,
    metric_timing,
    reconcile,
    schedule_pass,
    trim,
)
from flightdeck.analysis.tasks import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, AnalysisRunStatus, Measurement, MetricResult, Phase

# Enum members looked up through their class cost a lookup each time; these run per measurement.
_RUNNING = Phase.RUNNING

Answer = FinishedMeasurement | Measurement
"""What a batch provider hands back for a task: a bare measurement stands for
``FinishedMeasurement(task.metric.name, measurement)`` (no metadata, not resumed)."""


@dataclasses.dataclass(slots=True)
class AtRest:
    """What the passes of a run at rest derive from its status (kept in ``status.rest``).

    Timings and due indices are tuples of numbers, which the garbage collector stops tracking:
    10,000 runs at rest then add two tracked objects each, not five."""

    passes: int
    """``status.passes`` when derived: a ``reconcile`` pass since makes it stale."""
    prepared: Prepared
    results: dict[str, MetricResult]
    """``status.metric_results`` by name."""
    timings: tuple[Timing | None, ...]
    """Per metric of ``prepared.plans``: :func:`metric_timing` of its result (nothing in flight)."""
    started: float
    due: tuple[int, ...] = ()
    """Indices of the metrics whose measurements the last pass asked for, in spec order."""
    requeue_at: float | None = None

    def tasks(self) -> list[MeasurementTask]:
        """The tasks of the last pass, one per ``due`` metric."""
        plain = self.prepared.tasks
        return [plain[index] for index in self.due]


def rest_pass(run: AnalysisRun, now: float) -> AtRest | None:
    """``reconcile(run, now)`` for a run at rest: its tasks (``due``) and requeue time, the status
    untouched (that pass neither assesses nor changes anything). None when the run is not at rest."""
    status = run.status
    if status.settled_terminate is not False or status.phase is not _RUNNING or run.spec.terminate:
        return None
    rest = status.rest
    if type(rest) is not AtRest or rest.passes != status.passes or rest.prepared is not run.prepared:
        rest = _derive(run, status)
        if rest is None:
            return None
        status.rest = rest
    _due(rest, now)
    return rest


def _derive(run: AnalysisRun, status: AnalysisRunStatus) -> AtRest | None:
    prepared = run.prepared
    started = status.started_at
    if (
        started is None
        or not isinstance(prepared, Prepared)
        or prepared.uses_secrets
        or is_terminating(run, status)
    ):
        return None
    results = {r.name: r for r in status.metric_results}
    timings = _timings(prepared, results, started)
    if timings is None:
        return None
    return AtRest(status.passes, prepared, results, timings, started)


def _timings(
    prepared: Prepared, results: dict[str, MetricResult], started: float
) -> tuple[Timing | None, ...] | None:
    """Every metric's timing; None when a measurement is in flight (resuming or terminating it is
    the general pass's job)."""
    timings: list[Timing | None] = []
    for plan in prepared.plans:
        timing = metric_timing(plan, results.get(plan.name), started, started)
        if timing is not None and timing[2] is not None:
            return None
        timings.append(timing)
    return tuple(timings)


def rest_apply(
    run: AnalysisRun, rest: AtRest, answers: Sequence[Answer], start: int, now: float
) -> Reconciled | None:
    """The pass after ``rest``'s tasks were measured: ``answers[start + k]`` answers the task of
    metric ``rest.due[k]`` (``answers`` holds a whole batch's).

    None when the run is still at rest after it: ``rest`` then holds the pass's tasks and requeue
    time, and the pass changed nothing but the measured metrics' counters and histories (as
    ``reconcile``'s quick path). Otherwise the pass's outcome, computed by the reconciler's own code
    from where this one stops:

    * the run was asked to terminate meanwhile, or an answer names another metric than its task:
      nothing is applied here; the pass is ``reconcile(run, now, <answers>, in_place=True)``;
    * a measured metric changes its phase: the measurements are applied as ``reconcile`` applies
      them, and the pass goes on with ``assess_and_schedule``, as ``reconcile``'s does then;
    * a measurement stays in flight: applied and trimmed as in ``reconcile``'s quick path, which
      then schedules with ``schedule_pass`` (asking to resume it).
    """
    status = run.status
    prepared = rest.prepared
    plans = prepared.plans
    due = rest.due
    count = len(due)
    general = bool(run.spec.terminate)
    for k in range(count):
        answer = answers[start + k]
        if type(answer) is not Measurement and (
            not isinstance(answer, FinishedMeasurement) or answer.metric_name != plans[due[k]].name
        ):
            general = True
    if general:
        rest.passes = -1
        tasks = rest.tasks()
        finished = [as_finished(answers[start + k], tasks[k]) for k in range(count)]
        return reconcile(run, now, finished, in_place=True)
    results = rest.results
    touched: list[MetricResult] = []
    kept = True
    for k in range(count):
        plan = plans[due[k]]
        answer = answers[start + k]
        if type(answer) is Measurement:
            result = apply_measurement(status, results, plan.name, answer, now, prepared)
        else:
            assert isinstance(answer, FinishedMeasurement)
            result = apply_measurement(
                status, results, plan.name, answer.measurement, now, prepared, answer.metadata, answer.resumed
            )
        touched.append(result)
        # Each answer is for another metric, so one's assessment does not depend on the others'.
        if kept and assess_metric(plan, result, False) is not result.phase:
            kept = False
    started = rest.started
    if not kept:
        outcome = assess_and_schedule(run, status, results, prepared, now, started, [])
        # reconcile() would have made rest stale; keep it if the run is at rest again.
        timings = None
        if status.settled_terminate is False and status.phase is _RUNNING and not is_terminating(run, status):
            timings = _timings(prepared, results, started)
        if timings is None:
            rest.passes = -1
        else:
            rest.timings = timings
        return outcome
    timings_now = list(rest.timings)
    in_flight = False
    for k in range(count):
        index = due[k]
        plan = plans[index]
        result = touched[k]
        trim(plan, result)
        timing = metric_timing(plan, result, started, started)
        if timing is not None and timing[2] is not None:
            in_flight = True
        timings_now[index] = timing
    if in_flight:
        rest.passes = -1
        return schedule_pass(run, status, results, prepared, now, started, None, (), [])
    rest.timings = tuple(timings_now)
    _due(rest, now)
    return None


def as_finished(answer: Answer, task: MeasurementTask) -> FinishedMeasurement:
    """A batch provider's answer for ``task`` in the form the general pass takes."""
    if isinstance(answer, FinishedMeasurement):
        return answer
    return FinishedMeasurement(task.metric.name, answer, None, task.incomplete is not None)


def _due(rest: AtRest, now: float) -> None:
    """The tasks and requeue time ``reconcile``'s schedule gives (not terminating, no secrets)."""
    due: list[int] = []
    earliest = NEVER
    index = 0
    for timing in rest.timings:
        if timing is not None:
            if timing[0] <= now:
                due.append(index)
            moment = timing[1]
            if moment is not None and moment < earliest:
                earliest = moment
        index += 1  # noqa: SIM113 - cheaper than enumerate's tuples on this hot path
    rest.due = tuple(due) if due else ()
    rest.requeue_at = None if earliest == NEVER else earliest


__all__ = ["Answer", "AtRest", "as_finished", "rest_apply", "rest_pass"]
