"""Cluster names for flightdeck's own programs: a hosts table in a JSON file, and a ``getaddrinfo`` that reads it.

The node gives every pod ``FLIGHTDECK_CLUSTER_HOSTS=<file>``; the file maps names to addresses::

    {"collector.otel.svc.cluster.local": "127.20.0.3",
     "prometheus-server.prometheus.svc.cluster.local:80": "127.0.0.1:9090"}

A ``name:port`` key moves that port too (a platform service whose real port differs from the cluster one).
Names are matched case-insensitively, without a trailing dot. The file is re-read when it changes (Services
come and go while a pod runs). This module imports nothing heavy: HotROD and the collector import it at start.

* :func:`install` patches ``socket.getaddrinfo``/``gethostbyname`` in this process (``http.client``,
  ``urllib3``/``requests``, ``httpx`` and asyncio all resolve through them).
* :func:`resolve_target` rewrites a gRPC target (grpcio resolves names in C, past any Python patch).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

ENV = "FLIGHTDECK_CLUSTER_HOSTS"
_CHECK_EVERY = 0.5  # seconds between looks at the file's mtime


def _norm(host: str) -> str:
    return host.rstrip(".").lower()


def parse_table(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[tuple[str, int], tuple[str, int]]]:
    names: dict[str, str] = {}
    ports: dict[tuple[str, int], tuple[str, int]] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            continue
        name, sep, port = key.rpartition(":")
        if sep and port.isdigit() and name:
            ip, vsep, vport = value.rpartition(":")
            if vsep and vport.isdigit():
                ports[(_norm(name), int(port))] = (ip, int(vport))
            continue
        names[_norm(key)] = value
    return names, ports


class HostsTable:
    """The table in one hosts file, reloaded when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._names: dict[str, str] = {}
        self._ports: dict[tuple[str, int], tuple[str, int]] = {}
        self._mtime = -1.0
        self._checked = 0.0
        self._lock = threading.Lock()
        self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < _CHECK_EVERY:
            return
        self._checked = now
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return
        if mtime == self._mtime:
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return  # a half-written file: keep the previous table, look again shortly
        if isinstance(data, dict):
            with self._lock:
                self._names, self._ports = parse_table(data)
                self._mtime = mtime

    def lookup(self, host: str, port: int | None = None) -> tuple[str, int | None] | None:
        """``(ip, port)`` for a cluster name (the port changes only for ``name:port`` entries)."""
        self._reload()
        key = _norm(host)
        with self._lock:
            if port is not None:
                moved = self._ports.get((key, port))
                if moved is not None:
                    return moved
            ip = self._names.get(key)
        return (ip, port) if ip is not None else None


_table: HostsTable | None = None
_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname
_original_gethostbyname_ex = socket.gethostbyname_ex


def table() -> HostsTable | None:
    """The table named by ``FLIGHTDECK_CLUSTER_HOSTS`` (or given to :func:`install`)."""
    global _table
    if _table is None:
        path = os.environ.get(ENV)
        if path:
            _table = HostsTable(path)
    return _table


def resolve(host: str, port: int | None = None) -> tuple[str, int | None] | None:
    current = table()
    return current.lookup(host, port) if current is not None else None


def _port_number(port: Any) -> int | None:
    if port is None:
        return None
    if isinstance(port, int):
        return port
    text = port.decode() if isinstance(port, bytes) else str(port)
    if text.isdigit():
        return int(text)
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        return None


def _getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
    current = _table
    if current is not None and host and not (flags & socket.AI_NUMERICHOST):
        name = host.decode() if isinstance(host, bytes) else str(host)
        found = current.lookup(name, _port_number(port))
        if found is not None:
            ip, new_port = found
            if new_port is not None and new_port != _port_number(port):
                port = new_port
            return _original_getaddrinfo(ip, port, family, type, proto, flags | socket.AI_NUMERICHOST)
    return _original_getaddrinfo(host, port, family, type, proto, flags)


def _gethostbyname(host: str) -> str:
    current = _table
    if current is not None:
        found = current.lookup(host)
        if found is not None:
            return found[0]
    return _original_gethostbyname(host)


def _gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
    current = _table
    if current is not None:
        found = current.lookup(host)
        if found is not None:
            return host, [], [found[0]]
    return _original_gethostbyname_ex(host)


def install(path: str | None = None) -> bool:
    """Resolve cluster names in this process; ``path`` defaults to ``$FLIGHTDECK_CLUSTER_HOSTS``.

    Returns whether a table is in place. Idempotent; calling it again with another path switches tables.
    """
    global _table
    if path is not None:
        _table = HostsTable(path)
    elif table() is None:
        return False
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex
    return True


def uninstall() -> None:
    global _table
    socket.getaddrinfo = _original_getaddrinfo
    socket.gethostbyname = _original_gethostbyname
    socket.gethostbyname_ex = _original_gethostbyname_ex
    _table = None


def resolve_target(target: str) -> str:
    """A gRPC target with a cluster name replaced by its address (``collector.otel:4317`` → ``127.20.0.3:4317``).

    Accepts ``host:port``, ``dns:///host:port`` and ``dns://authority/host:port``; other schemes (``ipv4:``,
    ``unix:``) and unknown names are returned unchanged. A missing port is gRPC's default, 443.
    """
    rest = target
    if rest.startswith("dns:"):
        rest = rest[4:]
        if rest.startswith("//"):
            rest = rest[2:].partition("/")[2]
    elif "://" in rest or rest.startswith(("unix:", "ipv4:", "ipv6:", "vsock:", "unix-abstract:")):
        return target
    if rest.startswith("["):
        return target  # an IPv6 literal
    host, sep, port_text = rest.rpartition(":")
    if not sep:
        host, port_text = rest, "443"
    if not port_text.isdigit():
        return target
    found = resolve(host, int(port_text))
    if found is None:
        return target
    ip, port = found
    return f"{ip}:{port if port is not None else port_text}"
