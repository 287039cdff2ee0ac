"""An HTTP forward proxy that knows the cluster's names — how ``curl http://hotrod.hotrod.svc.cluster.local:8080``
in a pod reaches the Service (pods get it as ``http_proxy``/``HTTP_PROXY``/``https_proxy``).

Short names depend on the asking pod's namespace, so each namespace gets its own listener (``url_for(ns)``).
Supported: absolute-URI requests of any method (``GET http://host:port/path``; bodies by ``Content-Length`` or
chunked; keep-alive, one upstream connection per client connection and host), ``CONNECT host:port`` tunnels
(HTTPS, gRPC), and ``Upgrade``. Names not in the cluster table are resolved normally, so the proxy also
reaches the outside world. When the upstream cannot be reached, a plain request's connection is reset (curl
fails the way it would without a proxy, e.g. ``curl: (56) Recv failure``) and a ``CONNECT`` gets ``502``.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Callable

from flightdeck.runtime.netloop import NetLoop

Resolve = Callable[[str, str, int], tuple[str, int | None] | None]  # (host, namespace, port) -> (ip, port)

_MAX_HEAD = 64 * 1024
_HOP_BY_HOP = frozenset({b"proxy-connection", b"proxy-authorization", b"keep-alive", b"expect"})


class _BadRequest(Exception):
    """A proxied request line or header block that does not parse; answered with 400."""


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _BadRequest("request head too large") from None
    return head


def _headers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    out = []
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise _BadRequest("malformed header line")
        out.append((name.strip(), value.strip()))
    return out


def _get(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> set[bytes]:
    out: set[bytes] = set()
    for key, value in headers:
        if key.lower() == name:
            out.update(t.strip().lower() for t in value.split(b","))
    return out


async def _copy_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: list[tuple[bytes, bytes]]
) -> bool:
    """Copy one message body framed by the headers; returns False for "until close" framing."""
    if b"chunked" in _tokens(headers, b"transfer-encoding"):
        while True:
            line = await reader.readuntil(b"\r\n")
            writer.write(line)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = await reader.readuntil(b"\r\n")
                    writer.write(trailer)
                    if trailer == b"\r\n":
                        return True
            writer.write(await reader.readexactly(size + 2))
            await writer.drain()
    length = _get(headers, b"content-length")
    if length is not None:
        remaining = int(length)
        while remaining:
            chunk = await reader.read(min(remaining, 65536))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            writer.write(chunk)
            remaining -= len(chunk)
            await writer.drain()
        return True
    return False  # no framing: no request body; a response runs until the connection closes


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _splice(
    r1: asyncio.StreamReader, w1: asyncio.StreamWriter, r2: asyncio.StreamReader, w2: asyncio.StreamWriter
) -> None:
    await asyncio.gather(_pipe(r1, w2), _pipe(r2, w1))


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    transport.abort()


class ForwardProxy:
    """One listener per namespace on ``host`` (an ephemeral port each)."""

    def __init__(self, resolve: Resolve, loop: NetLoop | None = None, host: str = "127.0.0.1") -> None:
        self._resolve = resolve
        self._own_loop = loop is None
        self.net = (loop or NetLoop("flightdeck-proxy")).start()
        self.host = host
        self._servers: dict[str, asyncio.Server] = {}
        self._urls: dict[str, str] = {}

    def url_for(self, namespace: str) -> str:
        """``http://127.0.0.1:<port>``: the proxy for pods of ``namespace`` (started on first use)."""
        url = self._urls.get(namespace)
        if url is None:
            url = self.net.run(self._listen(namespace))
        return url

    async def _listen(self, namespace: str) -> str:
        if namespace in self._urls:
            return self._urls[namespace]
        server = await asyncio.start_server(
            lambda r, w: self._serve(r, w, namespace), self.host, 0, limit=_MAX_HEAD, backlog=512
        )
        port = server.sockets[0].getsockname()[1]
        self._servers[namespace] = server
        url = f"http://{self.host}:{port}"
        self._urls[namespace] = url
        return url

    async def _connect(
        self, host: str, port: int, namespace: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        found = self._resolve(host, namespace, port)
        if found is not None:
            host, moved = found
            port = moved if moved is not None else port
        return await asyncio.open_connection(host, port, limit=_MAX_HEAD)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, namespace: str
    ) -> None:
        upstream: tuple[str, int, asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                lines = head[:-4].split(b"\r\n")
                parts = lines[0].split(b" ")
                if len(parts) != 3:
                    raise _BadRequest("malformed request line")
                method, target, version = parts
                headers = _headers(lines[1:])
                if method == b"CONNECT":
                    await self._tunnel(reader, writer, target.decode("latin-1"), namespace)
                    return
                url = urllib.parse.urlsplit(target.decode("latin-1"))
                if url.scheme != "http" or not url.hostname:
                    writer.write(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    await writer.drain()
                    return
                host, port = url.hostname, url.port or 80
                if upstream is None or upstream[:2] != (host, port) or upstream[3].is_closing():
                    if upstream is not None:
                        upstream[3].close()
                    try:
                        ur, uw = await self._connect(host, port, namespace)
                    except OSError:
                        _abort(writer)
                        return
                    upstream = (host, port, ur, uw)
                _, _, ur, uw = upstream
                origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
                out = [method + b" " + origin.encode("latin-1") + b" " + version]
                expect_continue = False
                for name, value in headers:
                    lower = name.lower()
                    if lower == b"expect" and value.lower() == b"100-continue":
                        expect_continue = True
                    if lower in _HOP_BY_HOP:
                        continue
                    out.append(name + b": " + value)
                if _get(headers, b"host") is None:
                    out.append(b"Host: " + url.netloc.encode("latin-1"))
                uw.write(b"\r\n".join(out) + b"\r\n\r\n")
                if expect_continue:
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await _copy_body(reader, uw, headers)
                await uw.drain()
                keep = await self._relay_response(ur, writer, method, uw, reader)
                client_close = b"close" in _tokens(headers, b"connection") or (
                    version == b"HTTP/1.0" and b"keep-alive" not in _tokens(headers, b"connection")
                )
                if not keep or client_close:
                    return
        except _BadRequest:
            with contextlib.suppress(OSError):
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            _abort(writer)
        finally:
            if upstream is not None:
                upstream[3].close()
            writer.close()

    async def _relay_response(
        self,
        ur: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: bytes,
        uw: asyncio.StreamWriter,
        client: asyncio.StreamReader,
    ) -> bool:
        """Forward one response; returns whether the client connection can carry another request."""
        while True:
            head = await ur.readuntil(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            status_parts = lines[0].split(b" ", 2)
            status = int(status_parts[1]) if len(status_parts) > 1 and status_parts[1].isdigit() else 0
            writer.write(head)
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and friends: the final response follows
            break
        headers = _headers(lines[1:])
        if status == 101:
            await writer.drain()
            await _splice(client, writer, ur, uw)
            return False
        if method == b"HEAD" or status in (204, 304):
            await writer.drain()
            return b"close" not in _tokens(headers, b"connection")
        framed = await _copy_body(ur, writer, headers)
        if not framed:
            while data := await ur.read(65536):
                writer.write(data)
                await writer.drain()
            return False
        await writer.drain()
        return b"close" not in _tokens(headers, b"connection")

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str, namespace: str
    ) -> None:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            ur, uw = await self._connect(host, int(port_text), namespace)
        except OSError as exc:
            body = f"cannot reach {target}: {exc.strerror or exc}\n".encode()
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await _splice(reader, writer, ur, uw)
        finally:
            uw.close()

    def close(self) -> None:
        async def close_all() -> None:
            for server in self._servers.values():
                server.close()
            self._servers.clear()
            self._urls.clear()

        self.net.run(close_all())
        if self._own_loop:
            self.net.stop()
