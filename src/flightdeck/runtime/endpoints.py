"""Which pods serve which Service port (the endpoints controller's job, pure).

A pod backs a Service when it is in the Service's namespace, matches its selector, has an address, is not being
deleted and is Ready (``publishNotReadyAddresses`` lifts the last rule). ``targetPort`` is a number, or the name
of a container port of that pod (pods of one Service may use different numbers for the same name); without it,
the Service port's number. Backends are ordered by pod name so round-robin is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    backends: tuple[tuple[str, int], ...]


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _matches(labels: Mapping[str, Any], selector: Mapping[str, Any]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _target(pod: Obj, target: Any, protocol: str) -> int | None:
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    text = str(target)
    if text.isdigit():
        return int(text)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == text and str(port.get("protocol") or "TCP") == protocol:
                return int(port.get("containerPort", 0))
    return None


def service_ports(services: Iterable[Obj], pods: Iterable[Obj]) -> tuple[list[ServicePort], list[str]]:
    """Every proxied Service port with its backends, and the problems found (unsupported constructs)."""
    by_namespace: dict[str, list[Obj]] = {}
    for pod in pods:
        by_namespace.setdefault(str(_meta(pod).get("namespace") or "default"), []).append(pod)
    for group in by_namespace.values():
        group.sort(key=lambda p: str(_meta(p).get("name", "")))
    out: list[ServicePort] = []
    problems: list[str] = []
    for svc in services:
        meta = _meta(svc)
        spec = svc.get("spec") or {}
        namespace = str(meta.get("namespace") or "default")
        name = str(meta.get("name", ""))
        where = f"Service {namespace}/{name}"
        ip = spec.get("clusterIP")
        if ip == "None":
            problems.append(f"{where}: not supported: headless Service (clusterIP: None)")
            continue
        if not ip:
            problems.append(f"{where}: has no clusterIP yet")
            continue
        if spec.get("type") == "ExternalName":
            problems.append(f"{where}: not supported: type ExternalName")
            continue
        selector = spec.get("selector")
        if not selector:
            problems.append(f"{where}: not supported: Service without selector (manually managed endpoints)")
        if spec.get("sessionAffinity") == "ClientIP":
            problems.append(f"{where}: not supported: sessionAffinity ClientIP (connections are round-robin)")
        include_unready = bool(spec.get("publishNotReadyAddresses"))
        candidates = []
        if selector:
            for pod in by_namespace.get(namespace, []):
                pmeta = _meta(pod)
                status = pod.get("status") or {}
                if not _matches(pmeta.get("labels") or {}, selector):
                    continue
                if pmeta.get("deletionTimestamp") or not status.get("podIP"):
                    continue
                if status.get("phase") in ("Succeeded", "Failed"):
                    continue
                if not include_unready and not pod_ready(pod):
                    continue
                candidates.append(pod)
        for sp in spec.get("ports") or []:
            protocol = str(sp.get("protocol") or "TCP")
            port = int(sp.get("port", 0))
            if protocol != "TCP":
                problems.append(f"{where}: port {port}/{protocol}: not supported: only TCP is proxied")
                continue
            target = sp.get("targetPort", port)
            backends = []
            for pod in candidates:
                number = _target(pod, target, protocol)
                if number:
                    backends.append((str((pod.get("status") or {})["podIP"]), number))
            out.append(
                ServicePort(
                    namespace, name, str(sp.get("name") or ""), protocol, str(ip), port, tuple(backends)
                )
            )
    return out, problems
