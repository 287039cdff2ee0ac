"""Cluster DNS on one machine: Service names → cluster IPs, written as one hosts file per namespace.

A pod in namespace ``ns`` resolves, as with the cluster's DNS search path (``ns.svc.cluster.local
svc.cluster.local cluster.local``): ``svc`` (a Service of its own namespace), ``svc.other``,
``svc.other.svc`` and ``svc.other.svc.cluster.local``. Platform names (the embedded Prometheus-compatible
store, the trace store) are registered by the server, optionally with a port that differs from the cluster one
(``prometheus-server.prometheus.svc.cluster.local:80`` → ``127.0.0.1:9090``).

The files are what ``FLIGHTDECK_CLUSTER_HOSTS`` points at (see :mod:`flightdeck.runtime.resolver`); the
forward proxy and the node's Service link variables read the same tables.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flightdeck.runtime.env import service_link_env

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    namespace: str
    ip: str
    ports: tuple[tuple[int, str, int], ...] = ()  # (cluster port, real ip, real port)


class ClusterNames:
    def __init__(self, directory: Path, domain: str = "cluster.local") -> None:
        self.directory = directory
        self.domain = domain
        self._lock = threading.Lock()
        self._services: list[Obj] = []
        self._service_entries: list[_Entry] = []
        self._platform: list[_Entry] = []
        self._hosts: dict[str, str] = {}
        self._namespaces: set[str] = set()
        self._written: dict[str, str] = {}

    # -- registration -----------------------------------------------------------------------------------

    def set_services(self, services: Iterable[Obj]) -> None:
        """Replace the Service set (every namespace); rewrites the hosts files that changed."""
        entries: list[_Entry] = []
        kept: list[Obj] = []
        for svc in services:
            meta = svc.get("metadata") or {}
            ip = (svc.get("spec") or {}).get("clusterIP")
            kept.append(svc)
            if not ip or ip == "None":
                continue
            entries.append(
                _Entry(str(meta.get("name", "")), str(meta.get("namespace") or "default"), str(ip))
            )
        with self._lock:
            self._services = kept
            self._service_entries = entries
            self._namespaces.update(e.namespace for e in entries)
        self._write_all()

    def add_platform(
        self, name: str, namespace: str, ip: str, ports: Mapping[int, tuple[str, int]] | None = None
    ) -> None:
        """A platform service reachable as ``name.namespace.svc.cluster.local`` (and the shorter forms);
        ``ports`` moves cluster ports elsewhere: ``{80: ("127.0.0.1", 9090)}``."""
        moved = tuple((p, rip, rport) for p, (rip, rport) in (ports or {}).items())
        with self._lock:
            self._platform = [e for e in self._platform if (e.name, e.namespace) != (name, namespace)]
            self._platform.append(_Entry(name, namespace, ip, moved))
            self._namespaces.add(namespace)
        self._write_all()

    def add_host(self, host: str, ip: str) -> None:
        """A fixed name, the same in every namespace."""
        with self._lock:
            self._hosts[host.rstrip(".").lower()] = ip
        self._write_all()

    # -- lookups ------------------------------------------------------------------------------------------

    def _forms(self, entry: _Entry, namespace: str) -> list[str]:
        full = f"{entry.name}.{entry.namespace}"
        forms = [full, f"{full}.svc", f"{full}.svc.{self.domain}"]
        if entry.namespace == namespace:
            forms.insert(0, entry.name)
        return forms

    def table(self, namespace: str) -> dict[str, str]:
        """The hosts table a pod of ``namespace`` sees (the JSON written to its file)."""
        with self._lock:
            # platform names first: a user's Service with the same name wins, as it would in cluster DNS
            entries = [*self._platform, *self._service_entries]
            hosts = dict(self._hosts)
        out: dict[str, str] = {}
        for entry in entries:
            for form in self._forms(entry, namespace):
                out[form] = entry.ip
                for port, rip, rport in entry.ports:
                    out[f"{form}:{port}"] = f"{rip}:{rport}"
        out.update(hosts)
        return out

    def resolve(self, host: str, namespace: str, port: int | None = None) -> tuple[str, int | None] | None:
        table = self.table(namespace)
        key = host.rstrip(".").lower()
        if port is not None:
            moved = table.get(f"{key}:{port}")
            if moved is not None:
                moved_ip, _, real = moved.rpartition(":")
                return moved_ip, int(real)
        ip = table.get(key)
        return (ip, port) if ip is not None else None

    def service_env(self, namespace: str) -> dict[str, str]:
        """The Docker-link variables of the Services of ``namespace`` (``enableServiceLinks``)."""
        with self._lock:
            services = [
                s
                for s in self._services
                if ((s.get("metadata") or {}).get("namespace") or "default") == namespace
            ]
        services.sort(key=lambda s: str((s.get("metadata") or {}).get("name", "")))
        return service_link_env(services)

    # -- files ----------------------------------------------------------------------------------------------

    def hosts_file(self, namespace: str) -> Path:
        """The file to give pods of ``namespace`` as ``FLIGHTDECK_CLUSTER_HOSTS`` (kept up to date)."""
        with self._lock:
            self._namespaces.add(namespace)
        self._write(namespace)
        return self._path(namespace)

    def _path(self, namespace: str) -> Path:
        return self.directory / f"{namespace or '_cluster'}.json"

    def _write(self, namespace: str) -> None:
        text = json.dumps(self.table(namespace), indent=1, sort_keys=True)
        with self._lock:
            if self._written.get(namespace) == text:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(namespace)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # readers never see a half-written table
            self._written[namespace] = text

    def _write_all(self) -> None:
        with self._lock:
            namespaces = sorted(self._namespaces)
        for namespace in namespaces:
            self._write(namespace)
