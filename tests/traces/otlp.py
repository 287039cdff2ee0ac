"""Hand-built OTLP requests for the trace-store tests."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

T0 = 1_700_000_000_000_000_000  # ns


def value(v: Any) -> AnyValue:
    out = AnyValue()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        out.int_value = v
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, bytes):
        out.bytes_value = v
    elif isinstance(v, list):
        for item in v:
            out.array_value.values.append(value(item))
    elif isinstance(v, dict):
        for k, item in v.items():
            out.kvlist_value.values.append(KeyValue(key=k, value=value(item)))
    elif v is None:
        pass
    else:
        out.string_value = str(v)
    return out


def attrs(mapping: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in mapping.items()]


def span(
    trace_id: int,
    span_id: int,
    name: str,
    *,
    parent: int = 0,
    start: int = T0,
    duration: int = 1_000_000,
    kind: int = 0,
    attributes: dict[str, Any] | None = None,
    status: tuple[int, str] = (0, ""),
    events: list[tuple[int, str, dict[str, Any]]] | None = None,
    links: list[tuple[int, int, dict[str, Any]]] | None = None,
    trace_state: str = "",
) -> Span:
    s = Span(
        trace_id=trace_id.to_bytes(16, "big"),
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
        trace_state=trace_state,
    )
    s.attributes.extend(attrs(attributes or {}))
    s.status.code = status[0]  # type: ignore[assignment]
    s.status.message = status[1]
    for when, event_name, event_attrs in events or []:
        e = s.events.add()
        e.time_unix_nano = when
        e.name = event_name
        e.attributes.extend(attrs(event_attrs))
    for link_trace, link_span, link_attrs in links or []:
        link = s.links.add()
        link.trace_id = link_trace.to_bytes(16, "big")
        link.span_id = link_span.to_bytes(8, "big")
        link.attributes.extend(attrs(link_attrs))
    return s


def request(
    spans: list[Span],
    resource: dict[str, Any] | None = None,
    scope: tuple[str, str] = ("", ""),
) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(attrs({"service.name": "svc"} if resource is None else resource))
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = scope
    ss.spans.extend(spans)
    return req
