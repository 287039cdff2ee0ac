"""HotROD's HTTP plumbing: a traced server mux (``pkg/tracing/mux.go`` + otelhttp) and a traced JSON client.

Server: every registered pattern is wrapped in a SERVER span named after the pattern (``http.route`` too),
status Error only for 5xx, and the response carries ``traceresponse: 00-<trace>-<span>-<flags>``. Error
bodies are Go's ``http.Error`` (``text/plain; charset=utf-8``, ``X-Content-Type-Options: nosniff``, a
trailing newline). Client: a CLIENT span ``HTTP GET`` around each call, status Error for HTTP >= 400, trace
context and baggage injected into the request headers; connections are kept alive per thread.
"""

from __future__ import annotations

import http
import http.client
import http.server
import json
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from flightdeck.apps.hotrod.tracing import PROPAGATOR, traceresponse

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class FormError(ValueError):
    """``r.ParseForm()`` failed; ``str()`` is Go's message."""


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    ctx: Context
    span: trace.Span

    @property
    def url(self) -> str:
        """The request target as Go's ``r.URL.String()`` prints it for a server request."""
        return self.path + (f"?{self.query}" if self.query else "")

    def form(self) -> dict[str, list[str]]:
        """Go's ``r.ParseForm`` on the query string (the original only reads GET parameters)."""
        match = _BAD_ESCAPE.search(self.query)
        if match:
            raise FormError(f"invalid URL escape {json.dumps(self.query[match.start() : match.start() + 3])}")
        parsed: dict[str, list[str]] = {}
        for key, value in urllib.parse.parse_qsl(self.query, keep_blank_values=True):
            parsed.setdefault(key, []).append(value)
        return parsed

    def form_value(self, key: str) -> str:
        values = self.form().get(key)
        return values[0] if values else ""


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def http_error(message: str, status: int) -> Response:
    """Go's ``http.Error(w, message, status)``."""
    return Response(
        status,
        (message + "\n").encode(),
        [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
    )


def go_json(value: Any) -> bytes:
    """``json.Marshal``: compact, UTF-8, with Go's HTML escaping of ``<``, ``>`` and ``&``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def json_response(value: Any) -> Response:
    return Response(200, go_json(value), [("Content-Type", "application/json")])


Handler = Callable[[Request], Response]


class Mux:
    """Go's ``ServeMux`` subset: exact patterns, and subtree patterns ending in ``/``; longest match wins."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._exact: dict[str, Handler] = {}
        self._subtree: list[tuple[str, Handler]] = []

    def handle(self, pattern: str, handler: Handler) -> None:
        if pattern.endswith("/"):
            self._subtree.append((pattern, handler))
            self._subtree.sort(key=lambda item: -len(item[0]))
        else:
            self._exact[pattern] = handler

    def match(self, path: str) -> tuple[str, Handler] | None:
        handler = self._exact.get(path)
        if handler is not None:
            return path, handler
        for prefix, subtree_handler in self._subtree:
            if path.startswith(prefix):
                return prefix, subtree_handler
        return None

    @property
    def tracer(self) -> trace.Tracer:
        return self._tracer


def _split_host(value: str) -> tuple[str, int | None]:
    """``host:port`` of a Host header (``[v6]:port`` too); the port is ``None`` when absent."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else None


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path or "/"
        mux = self.server.mux
        found = mux.match(path)
        if found is None:
            self._write(http_error("404 page not found", 404))
            return
        pattern, handler = found
        headers = {k.lower(): v for k, v in self.headers.items()}
        parent = PROPAGATOR.extract(headers)
        host, port = _split_host(headers.get("host", ""))
        peer_host, peer_port = self.client_address[0], self.client_address[1]
        attributes: dict[str, str | int] = {
            "server.address": host,
            "http.request.method": self.command,
            "url.scheme": "http",
        }
        if port is not None:
            attributes["server.port"] = port
        attributes |= {"network.peer.address": peer_host, "network.peer.port": peer_port}
        if headers.get("user-agent"):
            attributes["user_agent.original"] = headers["user-agent"]
        attributes |= {
            "client.address": peer_host,
            "url.path": path,
            "network.protocol.version": "1.1",
            "http.route": pattern,
        }
        span = mux.tracer.start_span(pattern, context=parent, kind=SpanKind.SERVER, attributes=attributes)
        ctx = trace.set_span_in_context(span, parent)
        trace_header = traceresponse(span)
        try:
            response = handler(Request(self.command, path, parsed.query, headers, ctx, span))
        # a bug in a handler: answer 500 and keep serving
        except Exception as exc:
            span.record_exception(exc)
            response = http_error("internal error", 500)
        response.headers.insert(0, ("traceresponse", trace_header))
        if response.body:
            span.set_attribute("http.response.body.size", len(response.body))
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        self._write(response)

    def _write(self, response: Response) -> None:
        headers = [("Date", formatdate(usegmt=True)), *response.headers]
        if response.body and not any(name.lower() == "content-type" for name, _ in response.headers):
            headers.append(("Content-Type", _sniff(response.body)))
        headers.append(("Content-Length", str(len(response.body))))
        reason = http.HTTPStatus(response.status).phrase
        head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        # head and body leave in one write: two small writes on a kept-alive connection meet Nagle's
        # algorithm and the peer's delayed ACK, which would add ~40 ms to every call
        self.wfile.write(
            head.encode("latin-1") + b"\r\n" + (b"" if self.command == "HEAD" else response.body)
        )


def _sniff(body: bytes) -> str:
    head = body[:512].lstrip()
    if head[:5].lower() in (b"<html", b"<!doc"):
        return "text/html; charset=utf-8"
    return "text/plain; charset=utf-8"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mux: Mux) -> None:
        self.mux = mux
        super().__init__(address, _RequestHandler)


class HTTPService:
    """One listening HTTP server, served from a daemon thread."""

    def __init__(self, name: str, host: str, port: int, mux: Mux) -> None:
        self.name = name
        self._server = _Server((host, port), mux)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name=f"hotrod-{name}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ------------------------------------------------------------------------------------------------ client


class HTTPStatusError(Exception):
    """A response with status >= 400; ``str()`` is the response body (``GetJSON``'s error)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status = status


class TracedHTTPClient:
    """``tracing.HTTPClient``: GET + JSON decode inside an ``HTTP GET`` CLIENT span."""

    def __init__(self, tracer: trace.Tracer, timeout: float = 60.0) -> None:
        self._tracer = tracer
        self._timeout = timeout
        self._local = threading.local()

    def _connection(self, host: str, port: int, fresh: bool) -> http.client.HTTPConnection:
        pool: dict[tuple[str, int], http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get((host, port))
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
            pool[(host, port)] = conn
        return conn

    def _round_trip(self, host: str, port: int, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(2):
            conn = self._connection(host, port, fresh=attempt > 0)
            try:
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if attempt:
                    raise
            except (OSError, http.client.HTTPException):
                conn.close()
                raise
        raise AssertionError("unreachable")

    def get_json(self, ctx: Context, url: str) -> Any:
        split = urllib.parse.urlsplit(url)
        host, port = split.hostname or "localhost", split.port or 80
        target = split.path + (f"?{split.query}" if split.query else "")
        span = self._tracer.start_span(
            "HTTP GET",
            context=ctx,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "GET",
                "url.full": url,
                "server.address": host,
                "server.port": port,
            },
        )
        headers = {"Host": f"{host}:{port}", "User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}
        PROPAGATOR.inject(headers, context=trace.set_span_in_context(span, ctx))
        try:
            status, body = self._round_trip(host, port, target, headers)
        except (OSError, http.client.HTTPException) as exc:
            message = f'Get "{url}": {_describe(exc)}'
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, message))
            span.end()
            raise ConnectionError(message) from exc
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        if status >= 400:
            raise HTTPStatusError(status, body.decode(errors="replace"))
        return json.loads(body)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "dial tcp: connect: connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "context deadline exceeded"
    return str(exc) or type(exc).__name__
