"""OTLP traces → Jaeger spans, the way Jaeger v1.76's collector stores them.

The path in Jaeger: the OTLP receiver hands ``ptrace.Traces`` to the span processor, which runs the
v2 sanitizers (``internal/jptrace/sanitizer``: empty service name, UTF-8, negative duration) and
then converts with opentelemetry-collector-contrib's ``pkg/translator/jaeger``
(``ProtoFromTraces``), moving ``@jaeger@warnings`` attributes into ``Span.warnings``. This module
does the same in one pass over the protobuf request.

Not reproduced: the UTF-8 sanitizer — protobuf decoding here rejects invalid UTF-8 in string
fields (Go keeps the bytes and the sanitizer turns them into binary tags), so such a request is
refused with 400 instead.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.common.v1.common_pb2 import KeyValue as OtlpKeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from flightdeck.traces import gojson
from flightdeck.traces.goparse import time_string
from flightdeck.traces.model import (
    BINARY,
    BOOL,
    CHILD_OF,
    FLOAT64,
    FOLLOWS_FROM,
    INT64,
    STRING,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
)
from flightdeck.util.gofmt import format_float

WARNINGS_ATTRIBUTE = "@jaeger@warnings"
SERVICE_NAME = "service.name"
MISSING_SERVICE_NAME = "missing-service-name"
EMPTY_SERVICE_NAME = "empty-service-name"
SERVICE_NAME_WRONG_TYPE = "service-name-wrong-type"
NO_SERVICE_NAME = "OTLPResourceNoServiceName"

_SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_ERROR_TAG = KeyValue("error", BOOL, True)
_STATUS_OK = KeyValue("otel.status_code", STRING, "OK")
_STATUS_ERROR = KeyValue("otel.status_code", STRING, "ERROR")
_KIND_TAGS = {code: KeyValue("span.kind", STRING, name) for code, name in _SPAN_KINDS.items()}
_UINT64 = 1 << 64
_INT64 = 1 << 63


class TranslateError(ValueError):
    """The request cannot be turned into spans; ``str()`` is pdata's unmarshal error text."""


def spans_from_request(request: ExportTraceServiceRequest, *, sanitize: bool = True) -> list[Span]:
    """All spans of ``request`` in wire order; raises :class:`TranslateError` for bad IDs.

    ``sanitize=False`` is the bare translator (Jaeger's ``/api/transform``): no service-name or
    negative-duration fixes."""
    out: list[Span] = []
    for resource_spans in request.resource_spans:
        attributes = resource_spans.resource.attributes
        process = process_from_resource(attributes) if sanitize else raw_process_from_resource(attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_tags: list[KeyValue] = []
            if scope.name:
                scope_tags.append(KeyValue("otel.scope.name", STRING, scope.name))
            if scope.version:
                scope_tags.append(KeyValue("otel.scope.version", STRING, scope.version))
            for span in scope_spans.spans:
                out.append(_span(span, scope_tags, process, sanitize))
    return out


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def process_from_resource(attributes: Sequence[OtlpKeyValue]) -> Process:
    """The empty-service-name sanitizer, then the translator's process: ``service.name`` becomes
    the service, every other resource attribute a process tag (in wire order)."""
    service: str | None = None
    tags: list[KeyValue] = []
    for attr in attributes:
        if attr.key == SERVICE_NAME:
            if service is None:
                value = attr.value
                if value.WhichOneof("value") != "string_value":
                    service = SERVICE_NAME_WRONG_TYPE
                else:
                    service = value.string_value or EMPTY_SERVICE_NAME
            continue
        tags.append(to_tag(attr.key, attr.value))
    return Process(MISSING_SERVICE_NAME if service is None else service, tags)


def raw_process_from_resource(attributes: Sequence[OtlpKeyValue]) -> Process:
    """The translator alone: no attributes at all gives ``OTLPResourceNoServiceName``; a missing or
    non-string ``service.name`` gives an empty service name."""
    if not attributes:
        return Process(NO_SERVICE_NAME, [])
    service = ""
    found = False
    tags: list[KeyValue] = []
    for attr in attributes:
        if attr.key == SERVICE_NAME:
            if not found:
                found = True
                service = attr.value.string_value
            continue
        tags.append(to_tag(attr.key, attr.value))
    return Process(service, tags)


def to_tag(key: str, value: AnyValue) -> KeyValue:
    """``attributeToJaegerProtoTag``: maps and arrays become their JSON text."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return KeyValue(key, STRING, value.string_value)
    if kind == "int_value":
        return KeyValue(key, INT64, value.int_value)
    if kind == "bool_value":
        return KeyValue(key, BOOL, value.bool_value)
    if kind == "double_value":
        return KeyValue(key, FLOAT64, value.double_value)
    if kind == "bytes_value":
        return KeyValue(key, BINARY, bytes(value.bytes_value))
    if kind in ("array_value", "kvlist_value"):
        return KeyValue(key, STRING, as_string(value))
    return KeyValue(key, STRING, "")


def as_string(value: AnyValue) -> str:
    """pdata ``Value.AsString`` for a map or slice: ``json.Marshal`` of its raw form ("" if NaN)."""
    try:
        return gojson.value(_raw(value))
    except gojson.UnsupportedValue:
        return ""


def _raw(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    if kind == "array_value":
        return [_raw(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        out: dict[str, object] = {}
        for kv in value.kvlist_value.values:
            out[kv.key] = _raw(kv.value)
        return out
    return None


def _id(raw: bytes, size: int, what: str) -> int:
    if not raw:
        return 0
    if len(raw) != size:
        raise TranslateError(f"unmarshal: invalid {what} length")
    return int.from_bytes(raw, "big")


def _as_int64(nanos: int) -> int:
    # Go converts the uint64 timestamp with int64(ts): values past 2^63 wrap to negative.
    return nanos - _UINT64 if nanos >= _INT64 else nanos


def _span(s: OtlpSpan, scope_tags: list[KeyValue], process: Process, sanitize: bool = True) -> Span:
    trace_id = _id(s.trace_id, 16, "TraceID")
    span_id = _id(s.span_id, 8, "SpanID")
    parent = _id(s.parent_span_id, 8, "SpanID")

    references: list[SpanRef] = []
    if parent:
        references.append(SpanRef(CHILD_OF, trace_id, parent))
    for link in s.links:
        link_trace = _id(link.trace_id, 16, "TraceID")
        link_span = _id(link.span_id, 8, "SpanID")
        ref_type = FOLLOWS_FROM
        for attr in link.attributes:
            if attr.key == "opentracing.ref_type":
                ref_type = CHILD_OF if attr.value.string_value == "child_of" else FOLLOWS_FROM
                break
        if parent and link_trace == trace_id and link_span == parent:
            references[0] = SpanRef(ref_type, trace_id, parent)
            continue
        references.append(SpanRef(ref_type, link_trace, link_span))

    start = _as_int64(s.start_time_unix_nano)
    end = _as_int64(s.end_time_unix_nano)
    warnings: list[str] | None = None
    tags = list(scope_tags)
    for attr in s.attributes:
        if attr.key == WARNINGS_ATTRIBUTE:
            warnings = (warnings or []) + _warnings_from(attr.value)
            continue
        tags.append(to_tag(attr.key, attr.value))
    if sanitize and not start < end:
        new_end = start + 1
        warnings = (warnings or []) + [
            "Negative duration detected, sanitizing end timestamp. Original end timestamp: "
            f"{time_string(end)}, adjusted to: {time_string(new_end)}"
        ]
        end = new_end
    if warnings == []:
        # An explicitly empty warnings list is not moved out of the tags by Jaeger.
        tags.append(KeyValue(WARNINGS_ATTRIBUTE, STRING, "[]"))
        warnings = None

    kind_tag = _KIND_TAGS.get(s.kind)
    if kind_tag is not None:
        tags.append(kind_tag)
    status = s.status
    if status.code == 1:
        tags.append(_STATUS_OK)
    elif status.code == 2:
        tags.append(_STATUS_ERROR)
        tags.append(_ERROR_TAG)
    if status.message:
        tags.append(KeyValue("otel.status_description", STRING, status.message))
    if s.trace_state:
        tags.append(KeyValue("w3c.tracestate", STRING, s.trace_state))

    logs: list[Log] = []
    for event in s.events:
        fields: list[KeyValue] = []
        if event.name and not any(a.key == "event" for a in event.attributes):
            fields.append(KeyValue("event", STRING, event.name))
        for attr in event.attributes:
            fields.append(to_tag(attr.key, attr.value))
        logs.append(Log(_as_int64(event.time_unix_nano), fields))

    return Span(
        trace_id=trace_id,
        span_id=span_id,
        operation_name=s.name,
        references=references,
        start_time=start,
        duration=end - start,
        tags=tags,
        logs=logs,
        process=process,
        warnings=warnings,
    )


def _warnings_from(value: AnyValue) -> list[str]:
    """``jptrace.GetWarnings``: a slice gives its string elements, anything else its text."""
    if value.WhichOneof("value") == "array_value":
        return [v.string_value for v in value.array_value.values]
    return [pdata_as_string(value)]


def pdata_as_string(value: AnyValue) -> str:
    """pdata ``Value.AsString``."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return format_float(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind in ("array_value", "kvlist_value"):
        return as_string(value)
    return ""
