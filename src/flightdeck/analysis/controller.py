"""The AnalysisRun controller of the local cluster: stored AnalysisRun objects ⇄ the analysis engine.

Two layers, as in the rest of flightdeck:

* :func:`reconcile_analysis_run` is pure: (object, now, measurements finished since the last pass,
  secrets) → (kube actions, requeue time, measurement tasks). It converts the stored object into
  :mod:`flightdeck.analysis.types`, runs :func:`flightdeck.analysis.reconcile.reconcile` (Argo's
  ``reconcileAnalysisRun``) and turns the outcome into an ``UpdateStatus`` with Argo's JSON field
  names, Kubernetes ``Event`` s with Argo's reasons (``AnalysisRunSuccessful``, ``MetricFailed``, …)
  and, for a completed run past its ``ttlStrategy``, a ``Delete``.
* :class:`AnalysisRunController` is the shell the controller manager calls. It reads Secrets from
  the store for ``secretKeyRef`` args, hands measurement tasks to a worker pool (providers do
  network I/O; the reconcile path never waits for them) and feeds the finished measurements into the
  next pass, which it asks for by re-queueing the run. It also watches the Pods that ``job``
  measurements create (they are owned by the run), so a finished Job pod wakes its run.

As in Argo, a status that failed to be written loses the measurements of that pass; they are taken
again (a ``job`` measurement then finds its pod by name and adopts it).
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flightdeck.analysis.args import ArgumentError, SecretLookup
from flightdeck.analysis.driver import Measure, take_measurement
from flightdeck.analysis.providers import ClusterClient, ProviderError, build_provider, gohttp
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask, reconcile, ttl_deadline
from flightdeck.analysis.secrets import SecretStore
from flightdeck.analysis.types import (
    AnalysisRun,
    AnalysisRunSpec,
    AnalysisRunStatus,
    Measurement,
    MetricResult,
    Phase,
    RunSummary,
)
from flightdeck.kube.actions import Action, Delete, Event, Reconciled, UpdateStatus
from flightdeck.util.timefmt import parse_rfc3339_or_none

KIND = "AnalysisRun"
IN_FLIGHT_POLL = 5.0
"""Seconds between looks at a run whose measurement is still in flight (a ``job``): pod changes wake
the run at once, and a provider's ``wake_at`` (a Job's ``activeDeadlineSeconds``) brings the next pass
forward; this poll is the safety net for what neither announces."""
PREPARED_CACHE = 1024

log = logging.getLogger(__name__)
Obj = dict[str, Any]


# --- object ⇄ types ------------------------------------------------------------------------------------


def _phase(value: object, default: Phase = Phase.PENDING) -> Phase:
    try:
        return Phase(str(value))
    except ValueError:
        return default


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str_map(value: object) -> dict[str, str] | None:
    if not isinstance(value, Mapping) or not value:
        return None
    return {str(k): str(v) for k, v in value.items()}


def measurement_from_dict(raw: Mapping[str, Any]) -> Measurement:
    return Measurement(
        phase=_phase(raw.get("phase")),
        started_at=parse_rfc3339_or_none(raw.get("startedAt")),
        finished_at=parse_rfc3339_or_none(raw.get("finishedAt")),
        value=str(raw.get("value") or ""),
        message=str(raw.get("message") or ""),
        metadata=_str_map(raw.get("metadata")),
        resume_at=parse_rfc3339_or_none(raw.get("resumeAt")),
    )


def _summary(raw: object) -> RunSummary:
    raw = raw if isinstance(raw, Mapping) else {}
    return RunSummary(
        _int(raw.get("count")),
        _int(raw.get("successful")),
        _int(raw.get("failed")),
        _int(raw.get("inconclusive")),
        _int(raw.get("error")),
    )


def status_from_dict(raw: Mapping[str, Any] | None) -> AnalysisRunStatus:
    """A stored ``status`` as the engine's status (an empty status is a new run, ``Pending``)."""
    raw = raw or {}
    results: list[MetricResult] = []
    for item in raw.get("metricResults") or []:
        if not isinstance(item, Mapping):
            continue
        results.append(
            MetricResult(
                name=str(item.get("name") or ""),
                phase=_phase(item.get("phase"), Phase.RUNNING),
                message=str(item.get("message") or ""),
                measurements=[
                    measurement_from_dict(m) for m in item.get("measurements") or [] if isinstance(m, Mapping)
                ],
                count=_int(item.get("count")),
                successful=_int(item.get("successful")),
                failed=_int(item.get("failed")),
                inconclusive=_int(item.get("inconclusive")),
                error=_int(item.get("error")),
                consecutive_error=_int(item.get("consecutiveError")),
                consecutive_success=_int(item.get("consecutiveSuccess")),
                dry_run=bool(item.get("dryRun")),
                metadata=_str_map(item.get("metadata")),
            )
        )
    dry = raw.get("dryRunSummary")
    return AnalysisRunStatus(
        phase=_phase(raw.get("phase")),
        message=str(raw.get("message") or ""),
        metric_results=results,
        started_at=parse_rfc3339_or_none(raw.get("startedAt")),
        completed_at=parse_rfc3339_or_none(raw.get("completedAt")),
        run_summary=_summary(raw.get("runSummary")),
        dry_run_summary=_summary(dry) if isinstance(dry, Mapping) else None,
    )


def status_to_dict(status: AnalysisRunStatus) -> dict[str, Any]:
    """The status as Argo serialises it (``measurements`` is ``omitempty``)."""
    out = status.to_dict()
    for result in out.get("metricResults") or []:
        if not result.get("measurements"):
            result.pop("measurements", None)
    return out


def run_from_object(obj: Mapping[str, Any]) -> AnalysisRun:
    meta = obj.get("metadata") or {}
    raw_spec = obj.get("spec")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}
    return AnalysisRun(
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        spec=AnalysisRunSpec.from_dict(spec),
        status=status_from_dict(obj.get("status") if isinstance(obj.get("status"), Mapping) else None),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        created_at=parse_rfc3339_or_none(meta.get("creationTimestamp")),
        uid=str(meta.get("uid") or ""),
    )


# --- the pure pass ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Pass:
    """One reconcile of one AnalysisRun."""

    reconciled: Reconciled
    tasks: list[MeasurementTask] = field(default_factory=list)
    run: AnalysisRun | None = None
    """The run with the pass's new status: what the tasks were generated from."""


def reconcile_analysis_run(
    obj: Mapping[str, Any],
    now: float,
    finished: Sequence[FinishedMeasurement] = (),
    secrets: SecretLookup | None = None,
    *,
    prepared: object = None,
) -> Pass:
    """Argo's ``syncHandler`` for one run: reconcile, then the status patch, events and TTL deletion.

    ``prepared`` is the engine's derived-data cache from an earlier pass of the same spec generation.
    """
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Pass(Reconciled())  # Argo: no reconciliation once the run is marked for deletion
    run = run_from_object(obj)
    run.prepared = prepared
    namespace, name = run.namespace, run.name
    if run.status.phase.completed:
        deadline = ttl_deadline(run)
        if deadline is None:
            return Pass(Reconciled(), run=run)
        if now >= deadline:
            return Pass(Reconciled([Delete(KIND, namespace, name)]), run=run)
        return Pass(Reconciled(requeue_at=deadline), run=run)

    result = reconcile(run, now, finished, secrets, in_place=True)  # the run is this pass's own copy
    run.status = result.status
    actions: list[Action] = []
    new_status = status_to_dict(result.status)
    if new_status != obj.get("status"):
        updated = copy.deepcopy(dict(obj))
        updated["status"] = new_status
        # A merge patch of the status, like Argo's: no resourceVersion precondition.
        updated["metadata"] = {**updated.get("metadata", {}), "resourceVersion": ""}
        actions.append(UpdateStatus(updated))
    for event in result.events:
        warning = event.type == "Warning"
        actions.append(
            Event(KIND, namespace, name, event.reason, event.message, "Warning" if warning else "Normal")
        )

    requeue = result.requeue_at
    if result.changed:
        # Argo's extra pass after a status update: a completed metric can terminate its siblings.
        requeue = now
    if result.status.phase.completed:
        deadline = ttl_deadline(run)
        requeue = deadline if deadline is not None else None
    elif any(
        r.measurements and r.measurements[-1].finished_at is None and r.measurements[-1].resume_at is None
        for r in result.status.metric_results
    ):
        poll = now + IN_FLIGHT_POLL
        for task in result.tasks:
            wake = _provider_wake(task) if task.incomplete is not None and not task.terminate else None
            if wake is not None and now < wake < poll:
                poll = wake
        requeue = min(requeue, poll) if requeue is not None else poll
    return Pass(Reconciled(actions, requeue), result.tasks, run)


def _provider_wake(task: MeasurementTask) -> float | None:
    """When the provider must look at an in-flight measurement although no object change will say so
    (a Job's ``activeDeadlineSeconds``): the optional ``wake_at(metric, measurement)`` of providers.

    Building a provider is pure (no I/O), and only in-flight measurements of asynchronous providers
    get here, so this stays off the hot path of synchronous metrics."""
    assert task.incomplete is not None
    try:
        provider = build_provider(task.metric)
    except ProviderError:
        return None
    hook = getattr(provider, "wake_at", None)
    if not callable(hook):
        return None
    wake = hook(task.metric, task.incomplete)
    return float(wake) if isinstance(wake, int | float) else None


# --- secrets from the store --------------------------------------------------------------------------------


class StoreSecrets:
    """``secretKeyRef`` lookups against the store's Secret objects (the texts are
    :class:`~flightdeck.analysis.secrets.SecretStore`'s, i.e. Argo's)."""

    def __init__(self, store: ClusterClient) -> None:
        self._store = store

    def __call__(self, namespace: str, name: str, key: str) -> str:
        lookup = SecretStore()
        secret = self._store.get("Secret", namespace, name)
        if secret is not None:
            lookup.add(namespace, name, _secret_values(secret, name))
        return lookup(namespace, name, key)


def _secret_values(secret: Mapping[str, Any], name: str) -> dict[str, str]:
    raw_data, raw_strings = secret.get("data"), secret.get("stringData")
    values: dict[str, str] = {}
    for key, encoded in (raw_data if isinstance(raw_data, Mapping) else {}).items():
        try:
            values[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ArgumentError(f"key '{key}' of secret '{name}' is not valid base64 data") from None
    for key, text in (raw_strings if isinstance(raw_strings, Mapping) else {}).items():
        values[str(key)] = str(text)
    return values


# --- the controller -------------------------------------------------------------------------------------


class _InlineExecutor(Executor):
    """Runs each task at submission (deterministic tests on a virtual clock)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def inline_executor() -> Executor:
    return _InlineExecutor()


RunKey = tuple[str, str, str]  # namespace, name, uid


class AnalysisRunController:
    """Runs AnalysisRuns stored in the object store.

    ``clock`` gives the time measurements are taken at (the manager's clock); ``executor`` runs
    providers (a thread pool by default, :func:`inline_executor` for deterministic tests);
    ``wake(namespace, name)`` asks for another pass (the manager's ``enqueue``, set by
    :meth:`register`); ``resolver`` resolves cluster names for HTTP providers (host → IP, or None).
    """

    def __init__(
        self,
        store: ClusterClient,
        clock: Callable[[], float],
        *,
        executor: Executor | None = None,
        max_workers: int = 8,
        measure: Measure | None = None,
        wake: Callable[[str, str], None] | None = None,
        resolver: Callable[[str], str | None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self._owned_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="analysis")
        self.measure: Measure = measure or functools.partial(take_measurement, cluster=store)
        self.wake = wake
        self.secrets = StoreSecrets(store)
        self._lock = threading.Lock()
        self._finished: dict[RunKey, list[FinishedMeasurement]] = {}
        self._in_flight: dict[RunKey, set[str]] = {}
        self._urgent: set[RunKey] = set()
        self._prepared: OrderedDict[tuple[str, int], object] = OrderedDict()
        if resolver is not None:
            gohttp.set_resolver(resolver)

    # -- manager wiring ----------------------------------------------------------------------------------

    def register(self, manager: Any) -> None:
        """Register with a :class:`flightdeck.controllers.manager.ControllerManager`."""
        self.wake = lambda namespace, name: manager.enqueue(KIND, namespace, name)
        manager.register(KIND, self.reconcile, owns=("Pod",), name="analysisrun-controller")

    def reconcile(self, obj: Obj, store: Any, now: float) -> Reconciled:
        """The manager's entry point: observe, run the pure pass, start its measurements."""
        meta = obj.get("metadata") or {}
        key: RunKey = (
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            str(meta.get("uid") or ""),
        )
        with self._lock:
            finished = self._finished.pop(key, [])
            self._forget_others(key)
        generation = int(meta.get("generation") or 0)
        cache_key = (key[2], generation)
        step = reconcile_analysis_run(
            obj, now, finished, self.secrets, prepared=self._prepared.get(cache_key)
        )
        if step.run is not None and step.run.prepared is not None:
            self._remember(cache_key, step.run.prepared)
        with self._lock:
            in_flight = self._in_flight.setdefault(key, set())
            for item in finished:
                in_flight.discard(item.metric_name)
            tasks = [t for t in step.tasks if t.metric.name not in in_flight]
            if any(t.terminate and t.metric.name in in_flight for t in step.tasks):
                # a termination waits for the measurement in flight: wake as soon as that one is back
                self._urgent.add(key)
            in_flight.update(t.metric.name for t in tasks)
        if tasks and step.run is not None:
            self._start(key, step.run, tasks)
        return step.reconciled

    def _forget_others(self, key: RunKey) -> None:
        """Drop results of an earlier run of the same name (deleted and created again)."""
        for other in [k for k in self._finished if k[:2] == key[:2] and k != key]:
            del self._finished[other]
        for other in [k for k in self._in_flight if k[:2] == key[:2] and k != key]:
            del self._in_flight[other]

    def _remember(self, cache_key: tuple[str, int], prepared: object) -> None:
        self._prepared[cache_key] = prepared
        self._prepared.move_to_end(cache_key)
        while len(self._prepared) > PREPARED_CACHE:
            self._prepared.popitem(last=False)

    # -- measurements off the reconcile path ------------------------------------------------------------

    def _start(self, key: RunKey, run: AnalysisRun, tasks: list[MeasurementTask]) -> None:
        for task in tasks:
            future = self.executor.submit(self._take, task, run)
            future.add_done_callback(functools.partial(self._done, key, task))

    def _take(self, task: MeasurementTask, run: AnalysisRun) -> FinishedMeasurement:
        return self.measure(task, run, self.clock())

    def _done(self, key: RunKey, task: MeasurementTask, future: Future[FinishedMeasurement]) -> None:
        try:
            item = future.result()
        except BaseException as exc:  # take_measurement catches provider errors; this is a last resort
            now = self.clock()
            base = task.incomplete or Measurement(Phase.ERROR, started_at=now)
            item = FinishedMeasurement(
                task.metric.name,
                Measurement(
                    Phase.ERROR, base.started_at, now, message=f"internal error: {type(exc).__name__}: {exc}"
                ),
                resumed=task.incomplete is not None,
            )
        # A resume that found nothing new (the Job still runs) waits for the next pass, which a change
        # of the run's pods or the in-flight poll brings; waking now would resume it again at once.
        unchanged = task.incomplete is not None and item.measurement == task.incomplete
        if self.store.get(KIND, key[0], key[1]) is None:
            with self._lock:  # the run is gone: nobody will fold this in
                self._in_flight.pop(key, None)
                self._urgent.discard(key)
            return
        with self._lock:
            self._finished.setdefault(key, []).append(item)
            urgent = key in self._urgent
            self._urgent.discard(key)
        if self.wake is not None and (urgent or not unchanged):
            self.wake(key[0], key[1])

    def pending(self) -> int:
        """Measurements started and not yet folded into a status."""
        with self._lock:
            return sum(len(v) for v in self._in_flight.values())

    def close(self) -> None:
        if self._owned_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "IN_FLIGHT_POLL",
    "KIND",
    "AnalysisRunController",
    "Pass",
    "StoreSecrets",
    "inline_executor",
    "measurement_from_dict",
    "reconcile_analysis_run",
    "run_from_object",
    "status_from_dict",
    "status_to_dict",
]
