"""Builders for the spanmetrics/prometheus test vectors: spans from the real OTLP proto classes, then
aggregator → exporter accumulator → exposition bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from flightdeck.collector.component import ComponentID, Kind, Settings
from flightdeck.collector.components.prometheusexporter import FACTORY as PROM_FACTORY
from flightdeck.collector.components.prometheusexporter import PrometheusExporter
from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config

S = 1_700_000_000_000_000_000
SCOPE = 'otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version=""'
BOUNDS = [
    "2",
    "4",
    "6",
    "8",
    "10",
    "50",
    "100",
    "200",
    "400",
    "800",
    "1000",
    "1400",
    "2000",
    "5000",
    "10000",
    "15000",
]


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def debug(self, msg: str, **fields: object) -> None:
        self.lines.append(("debug", msg, fields))

    def info(self, msg: str, **fields: object) -> None:
        self.lines.append(("info", msg, fields))

    def warn(self, msg: str, **fields: object) -> None:
        self.lines.append(("warn", msg, fields))

    def error(self, msg: str, **fields: object) -> None:
        self.lines.append(("error", msg, fields))


def any_value(value: Any) -> AnyValue:
    """An AnyValue from a Python value: list → array, dict → kvlist, None → empty, other → string."""
    if isinstance(value, AnyValue):
        return value
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        kvs = [KeyValue(key=k, value=any_value(v)) for k, v in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=kvs))
    return AnyValue(string_value=str(value))


@dataclass
class SpanSpec:
    name: str
    duration_ns: int = 1_000_000
    kind: int = 2
    status: int = 0
    message: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    start: int = S
    trace_id: bytes = b""
    span_id: bytes = b""
    events: Sequence[tuple[str, Mapping[str, Any]]] = ()


def request(resources: Sequence[tuple[Mapping[str, Any], Sequence[SpanSpec]]]) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for attrs, spans in resources:
        rs = req.resource_spans.add()
        for k, v in attrs.items():
            rs.resource.attributes.add(key=k, value=any_value(v))
        ss = rs.scope_spans.add()
        for spec in spans:
            sp = ss.spans.add(
                name=spec.name,
                kind=spec.kind,  # type: ignore[arg-type]
                start_time_unix_nano=spec.start,
                end_time_unix_nano=spec.start + spec.duration_ns,
                trace_id=spec.trace_id,
                span_id=spec.span_id,
            )
            sp.status.code = spec.status  # type: ignore[assignment]
            sp.status.message = spec.message
            for k, v in spec.attrs.items():
                sp.attributes.add(key=k, value=any_value(v))
            for ev_name, ev_attrs in spec.events:
                ev = sp.events.add(name=ev_name, time_unix_nano=spec.start)
                for k, v in ev_attrs.items():
                    ev.attributes.add(key=k, value=any_value(v))
    return req


def exporter(
    cfg: Mapping[str, Any] | None = None, logger: RecordingLogger | None = None
) -> PrometheusExporter:
    raw = {"endpoint": "0.0.0.0:8889", **(cfg or {})}
    settings = Settings(ComponentID("prometheus"), Kind.EXPORTER, logger or RecordingLogger(), None)  # type: ignore[arg-type]
    return PrometheusExporter(settings, PROM_FACTORY.load_config(raw))


def scrape_text(
    requests: Sequence[ExportTraceServiceRequest],
    connector: Mapping[str, Any] | None = None,
    exporter_cfg: Mapping[str, Any] | None = None,
    accept: str = "",
) -> str:
    """One connector flush after all ``requests``, accumulated and scraped once."""
    agg = SpanMetricsAggregator(load_config(dict(connector or {})))
    for req in requests:
        agg.consume(req, S)
    exp = exporter(exporter_cfg)
    exp.accept(agg.flush(S + 60_000_000_000), S + 60_000_000_000)
    return exp.scrape(accept, "", S + 61_000_000_000).body.decode()


def histogram_block(
    family: str, labels: str, cumulative: Sequence[int], total_sum: str, bounds: Sequence[str] = BOUNDS
) -> str:
    """The exposition lines of one histogram series; ``cumulative`` has one entry per bound plus +Inf."""
    assert len(cumulative) == len(bounds) + 1
    lines = [
        f'{family}_bucket{{{labels},le="{b}"}} {c}'
        for b, c in zip([*bounds, "+Inf"], cumulative, strict=True)
    ]
    lines.append(f"{family}_sum{{{labels}}} {total_sum}")
    lines.append(f"{family}_count{{{labels}}} {cumulative[-1]}")
    return "\n".join(lines) + "\n"
