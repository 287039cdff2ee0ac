"""A canned HTTP server on loopback for the provider tests (stdlib ``http.server``)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from flightdeck.analysis.providers import MeasureContext
from flightdeck.analysis.types import Metric


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Recorded], Reply]


class CannedServer:
    """Answers every request with what ``responder`` returns and records the requests."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.responder: Responder = lambda _: Reply(404, b"not configured")
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                server.requests.append(rec)
                reply = server.responder(rec)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def respond(self, responder: Responder) -> None:
        self.responder = responder
        self.requests.clear()

    def json(self, payload: Any, status: int = 200, delay: float = 0.0) -> None:
        body = json.dumps(payload).encode()
        self.respond(lambda _: Reply(status, body, {"Content-Type": "application/json"}, delay))

    def text(self, body: str, status: int = 200) -> None:
        self.respond(lambda _: Reply(status, body.encode(), {"Content-Type": "text/plain"}))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    server = CannedServer()
    yield server
    server.close()


def make_ctx(now: float = 1_700_000_000.0, secrets: dict[str, str] | None = None) -> MeasureContext:
    return MeasureContext(run_name="run", namespace="default", now=now, secrets=secrets or {})


def metric_of(provider: dict[str, Any], **fields: Any) -> Metric:
    return Metric.from_dict({"name": "m", "provider": provider, **fields})
