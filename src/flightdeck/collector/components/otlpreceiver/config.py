"""``otlp`` receiver config (core ``receiver/otlpreceiver/config.go`` + confighttp/configgrpc servers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.confighttp import ServerConfig


def sanitize_url_path(value: Any) -> str:
    """SanitizedURLPath: the URL's path, made absolute."""
    if not isinstance(value, str):
        raise ValueError(
            f"expected type 'otlpreceiver.SanitizedURLPath', got unconvertible type '{type(value).__name__}'"
        )
    try:
        path = urlsplit(value).path
    except ValueError as exc:
        raise ValueError(f"invalid HTTP URL path set for signal: {exc}") from None
    return path if path.startswith("/") else "/" + path


@dataclass(slots=True)
class HTTPServerConfig(ServerConfig):
    # confighttp.NewDefaultServerConfig's timeouts, as the receiver's factory uses them
    endpoint: str = "localhost:4318"
    read_header_timeout: DurationNs = 60_000_000_000
    write_timeout: DurationNs = 30_000_000_000
    idle_timeout: DurationNs = 60_000_000_000
    traces_url_path: str = field(default="/v1/traces", metadata={"decode": sanitize_url_path})
    metrics_url_path: str = field(default="/v1/metrics", metadata={"decode": sanitize_url_path})
    logs_url_path: str = field(default="/v1/logs", metadata={"decode": sanitize_url_path})


@dataclass(slots=True)
class GRPCServerConfig:
    endpoint: str = "localhost:4317"
    transport: str = "tcp"
    dialer: Any = None
    tls: Any = None
    max_recv_msg_size_mib: int = 0
    max_concurrent_streams: int = 0
    read_buffer_size: int = 524288
    write_buffer_size: int = 0
    keepalive: Any = None
    auth: Any = None
    include_metadata: bool = False
    middlewares: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class Protocols:
    grpc: GRPCServerConfig | None = None
    http: HTTPServerConfig | None = None


@dataclass(slots=True)
class Config:
    protocols: Protocols = field(default_factory=Protocols)
