"""``confighttp.ServerConfig``: the HTTP server settings every collector component with a listener embeds
(the ``otlp`` receiver's ``protocols.http``, the ``prometheus`` exporter, ``health_check``), with the same
keys, and the one way those components start listening (:meth:`ServerConfig.listen`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.httpserver import Handler, HTTPServer
from flightdeck.collector.netaddr import AddressError, listen_address, listen_error

DEFAULT_MAX_REQUEST_BODY_SIZE = 20 << 20  # confighttp's default when max_request_body_size is 0


@dataclass(slots=True)
class ServerConfig:
    endpoint: str = ""
    tls: Any = None
    cors: Any = None
    auth: Any = None
    max_request_body_size: int = 0
    include_metadata: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    compression_algorithms: list[str] = field(default_factory=list)
    read_timeout: DurationNs = 0
    read_header_timeout: DurationNs = 0
    write_timeout: DurationNs = 0
    idle_timeout: DurationNs = 0
    middlewares: list[Any] = field(default_factory=list)
    keep_alives_enabled: bool = True

    def check_supported(self, where: str) -> None:
        """ConfigError ``not supported: …`` for the settings flightdeck's server does not implement."""
        unsupported = [k for k in ("tls", "cors", "auth") if getattr(self, k) is not None]
        if self.middlewares:
            unsupported.append("middlewares")
        if unsupported:
            raise ConfigError(f"not supported: {'/'.join(unsupported)} on {where}")

    @property
    def body_limit(self) -> int:
        return self.max_request_body_size if self.max_request_body_size > 0 else DEFAULT_MAX_REQUEST_BODY_SIZE

    async def listen(
        self,
        handler: Handler,
        *,
        max_body: int | None = None,
        on_error: Any = None,
    ) -> HTTPServer:
        """Bind ``endpoint`` (through :func:`netaddr.listen_address`) and serve ``handler`` with the
        configured response headers and keep-alive setting. A failure raises ConfigError with Go's
        ``net.Listen`` text (``listen tcp 127.0.0.1:4318: bind: address already in use``), which is what
        upstream components return from Start."""
        endpoint = self.endpoint.strip()
        server = HTTPServer(
            handler,
            max_body=self.body_limit if max_body is None else max_body,
            on_error=on_error,
            response_headers=list(self.response_headers.items()),
            keep_alives=self.keep_alives_enabled,
        )
        try:
            host, port = listen_address(endpoint)
            await server.start(host, port)
        except (OSError, AddressError) as exc:
            raise ConfigError(listen_error(endpoint, exc)) from None
        return server
