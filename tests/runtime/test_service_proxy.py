"""Service load balancers with real sockets on loopback."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from flightdeck.runtime.service_proxy import ServiceProxies
from tests.runtime.conftest import EchoServer, ask, free_ip
from tests.support.prometheus import free_port


@pytest.fixture
def proxies() -> Iterator[ServiceProxies]:
    p = ServiceProxies()
    yield p
    p.close()


def objects(
    cluster_ip: str, port: int, backends: list[EchoServer], ready: list[bool]
) -> tuple[list[Any], list[Any]]:
    svc = {
        "metadata": {"name": "echo", "namespace": "t"},
        "spec": {
            "clusterIP": cluster_ip,
            "selector": {"app": "echo"},
            "ports": [{"port": port, "targetPort": "echo"}],
        },
    }
    pods = [
        {
            "metadata": {"name": f"echo-{i}", "namespace": "t", "labels": {"app": "echo"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "echo", "containerPort": b.port}]}]},
            "status": {"podIP": b.ip, "conditions": [{"type": "Ready", "status": "True" if r else "False"}]},
        }
        for i, (b, r) in enumerate(zip(backends, ready, strict=True))
    ]
    return [svc], pods


def test_round_robin_over_ready_endpoints(proxies: ServiceProxies, echo_servers: list[EchoServer]) -> None:
    echo_servers += [
        EchoServer(free_ip(), "stable-1"),
        EchoServer(free_ip(), "stable-2"),
        EchoServer(free_ip(), "canary"),
    ]
    ip, port = free_ip(), free_port()
    assert proxies.sync(*objects(ip, port, echo_servers, [True, True, True])) == []
    seen = Counter(ask(ip, port).split()[0] for _ in range(30))
    assert seen == {"stable-1": 10, "stable-2": 10, "canary": 10}  # a canary with 1 of 3 pods gets 1/3
    # the canary goes unready: it leaves the rotation; it comes back
    proxies.sync(*objects(ip, port, echo_servers, [True, True, False]))
    assert {ask(ip, port).split()[0] for _ in range(10)} == {"stable-1", "stable-2"}
    proxies.sync(*objects(ip, port, echo_servers, [True, True, True]))
    assert "canary" in {ask(ip, port).split()[0] for _ in range(6)}


def test_no_ready_endpoints_refuses(proxies: ServiceProxies, echo_servers: list[EchoServer]) -> None:
    echo_servers.append(EchoServer(free_ip(), "only"))
    ip, port = free_ip(), free_port()
    proxies.sync(*objects(ip, port, echo_servers, [False]))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, port), timeout=2)
    proxies.sync(*objects(ip, port, echo_servers, [True]))
    assert ask(ip, port) == "only hi"
    proxies.sync([], [])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, port), timeout=2)


def test_dead_endpoint_is_skipped(proxies: ServiceProxies, echo_servers: list[EchoServer]) -> None:
    alive = EchoServer(free_ip(), "alive")
    echo_servers.append(alive)
    dead_ip = free_ip()
    ip, port = free_ip(), free_port()
    svc, pods = objects(ip, port, [alive], [True])
    dead = {**pods[0], "metadata": {"name": "echo-dead", "namespace": "t", "labels": {"app": "echo"}}}
    dead = {**dead, "status": {"podIP": dead_ip, "conditions": [{"type": "Ready", "status": "True"}]}}
    proxies.sync(svc, [*pods, dead])
    assert {ask(ip, port) for _ in range(4)} == {"alive hi"}


def test_large_transfer_and_half_close(proxies: ServiceProxies) -> None:
    backend_ip = free_ip()
    listener = socket.create_server((backend_ip, 0))
    backend_port = listener.getsockname()[1]
    ip, port = free_ip(), free_port()
    svc = {
        "metadata": {"name": "sink", "namespace": "t"},
        "spec": {
            "clusterIP": ip,
            "selector": {"a": "b"},
            "ports": [{"port": port, "targetPort": backend_port}],
        },
    }
    pod = {
        "metadata": {"name": "p", "namespace": "t", "labels": {"a": "b"}},
        "spec": {},
        "status": {"podIP": backend_ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    proxies.sync([svc], [pod])
    payload = bytes(range(256)) * 40_000  # 10 MB
    import threading

    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        chunks = []
        while data := conn.recv(1 << 16):
            chunks.append(data)
        received.append(b"".join(chunks))
        conn.sendall(b"got %d" % len(received[0]))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.create_connection((ip, port), timeout=10) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)  # half-close: the answer must still come back
        answer = b""
        while data := sock.recv(4096):
            answer += data
    thread.join(10)
    listener.close()
    assert received == [payload]
    assert answer == b"got %d" % len(payload)


def test_unbindable_port_is_a_problem(proxies: ServiceProxies, echo_servers: list[EchoServer]) -> None:
    echo_servers.append(EchoServer(free_ip(), "x"))
    ip = free_ip()
    blocker = socket.create_server((ip, 0))
    port = blocker.getsockname()[1]
    try:
        problems = proxies.sync(*objects(ip, port, echo_servers, [True]))
    finally:
        blocker.close()
    assert problems and problems[0].startswith(f"Service t/echo: cannot listen on {ip}:{port}: ")
