"""OpenTelemetry setup (``pkg/tracing``) and the span-aware logger (``pkg/log``) of HotROD.

One tracer provider per logical service (``frontend``, ``customer``, ``mysql``, ``driver``, ``redis-manual``,
``route``), W3C trace context + baggage propagation, OTLP/HTTP export with a 1 s batch timeout, and the
rpcmetrics span processor on every provider. Log lines go to stderr and, when a span is at hand, become span
events named after the message with the fields (plus ``level``) as attributes.
"""

from __future__ import annotations

import json
import platform
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from opentelemetry import baggage as otel_baggage
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import (
    TELEMETRY_SDK_LANGUAGE,
    TELEMETRY_SDK_NAME,
    TELEMETRY_SDK_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.version import __version__ as SDK_VERSION
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SERVICE_NAMES = ("frontend", "customer", "mysql", "driver", "redis-manual", "route")
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_TRACE_CONTEXT = TraceContextTextMapPropagator()

FieldValue = str | bool | int | float | Sequence[str]


class ExporterError(Exception):
    """The ``-x`` exporter cannot be created; ``str()`` is the original's error text."""


def otel_exporter_factory(kind: str) -> Callable[[], SpanExporter]:
    """``createOtelExporter`` of the original: ``otlp`` (OTLP/HTTP protobuf) or ``stdout``."""
    if kind == "jaeger":
        raise ExporterError("jaeger exporter is no longer supported, please use otlp")
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter
    if kind == "stdout":
        return ConsoleSpanExporter
    raise ExporterError(f"unrecognized exporter type {kind}")


def build_resource(service_name: str, version: str, environ_resource: Resource | None = None) -> Resource:
    """The code's resource merged over ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME`` (the code wins)."""
    env = environ_resource if environ_resource is not None else OTELResourceDetector().detect()
    code = Resource(
        {
            TELEMETRY_SDK_LANGUAGE: "python",
            TELEMETRY_SDK_NAME: "opentelemetry",
            TELEMETRY_SDK_VERSION: SDK_VERSION,
            "service.name": service_name,
            "service.version": version,
            "host.name": socket.gethostname(),
            "os.type": platform.system().lower(),
        },
        schema_url=SCHEMA_URL,
    )
    return env.merge(code)


class Telemetry:
    """The tracer providers of one HotROD process.

    ``exporter`` given (tests): every provider feeds it synchronously. Otherwise each provider gets its own
    exporter from ``exporter_factory`` behind a batch processor with a 1 s schedule, as the original.
    """

    def __init__(
        self,
        version: str,
        processors: Sequence[SpanProcessor] = (),
        exporter: SpanExporter | None = None,
        exporter_factory: Callable[[], SpanExporter] | None = None,
    ) -> None:
        self._version = version
        self._processors = tuple(processors)
        self._exporter = exporter
        self._exporter_factory = exporter_factory
        self._providers: dict[str, TracerProvider] = {}
        self._lock = threading.Lock()
        self._env_resource = OTELResourceDetector().detect()

    def provider(self, service_name: str) -> TracerProvider:
        with self._lock:
            existing = self._providers.get(service_name)
            if existing is not None:
                return existing
            provider = TracerProvider(
                resource=build_resource(service_name, self._version, self._env_resource)
            )
            if self._exporter is not None:
                provider.add_span_processor(SimpleSpanProcessor(self._exporter))
            elif self._exporter_factory is not None:
                provider.add_span_processor(
                    BatchSpanProcessor(self._exporter_factory(), schedule_delay_millis=1000)
                )
            for processor in self._processors:
                provider.add_span_processor(processor)
            self._providers[service_name] = provider
            return provider

    def tracer(self, service_name: str) -> trace.Tracer:
        return self.provider(service_name).get_tracer(service_name)

    def force_flush(self) -> None:
        for provider in list(self._providers.values()):
            provider.force_flush()

    def shutdown(self) -> None:
        with self._lock:
            providers = list(self._providers.values())
            self._providers.clear()
        for provider in providers:
            provider.shutdown()


def baggage_item(ctx: Context, key: str) -> str:
    value = otel_baggage.get_baggage(key, ctx)
    return str(value) if value is not None else ""


def traceresponse(span: trace.Span) -> str:
    """The ``traceresponse`` header value: the span's context in ``traceparent`` form."""
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent", "")


# --------------------------------------------------------------------------------------------- logging


def _event_value(value: FieldValue) -> str | bool | int | float:
    if isinstance(value, str | bool | int | float):
        return value
    return "[" + " ".join(str(v) for v in value) + "]"  # zap arrays go through fmt.Sprint


def _log_value(value: FieldValue) -> Any:
    return value if isinstance(value, str | bool | int | float) else list(value)


class Logger:
    """zap's development logger, reduced: ``TIME LEVEL message {fields}`` lines on stderr."""

    def __init__(
        self,
        out: TextIO | None = None,
        verbose: bool = False,
        fields: Mapping[str, FieldValue] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self._out = out
        self._verbose = verbose
        self._fields: dict[str, FieldValue] = dict(fields or {})
        self._lock = lock or threading.Lock()

    def with_fields(self, **fields: FieldValue) -> Logger:
        return Logger(self._out, self._verbose, self._fields | fields, self._lock)

    def write(self, level: str, msg: str, fields: Mapping[str, FieldValue]) -> None:
        if level == "debug" and not self._verbose:
            return
        out = self._out if self._out is not None else sys.stderr
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        merged = {k: _log_value(v) for k, v in (self._fields | dict(fields)).items()}
        tail = "\t" + json.dumps(merged, ensure_ascii=False) if merged else ""
        line = f"{stamp}\t{level.upper()}\t{msg}{tail}\n"
        with self._lock:
            try:
                out.write(line)
                out.flush()
            except (OSError, ValueError):
                pass

    def debug(self, msg: str, **fields: FieldValue) -> None:
        self.write("debug", msg, fields)

    def info(self, msg: str, **fields: FieldValue) -> None:
        self.write("info", msg, fields)

    def error(self, msg: str, **fields: FieldValue) -> None:
        self.write("error", msg, fields)

    def for_ctx(self, ctx: Context) -> SpanLogger:
        """``Factory.For(ctx)``: log lines also become events on the context's span."""
        return SpanLogger(self, trace.get_current_span(ctx))


class SpanLogger:
    def __init__(self, logger: Logger, span: trace.Span) -> None:
        self._logger = logger
        self._span = span

    def _log(self, level: str, msg: str, fields: Mapping[str, FieldValue]) -> None:
        attrs = {k: _event_value(v) for k, v in fields.items()} | {"level": level}
        self._span.add_event(msg, attributes=attrs)
        ctx = self._span.get_span_context()
        ids: dict[str, FieldValue] = {}
        if ctx.is_valid:
            ids = {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
        self._logger.write(level, msg, ids | dict(fields))

    def debug(self, msg: str, **fields: FieldValue) -> None:
        self._log("debug", msg, fields)

    def info(self, msg: str, **fields: FieldValue) -> None:
        self._log("info", msg, fields)

    def error(self, msg: str, **fields: FieldValue) -> None:
        self._log("error", msg, fields)
