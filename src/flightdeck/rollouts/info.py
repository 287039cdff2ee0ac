"""What ``kubectl argo rollouts get rollout`` shows about a Rollout and its children (the plugin's
pkg/kubectl-argo-rollouts/info package): health, icons, weights, images, pods and analysis runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.rollouts import constants as c
from flightdeck.rollouts.conditions import rollout_phase
from flightdeck.rollouts.objutil import (
    annotations_of,
    as_int,
    meta,
    name_of,
    pod_hash,
    spec_of,
    status_of,
    timestamp,
    uid_of,
)
from flightdeck.rollouts.steps import current_set_weight, current_step, replicas_of, steps_of
from flightdeck.util.timefmt import human_duration

ICON_WAITING = "◷"
ICON_PROGRESSING = "◌"
ICON_WARNING = "⚠"
ICON_UNKNOWN = "?"
ICON_OK = "✔"
ICON_BAD = "✖"
ICON_PAUSED = "॥"
ICON_NEUTRAL = "•"

# Go's time.Sub saturates at ~292 years: the age of an object without a creation time.
_MAX_AGE_SECONDS = 9223372036.854775807


def age(obj: Mapping[str, Any], now: float) -> str:
    created = timestamp(meta(obj).get("creationTimestamp"))
    return human_duration(_MAX_AGE_SECONDS if created is None else now - created)


def _owned_by(obj: Mapping[str, Any], uids: set[str]) -> str | None:
    for ref in meta(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("uid") in uids:
            return str(ref.get("uid"))
    return None


def _revision(obj: Mapping[str, Any]) -> int:
    try:
        return int(str(annotations_of(obj).get(c.REVISION_ANNOTATION)))
    except ValueError:
        return 0


@dataclasses.dataclass(slots=True)
class PodInfo:
    name: str
    created: float
    status: str
    icon: str
    ready: str
    restarts: int
    obj: Mapping[str, Any]


@dataclasses.dataclass(slots=True)
class ReplicaSetInfo:
    name: str
    uid: str
    created: float
    status: str
    icon: str
    replicas: int
    available: int
    revision: int
    scale_down_deadline: str
    stable: bool
    canary: bool
    images: list[str]
    pods: list[PodInfo]
    obj: Mapping[str, Any]


@dataclasses.dataclass(slots=True)
class JobInfo:
    name: str
    status: str
    icon: str
    started: float | None


@dataclasses.dataclass(slots=True)
class AnalysisRunInfo:
    name: str
    created: float
    status: str
    icon: str
    revision: int
    successful: int
    failed: int
    inconclusive: int
    error: int
    jobs: list[JobInfo]
    obj: Mapping[str, Any]


@dataclasses.dataclass(slots=True)
class RolloutInfo:
    name: str
    namespace: str
    status: str
    message: str
    icon: str
    strategy: str
    step: str
    set_weight: str
    actual_weight: str
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    replica_sets: list[ReplicaSetInfo]
    analysis_runs: list[AnalysisRunInfo]
    obj: Mapping[str, Any]


def replica_set_health(rs: Mapping[str, Any]) -> str:
    """``getReplicaSetHealth``."""
    status = status_of(rs)
    spec_replicas = spec_of(rs).get("replicas")
    if as_int(meta(rs).get("generation")) <= as_int(status.get("observedGeneration")):
        failure = next((x for x in status.get("conditions") or () if x.get("type") == "ReplicaFailure"), None)
        if failure is not None and failure.get("status") == "True":
            return "ReplicaFailure"
        if spec_replicas is not None and as_int(status.get("availableReplicas")) < as_int(spec_replicas):
            return "Progressing"
    else:
        return "Progressing"
    if spec_replicas is not None and as_int(spec_replicas) == 0:
        return "ScaledDown"
    return "Healthy"


def _replica_set_icon(status: str) -> str:
    return {
        "Progressing": ICON_PROGRESSING,
        "Healthy": ICON_OK,
        "ReplicaFailure": ICON_BAD,
        "ScaledDown": ICON_NEUTRAL,
    }.get(status, " ")


def rollout_icon(status: str) -> str:
    return {
        "Progressing": ICON_PROGRESSING,
        "Error": ICON_WARNING,
        "InvalidSpec": ICON_WARNING,
        "Paused": ICON_PAUSED,
        "Healthy": ICON_OK,
        "Degraded": ICON_BAD,
        "Unknown": ICON_UNKNOWN,
        "ScaledDown": ICON_NEUTRAL,
    }.get(status, " ")


def analysis_icon(phase: str) -> str:
    return {
        "Successful": ICON_OK,
        "Inconclusive": ICON_UNKNOWN,
        "Failed": ICON_BAD,
        "Error": ICON_WARNING,
        "Running": ICON_PROGRESSING,
        "Pending": ICON_WAITING,
    }.get(phase, " ")


def pod_icon(status: str) -> str:
    if status.startswith("Init:"):
        return ICON_PROGRESSING
    if status.startswith(("Signal:", "ExitCode:")):
        return ICON_BAD
    if status.endswith("Error") or status.startswith("Err"):
        return ICON_WARNING
    return {
        "Pending": ICON_PROGRESSING,
        "Terminating": ICON_PROGRESSING,
        "ContainerCreating": ICON_PROGRESSING,
        "Running": ICON_OK,
        "Completed": ICON_OK,
        "Failed": ICON_BAD,
        "InvalidImageName": ICON_BAD,
        "CrashLoopBackOff": ICON_BAD,
        "ImagePullBackOff": ICON_WARNING,
        "RegistryUnavailable": ICON_WARNING,
        "Unknown": ICON_UNKNOWN,
    }.get(status, " ")


def pod_info(pod: Mapping[str, Any]) -> PodInfo:
    """``newPodInfo``: the status column ``kubectl get pods`` would show, readiness and restarts."""
    spec, status = spec_of(pod), status_of(pod)
    init_specs = spec.get("initContainers") or []
    sidecar = {str(ct.get("name")): ct.get("restartPolicy") == "Always" for ct in init_specs}
    reason = str(status.get("reason") or status.get("phase") or "")
    restarts = 0
    initializing = False
    for i, container in enumerate(status.get("initContainerStatuses") or ()):
        restarts += as_int(container.get("restartCount"))
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and as_int(terminated.get("exitCode")) == 0:
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                signal = as_int(terminated.get("signal"))
                reason = (
                    f"Init:Signal:{signal}"
                    if signal
                    else f"Init:ExitCode:{as_int(terminated.get('exitCode'))}"
                )
            else:
                reason = "Init:" + str(terminated["reason"])
            initializing = True
        elif sidecar.get(str(container.get("name"))) and container.get("started"):
            if container.get("ready"):
                continue
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
            initializing = True
        else:
            reason = f"Init:{i}/{len(init_specs)}"
            initializing = True
        break
    ready = 0
    if not initializing:
        restarts = 0
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += as_int(container.get("restartCount"))
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None and terminated.get("reason"):
                reason = str(terminated["reason"])
            elif terminated is not None:
                signal = as_int(terminated.get("signal"))
                reason = f"Signal:{signal}" if signal else f"ExitCode:{as_int(terminated.get('exitCode'))}"
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running"
    if meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    created = timestamp(meta(pod).get("creationTimestamp")) or 0.0
    return PodInfo(
        name_of(pod),
        created,
        reason,
        pod_icon(reason),
        f"{ready}/{len(spec.get('containers') or [])}",
        restarts,
        pod,
    )


def replica_set_infos(
    rollout: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
) -> list[ReplicaSetInfo]:
    owner = {uid_of(rollout)}
    status = status_of(rollout)
    infos: list[ReplicaSetInfo] = []
    for rs in replicasets:
        if _owned_by(rs, owner) is None:
            continue
        health = replica_set_health(rs)
        hash_value = pod_hash(rs)
        stable = status.get("stableRS") == hash_value
        template_spec = (spec_of(rs).get("template") or {}).get("spec") or {}
        infos.append(
            ReplicaSetInfo(
                name=name_of(rs),
                uid=uid_of(rs),
                created=timestamp(meta(rs).get("creationTimestamp")) or 0.0,
                status=health,
                icon=_replica_set_icon(health),
                replicas=as_int(status_of(rs).get("replicas")),
                available=as_int(status_of(rs).get("availableReplicas")),
                revision=_revision(rs),
                scale_down_deadline=str(annotations_of(rs).get(c.SCALE_DOWN_DEADLINE_ANNOTATION) or ""),
                stable=stable,
                canary=not stable and status.get("currentPodHash") == hash_value,
                images=[str(ct.get("image") or "") for ct in template_spec.get("containers") or ()],
                pods=[],
                obj=rs,
            )
        )
    # Argo's comparator means to order by creation time but never returns that result: revision, then name.
    infos.sort(key=lambda i: (-i.revision, i.name))
    by_uid = {i.uid: i for i in infos if i.uid}
    for pod in pods:
        uid = _owned_by(pod, set(by_uid))
        if uid is not None:
            by_uid[uid].pods.append(pod_info(pod))
    for info in infos:
        info.pods.sort(key=lambda p: (p.created, p.name))
    return infos


def analysis_run_infos(
    rollout: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]
) -> list[AnalysisRunInfo]:
    owner = {uid_of(rollout)}
    infos: list[AnalysisRunInfo] = []
    for run in runs:
        if _owned_by(run, owner) is None:
            continue
        status = status_of(run)
        phase = str(status.get("phase") or "")
        info = AnalysisRunInfo(
            name=name_of(run),
            created=timestamp(meta(run).get("creationTimestamp")) or 0.0,
            status=phase,
            icon=analysis_icon(phase),
            revision=_revision(run),
            successful=0,
            failed=0,
            inconclusive=0,
            error=0,
            jobs=[],
            obj=run,
        )
        for result in status.get("metricResults") or ():
            info.successful += as_int(result.get("successful"))
            info.failed += as_int(result.get("failed"))
            info.inconclusive += as_int(result.get("inconclusive"))
            info.error += as_int(result.get("error"))
            for measurement in result.get("measurements") or ():
                job = (measurement.get("metadata") or {}).get(c.JOB_NAME_KEY)
                if job:
                    job_phase = str(measurement.get("phase") or "")
                    info.jobs.append(
                        JobInfo(
                            str(job),
                            job_phase,
                            analysis_icon(job_phase),
                            timestamp(measurement.get("startedAt")),
                        )
                    )
        infos.append(info)
    # revision (newest first), then creation (oldest first), then name (descending)
    infos.sort(key=lambda i: i.name, reverse=True)
    infos.sort(key=lambda i: (-i.revision, i.created))
    return infos


def rollout_info(
    rollout: Mapping[str, Any],
    replicasets: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
    analysis_runs: Sequence[Mapping[str, Any]],
) -> RolloutInfo:
    """``NewRolloutInfo`` for a canary Rollout."""
    status = status_of(rollout)
    rs_infos = replica_set_infos(rollout, replicasets, pods)
    strategy = spec_of(rollout).get("strategy") or {}
    kind = (
        "Canary"
        if strategy.get("canary") is not None
        else "BlueGreen"
        if strategy.get("blueGreen") is not None
        else ""
    )
    step = set_weight = actual_weight = ""
    if kind == "Canary":
        steps = steps_of(rollout)
        if status.get("currentStepIndex") is not None and steps:
            step = f"{as_int(status['currentStepIndex'])}/{len(steps)}"
        set_weight = str(current_set_weight(rollout))
        actual_weight = "0"
        current, _ = current_step(rollout)
        available = as_int(status.get("availableReplicas"))
        if current is None:
            actual_weight = str(c.MAX_TRAFFIC_WEIGHT)
        elif available > 0:
            for rs in rs_infos:
                if rs.canary:
                    actual_weight = str(rs.available * c.MAX_TRAFFIC_WEIGHT // available)
    phase, message = rollout_phase(rollout)
    return RolloutInfo(
        name=name_of(rollout),
        namespace=str(meta(rollout).get("namespace") or ""),
        status=phase,
        message=message,
        icon=rollout_icon(phase),
        strategy=kind,
        step=step,
        set_weight=set_weight,
        actual_weight=actual_weight,
        desired=replicas_of(rollout),
        current=as_int(status.get("replicas")),
        updated=as_int(status.get("updatedReplicas")),
        ready=as_int(status.get("readyReplicas")),
        available=as_int(status.get("availableReplicas")),
        replica_sets=rs_infos,
        analysis_runs=analysis_run_infos(rollout, analysis_runs),
        obj=rollout,
    )


def images(info: RolloutInfo) -> list[tuple[str, list[str]]]:
    """``info.Images``: running images with their stack tags, sorted by image."""
    tags: dict[str, set[str]] = {}
    for rs in info.replica_sets:
        if rs.replicas <= 0:
            continue
        for image in rs.images:
            found = tags.setdefault(image, set())
            if rs.canary:
                found.add("canary")
            if rs.stable:
                found.add("stable")
    return [(image, sorted(tags[image])) for image in sorted(tags)]
