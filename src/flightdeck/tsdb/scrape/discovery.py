"""Service discovery: target groups from static configs, files, HTTP endpoints and an external feed.

A :class:`TargetGroup` is Prometheus' ``targetgroup.Group``: a source name, a list of targets (each
a label set with ``__address__``) and labels common to them. :class:`DiscoveryHub` is where
flightdeck's own runtime publishes groups — :meth:`DiscoveryHub.set_pods` turns Kubernetes Pod
objects into exactly the groups Prometheus' ``kubernetes_sd_configs`` (``role: pod``) discovers, so
a scrape config written for a cluster (its relabeling on ``__meta_kubernetes_pod_*``) applies
unchanged. File and HTTP discovery poll like Prometheus (files: on change and every
``refresh_interval``; HTTP: every ``refresh_interval``) and keep the last good groups on errors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import httpx
import yaml

from flightdeck.tsdb.labels import LABEL_NAME_RE

log = logging.getLogger("flightdeck.tsdb")

LabelPairs = tuple[tuple[str, str], ...]
KUBERNETES_POD = "kubernetes/pod"
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_USER_AGENT = "Prometheus/2.42.0"


@dataclass(frozen=True)
class TargetGroup:
    source: str
    targets: tuple[LabelPairs, ...] = ()
    labels: LabelPairs = ()


class GroupError(ValueError):
    """A file/HTTP discovery target group with the wrong shape (Prometheus' message)."""


def _pairs(mapping: Mapping[str, str]) -> LabelPairs:
    return tuple(sorted((str(k), str(v)) for k, v in mapping.items()))


def group_from_json(raw: object, source: str, extra: Mapping[str, str] | None = None) -> TargetGroup:
    """One ``{"targets": [...], "labels": {...}}`` entry of file or HTTP SD."""
    if not isinstance(raw, Mapping):
        raise GroupError("nil target group item found" if raw is None else "target group must be an object")
    targets = raw.get("targets") or []
    labels = raw.get("labels") or {}
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise GroupError("targets must be a list of strings")
    if not isinstance(labels, Mapping):
        raise GroupError("labels must be an object")
    for name, value in labels.items():
        if not LABEL_NAME_RE.match(str(name)):
            raise GroupError(f'"{name}" is not a valid label name')
        if not isinstance(value, str):
            raise GroupError(f"label value of {name!r} must be a string")
    merged = {**{str(k): str(v) for k, v in labels.items()}, **(extra or {})}
    return TargetGroup(source, tuple(((("__address__", t),)) for t in targets), _pairs(merged))


# -- Kubernetes pods -------------------------------------------------------------------------------
def sanitize_label_name(name: str) -> str:
    return _INVALID_LABEL_CHARS.sub("_", name)


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def pod_target_group(pod: Mapping[str, Any]) -> TargetGroup:
    """What Prometheus' Kubernetes discovery (role: pod) makes of a Pod object (API shape)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    namespace = str(meta.get("namespace") or "default")
    name = str(meta.get("name") or "")
    source = f"pod/{namespace}/{name}"
    pod_ip = str(status.get("podIP") or "")
    if not pod_ip:
        return TargetGroup(source)  # starting or evicted: no targets yet
    ready = "unknown"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = str(cond.get("status", "Unknown")).lower()
    labels: dict[str, str] = {
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_ip": pod_ip,
        "__meta_kubernetes_pod_ready": ready,
        "__meta_kubernetes_pod_phase": str(status.get("phase") or ""),
        "__meta_kubernetes_pod_node_name": str(spec.get("nodeName") or ""),
        "__meta_kubernetes_pod_host_ip": str(status.get("hostIP") or ""),
        "__meta_kubernetes_pod_uid": str(meta.get("uid") or ""),
    }
    for owner in meta.get("ownerReferences") or []:
        if owner.get("controller"):
            if owner.get("kind"):
                labels["__meta_kubernetes_pod_controller_kind"] = str(owner["kind"])
            if owner.get("name"):
                labels["__meta_kubernetes_pod_controller_name"] = str(owner["name"])
            break
    for key, value in (meta.get("labels") or {}).items():
        ln = sanitize_label_name(str(key))
        labels[f"__meta_kubernetes_pod_label_{ln}"] = str(value)
        labels[f"__meta_kubernetes_pod_labelpresent_{ln}"] = "true"
    for key, value in (meta.get("annotations") or {}).items():
        ln = sanitize_label_name(str(key))
        labels[f"__meta_kubernetes_pod_annotation_{ln}"] = str(value)
        labels[f"__meta_kubernetes_pod_annotationpresent_{ln}"] = "true"
    labels["__meta_kubernetes_namespace"] = namespace
    targets: list[LabelPairs] = []
    containers = [(c, False) for c in spec.get("containers") or []]
    containers += [(c, True) for c in spec.get("initContainers") or []]
    for container, is_init in containers:
        cname = str(container.get("name") or "")
        statuses = status.get("initContainerStatuses" if is_init else "containerStatuses") or []
        cid = next((str(s.get("containerID") or "") for s in statuses if s.get("name") == cname), "")
        common = {
            "__meta_kubernetes_pod_container_name": cname,
            "__meta_kubernetes_pod_container_id": cid,
            "__meta_kubernetes_pod_container_image": str(container.get("image") or ""),
            "__meta_kubernetes_pod_container_init": "true" if is_init else "false",
        }
        ports = container.get("ports") or []
        if not ports:
            targets.append(_pairs({"__address__": pod_ip, **common}))
            continue
        for port in ports:
            number = str(int(port.get("containerPort", 0)))
            targets.append(
                _pairs(
                    {
                        "__address__": _join_host_port(pod_ip, number),
                        **common,
                        "__meta_kubernetes_pod_container_port_number": number,
                        "__meta_kubernetes_pod_container_port_name": str(port.get("name") or ""),
                        # The API server defaults the protocol to TCP.
                        "__meta_kubernetes_pod_container_port_protocol": str(port.get("protocol") or "TCP"),
                    }
                )
            )
    return TargetGroup(source, tuple(targets), _pairs(labels))


class DiscoveryHub:
    """Target groups published by name (``kubernetes/pod`` for pods). Thread-safe; every change
    bumps :attr:`version` so the scrape manager re-syncs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[TargetGroup, ...]] = {}
        self.version = 0
        self._listeners: list[Callable[[], None]] = []

    def set_target_groups(self, provider: str, groups: Sequence[TargetGroup]) -> None:
        with self._lock:
            self._groups[provider] = tuple(groups)
            self.version += 1
            listeners = list(self._listeners)
        for fn in listeners:
            fn()

    def set_pods(self, pods: Iterable[Mapping[str, Any]]) -> None:
        """Publish the full current list of Pod objects (replaces the previous list)."""
        self.set_target_groups(KUBERNETES_POD, [pod_target_group(p) for p in pods])

    def target_groups(self, provider: str) -> tuple[TargetGroup, ...]:
        with self._lock:
            return self._groups.get(provider, ())

    def subscribe(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(fn)


# -- file_sd_configs -------------------------------------------------------------------------------
@dataclass
class FileDiscovery:
    """Reads ``files`` (globs) when they change and every ``refresh_interval``; a file that fails to
    parse keeps its previous groups (Prometheus logs the error and does the same)."""

    patterns: tuple[str, ...]
    refresh_interval: float
    base_dir: Path = field(default_factory=Path.cwd)
    _mtimes: dict[str, float] = field(default_factory=dict)
    _groups: dict[str, list[TargetGroup]] = field(default_factory=dict)
    _last_full: float = -1e18
    last_error: str = ""

    def _paths(self) -> list[str]:
        found: set[str] = set()
        for pattern in self.patterns:
            full = pattern if os.path.isabs(pattern) else str(self.base_dir / pattern)
            found.update(glob(full))
        return sorted(found)

    def refresh(self, now: float) -> bool:
        """Re-read what changed (all files every ``refresh_interval``); True if groups changed."""
        full = now - self._last_full >= self.refresh_interval
        if full:
            self._last_full = now
        changed = False
        paths = self._paths()
        for gone in set(self._groups) - set(paths):
            del self._groups[gone]
            self._mtimes.pop(gone, None)
            changed = True
        for path in paths:
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            if not full and self._mtimes.get(path) == mtime:
                continue
            self._mtimes[path] = mtime
            try:
                groups = self._read(path)
            except (OSError, ValueError, yaml.YAMLError, GroupError) as exc:
                self.last_error = f"Error reading file {path!r}: {exc}"
                log.error("file_sd: %s", self.last_error)
                continue
            if groups != self._groups.get(path):
                self._groups[path] = groups
                changed = True
        return changed

    def _read(self, path: str) -> list[TargetGroup]:
        text = Path(path).read_text(encoding="utf-8")
        ext = os.path.splitext(path)[1].lower()
        if ext == ".json":
            raw = json.loads(text)
        elif ext in (".yml", ".yaml"):
            raw = yaml.safe_load(text)
        else:
            raise GroupError(f"retrieval of target groups from file {path!r} failed: unknown file extension")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise GroupError("target groups must be a list")
        return [group_from_json(g, f"{path}:{i}", {"__meta_filepath": path}) for i, g in enumerate(raw)]

    def groups(self) -> list[TargetGroup]:
        return [g for path in sorted(self._groups) for g in self._groups[path]]


# -- http_sd_configs -------------------------------------------------------------------------------
_JSON_TYPE = re.compile(r'^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$')


@dataclass
class HTTPDiscovery:
    url: str
    refresh_interval: float
    client: httpx.Client | None = None
    _groups: list[TargetGroup] = field(default_factory=list)
    _next: float = -1e18
    last_error: str = ""

    def refresh(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next = now + self.refresh_interval
        try:
            groups = self._fetch()
        except (httpx.HTTPError, ValueError, GroupError) as exc:
            self.last_error = str(exc)
            log.error("http_sd %s: %s", self.url, exc)
            return False
        if groups == self._groups:
            return False
        self._groups = groups
        return True

    def _fetch(self) -> list[TargetGroup]:
        client = self.client or httpx.Client()
        try:
            resp = client.get(
                self.url,
                timeout=max(self.refresh_interval, 1.0),
                headers={
                    "User-Agent": _USER_AGENT,
                    "Accept": "application/json",
                    "X-Prometheus-Refresh-Interval-Seconds": f"{self.refresh_interval:g}",
                },
            )
        finally:
            if self.client is None:
                client.close()
        if resp.status_code != 200:
            raise GroupError(f"server returned HTTP status {resp.status_code} {resp.reason_phrase}")
        ctype = resp.headers.get("Content-Type", "")
        if not _JSON_TYPE.match(ctype.strip()):
            raise GroupError(f'unsupported content type "{ctype}"')
        raw = json.loads(resp.content)
        if not isinstance(raw, list):
            raise GroupError("json: cannot unmarshal into []*targetgroup.Group")
        return [group_from_json(g, f"{self.url}:{i}", {"__meta_url": self.url}) for i, g in enumerate(raw)]

    def groups(self) -> list[TargetGroup]:
        return list(self._groups)
