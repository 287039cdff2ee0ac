"""Helpers for the runtime's tests: loopback addresses nobody else uses, tiny servers."""

from __future__ import annotations

import random
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

_used: set[str] = set()


def free_ip(prefix: str = "127.111") -> str:
    """A loopback address of the tests' own range (Linux routes all of 127/8 to lo)."""
    while True:
        ip = f"{prefix}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if ip not in _used:
            _used.add(ip)
            return ip


class EchoServer(socketserver.ThreadingTCPServer):
    """Answers every line with ``<name> <line>``; lets tests see which backend served a connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ip: str, name: str) -> None:
        self.name = name

        class Handler(socketserver.StreamRequestHandler):
            def handle(inner) -> None:
                for line in inner.rfile:
                    inner.wfile.write(f"{name} ".encode() + line)
                    inner.wfile.flush()

        super().__init__((ip, 0), Handler)
        self.ip = ip
        self.port = int(self.server_address[1])
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def ask(ip: str, port: int, line: str = "hi", timeout: float = 5.0) -> str:
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        sock.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


@pytest.fixture
def echo_servers() -> Iterator[list[EchoServer]]:
    servers: list[EchoServer] = []
    yield servers
    for server in servers:
        server.stop()
