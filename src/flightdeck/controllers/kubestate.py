"""Monitoring series for the local cluster, in the Prometheus text exposition format.

* kube-state-metrics v2 families for DaemonSets, Deployments, Pods (and their containers) and ReplicaSets:
  the same names, HELP texts (``[STABLE]`` prefixes), label names and label order (``namespace``,
  ``<object>``, ``uid`` first) and value formatting as kube-state-metrics' ``internal/store``. Object labels
  are exported on ``kube_<kind>_labels`` as with ``--metric-labels-allowlist=<kind>=[*]``.
* Argo Rollouts controller families (``controller/metrics``): ``rollout_info``, ``rollout_info_replicas_*``,
  ``rollout_phase``, ``analysis_run_info``, ``analysis_run_phase``, ``analysis_run_metric_type``,
  ``analysis_run_metric_phase``, ``analysis_template_info``, ``analysis_template_metric_info`` — written as
  client_golang writes them (families sorted by name, label names sorted).
* flightdeck's own rollout and analysis series (``flightdeck_rollout_step``, ``flightdeck_rollout_weight``,
  ``flightdeck_rollout_phase``, ``flightdeck_analysis_run_metric_value``): what a dashboard of a canary
  needs and neither project exports.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flightdeck.kube.podutil import controller_ref
from flightdeck.kube.quantity import QuantityError, quantity_float, quantity_value
from flightdeck.kube.store import ObjectStore
from flightdeck.util.gofmt import format_float_v
from flightdeck.util.timefmt import parse_rfc3339

Obj = dict[str, Any]
Sample = tuple[list[tuple[str, str]], float]

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_MATCH_ALL_CAP = re.compile(r"([a-z0-9])([A-Z])")
_CONDITION_STATUSES = ("True", "False", "Unknown")
_DEPLOYMENT_REASONS = frozenset(
    {
        "ReplicaSetUpdated",
        "ReplicaSetCreateError",
        "NewReplicaSetCreated",
        "FoundNewReplicaSet",
        "NewReplicaSetAvailable",
        "ProgressDeadlineExceeded",
        "DeploymentPaused",
        "DeploymentResumed",
        "MinimumReplicasAvailable",
        "MinimumReplicasUnavailable",
        "",
    }
)


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _ts(value: Any) -> float | None:
    if not value:
        return None
    try:
        return float(int(parse_rfc3339(str(value))))
    except ValueError:
        return None


def _b(flag: bool) -> float:
    return 1.0 if flag else 0.0


class _Family:
    __slots__ = ("help", "name", "stable", "type")

    def __init__(self, name: str, help: str, type: str = "gauge", stable: bool = True) -> None:
        self.name = name
        self.help = help
        self.type = type
        self.stable = stable

    def header(self) -> str:
        text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        prefix = "[STABLE] " if self.stable else ""
        return f"# HELP {self.name} {prefix}{text}\n# TYPE {self.name} {self.type}\n"


Generator = Callable[[Obj], list[Sample]]


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _status(obj: Obj) -> Obj:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _prometheus_labels(prefix: str, data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``mapToPrometheusLabels``: sorted keys, sanitized and snake_cased, collisions suffixed ``_conflictN``."""
    if not data:
        return []
    keys: list[str] = []
    values: list[str] = []
    used: dict[str, int] = {}
    conflicts: dict[str, int] = {}

    def next_free(base: str, count: int) -> tuple[str, int]:
        while True:
            count += 1
            candidate = f"{base}_conflict{count}"
            if candidate not in used:
                return candidate, count

    for key in sorted(str(k) for k in data):
        base = prefix + "_" + _MATCH_ALL_CAP.sub(r"\1_\2", _INVALID_LABEL_CHARS.sub("_", key)).lower()
        name = base
        if base in conflicts:
            name, conflicts[base] = next_free(base, conflicts[base])
        elif name in used:
            renamed, count = next_free(base, 0)
            index = used.pop(name)
            keys[index] = renamed
            used[renamed] = index
            name, conflicts[base] = next_free(base, count)
        used[name] = len(keys)
        keys.append(name)
        values.append(str(data[key]))
    return list(zip(keys, values, strict=True))


def _conditions(status: str) -> list[Sample]:
    return [([("condition", s.lower())], _b(status == s)) for s in _CONDITION_STATUSES]


# --- pods -------------------------------------------------------------------------------------------------


def _container_statuses(pod: Obj) -> list[Obj]:
    return [cs for cs in _status(pod).get("containerStatuses") or [] if isinstance(cs, dict)]


def _state(cs: Obj, which: str) -> Obj | None:
    state = (cs.get("state") or {}).get(which)
    return state if isinstance(state, dict) else None


def _last_terminated(cs: Obj) -> Obj | None:
    state = (cs.get("lastState") or {}).get("terminated")
    return state if isinstance(state, dict) else None


def _resources(pod: Obj, which: str) -> list[Sample]:
    out: list[Sample] = []
    node = str(_spec(pod).get("nodeName") or "")
    for c in _spec(pod).get("containers") or []:
        values = ((c.get("resources") or {}).get(which) or {}) if isinstance(c, dict) else {}
        for resource in sorted(values):
            try:
                if resource == "cpu":
                    unit, value = "core", quantity_float(values[resource])
                elif resource in ("memory", "storage", "ephemeral-storage") or resource.startswith(
                    "hugepages-"
                ):
                    unit, value = "byte", float(quantity_value(values[resource]))
                elif "/" in resource and not resource.startswith("kubernetes.io/"):
                    unit, value = "integer", float(quantity_value(values[resource]))
                else:
                    continue
            except QuantityError:
                continue
            label = _INVALID_LABEL_CHARS.sub("_", resource)
            out.append(
                (
                    [("container", str(c.get("name"))), ("node", node), ("resource", label), ("unit", unit)],
                    value,
                )
            )
    return out


def _per_status(
    pod: Obj, fn: Callable[[Obj], float | None], extra: Callable[[Obj], list[tuple[str, str]]] | None = None
) -> list[Sample]:
    out: list[Sample] = []
    for cs in _container_statuses(pod):
        value = fn(cs)
        if value is None:
            continue
        labels = [("container", str(cs.get("name") or ""))]
        if extra is not None:
            labels += extra(cs)
        out.append((labels, value))
    return out


def _pod_info(pod: Obj) -> list[Sample]:
    ref = controller_ref(pod) or {}
    spec, status = _spec(pod), _status(pod)
    return [
        (
            [
                ("host_ip", str(status.get("hostIP") or "")),
                ("pod_ip", str(status.get("podIP") or "")),
                ("node", str(spec.get("nodeName") or "")),
                ("created_by_kind", str(ref.get("kind") or "")),
                ("created_by_name", str(ref.get("name") or "")),
                ("priority_class", str(spec.get("priorityClassName") or "")),
                ("host_network", "true" if spec.get("hostNetwork") else "false"),
            ],
            1.0,
        )
    ]


def _container_info(pod: Obj) -> list[Sample]:
    out: list[Sample] = []
    statuses = {str(cs.get("name")): cs for cs in _container_statuses(pod)}
    for c in _spec(pod).get("containers") or []:
        cs = statuses.get(str(c.get("name")))
        if cs is None:
            continue
        out.append(
            (
                [
                    ("container", str(cs.get("name") or "")),
                    ("image_spec", str(c.get("image") or "")),
                    ("image", str(cs.get("image") or "")),
                    ("image_id", str(cs.get("imageID") or "")),
                    ("container_id", str(cs.get("containerID") or "")),
                ],
                1.0,
            )
        )
    return out


def _owner(obj: Obj, with_controller: bool) -> list[Sample]:
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]
    if not refs:
        labels = [("owner_kind", ""), ("owner_name", "")]
        return [([*labels, ("owner_is_controller", "")] if with_controller else labels, 1.0)]
    out: list[Sample] = []
    for ref in refs:
        labels = [("owner_kind", str(ref.get("kind") or "")), ("owner_name", str(ref.get("name") or ""))]
        if with_controller:
            labels.append(("owner_is_controller", "true" if ref.get("controller") is True else "false"))
        out.append((labels, 1.0))
    return out


def _pod_condition(pod: Obj, kind: str) -> list[Sample]:
    out: list[Sample] = []
    for cond in _status(pod).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            out.extend(_conditions(str(cond.get("status") or "")))
    return out


def _phase(pod: Obj) -> list[Sample]:
    phase = str(_status(pod).get("phase") or "")
    if not phase:
        return []
    return [
        ([("phase", p)], _b(phase == p)) for p in ("Pending", "Succeeded", "Failed", "Unknown", "Running")
    ]


def _completion(pod: Obj) -> list[Sample]:
    last = 0.0
    for cs in _container_statuses(pod):
        term = _state(cs, "terminated")
        finished = _ts(term.get("finishedAt")) if term else None
        if finished and finished > last:
            last = finished
    return [([], last)] if last > 0 else []


def _started(cs: Obj) -> float | None:
    running = _state(cs, "running")
    if running is not None:
        return _ts(running.get("startedAt"))
    term = _state(cs, "terminated")
    return _ts(term.get("startedAt")) if term is not None else None


def _single(value: float | None) -> list[Sample]:
    return [([], value)] if value is not None else []


POD_FAMILIES: list[tuple[_Family, Generator]] = [
    (_Family("kube_pod_completion_time", "Completion time in unix timestamp for a pod."), _completion),
    (_Family("kube_pod_container_info", "Information about a container in a pod."), _container_info),
    (
        _Family(
            "kube_pod_container_resource_limits",
            "The number of requested limit resource by a container. It is recommended to use the "
            "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        ),
        lambda p: _resources(p, "limits"),
    ),
    (
        _Family(
            "kube_pod_container_resource_requests",
            "The number of requested request resource by a container. It is recommended to use the "
            "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        ),
        lambda p: _resources(p, "requests"),
    ),
    (
        _Family("kube_pod_container_state_started", "Start time in unix timestamp for a pod container."),
        lambda p: _per_status(p, _started),
    ),
    (
        _Family(
            "kube_pod_container_status_last_terminated_reason",
            "Describes the last reason the container was in terminated state.",
            stable=False,
        ),
        lambda p: _per_status(
            p,
            lambda cs: 1.0 if _last_terminated(cs) else None,
            lambda cs: [("reason", str((_last_terminated(cs) or {}).get("reason") or ""))],
        ),
    ),
    (
        _Family(
            "kube_pod_container_status_last_terminated_exitcode",
            "Describes the exit code for the last container in terminated state.",
            stable=False,
        ),
        lambda p: _per_status(
            p,
            lambda cs: (
                float((_last_terminated(cs) or {}).get("exitCode") or 0) if _last_terminated(cs) else None
            ),
        ),
    ),
    (
        _Family(
            "kube_pod_container_status_last_terminated_timestamp",
            "Last terminated time for a pod container in unix timestamp.",
            stable=False,
        ),
        lambda p: _per_status(
            p,
            lambda cs: (
                (_ts((_last_terminated(cs) or {}).get("finishedAt")) or 0.0) if _last_terminated(cs) else None
            ),
        ),
    ),
    (
        _Family(
            "kube_pod_container_status_ready", "Describes whether the containers readiness check succeeded."
        ),
        lambda p: _per_status(p, lambda cs: _b(bool(cs.get("ready")))),
    ),
    (
        _Family(
            "kube_pod_container_status_restarts_total",
            "The number of container restarts per container.",
            "counter",
        ),
        lambda p: _per_status(p, lambda cs: float(cs.get("restartCount") or 0)),
    ),
    (
        _Family(
            "kube_pod_container_status_running",
            "Describes whether the container is currently in running state.",
        ),
        lambda p: _per_status(p, lambda cs: _b(_state(cs, "running") is not None)),
    ),
    (
        _Family(
            "kube_pod_container_status_terminated",
            "Describes whether the container is currently in terminated state.",
        ),
        lambda p: _per_status(p, lambda cs: _b(_state(cs, "terminated") is not None)),
    ),
    (
        _Family(
            "kube_pod_container_status_terminated_reason",
            "Describes the reason the container is currently in terminated state.",
            stable=False,
        ),
        lambda p: _per_status(
            p,
            lambda cs: 1.0 if _state(cs, "terminated") is not None else None,
            lambda cs: [("reason", str((_state(cs, "terminated") or {}).get("reason") or ""))],
        ),
    ),
    (
        _Family(
            "kube_pod_container_status_waiting",
            "Describes whether the container is currently in waiting state.",
        ),
        lambda p: _per_status(p, lambda cs: _b(_state(cs, "waiting") is not None)),
    ),
    (
        _Family(
            "kube_pod_container_status_waiting_reason",
            "Describes the reason the container is currently in waiting state.",
        ),
        lambda p: _per_status(
            p,
            lambda cs: 1.0 if _state(cs, "waiting") is not None else None,
            lambda cs: [("reason", str((_state(cs, "waiting") or {}).get("reason") or ""))],
        ),
    ),
    (
        _Family("kube_pod_created", "Unix creation timestamp"),
        lambda p: _single(_ts(_meta(p).get("creationTimestamp"))),
    ),
    (
        _Family("kube_pod_deletion_timestamp", "Unix deletion timestamp", stable=False),
        lambda p: _single(_ts(_meta(p).get("deletionTimestamp"))),
    ),
    (_Family("kube_pod_info", "Information about pod."), _pod_info),
    (
        _Family("kube_pod_labels", "Kubernetes labels converted to Prometheus labels."),
        lambda p: [(_prometheus_labels("label", _meta(p).get("labels")), 1.0)],
    ),
    (_Family("kube_pod_owner", "Information about the Pod's owner."), lambda p: _owner(p, True)),
    (
        _Family("kube_pod_restart_policy", "Describes the restart policy in use by this pod."),
        lambda p: [([("type", str(_spec(p).get("restartPolicy") or ""))], 1.0)],
    ),
    (
        _Family("kube_pod_start_time", "Start time in unix timestamp for a pod."),
        lambda p: _single(_ts(_status(p).get("startTime"))),
    ),
    (_Family("kube_pod_status_phase", "The pods current phase."), _phase),
    (
        _Family("kube_pod_status_qos_class", "The pods current qosClass.", stable=False),
        lambda p: (
            [
                ([("qos_class", q)], _b(_status(p).get("qosClass") == q))
                for q in ("BestEffort", "Burstable", "Guaranteed")
            ]
            if _status(p).get("qosClass")
            else []
        ),
    ),
    (
        _Family("kube_pod_status_ready", "Describes whether the pod is ready to serve requests."),
        lambda p: _pod_condition(p, "Ready"),
    ),
    (
        _Family("kube_pod_status_scheduled", "Describes the status of the scheduling process for the pod."),
        lambda p: _pod_condition(p, "PodScheduled"),
    ),
]


# --- workloads --------------------------------------------------------------------------------------------


def _status_value(field: str) -> Generator:
    return lambda o: [([], float(_status(o).get(field) or 0))]


def _created(o: Obj) -> list[Sample]:
    return _single(_ts(_meta(o).get("creationTimestamp")))


def _deleted(o: Obj) -> list[Sample]:
    return _single(_ts(_meta(o).get("deletionTimestamp")))


def _generation(o: Obj) -> list[Sample]:
    return [([], float(_meta(o).get("generation") or 0))]


def _labels_family(kind: str) -> tuple[_Family, Generator]:
    return (
        _Family(f"kube_{kind}_labels", "Kubernetes labels converted to Prometheus labels."),
        lambda o: [(_prometheus_labels("label", _meta(o).get("labels")), 1.0)],
    )


def _scaled(o: Obj, field: str, round_up: bool) -> list[Sample]:
    from flightdeck.kube.podutil import int_or_percent

    spec = _spec(o)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate")
    if not isinstance(rolling, dict) or spec.get("replicas") is None or field not in rolling:
        return []
    try:
        return [([], float(int_or_percent(rolling[field], int(spec["replicas"]), round_up)))]
    except ValueError:
        return []


def _deployment_conditions(o: Obj) -> list[Sample]:
    out: list[Sample] = []
    for cond in _status(o).get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        reason = str(cond.get("reason") or "")
        if reason not in _DEPLOYMENT_REASONS:
            reason = "unknown"
        for s in _CONDITION_STATUSES:
            out.append(
                (
                    [("reason", reason), ("condition", str(cond.get("type"))), ("status", s.lower())],
                    _b(cond.get("status") == s),
                )
            )
    return out


DAEMONSET_FAMILIES: list[tuple[_Family, Generator]] = [
    (_Family("kube_daemonset_created", "Unix creation timestamp"), _created),
    (
        _Family(
            "kube_daemonset_status_current_number_scheduled",
            "The number of nodes running at least one daemon pod and are supposed to.",
        ),
        _status_value("currentNumberScheduled"),
    ),
    (
        _Family(
            "kube_daemonset_status_desired_number_scheduled",
            "The number of nodes that should be running the daemon pod.",
        ),
        _status_value("desiredNumberScheduled"),
    ),
    (
        _Family(
            "kube_daemonset_status_number_available",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod "
            "running and available",
        ),
        _status_value("numberAvailable"),
    ),
    (
        _Family(
            "kube_daemonset_status_number_misscheduled",
            "The number of nodes running a daemon pod but are not supposed to.",
        ),
        _status_value("numberMisscheduled"),
    ),
    (
        _Family(
            "kube_daemonset_status_number_ready",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod "
            "running and ready.",
        ),
        _status_value("numberReady"),
    ),
    (
        _Family(
            "kube_daemonset_status_number_unavailable",
            "The number of nodes that should be running the daemon pod and have none of the daemon pod running "
            "and available",
        ),
        _status_value("numberUnavailable"),
    ),
    (
        _Family(
            "kube_daemonset_status_observed_generation",
            "The most recent generation observed by the daemon set controller.",
        ),
        _status_value("observedGeneration"),
    ),
    (
        _Family(
            "kube_daemonset_status_updated_number_scheduled",
            "The total number of nodes that are running updated daemon pod",
        ),
        _status_value("updatedNumberScheduled"),
    ),
    (
        _Family(
            "kube_daemonset_metadata_generation",
            "Sequence number representing a specific generation of the desired state.",
        ),
        _generation,
    ),
    (_Family("kube_daemonset_deletion_timestamp", "Unix deletion timestamp", stable=False), _deleted),
    _labels_family("daemonset"),
]

DEPLOYMENT_FAMILIES: list[tuple[_Family, Generator]] = [
    (
        _Family("kube_deployment_owner", "Information about the Deployment's owner.", stable=False),
        lambda o: _owner(o, False),
    ),
    (_Family("kube_deployment_created", "Unix creation timestamp"), _created),
    (
        _Family("kube_deployment_status_replicas", "The number of replicas per deployment."),
        _status_value("replicas"),
    ),
    (
        _Family("kube_deployment_status_replicas_ready", "The number of ready replicas per deployment."),
        _status_value("readyReplicas"),
    ),
    (
        _Family(
            "kube_deployment_status_replicas_available", "The number of available replicas per deployment."
        ),
        _status_value("availableReplicas"),
    ),
    (
        _Family(
            "kube_deployment_status_replicas_unavailable",
            "The number of unavailable replicas per deployment.",
        ),
        _status_value("unavailableReplicas"),
    ),
    (
        _Family("kube_deployment_status_replicas_updated", "The number of updated replicas per deployment."),
        _status_value("updatedReplicas"),
    ),
    (
        _Family(
            "kube_deployment_status_observed_generation",
            "The generation observed by the deployment controller.",
        ),
        _status_value("observedGeneration"),
    ),
    (
        _Family("kube_deployment_status_condition", "The current status conditions of a deployment."),
        _deployment_conditions,
    ),
    (
        _Family("kube_deployment_spec_replicas", "Number of desired pods for a deployment."),
        lambda o: _single(float(_spec(o)["replicas"]) if _spec(o).get("replicas") is not None else None),
    ),
    (
        _Family(
            "kube_deployment_spec_paused",
            "Whether the deployment is paused and will not be processed by the deployment controller.",
        ),
        lambda o: [([], _b(bool(_spec(o).get("paused"))))],
    ),
    (
        _Family(
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
            "Maximum number of unavailable replicas during a rolling update of a deployment.",
        ),
        lambda o: _scaled(o, "maxUnavailable", False),
    ),
    (
        _Family(
            "kube_deployment_spec_strategy_rollingupdate_max_surge",
            "Maximum number of replicas that can be scheduled above the desired number of replicas during a "
            "rolling update of a deployment.",
        ),
        lambda o: _scaled(o, "maxSurge", True),
    ),
    (
        _Family(
            "kube_deployment_metadata_generation",
            "Sequence number representing a specific generation of the desired state.",
        ),
        _generation,
    ),
    (_Family("kube_deployment_deletion_timestamp", "Unix deletion timestamp", stable=False), _deleted),
    _labels_family("deployment"),
]

REPLICASET_FAMILIES: list[tuple[_Family, Generator]] = [
    (_Family("kube_replicaset_created", "Unix creation timestamp"), _created),
    (
        _Family("kube_replicaset_status_replicas", "The number of replicas per ReplicaSet."),
        _status_value("replicas"),
    ),
    (
        _Family(
            "kube_replicaset_status_fully_labeled_replicas",
            "The number of fully labeled replicas per ReplicaSet.",
        ),
        _status_value("fullyLabeledReplicas"),
    ),
    (
        _Family("kube_replicaset_status_ready_replicas", "The number of ready replicas per ReplicaSet."),
        _status_value("readyReplicas"),
    ),
    (
        _Family(
            "kube_replicaset_status_observed_generation",
            "The generation observed by the ReplicaSet controller.",
        ),
        _status_value("observedGeneration"),
    ),
    (
        _Family("kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet."),
        lambda o: _single(float(_spec(o)["replicas"]) if _spec(o).get("replicas") is not None else None),
    ),
    (
        _Family(
            "kube_replicaset_metadata_generation",
            "Sequence number representing a specific generation of the desired state.",
        ),
        _generation,
    ),
    (
        _Family("kube_replicaset_owner", "Information about the ReplicaSet's owner."),
        lambda o: _owner(o, True),
    ),
    _labels_family("replicaset"),
]

# Resources in kube-state-metrics' (alphabetical) order, with the labels every series starts with.
_RESOURCES: list[tuple[str, Callable[[Obj], list[tuple[str, str]]], list[tuple[_Family, Generator]]]] = [
    (
        "DaemonSet",
        lambda o: [
            ("namespace", str(_meta(o).get("namespace") or "")),
            ("daemonset", str(_meta(o).get("name") or "")),
        ],
        DAEMONSET_FAMILIES,
    ),
    (
        "Deployment",
        lambda o: [
            ("namespace", str(_meta(o).get("namespace") or "")),
            ("deployment", str(_meta(o).get("name") or "")),
        ],
        DEPLOYMENT_FAMILIES,
    ),
    (
        "Pod",
        lambda o: [
            ("namespace", str(_meta(o).get("namespace") or "")),
            ("pod", str(_meta(o).get("name") or "")),
            ("uid", str(_meta(o).get("uid") or "")),
        ],
        POD_FAMILIES,
    ),
    (
        "ReplicaSet",
        lambda o: [
            ("namespace", str(_meta(o).get("namespace") or "")),
            ("replicaset", str(_meta(o).get("name") or "")),
        ],
        REPLICASET_FAMILIES,
    ),
]


def _write_sample(out: list[str], name: str, labels: Iterable[tuple[str, str]], value: float) -> None:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    out.append(f"{name}{{{body}}} {format_float_v(value)}\n" if body else f"{name} {format_float_v(value)}\n")


def kube_state_metrics(objects: Mapping[str, Sequence[Obj]]) -> str:
    """kube-state-metrics' exposition for ``objects`` (by kind: DaemonSet, Deployment, Pod, ReplicaSet)."""
    out: list[str] = []
    for kind, base, families in _RESOURCES:
        items = objects.get(kind) or []
        if not items:
            continue  # kube-state-metrics writes no headers for a resource without objects
        prefixes = [base(o) for o in items]
        for family, generate in families:
            out.append(family.header())
            for obj, prefix in zip(items, prefixes, strict=True):
                for labels, value in generate(obj):
                    _write_sample(out, family.name, prefix + labels, value)
    return "".join(out)


# --- Argo Rollouts controller metrics ---------------------------------------------------------------------

_PROVIDER_TYPES = (
    ("prometheus", "Prometheus"),
    ("job", "Job"),
    ("kayenta", "Kayenta"),
    ("web", "Web"),
    ("datadog", "Datadog"),
    ("wavefront", "Wavefront"),
    ("newRelic", "NewRelic"),
    ("cloudWatch", "CloudWatch"),
    ("graphite", "Graphite"),
    ("influxdb", "Influxdb"),
    ("skywalking", "skywalking"),
    ("plugin", "RPCPlugin"),
)
_ANALYSIS_PHASES = ("Pending", "Error", "Failed", "Successful", "Running", "Inconclusive")
_TRAFFIC_ROUTERS = (
    ("alb", "ALB"),
    ("ambassador", "Ambassador"),
    ("istio", "Istio"),
    ("nginx", "Nginx"),
    ("smi", "SMI"),
    ("appMesh", "AppMesh"),
)


def provider_type(metric: Mapping[str, Any]) -> str:
    """``metricproviders.Type``."""
    provider = metric.get("provider") or {}
    for key, name in _PROVIDER_TYPES:
        if provider.get(key) is not None:
            return name
    return "Unknown Provider"


def rollout_calculated_phase(rollout: Obj) -> str:
    """``controller/metrics/rollouts.go`` ``calculatePhase`` (from the Progressing condition's reason)."""
    phase = "Progressing"
    conditions = [c for c in _status(rollout).get("conditions") or [] if isinstance(c, dict)]
    progressing = next((c for c in conditions if c.get("type") == "Progressing"), None)
    if progressing is not None:
        reason = progressing.get("reason")
        phase = {
            "NewReplicaSetAvailable": "Completed",
            "RolloutPaused": "Paused",
            "ReplicaSetCreateError": "Error",
            "ProgressDeadlineExceeded": "Timeout",
            "RolloutAborted": "Abort",
        }.get(str(reason), phase)
    if any(c.get("type") == "InvalidSpec" for c in conditions):
        phase = "InvalidSpec"
    return phase


def _strategy(rollout: Obj) -> tuple[str, str]:
    strategy = _spec(rollout).get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        return "blueGreen", ""
    canary = strategy.get("canary")
    if canary is None:
        return "none", ""
    router = ""
    routing = canary.get("trafficRouting") if isinstance(canary, dict) else None
    if isinstance(routing, dict):
        for key, name in _TRAFFIC_ROUTERS:
            if routing.get(key) is not None:
                router = name
    return "canary", router


def current_set_weight(rollout: Obj) -> int:
    """``GetCurrentSetWeight``: 0 when aborted, 100 after the last step, else the last setWeight so far."""
    status = _status(rollout)
    if status.get("abort"):
        return 0
    steps = ((_spec(rollout).get("strategy") or {}).get("canary") or {}).get("steps") or []
    index = int(status.get("currentStepIndex") or 0)
    if not steps or index >= len(steps):
        return 100
    for i in range(index, -1, -1):
        step = steps[i]
        if isinstance(step, dict) and step.get("setWeight") is not None:
            return int(step["setWeight"])
    return 0


class _Collector:
    """client_golang's text output: families sorted by name, label names sorted, series sorted."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str, list[tuple[tuple[tuple[str, str], ...], float]]]] = {}

    def add(self, name: str, help: str, labels: Mapping[str, str], value: float, type: str = "gauge") -> None:
        family = self.families.setdefault(name, (help, type, []))
        family[2].append((tuple(sorted(labels.items())), value))

    def text(self) -> str:
        out: list[str] = []
        for name in sorted(self.families):
            help, type, samples = self.families[name]
            out.append(f"# HELP {name} {help}\n# TYPE {name} {type}\n")
            for labels, value in sorted(samples, key=lambda s: [v for _, v in s[0]]):
                _write_sample(out, name, labels, value)
        return "".join(out)


def _dry_run_metrics(run: Obj) -> set[str]:
    spec = _spec(run)
    names = {str(m.get("name")) for m in spec.get("metrics") or [] if isinstance(m, dict)}
    out: set[str] = set()
    for entry in spec.get("dryRun") or []:
        pattern = str((entry or {}).get("metricName") or "")
        if pattern == "*":
            return names
        out.add(pattern)
    return out & names


def _collect_rollout(c: _Collector, rollout: Obj) -> None:
    ns, name = str(_meta(rollout).get("namespace") or ""), str(_meta(rollout).get("name") or "")
    strategy, router = _strategy(rollout)
    phase = rollout_calculated_phase(rollout)
    status = _status(rollout)
    base = {"namespace": ns, "name": name}
    c.add(
        "rollout_info",
        "Information about rollout.",
        {**base, "strategy": strategy, "traffic_router": router, "phase": phase},
        1.0,
    )
    available = float(status.get("availableReplicas") or 0)
    c.add("rollout_info_replicas_available", "The number of available replicas per rollout.", base, available)
    c.add(
        "rollout_info_replicas_unavailable",
        "The number of unavailable replicas per rollout.",
        base,
        float(status.get("replicas") or 0) - available,
    )
    replicas = _spec(rollout).get("replicas")
    c.add(
        "rollout_info_replicas_desired",
        "The number of desired replicas per rollout.",
        base,
        float(replicas if replicas is not None else 1),
    )
    c.add(
        "rollout_info_replicas_updated",
        "The number of updated replicas per rollout.",
        base,
        float(status.get("updatedReplicas") or 0),
    )
    for p in ("Completed", "Progressing", "Paused", "Timeout", "Error", "Abort"):
        c.add(
            "rollout_phase",
            "Information on the state of the rollout (DEPRECATED - use rollout_info)",
            {**base, "strategy": strategy, "phase": p},
            _b(phase == p),
        )
    # flightdeck's own
    steps = ((_spec(rollout).get("strategy") or {}).get("canary") or {}).get("steps") or []
    c.add(
        "flightdeck_rollout_step",
        "Index of the canary step the rollout is executing (len(steps) when done).",
        base,
        float(status.get("currentStepIndex") or 0),
    )
    c.add("flightdeck_rollout_steps", "Number of canary steps of the rollout.", base, float(len(steps)))
    c.add(
        "flightdeck_rollout_weight",
        "Canary weight in effect (Argo Rollouts' GetCurrentSetWeight).",
        base,
        float(current_set_weight(rollout)),
    )
    if status.get("phase"):
        c.add(
            "flightdeck_rollout_phase",
            "The rollout's status.phase (1 for the current one).",
            {**base, "phase": str(status["phase"])},
            1.0,
        )


def _measurement_value(text: str) -> float | None:
    """A measurement value as a number: ``"0.97"``, or a one-element vector ``"[0.97]"``."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        try:
            items = json.loads(value)
        except ValueError:
            items = [v for v in value[1:-1].split(",") if v.strip()]
        if not isinstance(items, list) or len(items) != 1:
            return None
        value = str(items[0])
    try:
        number = float(value)
    except ValueError:
        return None
    return number if not math.isnan(number) else None


def _collect_run(c: _Collector, run: Obj) -> None:
    ns, name = str(_meta(run).get("namespace") or ""), str(_meta(run).get("name") or "")
    base = {"namespace": ns, "name": name}
    status = _status(run)
    phase = str(status.get("phase") or "")
    c.add("analysis_run_info", "Information about analysis run.", {**base, "phase": phase}, 1.0)
    for p in _ANALYSIS_PHASES:
        current = phase == p or (p == "Pending" and phase == "")
        c.add(
            "analysis_run_phase",
            "Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)",
            {**base, "phase": p},
            _b(current),
        )
    dry = _dry_run_metrics(run)
    results = {str(r.get("name")): r for r in status.get("metricResults") or [] if isinstance(r, dict)}
    for metric in _spec(run).get("metrics") or []:
        if not isinstance(metric, dict):
            continue
        mname = str(metric.get("name") or "")
        mtype = provider_type(metric)
        c.add(
            "analysis_run_metric_type",
            "Information on the type of a specific metric in the Analysis Runs",
            {**base, "metric": mname, "type": mtype},
            1.0,
        )
        result = results.get(mname)
        mphase = str(result.get("phase") or "") if result else ""
        for p in _ANALYSIS_PHASES:
            current = mphase == p or (p == "Pending" and mphase == "")
            c.add(
                "analysis_run_metric_phase",
                "Information on the duration of a specific metric in the Analysis Run",
                {
                    **base,
                    "metric": mname,
                    "type": mtype,
                    "dry_run": "true" if mname in dry else "false",
                    "phase": p,
                },
                _b(current),
            )
        measurements = (result or {}).get("measurements") or []
        for measurement in reversed(measurements):
            value = _measurement_value(str((measurement or {}).get("value") or ""))
            if value is not None:
                c.add(
                    "flightdeck_analysis_run_metric_value",
                    "Value of the metric's last measurement that returned a number.",
                    {**base, "metric": mname},
                    value,
                )
                break


def _collect_template(c: _Collector, template: Obj) -> None:
    base = {
        "namespace": str(_meta(template).get("namespace") or ""),
        "name": str(_meta(template).get("name") or ""),
    }
    c.add("analysis_template_info", "Information about analysis templates.", base, 1.0)
    for metric in _spec(template).get("metrics") or []:
        if isinstance(metric, dict):
            c.add(
                "analysis_template_metric_info",
                "Information on metrics in analysis templates.",
                {**base, "type": provider_type(metric), "metric": str(metric.get("name") or "")},
                1.0,
            )


def rollouts_metrics(objects: Mapping[str, Sequence[Obj]]) -> str:
    """Argo Rollouts' controller series (plus flightdeck's rollout/analysis series) for ``objects`` by kind."""
    c = _Collector()
    for rollout in objects.get("Rollout") or []:
        _collect_rollout(c, rollout)
    for run in objects.get("AnalysisRun") or []:
        _collect_run(c, run)
    for template in [
        *(objects.get("AnalysisTemplate") or []),
        *(objects.get("ClusterAnalysisTemplate") or []),
    ]:
        _collect_template(c, template)
    return c.text()


KINDS = (
    "DaemonSet",
    "Deployment",
    "Pod",
    "ReplicaSet",
    "Rollout",
    "AnalysisRun",
    "AnalysisTemplate",
    "ClusterAnalysisTemplate",
)


def exposition(store: ObjectStore) -> str:
    """Everything above for the objects in ``store`` (what the server serves on its metrics endpoint)."""
    objects = {kind: store.list(kind) for kind in KINDS}
    return kube_state_metrics(objects) + rollouts_metrics(objects)
