"""``otlphttp`` exporter (core ``exporter/otlphttpexporter``): OTLP/HTTP protobuf (or JSON), gzip by
default, behind the exporterhelper queue and retry; 429/502/503/504 retry (honouring Retry-After)."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from google.rpc import status_pb2  # type: ignore[import-untyped]

from flightdeck.collector import otlpjson
from flightdeck.collector.component import ConsumerError, Host, Kind, Settings, Signal, Stability, encoded
from flightdeck.collector.compression import gzip_compress
from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.exporterhelper import (
    QueueConfig,
    QueuedExporterFactory,
    RetryConfig,
    validate_queue,
    validate_retry,
)
from flightdeck.collector.netaddr import dial_host
from flightdeck.collector.tlsconfig import TLSClientConfig

USER_AGENT = "OpenTelemetry Collector Contrib/0.142.0 (linux/amd64)"


def _encoding(value: Any) -> str:
    if value not in ("proto", "json"):
        raise ValueError(f"invalid encoding: {value}")
    return str(value)


@dataclass(slots=True)
class Config:
    endpoint: str = ""
    proxy_url: str = ""
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)
    read_buffer_size: int = 0
    write_buffer_size: int = 512 * 1024
    timeout: DurationNs = 30_000_000_000
    headers: dict[str, str] = field(default_factory=dict)
    auth: Any = None
    compression: str = "gzip"
    compression_params: Any = None
    max_idle_conns: int = 100
    max_idle_conns_per_host: int = 0
    max_conns_per_host: int = 0
    idle_conn_timeout: DurationNs = 90_000_000_000
    disable_keep_alives: bool = False
    http2_read_idle_timeout: DurationNs = 0
    http2_ping_timeout: DurationNs = 0
    cookies: Any = None
    force_attempt_http2: bool = True
    middlewares: list[Any] = field(default_factory=list)
    sending_queue: QueueConfig | None = field(default_factory=QueueConfig)
    retry_on_failure: RetryConfig = field(default_factory=RetryConfig)
    traces_endpoint: str = ""
    metrics_endpoint: str = ""
    logs_endpoint: str = ""
    profiles_endpoint: str = ""
    encoding: str = field(default="proto", metadata={"decode": _encoding})


def _validate(cfg: Config) -> list[str]:
    errors: list[str] = []
    if not (
        cfg.endpoint
        or cfg.traces_endpoint
        or cfg.metrics_endpoint
        or cfg.logs_endpoint
        or cfg.profiles_endpoint
    ):
        errors.append("at least one endpoint must be specified")
    if cfg.sending_queue is not None:
        errors += validate_queue(cfg.sending_queue)
    errors += validate_retry(cfg.retry_on_failure)
    return errors


def signal_url(cfg: Config, signal: Signal) -> str:
    override = {
        Signal.TRACES: cfg.traces_endpoint,
        Signal.METRICS: cfg.metrics_endpoint,
        Signal.LOGS: cfg.logs_endpoint,
    }[signal]
    if override:
        return override
    base = cfg.endpoint
    return f"{base}v1/{signal.value}" if base.endswith("/") else f"{base}/v1/{signal.value}"


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return float(int(text))
    parsed = email.utils.parsedate_to_datetime(text) if text else None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


class OTLPHTTPClient:
    def __init__(self, settings: Settings, cfg: Config, signal: Signal) -> None:
        if cfg.auth is not None or cfg.proxy_url:
            raise ConfigError("not supported: auth/proxy_url on the otlphttp exporter")
        if cfg.compression not in ("gzip", "", "none"):
            raise ConfigError(
                f"not supported: compression {cfg.compression!r} on the otlphttp exporter (gzip, none)"
            )
        self.settings = settings
        self.cfg = cfg
        self.signal = signal
        self.url = signal_url(cfg, signal)
        try:
            parts = urlsplit(self.url)
        except ValueError:
            raise ConfigError("endpoint must be a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("endpoint must be a valid URL")
        self._parts = parts
        self.client: httpx.AsyncClient | None = None

    def _target(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The URL to connect to (cluster names resolved) and the Host/SNI that keep the original name."""
        parts = self._parts
        host = parts.hostname or ""
        ip = dial_host(host)
        if ip == host:
            return self.url, {}, {}
        netloc = (f"[{ip}]" if ":" in ip else ip) + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return url, {"Host": parts.netloc}, ({"sni_hostname": host} if parts.scheme == "https" else {})

    async def start(self, host: Host) -> None:
        tls = self.cfg.tls
        verify: Any = True
        if tls.insecure_skip_verify:
            verify = False
        elif tls.ca_file:
            verify = tls.ca_file
        self.client = httpx.AsyncClient(verify=verify, timeout=None, http2=False)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def send(self, data: Any) -> None:
        assert self.client is not None
        if self.cfg.encoding == "json":
            body, ctype = otlpjson.encode(data), "application/json"
        else:
            body, ctype = encoded(data), "application/x-protobuf"
        headers = {"Content-Type": ctype, "User-Agent": USER_AGENT, **self.cfg.headers}
        if self.cfg.compression == "gzip":
            body = gzip_compress(body)
            headers["Content-Encoding"] = "gzip"
        url, extra_headers, extensions = self._target()
        headers.update(extra_headers)
        try:
            resp = await self.client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            raise ConsumerError(f"failed to make an HTTP request: {_describe(exc, self.url)}") from None
        if 200 <= resp.status_code <= 299:
            return
        message = None
        try:
            if resp.headers.get("content-type", "").startswith(
                "application/x-protobuf"
            ) or not resp.content.startswith(b"{"):
                st = status_pb2.Status.FromString(resp.content)
                message = st.message if st.code or st.message else None
            else:
                import json

                message = json.loads(resp.content).get("message")
        except Exception:  # the body is not a Status: report the code only, like upstream
            message = None
        if message is not None:
            text = (
                f"error exporting items, request to {self.url} responded with HTTP Status Code "
                f"{resp.status_code}, Message={message}, Details=[]"
            )
        else:
            text = f"error exporting items, request to {self.url} responded with HTTP Status Code {resp.status_code}"
        code = resp.status_code
        if code not in (429, 502, 503, 504):
            raise ConsumerError(text, permanent=True)
        retry_after = _retry_after(resp.headers.get("retry-after")) if code in (429, 503) else None
        raise ConsumerError(text, retry_after=retry_after)


def _describe(exc: httpx.HTTPError, url: str) -> str:
    if isinstance(exc, httpx.ConnectError):
        parts = urlsplit(url)
        return f'Post "{url}": dial tcp {parts.netloc}: connect: connection refused'
    if isinstance(exc, httpx.TimeoutException):
        return f'Post "{url}": context deadline exceeded'
    return f'Post "{url}": {exc}'


FACTORY = QueuedExporterFactory(
    "otlphttp",
    Kind.EXPORTER,
    Config,
    _validate,
    {Signal.TRACES: Stability.STABLE, Signal.METRICS: Stability.STABLE, Signal.LOGS: Stability.STABLE},
    OTLPHTTPClient,
)
