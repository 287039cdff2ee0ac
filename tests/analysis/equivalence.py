"""Driving the same runs through the one-run driver and the batched one, recording everything seen.

A run's provider answers depend only on the run, the metric and how many measurements of that
metric the run asked for so far, so the two paths get the same answers whatever order they ask in.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.analysis.batch import BatchDriver
from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.rest import Answer
from flightdeck.analysis.secrets import SecretStore
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Measurement, Phase

CODES = {"S": Phase.SUCCESSFUL, "F": Phase.FAILED, "I": Phase.INCONCLUSIVE, "E": Phase.ERROR}

Outcome = str | tuple[str, Any]
"""``S``/``F``/``I``/``E``; ``("E", message)``; ``("R", seconds)``: still running, resume after that;
``("M", metadata)``: Successful with metadata; ``("X", name)``: a Successful answer that names
another metric."""


@dataclasses.dataclass
class Case:
    """A run (its spec as JSON), its outcomes per metric, and when it is asked to terminate."""

    name: str
    spec: dict[str, Any]
    outcomes: dict[str, list[Outcome]]
    terminate_at: float | None = None
    default: str = "S"
    """The outcome once a metric's list is used up."""
    until: float = 600.0
    """The last virtual time it is driven at."""
    settles: int = 80
    """At most this many settles (``interval: 0s`` keeps a run due at every instant)."""

    def run(self) -> AnalysisRun:
        return AnalysisRun(self.name, "default", AnalysisRunSpec.from_dict(copy.deepcopy(self.spec)))


class Provider:
    """Answers per (run, metric, ordinal), the same for both drivers."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self._cases = {c.name: c for c in cases}
        self._asked: dict[tuple[str, str], int] = {}
        self.calls = 0

    def __call__(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        self.calls += 1
        case = self._cases[run.name]
        name = task.metric.name
        key = (run.name, name)
        ordinal = self._asked.get(key, 0)
        self._asked[key] = ordinal + 1
        outcomes = case.outcomes.get(name, [])
        outcome = outcomes[ordinal] if ordinal < len(outcomes) else case.default
        code, extra = (outcome, None) if isinstance(outcome, str) else outcome
        started = task.incomplete.started_at if task.incomplete is not None else now
        resumed = task.incomplete is not None
        if task.terminate:
            return FinishedMeasurement(
                name, Measurement(Phase.SUCCESSFUL, started, now, message="Metric Terminated"), resumed=True
            )
        if code == "R":
            measurement = Measurement(Phase.RUNNING, started, None, resume_at=now + float(extra))
            return FinishedMeasurement(name, measurement, resumed=resumed)
        if code == "M":
            return FinishedMeasurement(
                name, Measurement(Phase.SUCCESSFUL, started, now, "1"), dict(extra), resumed
            )
        if code == "X":
            return FinishedMeasurement(str(extra), Measurement(Phase.SUCCESSFUL, started, now, "1"))
        message = str(extra) if extra is not None else ""
        value = "" if code == "E" else f"[{ordinal}]"
        return FinishedMeasurement(
            name, Measurement(CODES[code], started, now, value, message), resumed=resumed
        )

    def batch(
        self, tasks: Sequence[MeasurementTask], runs: Sequence[AnalysisRun], now: float
    ) -> list[Answer]:
        """Plain answers go back bare, the others as FinishedMeasurement: both forms are exercised."""
        out: list[Answer] = []
        for task, run in zip(tasks, runs, strict=True):
            item = self(task, run, now)
            bare = item.metadata is None and not item.resumed and item.metric_name == task.metric.name
            out.append(item.measurement if bare else item)
        return out


Trace = list[tuple[float, dict[str, Any], float | None, list[tuple[str, str, str]], list[tuple[Any, ...]]]]
"""Per settle of a run: (time, status, requeue time, events, measurements taken)."""


def _measured(item: FinishedMeasurement) -> tuple[Any, ...]:
    return (item.metric_name, item.measurement.to_dict(), item.resumed, dict(item.metadata or {}))


def _next(now: float, requeue: float | None, case: Case, run: AnalysisRun, settles: int) -> float | None:
    if run.status.phase.completed or settles >= case.settles:
        return None
    wake = requeue
    if (
        case.terminate_at is not None
        and not run.spec.terminate
        and (wake is None or wake > case.terminate_at)
    ):
        wake = max(case.terminate_at, now)
    if wake is None:
        return None
    return wake if wake > now else now + 0.001


def secrets() -> SecretStore:
    store = SecretStore()
    store.add("default", "creds", {"token": "s3cr3t"})
    return store


def drive_one_by_one(
    cases: Sequence[Case], until: float = 600.0
) -> tuple[dict[str, Trace], list[AnalysisRun]]:
    provider = Provider(cases)
    driver = AnalysisDriver(provider, secrets=secrets())
    runs = [c.run() for c in cases]
    traces: dict[str, Trace] = {c.name: [] for c in cases}
    queue = [(0.0, i) for i in range(len(runs))]
    while queue:
        now, i = heapq.heappop(queue)
        if now > until:
            break
        case, run = cases[i], runs[i]
        if now > case.until:
            continue
        if case.terminate_at is not None and now >= case.terminate_at:
            run.spec.terminate = True
        settled = driver.settle(run, now)
        events = [(e.reason, e.message, e.type) for e in settled.events]
        traces[case.name].append(
            (
                now,
                run.status.to_dict(),
                settled.requeue_at,
                events,
                [_measured(m) for m in settled.measurements],
            )
        )
        wake = _next(now, settled.requeue_at, case, run, len(traces[case.name]))
        if wake is not None:
            heapq.heappush(queue, (wake, i))
    return traces, runs


def drive_batched(
    cases: Sequence[Case], until: float = 600.0, chunk: int = 3
) -> tuple[dict[str, Trace], list[AnalysisRun]]:
    provider = Provider(cases)
    taken: dict[str, list[FinishedMeasurement]] = {c.name: [] for c in cases}

    def record(run: AnalysisRun, item: FinishedMeasurement) -> None:
        taken[run.name].append(item)

    driver = BatchDriver(provider.batch, secrets=secrets(), on_measurement=record, chunk=chunk)
    runs = [c.run() for c in cases]
    traces: dict[str, Trace] = {c.name: [] for c in cases}
    due: dict[float, list[int]] = {0.0: list(range(len(runs)))}
    times = [0.0]
    while times:
        now = heapq.heappop(times)
        if now > until:
            break
        indices = [i for i in due.pop(now) if now <= cases[i].until]
        for i in indices:
            if cases[i].terminate_at is not None and now >= cases[i].terminate_at:
                runs[i].spec.terminate = True
        settled = driver.settle([runs[i] for i in indices], now)
        for position, i in enumerate(indices):
            case, run = cases[i], runs[i]
            events = [
                (e.reason, e.message, e.type)
                for at, e in zip(settled.event_runs, settled.events, strict=True)
                if at == position
            ]
            measured = [_measured(m) for m in taken[case.name]]
            taken[case.name] = []
            traces[case.name].append(
                (now, run.status.to_dict(), settled.requeue_at[position], events, measured)
            )
            wake = _next(now, settled.requeue_at[position], case, run, len(traces[case.name]))
            if wake is not None:
                if wake not in due:
                    due[wake] = []
                    heapq.heappush(times, wake)
                due[wake].append(i)
    return traces, runs


def metric(name: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, **fields}
    out.setdefault("provider", {"prometheus": {"address": "http://prom:9090", "query": "up"}})
    return out


def spec(*metrics: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"metrics": list(metrics), **extra}
