"""Resource health as Argo CD assesses it (gitops-engine's built-in checks, argo-cd's Lua check for Argo
Rollouts) and the application's aggregate health (worst first: Unknown, Degraded, Missing, Progressing,
Suspended, Healthy)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

HEALTHY = "Healthy"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
SUSPENDED = "Suspended"
MISSING = "Missing"
UNKNOWN = "Unknown"

# Most healthy to least healthy (gitops-engine's healthOrder).
_ORDER = (HEALTHY, SUSPENDED, PROGRESSING, MISSING, DEGRADED, UNKNOWN)
_RANK = {code: i for i, code in enumerate(_ORDER)}


@dataclasses.dataclass(frozen=True, slots=True)
class Health:
    status: str
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"status": self.status}
        if self.message:
            out["message"] = self.message
        return out


def is_worse(current: str, new: str) -> bool:
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return default


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _generation(obj: Mapping[str, Any]) -> int:
    return _int((obj.get("metadata") or {}).get("generation"))


def _condition(status: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def deployment_health(obj: Mapping[str, Any]) -> Health:
    spec, status = _spec(obj), _status(obj)
    if spec.get("paused"):
        return Health(SUSPENDED, "Deployment is paused")
    if _generation(obj) > _int(status.get("observedGeneration")):
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    cond = _condition(status, "Progressing")
    replicas = _int(spec.get("replicas"), 1)  # the API server defaults spec.replicas to 1
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        return Health(DEGRADED, f'Deployment "{_name(obj)}" exceeded its progress deadline')
    if updated < replicas:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated...",
        )
    if total > updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {total - updated} old replicas are pending termination...",
        )
    if available < updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...",
        )
    return Health(HEALTHY)


def replicaset_health(obj: Mapping[str, Any]) -> Health:
    spec, status = _spec(obj), _status(obj)
    if _generation(obj) > _int(status.get("observedGeneration")):
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    cond = _condition(status, "ReplicaFailure")
    if cond is not None and cond.get("status") == "True":
        return Health(DEGRADED, str(cond.get("message") or ""))
    replicas = _int(spec.get("replicas"), 1)
    available = _int(status.get("availableReplicas"))
    if available < replicas:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {replicas} new replicas are available...",
        )
    return Health(HEALTHY)


def daemonset_health(obj: Mapping[str, Any]) -> Health:
    spec, status = _spec(obj), _status(obj)
    if _generation(obj) > _int(status.get("observedGeneration")):
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    updated = _int(status.get("updatedNumberScheduled"))
    desired = _int(status.get("desiredNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") == "OnDelete":
        return Health(HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated")
    if updated < desired:
        return Health(
            PROGRESSING,
            f'Waiting for daemon set "{_name(obj)}" rollout to finish: {updated} out of {desired} new pods have been updated...',
        )
    if available < desired:
        return Health(
            PROGRESSING,
            f'Waiting for daemon set "{_name(obj)}" rollout to finish: {available} of {desired} updated pods are available...',
        )
    return Health(HEALTHY)


def statefulset_health(obj: Mapping[str, Any]) -> Health:
    spec, status = _spec(obj), _status(obj)
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _generation(obj) > observed:
        return Health(PROGRESSING, "Waiting for statefulset spec update to be observed...")
    replicas = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    if ready < replicas:
        return Health(PROGRESSING, f"Waiting for {replicas - ready} pods to be ready...")
    strategy = spec.get("updateStrategy") or {}
    strategy_type = strategy.get("type") or "RollingUpdate"
    updated = _int(status.get("updatedReplicas"))
    if strategy_type == "RollingUpdate" and strategy.get("rollingUpdate") is not None:
        partition = (strategy.get("rollingUpdate") or {}).get("partition")
        if partition is not None and updated < replicas - _int(partition):
            return Health(
                PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of {replicas - _int(partition)} new pods have been updated...",
            )
        return Health(HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated...")
    if strategy_type == "OnDelete":
        return Health(HEALTHY, f"statefulset has {ready} ready pods")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Health(
            PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {status.get('updateRevision') or ''}...",
        )
    return Health(
        HEALTHY,
        f"statefulset rolling update complete {_int(status.get('currentReplicas'))} pods at revision {status.get('currentRevision') or ''}...",
    )


def _pod_ready(status: Mapping[str, Any]) -> bool:
    cond = _condition(status, "Ready")
    return cond is not None and cond.get("status") == "True"


def _fail_message(ctr: Mapping[str, Any]) -> str:
    terminated = (ctr.get("state") or {}).get("terminated")
    if isinstance(terminated, dict):
        if terminated.get("message"):
            return str(terminated["message"])
        if terminated.get("reason") == "OOMKilled":
            return "OOMKilled"
        code = _int(terminated.get("exitCode"))
        if code != 0:
            return f'container "{ctr.get("name") or ""}" failed with exit code {code}'
    return ""


def pod_health(obj: Mapping[str, Any]) -> Health:
    spec, status = _spec(obj), _status(obj)
    restart_policy = spec.get("restartPolicy") or "Always"
    message = str(status.get("message") or "")
    if restart_policy == "Always":
        messages = []
        for ctr in status.get("containerStatuses") or ():
            waiting = (ctr.get("state") or {}).get("waiting")
            if isinstance(waiting, dict):
                reason = str(waiting.get("reason") or "")
                if reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff"):
                    messages.append(str(waiting.get("message") or ""))
        if messages:
            return Health(DEGRADED, ", ".join(messages))
    phase = status.get("phase")
    if phase == "Pending":
        return Health(PROGRESSING, message)
    if phase == "Succeeded":
        return Health(HEALTHY, message)
    if phase == "Failed":
        if message:
            return Health(DEGRADED, message)
        for ctr in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]:
            fail = _fail_message(ctr)
            if fail:
                return Health(DEGRADED, fail)
        return Health(DEGRADED, "")
    if phase == "Running":
        if restart_policy == "Always":
            if _pod_ready(status):
                return Health(HEALTHY, message)
            for ctr in status.get("containerStatuses") or ():
                if isinstance((ctr.get("lastState") or {}).get("terminated"), dict):
                    return Health(DEGRADED, message)
            return Health(PROGRESSING, message)
        return Health(PROGRESSING, message)
    return Health(UNKNOWN, message)


def service_health(obj: Mapping[str, Any]) -> Health:
    if _spec(obj).get("type") == "LoadBalancer":
        ingress = ((_status(obj).get("loadBalancer") or {}).get("ingress")) or []
        return Health(HEALTHY if ingress else PROGRESSING)
    return Health(HEALTHY)


def pvc_health(obj: Mapping[str, Any]) -> Health:
    phase = _status(obj).get("phase")
    if phase == "Lost":
        return Health(DEGRADED)
    if phase == "Pending":
        return Health(PROGRESSING)
    if phase == "Bound":
        return Health(HEALTHY)
    return Health(UNKNOWN)


def job_health(obj: Mapping[str, Any]) -> Health:
    failed = complete = suspended = False
    fail_message = message = ""
    for cond in _status(obj).get("conditions") or ():
        type_ = cond.get("type") if isinstance(cond, dict) else None
        if type_ == "Failed":
            failed = complete = True
            fail_message = str(cond.get("message") or "")
        elif type_ == "Complete":
            complete = True
            message = str(cond.get("message") or "")
        elif type_ == "Suspended":
            complete = True
            message = str(cond.get("message") or "")
            suspended = cond.get("status") == "True"
    if not complete:
        return Health(PROGRESSING, message)
    if failed:
        return Health(DEGRADED, fail_message)
    if suspended:
        return Health(SUSPENDED, fail_message)
    return Health(HEALTHY, message)


def ingress_health(obj: Mapping[str, Any]) -> Health:
    ingress = ((_status(obj).get("loadBalancer") or {}).get("ingress")) or []
    return Health(HEALTHY if ingress else PROGRESSING)


def _lua_tonumber(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def rollout_health(obj: Mapping[str, Any]) -> Health:
    """argo-cd's ``resource_customizations/argoproj.io/Rollout/health.lua``."""
    spec = _spec(obj)
    status = obj.get("status")
    meta = obj.get("metadata") or {}
    if not isinstance(status, dict):
        return Health(PROGRESSING, "Waiting for rollout spec update to be observed")
    observed_raw = status.get("observedGeneration")
    observed: int | None
    try:
        observed = (
            int(observed_raw) if observed_raw is not None and not isinstance(observed_raw, bool) else None
        )
    except (TypeError, ValueError):
        observed = None  # Lua's tonumber() of a hash-like string: a v0.9 rollout, treated as observed
    generation = _int(meta.get("generation"))
    generation_observed = observed is None or observed > generation or observed == generation
    workload_observed = True
    if spec.get("workloadRef") is not None and meta.get("annotations") is not None:
        want = _lua_tonumber((meta.get("annotations") or {}).get("rollout.argoproj.io/workload-generation"))
        workload_observed = want == _lua_tonumber(status.get("workloadObservedGeneration"))
    if not generation_observed or not workload_observed:
        return Health(PROGRESSING, "Waiting for rollout spec update to be observed")
    phase = status.get("phase")
    if phase is not None:
        return Health(SUSPENDED if phase == "Paused" else str(phase), str(status.get("message") or ""))
    for cond in status.get("conditions") or ():
        if not isinstance(cond, dict):
            continue
        if cond.get("type") == "InvalidSpec":
            return Health(DEGRADED, str(cond.get("message") or ""))
        if cond.get("type") == "Progressing" and cond.get("reason") in (
            "RolloutAborted",
            "ProgressDeadlineExceeded",
        ):
            return Health(DEGRADED, str(cond.get("message") or ""))
    if status.get("pauseConditions") or spec.get("paused"):
        return Health(SUSPENDED, "Rollout is paused")
    if status.get("currentPodHash") is None:
        return Health(PROGRESSING, "Waiting for rollout to finish: status has not been reconciled.")
    desired = _int(spec.get("replicas"), 1)
    replicas = _int(status.get("replicas"))
    updated = _int(status.get("updatedReplicas"))
    available = _int(status.get("availableReplicas"))
    if updated < desired:
        return Health(PROGRESSING, "Waiting for roll out to finish: More replicas need to be updated")
    if available < updated:
        return Health(
            PROGRESSING, "Waiting for roll out to finish: updated replicas are still becoming available"
        )
    stable = status.get("stableRS")
    if stable is None:
        stable = (status.get("canary") or {}).get("stableRS") or ""
    strategy = spec.get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        active = (status.get("blueGreen") or {}).get("activeSelector")
        if active != status.get("currentPodHash"):
            return Health(PROGRESSING, "active service cutover pending")
        if stable and stable != status.get("currentPodHash"):
            return Health(PROGRESSING, "waiting for analysis to complete")
    elif strategy.get("canary") is not None:
        if replicas > updated:
            return Health(PROGRESSING, "Waiting for roll out to finish: old replicas are pending termination")
        if not stable or stable != status.get("currentPodHash"):
            return Health(PROGRESSING, "Waiting for rollout to finish steps")
    return Health(HEALTHY)


def _group(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "")
    return api_version.rpartition("/")[0]


HealthCheck = Callable[[Mapping[str, Any]], Health]

_CHECKS: dict[tuple[str, str], HealthCheck] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "ReplicaSet"): replicaset_health,
    ("apps", "DaemonSet"): daemonset_health,
    ("apps", "StatefulSet"): statefulset_health,
    ("", "Pod"): pod_health,
    ("", "Service"): service_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("batch", "Job"): job_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("extensions", "Ingress"): ingress_health,
    ("argoproj.io", "Rollout"): rollout_health,
}


def has_health_check(group: str, kind: str) -> bool:
    return (group, kind) in _CHECKS


def resource_health(obj: Mapping[str, Any]) -> Health | None:
    """The health of one live object, or None for kinds without a health check (ConfigMap, Secret…)."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Health(PROGRESSING, "Pending deletion")
    check = _CHECKS.get((_group(obj), str(obj.get("kind") or "")))
    if check is None:
        return None
    try:
        return check(obj)
    except (TypeError, ValueError, AttributeError) as exc:
        # A malformed status is reported, not raised: Argo CD shows Unknown with the error.
        return Health(UNKNOWN, f"failed to get resource health: {exc}")
