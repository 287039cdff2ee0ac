"""Fetching a target like Prometheus 2.42: its request headers, gzip, body size limit, and Go's error
texts for failures (what the targets page shows as ``lastError``)."""

from __future__ import annotations

import errno
import gzip
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx

ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
USER_AGENT = "Prometheus/2.42.0"


class FetchError(Exception):
    """A failed scrape; ``str()`` is Prometheus' error text."""


@dataclass
class FetchResult:
    content_type: str
    body: bytes


# (url, timeout seconds, body size limit or 0) -> result; raises FetchError
Fetcher = Callable[[str, float, int], FetchResult]


def _go_error(url: str, exc: Exception) -> str:
    """``Get "URL": …`` in Go's words for the usual network failures."""
    host = httpx.URL(url).host
    port = httpx.URL(url).port or (443 if url.startswith("https") else 80)
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, httpx.TimeoutException):
        return f'Get "{url}": context deadline exceeded'
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f'Get "{url}": dial tcp: lookup {host}: no such host'
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return f'Get "{url}": dial tcp {hostport}: connect: connection refused'
        if isinstance(cause, ConnectionResetError):
            return f'Get "{url}": read tcp {hostport}: read: connection reset by peer'
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "refused" in text.lower():
        return f'Get "{url}": dial tcp {hostport}: connect: connection refused'
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return f'Get "{url}": dial tcp: lookup {host}: no such host'
    if isinstance(exc, httpx.RemoteProtocolError):
        return f'Get "{url}": EOF'
    return f'Get "{url}": {text or type(exc).__name__}'


class HttpFetcher:
    """The default fetcher: one pooled HTTP client, Prometheus' headers."""

    def __init__(self, *, follow_redirects: bool = True) -> None:
        self._client = httpx.Client(
            headers={"Accept": ACCEPT, "Accept-Encoding": "gzip", "User-Agent": USER_AGENT},
            follow_redirects=follow_redirects,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    def __call__(self, url: str, timeout: float, body_limit: int = 0) -> FetchResult:
        scheme = url.split("://", 1)[0]
        if scheme not in ("http", "https"):
            raise FetchError(f'Get "{url}": unsupported protocol scheme "{scheme}"')
        try:
            with self._client.stream(
                "GET", url, timeout=timeout, headers={"X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}"}
            ) as resp:
                if resp.status_code != 200:
                    raise FetchError(f"server returned HTTP status {resp.status_code} {resp.reason_phrase}")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                raw = b"".join(chunks)
                ctype = resp.headers.get("Content-Type", "")
                encoding = resp.headers.get("Content-Encoding", "")
        except FetchError:
            raise
        except (httpx.HTTPError, OSError) as exc:
            raise FetchError(_go_error(url, exc)) from exc
        if encoding == "gzip":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                raise FetchError(
                    "gzip: invalid header" if isinstance(exc, OSError) else "unexpected EOF"
                ) from exc
        if body_limit > 0 and len(raw) >= body_limit:
            raise FetchError("body size limit exceeded")
        return FetchResult(ctype, raw)

    def close(self) -> None:
        self._client.close()
