"""Where listeners bind and where outbound endpoints dial, under flightdeck's local runtime.

The runtime gives every pod its own loopback IP (env ``FLIGHTDECK_POD_IP``): a listener configured for
all interfaces (``0.0.0.0:4318``, ``:4318``, ``[::]:4318``) binds that IP instead, so two collector pods
can both own port 4318. Cluster DNS names (``jaeger-collector.jaeger.svc.cluster.local``) are looked up
in the JSON file named by ``FLIGHTDECK_CLUSTER_HOSTS`` (``{"hostname": "ip"}``). These two functions are
the only places that know about it, so the runtime's own resolver can replace them later.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping

_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


class AddressError(ValueError):
    """An endpoint that is not ``host:port``; ``str()`` follows Go's ``net.SplitHostPort``."""


def split_host_port(endpoint: str) -> tuple[str, int]:
    """``host:port`` → (host, port), brackets removed from IPv6 hosts; Go's error texts."""
    if endpoint.startswith("["):
        end = endpoint.find("]")
        if end < 0:
            raise AddressError(f"address {endpoint}: missing ']' in address")
        host = endpoint[1:end]
        rest = endpoint[end + 1 :]
        if not rest.startswith(":"):
            raise AddressError(f"address {endpoint}: missing port in address")
        port_text = rest[1:]
    else:
        host, sep, port_text = endpoint.rpartition(":")
        if not sep:
            raise AddressError(f"address {endpoint}: missing port in address")
        if ":" in host:
            raise AddressError(f"address {endpoint}: too many colons in address")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise AddressError(f"address {endpoint}: invalid port")
    return host, int(port_text)


def listen_address(endpoint: str, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """The (host, port) a server configured with ``endpoint`` binds; ``localhost`` stays loopback."""
    env = os.environ if env is None else env
    host, port = split_host_port(endpoint)
    if host in _WILDCARDS:
        pod_ip = env.get("FLIGHTDECK_POD_IP", "")
        host = pod_ip or ("0.0.0.0" if host in ("", "0.0.0.0") else "::")
    return host, port


def listen_error(endpoint: str, exc: BaseException) -> str:
    """Go's ``net.Listen("tcp", endpoint)`` error text for a failed bind: ``listen tcp: address …: missing
    port in address``, ``listen tcp: lookup name: no such host``, or ``listen tcp 127.0.0.1:4318: bind:
    address already in use`` (the address as Go resolved it: ``localhost`` is 127.0.0.1, a wildcard
    host stays as written)."""
    if isinstance(exc, AddressError):
        return f"listen tcp: {exc}"
    try:
        host, port = split_host_port(endpoint)
    except AddressError as bad:
        return f"listen tcp: {bad}"
    if isinstance(exc, socket.gaierror):
        return f"listen tcp: lookup {host}: no such host"
    if host == "localhost":
        host = "127.0.0.1"
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, OSError) and exc.errno is not None:
        # os.strerror, not exc.strerror: asyncio rewrites the latter into a longer sentence
        reason = os.strerror(exc.errno).lower()
        return f"listen tcp {shown}: bind: {reason}"
    return f"listen tcp {shown}: {exc}"


_hosts_cache: dict[str, tuple[float, dict[str, str]]] = {}


def cluster_hosts(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runtime's name → IP table (re-read when the file changes); empty when not under the runtime."""
    env = os.environ if env is None else env
    path = env.get("FLIGHTDECK_CLUSTER_HOSTS", "")
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    cached = _hosts_cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return cached[1] if cached else {}
    table = {str(k).lower().rstrip("."): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    _hosts_cache[path] = (mtime, table)
    return table


def dial_host(host: str, env: Mapping[str, str] | None = None) -> str:
    """The IP to dial for ``host``: the runtime's table entry, else the host unchanged (normal DNS)."""
    return cluster_hosts(env).get(host.lower().rstrip("."), host)


def dial_address(endpoint: str, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(host, port) to connect to for a ``host:port`` endpoint."""
    host, port = split_host_port(endpoint)
    return dial_host(host, env), port
