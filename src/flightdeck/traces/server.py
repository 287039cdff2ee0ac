"""The embedded Jaeger: a trace store with OTLP ingest and the Jaeger query API.

    from flightdeck.traces.server import TraceServer
    srv = TraceServer(host="127.0.0.1").start()   # ports 0: free ones
    srv.otlp_http_url   # "http://127.0.0.1:PORT"  (POST /v1/traces)
    srv.otlp_grpc_address  # "127.0.0.1:PORT"
    srv.query_url       # "http://127.0.0.1:PORT"  (GET /api/services, /api/traces, ...)
    srv.stop()

Jaeger's default ports are 4317 (OTLP gRPC), 4318 (OTLP HTTP) and 16686 (query); the server
chooses the addresses (the cluster name ``jaeger-collector.jaeger.svc.cluster.local`` maps to them).
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TextIO

from flightdeck.traces.query import JaegerQueryAPI, Response
from flightdeck.traces.receiver import OTLPIngest
from flightdeck.traces.store import DEFAULT_MAX_SPANS, DEFAULT_MAX_TRACES, TraceStore

MAX_QUERY_BODY = 20 * 1024 * 1024


class _BodyError(Exception):
    """A request body the query API cannot read; answered with 400."""


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    """The request body: Content-Length or chunked (Go's server accepts both)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        total = 0
        while True:
            line = handler.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                raise _BodyError("malformed chunked encoding") from None
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_QUERY_BODY:
                raise _BodyError("http: request body too large")
            parts.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        raise _BodyError("bad Content-Length") from None
    if length > MAX_QUERY_BODY:
        raise _BodyError("http: request body too large")
    return handler.rfile.read(length) if length > 0 else b""


def _make_handler(api: JaegerQueryAPI) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "flightdeck-jaeger"
        sys_version = ""

        def _serve(self, method: str) -> None:
            target = self.path
            if "://" in target.split("?", 1)[0]:
                # absolute-form request target (through a proxy): route on its path
                parts = urllib.parse.urlsplit(target)
                target = parts.path + ("?" + parts.query if parts.query else "")
            try:
                body = _read_body(self)
            except _BodyError as exc:
                response = Response(400, [("Content-Type", "text/plain; charset=utf-8")], f"{exc}\n".encode())
                self.close_connection = True
            else:
                try:
                    response = api.handle(method, target, body)
                except Exception as exc:  # a bug must not kill the listener: answer like Go's recover
                    response = Response(
                        500, [("Content-Type", "text/plain; charset=utf-8")], f"{exc}\n".encode()
                    )
            self.send_response(response.status)
            for key, value in response.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)

        def send_response(self, code: int, message: str | None = None) -> None:
            # Go's net/http sends a Date header but no Server header.
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class TraceServer:
    def __init__(
        self,
        store: TraceStore | None = None,
        *,
        host: str = "127.0.0.1",
        query_port: int = 0,
        otlp_http_port: int | None = 0,
        otlp_grpc_port: int | None = 0,
        max_traces: int = DEFAULT_MAX_TRACES,
        max_spans: int = DEFAULT_MAX_SPANS,
        now: Callable[[], float] = time.time,
        log_stream: TextIO | None = None,
    ) -> None:
        self.store = store if store is not None else TraceStore(max_traces, max_spans)
        self.api = JaegerQueryAPI(self.store, now=now)
        self.host = host
        hostport = f"[{host}]" if ":" in host else host
        self.ingest: OTLPIngest | None = None
        if otlp_http_port is not None or otlp_grpc_port is not None:
            self.ingest = OTLPIngest(
                self.store,
                http_endpoint=None if otlp_http_port is None else f"{hostport}:{otlp_http_port}",
                grpc_endpoint=None if otlp_grpc_port is None else f"{hostport}:{otlp_grpc_port}",
                log_stream=log_stream,
            )
        self._httpd = http.server.ThreadingHTTPServer((host, query_port), _make_handler(self.api))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="traces-query", daemon=True)

    @property
    def query_port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def query_url(self) -> str:
        return f"http://{self._hostport()}:{self.query_port}"

    @property
    def otlp_http_url(self) -> str | None:
        port = self.ingest.http_port if self.ingest else None
        return None if port is None else f"http://{self._hostport()}:{port}"

    @property
    def otlp_grpc_address(self) -> str | None:
        port = self.ingest.grpc_port if self.ingest else None
        return None if port is None else f"{self._hostport()}:{port}"

    def _hostport(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def start(self) -> TraceServer:
        if self.ingest is not None:
            self.ingest.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.ingest is not None:
            self.ingest.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_server(**kwargs: Any) -> TraceServer:
    return TraceServer(**kwargs).start()
