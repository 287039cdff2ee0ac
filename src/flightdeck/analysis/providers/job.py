"""``provider.job``: a metric measured by running a Kubernetes Job (Argo ``metricproviders/job/job.go``).

On the local cluster there is no Job controller, so the provider plays both parts: it creates the
Job's pod itself — named exactly as Argo names the Job (``<run-uid>.<metric>.<n>``, shortened to 63
characters), owned by the AnalysisRun, with Argo's labels and annotations — and applies the Job
controller's rules when it is resumed: the pod ``Succeeded`` → measurement ``Successful``; the pod
``Failed`` → another pod after the Job back-off (10 s, doubling, at most 10 min) until
``backoffLimit`` (default 6) is exceeded → ``Failed``; with ``restartPolicy: OnFailure`` the node
restarts the container and ``backoffLimit`` counts restarts; ``activeDeadlineSeconds`` fails the
measurement when it passes. Like Argo's, the provider is asynchronous: ``run`` starts the pod and
returns a ``Running`` measurement, ``resume`` checks on it (the controller calls it again whenever
one of the run's pods changes), ``terminate`` deletes the pods and ends the measurement
``Successful`` (the engine then says ``Metric Terminated``).

Only a measurement waiting for a back-off carries ``resumeAt`` (so that the controller wakes up
for the retry); Argo's measurements never do, because there the Job controller does the waiting.
``activeDeadlineSeconds`` is checked whenever the measurement is resumed; :meth:`JobProvider.wake_at`
tells the AnalysisRun controller to resume it when the deadline passes.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from flightdeck.analysis.providers.base import ClusterClient, MeasureContext, ProviderError, register_provider
from flightdeck.analysis.types import Measurement, Metric, Phase
from flightdeck.kube.errors import AlreadyExists, ApiError, NotFound
from flightdeck.util.timefmt import parse_rfc3339

JOB_NAME_KEY = "job-name"
JOB_NAMESPACE_KEY = "job-namespace"
RUN_NAME_ANNOTATION = "analysisrun.argoproj.io/name"
RUN_NAMESPACE_ANNOTATION = "analysisrun.argoproj.io/namespace"
METRIC_ANNOTATION = "analysisrun.argoproj.io/metric-name"
RUN_UID_LABEL = "analysisrun.argoproj.io/uid"
POD_JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
DNS_LABEL_LIMIT = 63
DEFAULT_BACKOFF_LIMIT = 6
POD_FAILURE_BACKOFF = 10.0
MAX_POD_FAILURE_BACKOFF = 600.0
DEFAULT_JOB_HISTORY = 10
"""Argo keeps the Jobs of the newest measurements (its default measurement history limit)."""


def job_name(run_uid: str, metric_name: str, ordinal: int) -> str:
    """Argo's ``newJobName``: ``<uid>.<metric>.<n>``, the metric name cut so the whole fits 63 characters."""
    name = f"{run_uid}.{metric_name}.{ordinal}"
    if len(name) <= DNS_LABEL_LIMIT:
        return name
    keep = max(0, len(metric_name) - (len(name) - DNS_LABEL_LIMIT))
    return f"{run_uid}.{metric_name[:keep]}.{ordinal}"


@dataclasses.dataclass(frozen=True, slots=True)
class JobConfig:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: Mapping[str, Any]

    @property
    def template(self) -> Mapping[str, Any]:
        template = self.spec.get("template")
        return template if isinstance(template, Mapping) else {}

    @property
    def pod_spec(self) -> Mapping[str, Any]:
        spec = self.template.get("spec")
        return spec if isinstance(spec, Mapping) else {}

    @property
    def restart_policy(self) -> str:
        # The pod default applies before the Job is validated.
        return str(self.pod_spec.get("restartPolicy") or "Always")

    @property
    def backoff_limit(self) -> int:
        value = self.spec.get("backoffLimit")
        return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_BACKOFF_LIMIT

    @property
    def active_deadline(self) -> float | None:
        value = self.spec.get("activeDeadlineSeconds")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def parse_config(metric: Metric) -> JobConfig:
    raw = metric.provider.get("job")
    if not isinstance(raw, Mapping):
        raise ProviderError("job provider: provider.job must be an object with metadata and spec")
    meta = _mapping(raw.get("metadata"))
    spec = raw.get("spec")
    if not isinstance(spec, Mapping):
        raise ProviderError("job provider: provider.job.spec is required")
    return JobConfig(_str_map(meta.get("labels")), _str_map(meta.get("annotations")), spec)


def _error(measurement: Measurement, message: str, now: float) -> Measurement:
    """Argo's ``MarkMeasurementError``."""
    finished = measurement.finished_at if measurement.finished_at is not None else now
    return dataclasses.replace(
        measurement, phase=Phase.ERROR, message=message, finished_at=finished, resume_at=None
    )


def _finish(measurement: Measurement, phase: Phase, now: float) -> Measurement:
    return dataclasses.replace(measurement, phase=phase, finished_at=now, resume_at=None)


def _cluster(ctx: MeasureContext) -> ClusterClient:
    if ctx.cluster is None:
        raise ProviderError(
            "not supported: the job provider runs Jobs on the local cluster (flightdeck up) only"
        )
    return ctx.cluster


class JobProvider:
    """``provider.job``."""

    def __init__(self, metric: Metric) -> None:
        self.config = parse_config(metric)

    def kind(self) -> str:
        return "Job"

    def metadata(self, metric: Metric) -> dict[str, str] | None:
        return None

    # -- the pod ---------------------------------------------------------------------------------------

    def pod(self, ctx: MeasureContext, metric: Metric, name: str, job: str) -> dict[str, Any]:
        """The pod standing for the Job: Argo's Job metadata plus the Job controller's pod labels."""
        cfg = self.config
        template_meta = self.config.template.get("metadata")
        template_meta = template_meta if isinstance(template_meta, Mapping) else {}
        labels = {**cfg.labels, **_str_map(template_meta.get("labels"))}
        labels[RUN_UID_LABEL] = ctx.run_uid
        for key in POD_JOB_NAME_LABELS:
            labels[key] = job
        annotations = {**cfg.annotations, **_str_map(template_meta.get("annotations"))}
        annotations[RUN_NAME_ANNOTATION] = ctx.run_name
        annotations[RUN_NAMESPACE_ANNOTATION] = ctx.namespace
        annotations[METRIC_ANNOTATION] = metric.name
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": ctx.namespace,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "argoproj.io/v1alpha1",
                        "kind": "AnalysisRun",
                        "name": ctx.run_name,
                        "uid": ctx.run_uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(dict(cfg.pod_spec)),
        }

    def _validate(self, job: str) -> str:
        policy = self.config.restart_policy
        if policy not in ("Never", "OnFailure"):
            return (
                f'Job.batch "{job}" is invalid: spec.template.spec.restartPolicy: Unsupported value: '
                f'"{policy}": supported values: "OnFailure", "Never"'
            )
        if not self.config.pod_spec.get("containers"):
            return f'Job.batch "{job}" is invalid: spec.template.spec.containers: Required value'
        return ""

    def _create(
        self, cluster: ClusterClient, ctx: MeasureContext, metric: Metric, name: str, job: str
    ) -> str:
        """Create one pod of the job; "" or the error text (a pod of this run already there is fine)."""
        try:
            cluster.create(self.pod(ctx, metric, name, job))
        except AlreadyExists:
            existing = cluster.get("Pod", ctx.namespace, name)
            owner = _owner_uid(existing) if existing is not None else ""
            if owner != ctx.run_uid:
                # the API server's text for the Job this pod stands for
                return f'jobs.batch "{name}" already exists'
        except ApiError as exc:
            return str(exc)
        return ""

    # -- the provider interface ----------------------------------------------------------------------

    def run(self, ctx: MeasureContext, metric: Metric) -> Measurement:
        cluster = _cluster(ctx)
        measurement = Measurement(Phase.RUNNING, started_at=ctx.now)
        job = job_name(ctx.run_uid, metric.name, ctx.ordinal)
        problem = self._validate(job) or self._create(cluster, ctx, metric, job, job)
        if problem:
            return _error(measurement, problem, ctx.now)
        self._garbage_collect(cluster, ctx)
        return dataclasses.replace(
            measurement, metadata={JOB_NAME_KEY: job, JOB_NAMESPACE_KEY: ctx.namespace}
        )

    def resume(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        cluster = _cluster(ctx)
        meta = measurement.metadata or {}
        job = meta.get(JOB_NAME_KEY, "")
        if not job:
            return _error(measurement, "job metadata reference missing", ctx.now)
        namespace = meta.get(JOB_NAMESPACE_KEY) or ctx.namespace
        pods = _job_pods(cluster, namespace, job)
        if not pods:
            return _error(measurement, f'job.batch "{job}" not found', ctx.now)
        if any(_phase(p) == "Succeeded" for p in pods):
            return _finish(measurement, Phase.SUCCESSFUL, ctx.now)
        cfg = self.config
        active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed")]
        failed = [p for p in pods if _phase(p) == "Failed"]
        started = measurement.started_at if measurement.started_at is not None else ctx.now
        deadline = cfg.active_deadline
        if deadline is not None and ctx.now >= started + deadline:
            self._delete(cluster, namespace, active)
            return _finish(measurement, Phase.FAILED, ctx.now)
        if cfg.restart_policy == "OnFailure":
            restarts = sum(_restarts(p) for p in pods)
            limit = cfg.backoff_limit
            if (restarts > 0 if limit == 0 else restarts >= limit) or (failed and not active):
                self._delete(cluster, namespace, active)
                return _finish(measurement, Phase.FAILED, ctx.now)
            return _waiting(measurement)
        if len(failed) > cfg.backoff_limit:
            self._delete(cluster, namespace, active)
            return _finish(measurement, Phase.FAILED, ctx.now)
        if active or not failed:
            return _waiting(measurement)
        # The Job controller replaces a failed pod after its back-off.
        retry_at = max(_failed_at(p) for p in failed) + _backoff(len(failed))
        if ctx.now < retry_at:
            return dataclasses.replace(measurement, resume_at=_earliest(retry_at, deadline, started))
        problem = self._create(cluster, ctx, metric, f"{job}-{len(failed)}", job)
        if problem:
            return _error(measurement, problem, ctx.now)
        return _waiting(measurement)

    def wake_at(self, metric: Metric, measurement: Measurement) -> float | None:
        """When an in-flight measurement must be resumed although no pod changed: the Job controller's
        own timer, ``activeDeadlineSeconds`` after the Job started (the AnalysisRun controller
        schedules a pass then)."""
        deadline = self.config.active_deadline
        if deadline is None or measurement.finished_at is not None or measurement.started_at is None:
            return None
        return measurement.started_at + deadline

    def terminate(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        cluster = _cluster(ctx)
        meta = measurement.metadata or {}
        job = meta.get(JOB_NAME_KEY, "")
        if not job:
            return _error(measurement, "job metadata reference missing", ctx.now)
        namespace = meta.get(JOB_NAMESPACE_KEY) or ctx.namespace
        try:
            self._delete(cluster, namespace, _job_pods(cluster, namespace, job))
        except ApiError as exc:
            return _error(measurement, str(exc), ctx.now)
        return _finish(measurement, Phase.SUCCESSFUL, ctx.now)

    # -- housekeeping ----------------------------------------------------------------------------------

    @staticmethod
    def _delete(cluster: ClusterClient, namespace: str, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            with contextlib.suppress(NotFound):
                cluster.delete("Pod", namespace, str(pod["metadata"]["name"]))

    @staticmethod
    def _garbage_collect(
        cluster: ClusterClient, ctx: MeasureContext, limit: int = DEFAULT_JOB_HISTORY
    ) -> None:
        """Argo's ``GarbageCollect``: keep the newest ``limit`` jobs of the run (all metrics), delete the rest."""
        pods = cluster.list("Pod", ctx.namespace, {RUN_UID_LABEL: ctx.run_uid})
        jobs: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            jobs.setdefault(str(pod["metadata"].get("labels", {}).get("job-name", "")), []).append(pod)
        if len(jobs) <= limit:
            return
        ordered = sorted(jobs.values(), key=lambda group: min(_created(p) for p in group))
        for group in ordered[: len(ordered) - limit]:
            try:
                JobProvider._delete(cluster, ctx.namespace, group)
            except ApiError:
                return  # Argo stops at the first failed deletion and tries again next time


def _job_pods(cluster: ClusterClient, namespace: str, job: str) -> list[dict[str, Any]]:
    pods = cluster.list("Pod", namespace, {"job-name": job})
    return sorted(pods, key=_created)


def _owner_uid(obj: Mapping[str, Any]) -> str:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return str(ref.get("uid") or "")
    return ""


def _phase(pod: Mapping[str, Any]) -> str:
    status = pod.get("status")
    return str(status.get("phase") or "") if isinstance(status, Mapping) else ""


def _restarts(pod: Mapping[str, Any]) -> int:
    status = _mapping(pod.get("status"))
    total = 0
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, Mapping) and isinstance(cs.get("restartCount"), int):
                total += cs["restartCount"]
    return total


def _created(pod: Mapping[str, Any]) -> float:
    stamp = pod.get("metadata", {}).get("creationTimestamp")
    try:
        return parse_rfc3339(str(stamp)) if stamp else 0.0
    except ValueError:
        return 0.0


def _failed_at(pod: Mapping[str, Any]) -> float:
    """When the pod failed: its containers' termination time, else its creation time."""
    status = _mapping(pod.get("status"))
    latest = 0.0
    for cs in status.get("containerStatuses") or []:
        finished = _mapping(_mapping(_mapping(cs).get("state")).get("terminated")).get("finishedAt")
        if finished:
            try:
                latest = max(latest, parse_rfc3339(str(finished)))
            except ValueError:
                continue
    return latest if latest else _created(pod)


def _backoff(failures: int) -> float:
    return float(min(POD_FAILURE_BACKOFF * 2.0 ** max(0, failures - 1), MAX_POD_FAILURE_BACKOFF))


def _earliest(moment: float, deadline: float | None, started: float) -> float:
    return moment if deadline is None else min(moment, started + deadline)


def _waiting(measurement: Measurement) -> Measurement:
    """Still running. No ``resumeAt``: that would hold back the resume a pod change asks for; the
    controller resumes on pod changes, at :meth:`JobProvider.wake_at`, and every few seconds."""
    return dataclasses.replace(measurement, resume_at=None)


def _factory(metric: Metric) -> JobProvider:
    return JobProvider(metric)


register_provider("job", _factory)
