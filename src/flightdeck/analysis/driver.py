"""Drives the pure reconciler: takes the measurements it asks for and loops passes at one instant.

The driver owns the only impure step (calling providers). The clock is the caller's: the CLI
passes wall time, tests and the simulator pass virtual time, and both get identical decisions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from flightdeck.analysis.args import SecretLookup
from flightdeck.analysis.providers import ClusterClient, MeasureContext, ProviderError, build_provider
from flightdeck.analysis.reconcile import Event, FinishedMeasurement, MeasurementTask, reconcile
from flightdeck.analysis.types import AnalysisRun, Measurement, Phase

Measure = Callable[[MeasurementTask, AnalysisRun, float], FinishedMeasurement]
"""Take one measurement for a task at time ``now``."""

MAX_PASSES_PER_INSTANT = 64


def take_measurement(
    task: MeasurementTask, run: AnalysisRun, now: float, cluster: ClusterClient | None = None
) -> FinishedMeasurement:
    """Run, resume or terminate a measurement with the registered provider (Argo's runMeasurements).

    ``run.status`` is the status the task was generated from; ``cluster`` is the local cluster for
    providers that create objects (``job``)."""
    metric = task.metric
    result = run.status.result(metric.name)
    ordinal = 1 if result is None else result.count + result.error + 1
    ctx = MeasureContext(
        run.name,
        run.namespace,
        now,
        {s: "*****" for s in task.secrets},
        run_uid=run.uid,
        ordinal=ordinal,
        cluster=cluster,
    )
    metadata = None
    try:
        provider = build_provider(metric)
    except ProviderError as exc:
        base = task.incomplete or Measurement(Phase.ERROR, started_at=now)
        measurement = dataclasses.replace(base, phase=Phase.ERROR, message=str(exc))
    else:
        try:
            if task.incomplete is None:
                measurement = provider.run(ctx, metric)
                metadata = provider.metadata(metric)
            elif task.terminate:
                measurement = provider.terminate(ctx, metric, task.incomplete)
                if measurement.phase is Phase.SUCCESSFUL:
                    measurement = dataclasses.replace(measurement, message="Metric Terminated")
            else:
                measurement = provider.resume(ctx, metric, task.incomplete)
        except ProviderError as exc:
            measurement = Measurement(Phase.ERROR, started_at=now, finished_at=now, message=str(exc))
        except Exception as exc:  # a provider bug must not stop the run: record it, as an Error
            measurement = Measurement(
                Phase.ERROR,
                started_at=now,
                finished_at=now,
                message=f"internal error in {metric.provider_type} provider: {type(exc).__name__}: {exc}",
            )
    if task.secrets and measurement.message:
        message = measurement.message
        for secret in task.secrets:
            message = message.replace(secret, "*****")
        measurement = dataclasses.replace(measurement, message=message)
    return FinishedMeasurement(metric.name, measurement, metadata, resumed=task.incomplete is not None)


@dataclasses.dataclass(slots=True)
class Settled:
    """The outcome of driving a run at one instant."""

    measurements: list[FinishedMeasurement]
    events: list[Event]
    requeue_at: float | None


class AnalysisDriver:
    """Loops reconcile → measure at one instant until the run is stable."""

    def __init__(
        self,
        measure: Measure = take_measurement,
        *,
        executor: Executor | None = None,
        secrets: SecretLookup | None = None,
        on_measurement: Callable[[AnalysisRun, FinishedMeasurement], None] | None = None,
    ) -> None:
        self._measure = measure
        self._executor = executor
        self._secrets = secrets
        self._on_measurement = on_measurement

    def _run_tasks(
        self, tasks: Sequence[MeasurementTask], run: AnalysisRun, now: float
    ) -> list[FinishedMeasurement]:
        if self._executor is None or len(tasks) < 2:
            return [self._measure(t, run, now) for t in tasks]
        futures = [self._executor.submit(self._measure, t, run, now) for t in tasks]
        return [f.result() for f in futures]

    def settle(self, run: AnalysisRun, now: float) -> Settled:
        """Reconcile ``run`` at ``now`` (updating ``run.status``) until nothing more happens."""
        taken: list[FinishedMeasurement] = []
        events: list[Event] = []
        finished: list[FinishedMeasurement] = []
        requeue_at: float | None = None
        for _ in range(MAX_PASSES_PER_INSTANT):
            result = reconcile(run, now, finished, self._secrets, in_place=True)
            run.status = result.status
            events.extend(result.events)
            requeue_at = result.requeue_at
            if self._on_measurement is not None:
                for item in finished:
                    self._on_measurement(run, item)
            if result.tasks:
                finished = self._run_tasks(result.tasks, run, now)
                taken.extend(finished)
                continue
            if not result.changed or result.final:
                break
            finished = []
        return Settled(taken, events, requeue_at)

    def run_to_completion(self, run: AnalysisRun, start: float, *, limit: float = 86400.0) -> float:
        """Virtual-clock helper: jump from one requeue time to the next until the run completes.

        Returns the virtual time at which it completed (or ``start + limit`` if it never does).
        """
        now = start
        while now <= start + limit:
            settled = self.settle(run, now)
            if run.status.phase.completed or settled.requeue_at is None:
                return now
            now = settled.requeue_at if settled.requeue_at > now else now + 0.001
        return start + limit
