"""A pod's ``status`` as the kubelet writes it, computed from the node's view of its containers (pure).

Phase (``getPhase``), the conditions (``GenerateContainersReadyCondition``, ``GeneratePodReadyCondition``) with
their reasons and messages, and the container statuses (``state``/``lastState``/``ready``/``started``/
``restartCount``). Condition transition times are carried over from the previous status while the status of
the condition does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flightdeck.kube.quantity import QuantityError, parse_quantity
from flightdeck.util.timefmt import rfc3339

Obj = dict[str, Any]
Phase = Literal["Pending", "Running", "Succeeded", "Failed"]


@dataclass(slots=True)
class Terminated:
    exit_code: int
    reason: str
    started_at: float | None
    finished_at: float
    container_id: str = ""
    message: str = ""
    signal: int | None = None

    def to_api(self) -> Obj:
        out: Obj = {"exitCode": self.exit_code}
        if self.signal is not None:
            out["signal"] = self.signal
        out["reason"] = self.reason
        if self.message:
            out["message"] = self.message
        out["startedAt"] = rfc3339(self.started_at) if self.started_at is not None else None
        out["finishedAt"] = rfc3339(self.finished_at)
        if self.container_id:
            out["containerID"] = self.container_id
        return out


@dataclass(slots=True)
class ContainerView:
    """The node's record of one container, as much as the status needs."""

    name: str
    image: str
    restart_count: int = 0
    running_since: float | None = None
    terminated: Terminated | None = None  # current state (a container that will not run again)
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    last_terminated: Terminated | None = None
    ready: bool = False
    started: bool = False
    container_id: str = ""
    image_id: str = ""
    resources: Obj | None = None  # what the node enforces, reported as ContainerStatus.resources

    @property
    def state(self) -> Literal["running", "terminated", "waiting"]:
        if self.running_since is not None:
            return "running"
        if self.terminated is not None:
            return "terminated"
        return "waiting"

    def to_api(self) -> Obj:
        if self.running_since is not None:
            state: Obj = {"running": {"startedAt": rfc3339(self.running_since)}}
        elif self.terminated is not None:
            state = {"terminated": self.terminated.to_api()}
        else:
            waiting: Obj = {"reason": self.waiting_reason}
            if self.waiting_message:
                waiting["message"] = self.waiting_message
            state = {"waiting": waiting}
        out: Obj = {
            "name": self.name,
            "state": state,
            "lastState": {"terminated": self.last_terminated.to_api()} if self.last_terminated else {},
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": self.image_id,
        }
        if self.container_id:
            out["containerID"] = self.container_id
        out["started"] = self.started
        if self.resources is not None:
            out["resources"] = self.resources
        return out


@dataclass(slots=True)
class PodView:
    spec: Obj
    containers: list[ContainerView]
    pod_ip: str
    host_ip: str
    start_time: float
    scheduled_at: float
    sandbox_ready: bool = True
    terminal: bool = False  # the pod is being deleted and its containers will not restart
    previous_conditions: Sequence[Obj] = field(default_factory=list)
    previous_phase: str | None = None


def phase_of(restart_policy: str, containers: Sequence[ContainerView], terminal: bool) -> Phase:
    """``getPhase`` of the kubelet (regular containers only)."""
    running = waiting = stopped = succeeded = 0
    for c in containers:
        state = c.state
        if state == "running":
            running += 1
        elif state == "terminated":
            stopped += 1
            assert c.terminated is not None
            succeeded += c.terminated.exit_code == 0
        elif c.last_terminated is not None:
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _go_list(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


def _containers_ready(view: PodView, phase: str) -> tuple[str, str, str]:
    if phase == "Succeeded":
        return "False", "PodCompleted", ""
    if phase == "Failed":
        return "False", "PodFailed", ""
    unready = [c.name for c in view.containers if not c.ready]
    if unready:
        return "False", "ContainersNotReady", f"containers with unready status: {_go_list(unready)}"
    return "True", "", ""


def _pod_ready(view: PodView, containers_ready: tuple[str, str, str]) -> tuple[str, str, str]:
    if containers_ready[0] != "True":
        return containers_ready
    by_type = {str(c.get("type")): c for c in view.previous_conditions}
    messages: list[str] = []
    for gate in view.spec.get("readinessGates") or []:
        kind = str(gate.get("conditionType", ""))
        cond = by_type.get(kind)
        if cond is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif cond.get("status") != "True":
            messages.append(
                f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}'
            )
    if messages:
        return "False", "ReadinessGatesNotReady", ", ".join(messages)
    return "True", "", ""


def _condition(
    kind: str, status: str, reason: str, message: str, now: float, previous: Mapping[str, Obj]
) -> Obj:
    prev = previous.get(kind)
    since = prev.get("lastTransitionTime") if prev and prev.get("status") == status else None
    cond: Obj = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": since or rfc3339(now),
    }
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def qos_class(spec: Obj) -> str:
    """``GetPodQOS`` for cpu and memory."""
    any_set = False
    guaranteed = True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = resources.get("requests") or {}
        for name in ("cpu", "memory"):
            limit, request = limits.get(name), requests.get(name, limits.get(name))
            if limit is not None or request is not None:
                any_set = True
            if limit is None or request is None:
                guaranteed = False
                continue
            try:
                if parse_quantity(str(limit)) != parse_quantity(str(request)):
                    guaranteed = False
            except QuantityError:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def build_status(view: PodView, now: float) -> Obj:
    """The whole ``status`` object the node reports for one pod."""
    phase: str = phase_of(str(view.spec.get("restartPolicy") or "Always"), view.containers, view.terminal)
    if view.previous_phase in ("Succeeded", "Failed"):
        phase = view.previous_phase  # terminal phases are final
    previous = {str(c.get("type")): c for c in view.previous_conditions}
    ready_containers = _containers_ready(view, phase)
    pod_ready = _pod_ready(view, ready_containers)
    conditions = [
        _condition(
            "PodReadyToStartContainers", "True" if view.sandbox_ready else "False", "", "", now, previous
        ),
        _condition("Initialized", "True", "", "", now, previous),
        _condition("Ready", *pod_ready, now, previous),
        _condition("ContainersReady", *ready_containers, now, previous),
        _condition("PodScheduled", "True", "", "", view.scheduled_at, previous),
    ]
    # conditions owned by others (readiness gates) survive our writes
    ours = {c["type"] for c in conditions}
    conditions.extend(c for c in view.previous_conditions if c.get("type") not in ours)
    status: Obj = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": view.host_ip,
        "hostIPs": [{"ip": view.host_ip}],
    }
    if view.pod_ip:
        status["podIP"] = view.pod_ip
        status["podIPs"] = [{"ip": view.pod_ip}]
    status["startTime"] = rfc3339(view.start_time)
    status["containerStatuses"] = [c.to_api() for c in view.containers]
    status["qosClass"] = qos_class(view.spec)
    return status
