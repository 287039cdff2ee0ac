"""A scripted measurement source for engine tests: each metric yields a fixed sequence of outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Measurement, Phase

_CODES = {"S": Phase.SUCCESSFUL, "F": Phase.FAILED, "I": Phase.INCONCLUSIVE, "E": Phase.ERROR}

Outcome = str | tuple[str, str]
"""``"S"``, ``"F"``, ``"I"``, ``"E"`` or ``("E", "message")``."""


def make_run(metrics: Sequence[Mapping[str, Any]], **spec: Any) -> AnalysisRun:
    raw: dict[str, Any] = {"metrics": [_with_provider(m) for m in metrics], **spec}
    return AnalysisRun(name="run", namespace="default", spec=AnalysisRunSpec.from_dict(raw))


def _with_provider(metric: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(metric)
    out.setdefault("provider", {"prometheus": {"address": "http://prom:9090", "query": "up"}})
    return out


class Script:
    """Hands out outcomes per metric and records when each measurement was taken."""

    def __init__(self, outcomes: Mapping[str, Sequence[Outcome]]) -> None:
        self._outcomes = {name: list(seq) for name, seq in outcomes.items()}
        self.times: dict[str, list[float]] = {name: [] for name in outcomes}

    def __call__(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        name = task.metric.name
        queue = self._outcomes.get(name)
        if not queue:
            raise AssertionError(f"unexpected measurement of {name!r} at t={now}")
        outcome = queue.pop(0)
        code, message = (outcome, "") if isinstance(outcome, str) else outcome
        self.times.setdefault(name, []).append(now)
        measurement = Measurement(_CODES[code], started_at=now, finished_at=now, message=message)
        return FinishedMeasurement(name, measurement, resumed=False)

    def remaining(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._outcomes.items() if v}


def drive(
    run: AnalysisRun, script: Script, *, until: float = 3600.0, terminate_at: float | None = None
) -> float:
    """Run on the virtual clock from t=0; returns the completion time."""
    driver = AnalysisDriver(script)
    now = 0.0
    while now <= until:
        if terminate_at is not None and now >= terminate_at:
            run.spec.terminate = True
        settled = driver.settle(run, now)
        if run.status.phase.completed:
            return now
        next_time = settled.requeue_at
        if (
            terminate_at is not None
            and now < terminate_at
            and (next_time is None or next_time > terminate_at)
        ):
            next_time = terminate_at
        if next_time is None:
            return now
        now = next_time if next_time > now else now + 0.001
    return now
