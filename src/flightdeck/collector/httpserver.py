"""A small HTTP/1.1 server on asyncio's Protocol API, for the collector's endpoints (OTLP/HTTP, health,
/metrics). It parses only what these endpoints need — request line, headers, Content-Length or chunked
bodies, keep-alive, ``Expect: 100-continue`` — and hands a complete request to an async handler, so the
per-request cost stays a few microseconds and a 1,000-span OTLP batch is one ``bytes`` object, not a copy
per read. Responses carry ``Date`` and ``Content-Length`` like Go's net/http.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEADER_BYTES = 1 << 20  # Go's DefaultMaxHeaderBytes


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    version: str = "HTTP/1.1"
    peer: str = ""


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None


Handler = Callable[[Request], Awaitable[Response]]

# What Go's ServeMux answers for a path nobody handles (share it; never mutate it).
NOT_FOUND = Response(
    404, b"404 page not found\n", [("X-Content-Type-Options", "nosniff")], "text/plain; charset=utf-8"
)


class BodyTooLarge(Exception):
    """A request body over the configured limit; answered with 413."""


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


def encode_response(
    resp: Response,
    keep_alive: bool,
    head_only: bool = False,
    extra_headers: list[tuple[str, str]] | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'status code ' + str(resp.status))}"]
    if resp.content_type is not None:
        lines.append(f"Content-Type: {resp.content_type}")
    if extra_headers:
        lines.extend(f"{k}: {v}" for k, v in extra_headers)
    lines.extend(f"{k}: {v}" for k, v in resp.headers)
    lines.append(f"Date: {_http_date()}")
    lines.append(f"Content-Length: {len(resp.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + resp.body


class _Conn(asyncio.Protocol):
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._try_dispatch()

    def _error(self, status: int, text: str) -> None:
        if self.transport is None:
            return
        resp = Response(status, text.encode(), content_type="text/plain; charset=utf-8")
        self.transport.write(encode_response(resp, keep_alive=False))
        self.transport.close()
        self.closed = True

    def _try_dispatch(self) -> None:
        while not self.closed and not self.busy:
            req = self._parse()
            if req is None:
                return
            self.busy = True
            asyncio.get_running_loop().create_task(self._run(req))

    def _parse(self) -> Request | None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                self._error(431, "431 Request Header Fields Too Large")
            return None
        try:
            head = bytes(buf[:end]).decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            self._error(400, "400 Bad Request")
            return None
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._error(400, "400 Bad Request")
            return None
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                self._error(400, "400 Bad Request: malformed MIME header line")
                return None
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        body_start = end + 4
        te = headers.get("transfer-encoding", "").lower()
        if te and te != "identity":
            if te != "chunked":
                self._error(501, "501 Not Implemented: unsupported transfer encoding")
                return None
            parsed = self._chunked(body_start)
            if parsed is None:
                self._maybe_continue(headers)
                return None
            body, consumed = parsed
        else:
            length_text = headers.get("content-length", "0")
            if not length_text.isdigit():
                self._error(400, "400 Bad Request: bad Content-Length")
                return None
            length = int(length_text)
            if length > self.server.max_body:
                # Read what fits the limit; the handler answers like Go's MaxBytesReader would.
                self._error(413, "413 Request Entity Too Large")
                return None
            if len(buf) - body_start < length:
                self._maybe_continue(headers)
                return None
            body = bytes(buf[body_start : body_start + length])
            consumed = body_start + length
        del buf[:consumed]
        path, _, query = target.partition("?")
        return Request(method, target, path, query, headers, body, version, self.peer)

    def _maybe_continue(self, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            headers["expect"] = ""  # answer once per request
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _chunked(self, pos: int) -> tuple[bytes, int] | None:
        buf = self.buf
        chunks: list[bytes] = []
        total = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_text = bytes(buf[pos:eol]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self._error(400, "400 Bad Request: invalid chunk size")
                return None
            pos = eol + 2
            if size == 0:
                # skip trailers up to the blank line
                while True:
                    eol = buf.find(b"\r\n", pos)
                    if eol < 0:
                        return None
                    if eol == pos:
                        return b"".join(chunks), eol + 2
                    pos = eol + 2
            if len(buf) < pos + size + 2:
                return None
            total += size
            if total > self.server.max_body:
                self._error(413, "413 Request Entity Too Large")
                return None
            chunks.append(bytes(buf[pos : pos + size]))
            pos += size + 2

    async def _run(self, req: Request) -> None:
        try:
            try:
                resp = await self.server.handler(req)
            except Exception as exc:  # a handler bug must not kill the connection loop or the process
                self.server.on_error(exc)
                resp = Response(500, b"500 Internal Server Error", content_type="text/plain; charset=utf-8")
            keep = req.headers.get("connection", "").lower() != "close" and not (
                req.version == "HTTP/1.0" and req.headers.get("connection", "").lower() != "keep-alive"
            )
            keep = keep and self.server.keep_alives and not self.server.closing
            if self.transport is not None and not self.closed:
                self.transport.write(
                    encode_response(
                        resp, keep, head_only=req.method == "HEAD", extra_headers=self.server.response_headers
                    )
                )
                if not keep:
                    self.transport.close()
                    self.closed = True
        finally:
            self.busy = False
        if not self.closed and self.buf:
            self._try_dispatch()


class HTTPServer:
    """``await HTTPServer(handler).start(host, port)``; ``await close()`` stops accepting and closes
    idle connections (in-flight requests finish)."""

    def __init__(
        self,
        handler: Handler,
        max_body: int = 20 << 20,
        on_error: Callable[[BaseException], None] | None = None,
        response_headers: list[tuple[str, str]] | None = None,
        keep_alives: bool = True,
    ) -> None:
        self.handler = handler
        self.max_body = max_body
        self.on_error = on_error or (lambda exc: None)
        # confighttp: response_headers go on every response; keep_alives_enabled: false closes after each
        self.response_headers = response_headers or []
        self.keep_alives = keep_alives
        self.connections: set[_Conn] = set()
        self.closing = False
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Conn(self), host, port, reuse_address=True, backlog=1024
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            if not conn.busy and conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
