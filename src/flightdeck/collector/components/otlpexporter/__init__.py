"""``otlp`` exporter (core ``exporter/otlpexporter``): OTLP over gRPC, gzip by default, behind the
exporterhelper queue and retry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from flightdeck.collector.component import ConsumerError, Host, Kind, Settings, Signal, Stability, encoded
from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.exporterhelper import (
    QueueConfig,
    QueuedExporterFactory,
    RetryConfig,
    validate_queue,
    validate_retry,
)
from flightdeck.collector.netaddr import AddressError, dial_address
from flightdeck.collector.tlsconfig import TLSClientConfig

USER_AGENT = "OpenTelemetry Collector Contrib/0.142.0 (linux/amd64)"

_METHODS = {
    Signal.TRACES: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    Signal.METRICS: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    Signal.LOGS: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}

# Go's codes.Code String() names, for error texts like upstream's "rpc error: code = Unavailable desc = …"
_GO_CODE = {
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}
_RETRYABLE = {
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}


@dataclass(slots=True)
class Config:
    timeout: DurationNs = 5_000_000_000
    sending_queue: QueueConfig | None = field(default_factory=QueueConfig)
    retry_on_failure: RetryConfig = field(default_factory=RetryConfig)
    endpoint: str = ""
    compression: str = "gzip"
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)
    keepalive: Any = None
    read_buffer_size: int = 0
    write_buffer_size: int = 512 * 1024
    wait_for_ready: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    balancer_name: str = ""
    authority: str = ""
    auth: Any = None
    middlewares: list[Any] = field(default_factory=list)


def sanitized_endpoint(endpoint: str) -> str:
    if endpoint.startswith("http://"):
        return endpoint[len("http://") :]
    if endpoint.startswith("https://"):
        return endpoint[len("https://") :]
    if endpoint.startswith("dns://"):
        return re.sub(r"^dns:///?", "", endpoint)
    return endpoint


def _validate(cfg: Config) -> list[str]:
    errors: list[str] = []
    if sanitized_endpoint(cfg.endpoint) == "":
        errors.append('requires a non-empty "endpoint"')
    if cfg.sending_queue is not None:
        errors += validate_queue(cfg.sending_queue)
    errors += validate_retry(cfg.retry_on_failure)
    return errors


def grpc_error(err: grpc.aio.AioRpcError) -> ConsumerError:
    """processError: retryable codes stay retryable, RetryInfo throttles, the rest is permanent."""
    code = err.code()
    message = f"rpc error: code = {_GO_CODE.get(code, str(code))} desc = {err.details() or ''}"
    retry_after = None
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            st = status_pb2.Status.FromString(value)
            for detail in st.details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    retry_after = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    retryable = code in _RETRYABLE or (code == grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after is not None)
    return ConsumerError(message, permanent=not retryable, retry_after=retry_after or None)


class OTLPGRPCClient:
    """One channel per exporter instance, created at start (upstream defers dialing the same way)."""

    def __init__(self, settings: Settings, cfg: Config, signal: Signal) -> None:
        self.settings = settings
        self.cfg = cfg
        self.signal = signal
        self.channel: grpc.aio.Channel | None = None
        self.call: Any = None
        if cfg.auth is not None:
            raise ConfigError("not supported: auth on the otlp exporter")
        if cfg.compression not in ("gzip", "", "none"):
            raise ConfigError(
                f"not supported: compression {cfg.compression!r} on the otlp exporter (gzip, none)"
            )
        self.metadata = tuple((k.lower(), v) for k, v in cfg.headers.items())

    async def start(self, host: Host) -> None:
        endpoint = sanitized_endpoint(self.cfg.endpoint)
        try:
            ip, port = dial_address(endpoint)
        except AddressError as exc:
            raise ConfigError(str(exc)) from None
        target = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        host_name = endpoint.rsplit(":", 1)[0]
        options: list[tuple[str, Any]] = [
            ("grpc.primary_user_agent", USER_AGENT),
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", -1),
        ]
        if self.cfg.authority:
            options.append(("grpc.default_authority", self.cfg.authority))
        elif ip != host_name:
            options.append(("grpc.default_authority", endpoint))
        compression = (
            grpc.Compression.Gzip if self.cfg.compression == "gzip" else grpc.Compression.NoCompression
        )
        insecure = self.cfg.tls.insecure or self.cfg.endpoint.startswith("http://")
        if insecure:
            self.channel = grpc.aio.insecure_channel(target, options=options, compression=compression)
        else:
            tls = self.cfg.tls
            try:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=tls.read("ca_file", "ca_pem"),
                    private_key=tls.read("key_file", "key_pem"),
                    certificate_chain=tls.read("cert_file", "cert_pem"),
                )
            except OSError as exc:
                raise ConfigError(f"failed to load TLS config: {exc}") from None
            name = tls.server_name_override or host_name
            options.append(("grpc.ssl_target_name_override", name))
            self.channel = grpc.aio.secure_channel(target, creds, options=options, compression=compression)
        self.call = self.channel.unary_unary(
            _METHODS[self.signal],
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
            self.channel = None

    async def send(self, data: Any) -> None:
        if self.call is None:
            raise ConsumerError("rpc error: code = Unavailable desc = exporter not started")
        try:
            await self.call(encoded(data), metadata=self.metadata, wait_for_ready=self.cfg.wait_for_ready)
        except grpc.aio.AioRpcError as exc:
            raise grpc_error(exc) from None


FACTORY = QueuedExporterFactory(
    "otlp",
    Kind.EXPORTER,
    Config,
    _validate,
    {Signal.TRACES: Stability.STABLE, Signal.METRICS: Stability.STABLE, Signal.LOGS: Stability.STABLE},
    OTLPGRPCClient,
)
