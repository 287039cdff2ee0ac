"""The ``otlp`` receiver: OTLP/HTTP (protobuf and JSON) and OTLP/gRPC into the pipelines.

Per request the work is: decompress (if asked), one upb parse of the whole body (C), counting items per
scope (not per span), and awaiting the pipeline. Status codes, bodies and Retry-After follow
``receiver/otlpreceiver/otlphttp.go`` and ``internal/errors`` at v0.142.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from flightdeck.collector import otlpjson
from flightdeck.collector.component import (
    SIGNAL_TYPES,
    Consumer,
    ConsumerError,
    Counter,
    Host,
    Settings,
    Signal,
    forget_encoding,
    remember_encoding,
)
from flightdeck.collector.components.otlpreceiver.config import Config
from flightdeck.collector.compression import ENCODINGS, DecompressError, decompress
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.httpserver import NOT_FOUND, HTTPServer, Request, Response
from flightdeck.collector.netaddr import AddressError, listen_address, listen_error
from flightdeck.collector.pdata import ITEM_NAMES, count_items

PB = "application/x-protobuf"
JSON = "application/json"
_FALLBACK = b'{"code": 13, "message": "failed to marshal error message"}'

# gRPC codes used below (grpc.StatusCode values are tuples; keep the integers explicit)
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL, UNKNOWN = 3, 8, 14, 13, 2

_RESPONSES: dict[Signal, Any] = {
    Signal.TRACES: trace_service_pb2.ExportTraceServiceResponse,
    Signal.METRICS: metrics_service_pb2.ExportMetricsServiceResponse,
    Signal.LOGS: logs_service_pb2.ExportLogsServiceResponse,
}
_EMPTY_PB = {s: r().SerializeToString() for s, r in _RESPONSES.items()}


def http_code_for(code: int) -> int:
    """GetHTTPStatusCodeFromStatus."""
    if code in (1, 4, 10, 11, 14, 15):
        return 503
    return {8: 429, 3: 400, 16: 401, 7: 403, 12: 404}.get(code, 500)


def grpc_code_for_http(status: int) -> int:
    """statusutil.NewStatusFromMsgAndHTTPCode."""
    return {400: 3, 401: 16, 403: 7, 404: 12, 429: 8, 502: 14, 503: 14, 504: 14}.get(status, UNKNOWN)


def status_for_error(err: ConsumerError) -> tuple[int, str, float | None]:
    """GetStatusFromError: (gRPC code, message, retry-after seconds)."""
    code = err.grpc_code if err.grpc_code is not None else INTERNAL if err.permanent else UNAVAILABLE
    return code, err.message, err.retry_after


def media_type(content_type: str) -> str:
    """mime.ParseMediaType's media type, lower-cased; "" when unparseable."""
    mt = content_type.split(";", 1)[0].strip().lower()
    if not mt or "/" not in mt or " " in mt:
        return ""
    return mt


def encode_status(mt: str, code: int, message: str, retry_after: float | None) -> bytes:
    st = status_pb2.Status(code=code, message=message)
    if retry_after is not None:
        info = error_details_pb2.RetryInfo(retry_delay=_duration(retry_after))
        st.details.add().Pack(info)
    if mt == PB:
        return bytes(st.SerializeToString())
    return _status_json(st)


def _status_json(st: status_pb2.Status) -> bytes:
    import json

    out: dict[str, Any] = {}
    if st.code:
        out["code"] = st.code
    if st.message:
        out["message"] = st.message
    if st.details:
        out["details"] = [
            {
                "@type": d.type_url,
                "retryDelay": f"{_duration_seconds(d)}s",
            }
            for d in st.details
        ]
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


def _duration(seconds: float) -> Duration:
    d = Duration()
    d.seconds = int(seconds)
    d.nanos = round((seconds - int(seconds)) * 1e9)
    return d


def _duration_seconds(detail: Any) -> str:
    info = error_details_pb2.RetryInfo()
    detail.Unpack(info)
    total = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return f"{total:g}"


@dataclass(slots=True)
class _Obs:
    accepted: Counter
    refused: Counter
    failed: Counter


class OTLPReceiver:
    """One instance per receiver ID; serves every signal it has a consumer for."""

    def __init__(self, settings: Settings, cfg: Config, consumers: Mapping[Signal, Consumer]) -> None:
        self.settings = settings
        self.cfg = cfg
        self.consumers = dict(consumers)
        self._http: HTTPServer | None = None
        self._grpc: grpc.aio.Server | None = None
        self._obs: dict[tuple[Signal, str], _Obs] = {}
        self._routes: dict[str, Signal] = {}
        self._max_body = 20 << 20
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        for proto in ("http", "grpc"):
            pcfg = getattr(cfg.protocols, proto)
            if pcfg is not None and (pcfg.tls is not None or pcfg.auth is not None):
                raise ConfigError(f"not supported: tls/auth on the otlp receiver's {proto} server")
        http = cfg.protocols.http
        if http is not None:
            http.check_supported("the otlp receiver's http server")
            self._max_body = http.body_limit
            paths = {
                Signal.TRACES: http.traces_url_path,
                Signal.METRICS: http.metrics_url_path,
                Signal.LOGS: http.logs_url_path,
            }
            # Only signals with a pipeline get a handler; others fall through to 404 like the Go mux.
            self._routes = {paths[s]: s for s in self.consumers}

    def _obs_for(self, signal: Signal, transport: str) -> _Obs:
        obs = self._obs.get((signal, transport))
        if obs is None:
            word = ITEM_NAMES[signal]
            tel = self.settings.telemetry
            labels = {"receiver": str(self.settings.id), "transport": transport}
            noun = {"spans": "spans", "metric_points": "metric points", "log_records": "log records"}[word]
            obs = _Obs(
                tel.counter(
                    f"otelcol_receiver_accepted_{word}",
                    f"Number of {noun} successfully pushed into the pipeline. [Alpha]",
                    labels,
                ),
                tel.counter(
                    f"otelcol_receiver_refused_{word}",
                    f"Number of {noun} that could not be pushed into the pipeline. [Alpha]",
                    labels,
                ),
                tel.counter(
                    f"otelcol_receiver_failed_{word}",
                    f"The number of {noun} that failed to be processed by the receiver due to internal errors. [Alpha]",
                    labels,
                ),
            )
            self._obs[(signal, transport)] = obs
        return obs

    async def _export(
        self, signal: Signal, data: Any, transport: str, raw: bytes | None = None
    ) -> ConsumerError | None:
        """Receiver.Export: zero items ⇒ nothing to do; otherwise consume and count."""
        n = count_items(signal, data)
        if n == 0:
            return None
        obs = self._obs_for(signal, transport)
        if raw is not None:
            remember_encoding(data, raw)
        try:
            await self.consumers[signal].consume(data)
        except ConsumerError as exc:
            obs.accepted.add(0)
            obs.refused.add(n)
            obs.failed.add(0)
            return exc
        except Exception as exc:  # a component bug: refuse the data, keep serving
            self.settings.logger.error("Unexpected error in pipeline", error=repr(exc))
            obs.refused.add(n)
            return ConsumerError(str(exc) or type(exc).__name__, permanent=True)
        finally:
            if raw is not None:
                forget_encoding(data)
        obs.accepted.add(n)
        obs.refused.add(0)
        obs.failed.add(0)
        return None

    # --- HTTP -------------------------------------------------------------------------------------

    def _error_handler(self, req: Request, message: str, status: int) -> Response:
        """confighttp's errorHandler for middleware failures (decompression)."""
        mt = media_type(req.headers.get("content-type", "") or JSON)
        if mt in (PB, JSON):
            return Response(
                status, encode_status(mt, grpc_code_for_http(status), message, None), content_type=mt
            )
        return Response(500, _FALLBACK, content_type=JSON)

    async def handle_http(self, req: Request) -> Response:
        encoding = req.headers.get("content-encoding", "")
        body: bytes | None = None
        read_error: str | None = None
        if encoding not in ENCODINGS:
            return self._error_handler(req, f"unsupported Content-Encoding: {encoding}", 400)
        try:
            body = decompress(encoding, req.body, self._max_body)
        except DecompressError as exc:
            if exc.header:
                return self._error_handler(req, str(exc), 400)
            read_error = str(exc)
        signal = self._routes.get(req.path)
        if signal is None:
            return NOT_FOUND
        if req.method != "POST":
            return Response(405, b"405 method not allowed, supported: [POST]", content_type="text/plain")
        mt = media_type(req.headers.get("content-type", ""))
        if mt not in (PB, JSON):
            return Response(
                415,
                b"415 unsupported media type, supported: [application/json, application/x-protobuf]",
                content_type="text/plain",
            )
        if read_error is not None or body is None:
            return Response(
                400, encode_status(mt, INVALID_ARGUMENT, read_error or "EOF", None), content_type=mt
            )
        msg_type = SIGNAL_TYPES[signal]
        try:
            data = msg_type.FromString(body) if mt == PB else otlpjson.decode(body, msg_type)
        except (DecodeError, otlpjson.OTLPJSONError, ValueError, RecursionError) as exc:
            text = str(exc) or "proto: cannot parse invalid wire-format data"
            return Response(400, encode_status(mt, INVALID_ARGUMENT, text, None), content_type=mt)
        err = await self._export(signal, data, "http", body if mt == PB else None)
        if err is not None:
            code, message, retry_after = status_for_error(err)
            status = http_code_for(code)
            headers: list[tuple[str, str]] = []
            if status in (429, 503) and retry_after is not None:
                # delay-seconds form, truncated like upstream's Duration/time.Second
                headers.append(("Retry-After", str(math.floor(retry_after))))
            return Response(status, encode_status(mt, code, message, retry_after), headers, mt)
        out = _EMPTY_PB[signal] if mt == PB else b"{}"
        return Response(200, out, content_type=mt)

    # --- gRPC -------------------------------------------------------------------------------------

    def _grpc_method(self, signal: Signal) -> Any:
        response_type = _RESPONSES[signal]
        msg_type = SIGNAL_TYPES[signal]

        async def export(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                request = msg_type.FromString(raw)
            except DecodeError as exc:
                await context.abort(grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}")
            err = await self._export(signal, request, "grpc", raw)
            if err is not None:
                code, message, retry_after = status_for_error(err)
                if retry_after is not None:
                    st = status_pb2.Status(code=code, message=message)
                    st.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=_duration(retry_after)))
                    context.set_trailing_metadata((("grpc-status-details-bin", st.SerializeToString()),))
                await context.abort(_GRPC_CODES.get(code, grpc.StatusCode.UNKNOWN), message)
            return response_type()

        return export

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self, host: Host) -> None:
        http = self.cfg.protocols.http
        grpc_cfg = self.cfg.protocols.grpc
        log = self.settings.logger
        try:
            if grpc_cfg is not None:
                h, p = listen_address(grpc_cfg.endpoint)
                max_mib = grpc_cfg.max_recv_msg_size_mib or 4
                server = grpc.aio.server(
                    options=[
                        ("grpc.max_receive_message_length", max_mib << 20),
                        ("grpc.so_reuseport", 0),
                    ]
                )
                for signal in self.consumers:
                    # raw bytes in, so the pipeline can reuse them (component.encoded); parsed by upb
                    handler: Any = grpc.unary_unary_rpc_method_handler(
                        self._grpc_method(signal),
                        request_deserializer=bytes,
                        response_serializer=lambda m: m.SerializeToString(),
                    )
                    service = _SERVICES[signal]
                    server.add_generic_rpc_handlers(
                        (grpc.method_handlers_generic_handler(service, {"Export": handler}),)
                    )
                host_part = f"[{h}]" if ":" in h else h
                try:
                    port = server.add_insecure_port(f"{host_part}:{p}")
                except RuntimeError:  # newer grpcio raises instead of returning 0
                    port = 0
                if port == 0:
                    # grpcio says only that it could not bind; the usual cause is a port in use
                    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
                await server.start()
                self._grpc = server
                self.grpc_port = port
                log.info("Starting GRPC server", endpoint=f"{h}:{port}")
        except (OSError, AddressError) as exc:
            await self.shutdown()
            raise ConfigError(listen_error(grpc_cfg.endpoint if grpc_cfg else "", exc)) from None
        if http is not None:
            try:
                srv = await http.listen(
                    self.handle_http,
                    max_body=max(self._max_body * 2, 1 << 20),
                    on_error=lambda exc: log.error("HTTP handler failed", error=repr(exc)),
                )
            except ConfigError:
                await self.shutdown()
                raise
            self._http = srv
            self.http_port = srv.port
            h, _ = listen_address(http.endpoint)
            log.info("Starting HTTP server", endpoint=f"{h}:{srv.port}")

    async def shutdown(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
            self._grpc = None


_GRPC_CODES = {c.value[0]: c for c in grpc.StatusCode}


_SERVICES = {
    Signal.TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
    Signal.METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService",
    Signal.LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
}
