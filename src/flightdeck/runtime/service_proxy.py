"""Service load balancers: one TCP listener per Service port on the Service's cluster IP, spreading connections
round-robin over the ready endpoints — kube-proxy's job, on loopback.

Each accepted connection goes to the next endpoint (so a canary with one of four ready pods gets a quarter of
the connections, as with Argo Rollouts without a traffic router); if that endpoint refuses, the next ones are
tried. A Service port without ready endpoints has no listener at all, so clients get "connection refused", as
kube-proxy's REJECT rule gives them. Bytes are spliced with asyncio protocols (no per-chunk tasks or copies
beyond the socket reads); flow control follows the transports' write buffers, and half-closes are passed on.
Connections already established keep running when their endpoint leaves the Service (as conntrack keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flightdeck.runtime.endpoints import ServicePort, service_ports
from flightdeck.runtime.netloop import NetLoop

Obj = dict[str, Any]
_RETRY_ENDPOINTS = 3


class _Half(asyncio.Protocol):
    """One side of a spliced connection; forwards what it reads to its peer's transport."""

    __slots__ = ("eof", "peer", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Half | None = None
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None:
            return False
        if peer.eof:
            peer.transport.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True  # keep the other direction open (half-close)

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.close()
        self.peer = None


class _Client(_Half):
    """An accepted connection: picks an endpoint, connects, then splices."""

    __slots__ = ("listener",)

    def __init__(self, listener: _Listener) -> None:
        super().__init__()
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()  # nothing to forward to until the endpoint answers
        self.listener.clients.add(self)
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        listener = self.listener
        tried = 0
        while tried < min(_RETRY_ENDPOINTS, len(listener.backends)):
            host, port = listener.pick()
            tried += 1
            try:
                _transport, upstream = await loop.create_connection(_Half, host, port)
            except OSError:
                continue
            if self.transport is None or self.transport.is_closing():
                if upstream.transport is not None:
                    upstream.transport.close()
                return
            upstream.peer = self
            self.peer = upstream
            self.transport.resume_reading()
            return
        if self.transport is not None:
            _reset(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.clients.discard(self)
        super().connection_lost(exc)


def _reset(transport: asyncio.Transport) -> None:
    """Close with RST, as a rejected connection would end."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    transport.abort()


@dataclass(eq=False)
class _Listener:
    ip: str
    port: int
    backends: tuple[tuple[str, int], ...] = ()
    server: asyncio.Server | None = None
    clients: set[_Client] = field(default_factory=set)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    error: str = ""

    def pick(self) -> tuple[str, int]:
        backends = self.backends
        return backends[next(self._counter) % len(backends)]


class ServiceProxies:
    """All Service load balancers of the node, on a dedicated event loop."""

    def __init__(self, loop: NetLoop | None = None) -> None:
        self._own_loop = loop is None
        self.net = (loop or NetLoop("flightdeck-services")).start()
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._ports: list[ServicePort] = []

    def sync(self, services: Iterable[Obj], pods: Iterable[Obj]) -> list[str]:
        """Make the listeners match the Services and their ready endpoints; returns the problems found
        (constructs not supported, ports that cannot be bound) for the caller to report on the objects."""
        ports, problems = service_ports(services, pods)
        self._ports = ports
        problems.extend(self.net.run(self._apply(ports)))
        return problems

    async def _apply(self, ports: list[ServicePort]) -> list[str]:
        problems: list[str] = []
        wanted: dict[tuple[str, int], ServicePort] = {(p.cluster_ip, p.port): p for p in ports}
        for key in list(self._listeners):
            if key not in wanted:
                listener = self._listeners.pop(key)
                await self._close(listener, drop_clients=True)
        loop = asyncio.get_running_loop()
        for key, sp in wanted.items():
            found = self._listeners.get(key)
            listener = found if found is not None else _Listener(sp.cluster_ip, sp.port)
            self._listeners[key] = listener
            listener.backends = sp.backends
            if sp.backends and listener.server is None:
                try:
                    listener.server = await loop.create_server(
                        lambda lst=listener: _Client(lst),  # type: ignore[misc]
                        sp.cluster_ip,
                        sp.port,
                        reuse_address=True,
                        backlog=1024,
                    )
                    listener.error = ""
                except OSError as exc:
                    listener.error = _bind_error(sp, exc)
            elif not sp.backends and listener.server is not None:
                await self._close(listener, drop_clients=False)
            if listener.error:
                problems.append(listener.error)
        return problems

    @staticmethod
    async def _close(listener: _Listener, drop_clients: bool) -> None:
        if listener.server is not None:
            listener.server.close()
            listener.server = None
        if drop_clients:
            for client in list(listener.clients):
                if client.transport is not None:
                    client.transport.close()

    def backends(self, namespace: str, name: str) -> dict[int, tuple[tuple[str, int], ...]]:
        """Service port -> the endpoints it balances over (``flightdeck get endpoints``-like views)."""
        return {p.port: p.backends for p in self._ports if (p.namespace, p.service) == (namespace, name)}

    def close(self) -> None:
        async def close_all() -> None:
            for listener in self._listeners.values():
                await self._close(listener, drop_clients=True)
            self._listeners.clear()

        self.net.run(close_all())
        if self._own_loop:
            self.net.stop()


def _bind_error(sp: ServicePort, exc: OSError) -> str:
    where = f"Service {sp.namespace}/{sp.service}: cannot listen on {sp.cluster_ip}:{sp.port}"
    if exc.errno == errno.EACCES and sp.port < 1024:
        return (
            f"{where}: {exc.strerror} (ports below 1024 need privileges; allow them with "
            "sysctl net.ipv4.ip_unprivileged_port_start=0)"
        )
    return f"{where}: {exc.strerror or exc}"
