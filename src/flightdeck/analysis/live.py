"""Following one AnalysisRun on the wall clock, for ``flightdeck analyze``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flightdeck.analysis.args import SecretLookup, resolve_metrics, with_secrets
from flightdeck.analysis.driver import AnalysisDriver, Measure, take_measurement
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask, reconcile
from flightdeck.analysis.types import AnalysisRun, Phase

MeasurementCallback = Callable[[AnalysisRun, FinishedMeasurement], None]


class InvalidRun(Exception):
    """The run ends in Error before measuring; ``str()`` is Argo's run message."""


def follow(
    run: AnalysisRun,
    *,
    on_measurement: MeasurementCallback | None = None,
    on_wait: Callable[[AnalysisRun, float], None] | None = None,
    stop: threading.Event | None = None,
    secrets: SecretLookup | None = None,
    measure: Measure = take_measurement,
    clock: Callable[[], float] = time.time,
) -> Phase:
    """Drive ``run`` on the wall clock until it completes; returns its final phase.

    Setting ``stop`` terminates the run the way a Rollout does (``spec.terminate``), so it ends
    with Argo's ``Run Terminated`` outcome instead of being abandoned.
    """
    stop = stop or threading.Event()
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="measure") as pool:
        driver = AnalysisDriver(measure, executor=pool, secrets=secrets, on_measurement=on_measurement)
        while True:
            if stop.is_set():
                run.spec.terminate = True
            settled = driver.settle(run, clock())
            if run.status.phase.completed:
                return run.status.phase
            if settled.requeue_at is None:
                if run.spec.terminate:
                    return run.status.phase
                # Nothing scheduled (e.g. an in-flight measurement without resumeAt): poll.
                wait = 1.0
            else:
                wait = max(0.0, settled.requeue_at - clock())
            if on_wait is not None and wait >= 1.0:
                on_wait(run, wait)
            stop.wait(wait)


def measure_once(
    run: AnalysisRun,
    *,
    secrets: SecretLookup | None = None,
    measure: Measure = take_measurement,
    clock: Callable[[], float] = time.time,
) -> list[FinishedMeasurement]:
    """One measurement of every metric right now, ignoring initialDelay, interval and count.

    Raises :class:`InvalidRun` with Argo's run message when the run could not start at all.
    """
    now = clock()
    # The same checks a real run starts with (args, validation, rules), without measuring.
    probe = AnalysisRun(run.name, run.namespace, run.spec)
    first = reconcile(probe, now, secrets=secrets)
    if first.status.phase is Phase.ERROR:
        raise InvalidRun(first.status.message)
    args = run.spec.args
    redact: tuple[str, ...] = ()
    if secrets is not None and any(a.value_from and a.value_from.get("secretKeyRef") for a in args):
        args, values = with_secrets(args, run.namespace, secrets)
        redact = tuple(v for v in values if v)
    tasks = [MeasurementTask(m, secrets=redact) for m in resolve_metrics(run.spec.metrics, args)]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="measure") as pool:
        return list(pool.map(lambda t: measure(t, run, now), tasks))
