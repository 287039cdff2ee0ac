"""Driving many AnalysisRuns at one instant together: the simulator's and the benchmark's path.

:class:`BatchDriver` does for a set of runs what :meth:`AnalysisDriver.settle` does for one: passes
of the pure reconciler at one instant until each run is stable. The runs advance in lock step, pass
by pass, so the measurements that all of them need at a pass are taken in one provider call, which
can evaluate a whole batch at once. A pass of a run at rest (the common one: Running, nothing to
reassess) is taken by :mod:`flightdeck.analysis.rest`, which computes what ``reconcile`` would
with less work; every other pass is ``reconcile`` itself.

Each run sees exactly the sequence of passes and measurements it would see alone, so statuses,
events and requeue times are the one-run driver's, provided the provider's answer for a task does
not depend on the other tasks of the call. The driver assumes that between its calls nothing edits
the runs' statuses in place (replacing ``run.status`` is fine), as the reconciler's own caches do.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Sequence

from flightdeck.analysis.args import SecretLookup
from flightdeck.analysis.driver import MAX_PASSES_PER_INSTANT, Measure, take_measurement
from flightdeck.analysis.reconcile import Event, FinishedMeasurement, MeasurementTask, Reconciled, reconcile
from flightdeck.analysis.rest import Answer, AtRest, as_finished, rest_apply, rest_pass
from flightdeck.analysis.types import AnalysisRun

BatchMeasure = Callable[[Sequence[MeasurementTask], Sequence[AnalysisRun], float], Sequence[Answer]]
"""Take the measurements ``tasks[i]`` of ``runs[i]`` at time ``now``; one answer per task, in order:
a FinishedMeasurement, or a bare Measurement (see :data:`flightdeck.analysis.rest.Answer`)."""

OnMeasurement = Callable[[AnalysisRun, FinishedMeasurement], None]


def one_by_one(measure: Measure = take_measurement) -> BatchMeasure:
    """A batch provider that takes the measurements one at a time with ``measure``."""

    def batch(
        tasks: Sequence[MeasurementTask], runs: Sequence[AnalysisRun], now: float
    ) -> list[FinishedMeasurement]:
        return [measure(task, run, now) for task, run in zip(tasks, runs, strict=True)]

    return batch


@dataclasses.dataclass(slots=True)
class BatchSettled:
    """The outcome of driving runs at one instant; ``requeue_at`` is indexed like the runs given."""

    requeue_at: list[float | None]
    taken: int = 0
    """How many measurements were taken (``on_measurement`` sees each one)."""
    events: list[Event] = dataclasses.field(default_factory=list)
    """Every event, in the order they happened for each run."""
    event_runs: list[int] = dataclasses.field(default_factory=list)
    """The index of the run of each of ``events`` (two lists, not a tuple per event: those would
    outlive many young collections and grow the garbage collector's oldest generation)."""


@dataclasses.dataclass(slots=True)
class _Passing:
    """A run on the general path in the middle of its passes at this instant."""

    index: int
    run: AnalysisRun
    passes: int
    """Passes taken so far (the one-run driver stops at MAX_PASSES_PER_INSTANT)."""
    finished: Sequence[FinishedMeasurement] = ()
    """What its next pass applies."""
    tasks: list[MeasurementTask] = dataclasses.field(default_factory=list)
    """What its last pass asked to measure."""


class _Resting:
    """Runs at rest whose last pass asked for measurements (``rest.due``), as parallel lists: an
    object per run would live through the whole chunk and be promoted, as garbage, to the garbage
    collector's oldest generation, whose growth sets how often it walks every object."""

    __slots__ = ("indices", "passes", "rests", "runs")

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.runs: list[AnalysisRun] = []
        self.rests: list[AtRest] = []
        self.passes: list[int] = []
        """Passes taken so far at this instant."""

    def add(self, index: int, run: AnalysisRun, rest: AtRest, passes: int) -> None:
        self.indices.append(index)
        self.runs.append(run)
        self.rests.append(rest)
        self.passes.append(passes)


class BatchDriver:
    """Loops reconcile → measure at one instant for many runs, one provider call per pass."""

    def __init__(
        self,
        measure: BatchMeasure,
        *,
        secrets: SecretLookup | None = None,
        on_measurement: OnMeasurement | None = None,
        chunk: int = 256,
    ) -> None:
        """``chunk`` bounds how many runs go through their passes together: the size of a provider
        call, and how many objects a pass keeps alive until the next one."""
        self._measure = measure
        self._secrets = secrets
        self._on_measurement = on_measurement
        self._chunk = max(1, chunk)

    def settle(self, runs: Sequence[AnalysisRun], now: float) -> BatchSettled:
        """Reconcile every run at ``now`` (updating ``run.status``) until nothing more happens.

        The runs must be distinct objects. ``on_measurement`` sees each measurement as it is taken,
        before the pass that applies it."""
        out = BatchSettled([None] * len(runs))
        for first in range(0, len(runs), self._chunk):
            self._settle(runs, range(first, min(first + self._chunk, len(runs))), now, out)
        return out

    def _settle(self, runs: Sequence[AnalysisRun], indices: range, now: float, out: BatchSettled) -> None:
        requeue = out.requeue_at
        # Runs whose next pass is a general one, runs whose pass is done and that wait for their
        # measurements (or for the extra pass), and runs at rest that wait for their measurements.
        general: list[_Passing] = []
        waiting: list[_Passing] = []
        resting = _Resting()
        for index in indices:
            run = runs[index]
            rest = rest_pass(run, now)
            if rest is None:
                general.append(_Passing(index, run, 0))
                continue
            requeue[index] = rest.requeue_at
            if rest.due:
                resting.add(index, run, rest, 1)
        while True:
            for entry in general:
                self._general_pass(entry, now, out, resting, waiting)
            if not resting.runs and not waiting:
                return
            tasks: list[MeasurementTask] = []
            task_runs: list[AnalysisRun] = []
            for entry in waiting:
                tasks.extend(entry.tasks)
                task_runs.extend([entry.run] * len(entry.tasks))
            for run, rest in zip(resting.runs, resting.rests, strict=True):
                plain = rest.prepared.tasks
                for metric in rest.due:
                    tasks.append(plain[metric])
                    task_runs.append(run)
            answers: Sequence[Answer] = self._measure(tasks, task_runs, now) if tasks else ()
            if len(answers) != len(tasks):
                raise ValueError(f"the provider answered {len(answers)} of {len(tasks)} measurements")
            out.taken += len(answers)
            report = self._on_measurement
            if report is not None:
                for task, run, answer in zip(tasks, task_runs, answers, strict=True):
                    report(run, as_finished(answer, task))
            # Each run's next pass applies its answers (as in the one-run driver, not after its last).
            general = []
            position = 0
            for entry in waiting:
                start = position
                position += len(entry.tasks)
                if entry.passes < MAX_PASSES_PER_INSTANT:
                    entry.finished = [as_finished(answers[start + k], t) for k, t in enumerate(entry.tasks)]
                    general.append(entry)
            waiting = []
            still = _Resting()
            for index, run, rest, passes in zip(
                resting.indices, resting.runs, resting.rests, resting.passes, strict=True
            ):
                start = position
                position += len(rest.due)
                if passes >= MAX_PASSES_PER_INSTANT:
                    continue
                outcome = rest_apply(run, rest, answers, start, now)
                if outcome is None:
                    requeue[index] = rest.requeue_at
                    if rest.due:
                        still.add(index, run, rest, passes + 1)
                else:
                    # A pass that left the path of runs at rest; it goes on as general ones do.
                    self._passed(_Passing(index, run, passes + 1), outcome, out, waiting)
            resting = still

    def _general_pass(
        self,
        entry: _Passing,
        now: float,
        out: BatchSettled,
        resting: _Resting,
        waiting: list[_Passing],
    ) -> None:
        """One pass of a run that is not (known to be) at rest; see :meth:`_passed`."""
        run = entry.run
        entry.passes += 1
        if not entry.finished:
            rest = rest_pass(run, now)
            if rest is not None:
                out.requeue_at[entry.index] = rest.requeue_at
                if rest.due:
                    resting.add(entry.index, run, rest, entry.passes)
                return
        self._passed(entry, reconcile(run, now, entry.finished, self._secrets, in_place=True), out, waiting)

    @staticmethod
    def _passed(entry: _Passing, result: Reconciled, out: BatchSettled, waiting: list[_Passing]) -> None:
        """Record a general pass; queue the run in ``waiting`` when it asked for measurements or
        changed something the next pass must see (Argo's extra pass, which measures nothing)."""
        entry.run.status = result.status
        if result.events:
            out.events.extend(result.events)
            out.event_runs.extend([entry.index] * len(result.events))
        out.requeue_at[entry.index] = result.requeue_at
        entry.finished = ()
        entry.tasks = result.tasks
        if result.tasks or (result.changed and not result.final and entry.passes < MAX_PASSES_PER_INSTANT):
            waiting.append(entry)

    def run_to_completion(
        self, runs: Sequence[AnalysisRun], start: float, *, limit: float = 86400.0
    ) -> list[float]:
        """Virtual-clock helper: wake every run at its requeue times (runs due at one instant
        together) until all complete; returns the time each one completed or stopped at (``start +
        limit`` for a run that never does)."""
        end = start + limit
        done = [end] * len(runs)
        due: dict[float, list[int]] = {start: list(range(len(runs)))}
        times = [start]
        while times:
            now = heapq.heappop(times)
            if now > end:
                break
            indices = due.pop(now)
            settled = self.settle([runs[i] for i in indices], now)
            for index, at in zip(indices, settled.requeue_at, strict=True):
                if runs[index].status.phase.completed or at is None:
                    done[index] = now
                    continue
                at = at if at > now else now + 0.001
                bucket = due.get(at)
                if bucket is None:
                    due[at] = [index]
                    heapq.heappush(times, at)
                else:
                    bucket.append(index)
        return done


__all__ = ["BatchDriver", "BatchMeasure", "BatchSettled", "OnMeasurement", "one_by_one"]
