"""The debug exporter's ``normal`` and ``detailed`` renderings (upstream ``internal/normal`` and
``internal/otlptext``), line for line."""

from __future__ import annotations

import math
from typing import Any

from flightdeck.collector.pcommon import as_string, go_f6, id_hex, timestamp, type_name
from flightdeck.util.gofmt import format_float_v

_KIND = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
_STATUS = ["Unset", "Ok", "Error"]
_TEMPORALITY = ["Unspecified", "Delta", "Cumulative"]
_DATA_TYPE = {
    "gauge": "Gauge",
    "sum": "Sum",
    "histogram": "Histogram",
    "exponential_histogram": "ExponentialHistogram",
    "summary": "Summary",
    None: "Empty",
}
_SEVERITY = ["Unspecified"] + [
    f"{name}{'' if i == 0 else i + 1}"
    for name in ("Trace", "Debug", "Info", "Warn", "Error", "Fatal")
    for i in range(4)
]


def _enum(names: list[str], value: int) -> str:
    return names[value] if 0 <= value < len(names) else str(value)


class _Buf:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def entry(self, text: str) -> None:
        self.lines.append(text)

    def attr(self, name: str, value: str) -> None:
        self.lines.append(f"    {name:<15}: {value}")

    def attributes(self, header: str, attrs: Any, indent: str = "") -> None:
        if not len(attrs):
            return
        self.entry(f"{indent}{header}:")
        prefix = indent + "     ->"
        parts = header.split("->")
        if len(parts) > 1:
            prefix = parts[0] + prefix
        for kv in attrs:
            self.entry(f"{prefix} {kv.key}: {type_name(kv.value)}({as_string(kv.value)})")

    def scope(self, scope: Any) -> None:
        self.entry(f"InstrumentationScope {scope.name} {scope.version}")
        self.attributes("InstrumentationScope attributes", scope.attributes)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""


def detailed_traces(data: Any) -> str:
    b = _Buf()
    for i, rs in enumerate(data.resource_spans):
        b.entry(f"ResourceSpans #{i}")
        b.entry(f"Resource SchemaURL: {rs.schema_url}")
        b.attributes("Resource attributes", rs.resource.attributes)
        for j, ss in enumerate(rs.scope_spans):
            b.entry(f"ScopeSpans #{j}")
            b.entry(f"ScopeSpans SchemaURL: {ss.schema_url}")
            b.scope(ss.scope)
            for k, span in enumerate(ss.spans):
                b.entry(f"Span #{k}")
                b.attr("Trace ID", id_hex(span.trace_id))
                b.attr("Parent ID", id_hex(span.parent_span_id))
                b.attr("ID", id_hex(span.span_id))
                b.attr("Name", span.name)
                b.attr("Kind", _enum(_KIND, span.kind))
                if span.trace_state:
                    b.attr("TraceState", span.trace_state)
                b.attr("Start time", timestamp(span.start_time_unix_nano))
                b.attr("End time", timestamp(span.end_time_unix_nano))
                b.attr("Status code", _enum(_STATUS, span.status.code))
                b.attr("Status message", span.status.message)
                b.attr("DroppedAttributesCount", str(span.dropped_attributes_count))
                b.attr("DroppedEventsCount", str(span.dropped_events_count))
                b.attr("DroppedLinksCount", str(span.dropped_links_count))
                b.attributes("Attributes", span.attributes)
                if len(span.events):
                    b.entry("Events:")
                    for n, ev in enumerate(span.events):
                        b.entry(f"SpanEvent #{n}")
                        b.entry(f"     -> Name: {ev.name}")
                        b.entry(f"     -> Timestamp: {timestamp(ev.time_unix_nano)}")
                        b.entry(f"     -> DroppedAttributesCount: {ev.dropped_attributes_count}")
                        b.attributes("     -> Attributes:", ev.attributes)
                if len(span.links):
                    b.entry("Links:")
                    for n, link in enumerate(span.links):
                        b.entry(f"SpanLink #{n}")
                        b.entry(f"     -> Trace ID: {id_hex(link.trace_id)}")
                        b.entry(f"     -> ID: {id_hex(link.span_id)}")
                        b.entry(f"     -> TraceState: {link.trace_state}")
                        b.entry(f"     -> DroppedAttributesCount: {link.dropped_attributes_count}")
                        b.attributes("     -> Attributes:", link.attributes)
    return b.text()


def _exemplars(b: _Buf, exemplars: Any) -> None:
    if not len(exemplars):
        return
    b.entry("Exemplars:")
    for i, e in enumerate(exemplars):
        b.entry(f"Exemplar #{i}")
        b.entry(f"     -> Trace ID: {id_hex(e.trace_id)}")
        b.entry(f"     -> Span ID: {id_hex(e.span_id)}")
        b.entry(f"     -> Timestamp: {timestamp(e.time_unix_nano)}")
        which = e.WhichOneof("value")
        if which == "as_int":
            b.entry(f"     -> Value: {e.as_int}")
        elif which == "as_double":
            b.entry(f"     -> Value: {go_f6(e.as_double)}")
        b.attributes("     -> FilteredAttributes", e.filtered_attributes)


def _number_points(b: _Buf, points: Any) -> None:
    for i, p in enumerate(points):
        b.entry(f"NumberDataPoints #{i}")
        b.attributes("Data point attributes", p.attributes)
        b.entry(f"StartTimestamp: {timestamp(p.start_time_unix_nano)}")
        b.entry(f"Timestamp: {timestamp(p.time_unix_nano)}")
        which = p.WhichOneof("value")
        if which == "as_int":
            b.entry(f"Value: {p.as_int}")
        elif which == "as_double":
            b.entry(f"Value: {go_f6(p.as_double)}")
        _exemplars(b, p.exemplars)


def _histogram_points(b: _Buf, points: Any) -> None:
    for i, p in enumerate(points):
        b.entry(f"HistogramDataPoints #{i}")
        b.attributes("Data point attributes", p.attributes)
        b.entry(f"StartTimestamp: {timestamp(p.start_time_unix_nano)}")
        b.entry(f"Timestamp: {timestamp(p.time_unix_nano)}")
        b.entry(f"Count: {p.count}")
        if p.HasField("sum"):
            b.entry(f"Sum: {go_f6(p.sum)}")
        if p.HasField("min"):
            b.entry(f"Min: {go_f6(p.min)}")
        if p.HasField("max"):
            b.entry(f"Max: {go_f6(p.max)}")
        for n, bound in enumerate(p.explicit_bounds):
            b.entry(f"ExplicitBounds #{n}: {go_f6(bound)}")
        for n, count in enumerate(p.bucket_counts):
            b.entry(f"Buckets #{n}, Count: {count}")
        _exemplars(b, p.exemplars)


def detailed_metrics(data: Any) -> str:
    b = _Buf()
    for i, rm in enumerate(data.resource_metrics):
        b.entry(f"ResourceMetrics #{i}")
        b.entry(f"Resource SchemaURL: {rm.schema_url}")
        b.attributes("Resource attributes", rm.resource.attributes)
        for j, sm in enumerate(rm.scope_metrics):
            b.entry(f"ScopeMetrics #{j}")
            b.entry(f"ScopeMetrics SchemaURL: {sm.schema_url}")
            b.scope(sm.scope)
            for k, m in enumerate(sm.metrics):
                b.entry(f"Metric #{k}")
                which = m.WhichOneof("data")
                b.entry("Descriptor:")
                b.entry(f"     -> Name: {m.name}")
                b.entry(f"     -> Description: {m.description}")
                b.entry(f"     -> Unit: {m.unit}")
                b.entry(f"     -> DataType: {_DATA_TYPE[which]}")
                if which == "gauge":
                    _number_points(b, m.gauge.data_points)
                elif which == "sum":
                    b.entry(f"     -> IsMonotonic: {'true' if m.sum.is_monotonic else 'false'}")
                    b.entry(
                        f"     -> AggregationTemporality: {_enum(_TEMPORALITY, m.sum.aggregation_temporality)}"
                    )
                    _number_points(b, m.sum.data_points)
                elif which == "histogram":
                    b.entry(
                        f"     -> AggregationTemporality: {_enum(_TEMPORALITY, m.histogram.aggregation_temporality)}"
                    )
                    _histogram_points(b, m.histogram.data_points)
                elif which == "exponential_histogram":
                    eh = m.exponential_histogram
                    b.entry(
                        f"     -> AggregationTemporality: {_enum(_TEMPORALITY, eh.aggregation_temporality)}"
                    )
                    for n, p in enumerate(eh.data_points):
                        b.entry(f"ExponentialHistogramDataPoints #{n}")
                        b.attributes("Data point attributes", p.attributes)
                        b.entry(f"StartTimestamp: {timestamp(p.start_time_unix_nano)}")
                        b.entry(f"Timestamp: {timestamp(p.time_unix_nano)}")
                        b.entry(f"Count: {p.count}")
                        if p.HasField("sum"):
                            b.entry(f"Sum: {go_f6(p.sum)}")
                        if p.zero_count:
                            b.entry(f"Bucket [0, 0], Count: {p.zero_count}")
                        _exemplars(b, p.exemplars)
                elif which == "summary":
                    for n, p in enumerate(m.summary.data_points):
                        b.entry(f"SummaryDataPoints #{n}")
                        b.attributes("Data point attributes", p.attributes)
                        b.entry(f"StartTimestamp: {timestamp(p.start_time_unix_nano)}")
                        b.entry(f"Timestamp: {timestamp(p.time_unix_nano)}")
                        b.entry(f"Count: {p.count}")
                        b.entry(f"Sum: {go_f6(p.sum)}")
                        for q, qv in enumerate(p.quantile_values):
                            b.entry(
                                f"QuantileValue #{q}: Quantile {go_f6(qv.quantile)}, Value {go_f6(qv.value)}"
                            )
    return b.text()


def detailed_logs(data: Any) -> str:
    b = _Buf()
    for i, rl in enumerate(data.resource_logs):
        b.entry(f"ResourceLog #{i}")
        b.entry(f"Resource SchemaURL: {rl.schema_url}")
        b.attributes("Resource attributes", rl.resource.attributes)
        for j, sl in enumerate(rl.scope_logs):
            b.entry(f"ScopeLogs #{j}")
            b.entry(f"ScopeLogs SchemaURL: {sl.schema_url}")
            b.scope(sl.scope)
            for k, lr in enumerate(sl.log_records):
                b.entry(f"LogRecord #{k}")
                b.entry(f"ObservedTimestamp: {timestamp(lr.observed_time_unix_nano)}")
                b.entry(f"Timestamp: {timestamp(lr.time_unix_nano)}")
                b.entry(f"SeverityText: {lr.severity_text}")
                b.entry(f"SeverityNumber: {_enum(_SEVERITY, lr.severity_number)}({lr.severity_number})")
                if lr.event_name:
                    b.entry(f"EventName: {lr.event_name}")
                b.entry(f"Body: {type_name(lr.body)}({as_string(lr.body)})")
                b.attributes("Attributes", lr.attributes)
                b.entry(f"Trace ID: {id_hex(lr.trace_id)}")
                b.entry(f"Span ID: {id_hex(lr.span_id)}")
                b.entry(f"Flags: {lr.flags}")
    return b.text()


def _attrs_inline(attrs: Any) -> list[str]:
    return [f"{kv.key}={as_string(kv.value)}" for kv in attrs]


def _attrs_suffix(attrs: Any) -> str:
    items = _attrs_inline(attrs)
    return " " + " ".join(items) if items else ""


def _resource_details(schema_url: str) -> str:
    return f" [{schema_url}]" if schema_url else ""


def _scope_details(name: str, version: str, schema_url: str) -> str:
    out = name
    if version:
        out += "@" + version
    if schema_url:
        out += (" " if out else "") + f"[{schema_url}]"
    return " " + out if out else ""


def normal_traces(data: Any) -> str:
    out: list[str] = []
    for i, rs in enumerate(data.resource_spans):
        out.append(
            f"ResourceTraces #{i}{_resource_details(rs.schema_url)}{_attrs_suffix(rs.resource.attributes)}\n"
        )
        for ss in rs.scope_spans:
            sc = ss.scope
            # upstream prints the resource index here, not the scope index
            out.append(
                f"ScopeTraces #{i}{_scope_details(sc.name, sc.version, ss.schema_url)}{_attrs_suffix(sc.attributes)}\n"
            )
            for span in ss.spans:
                line = f"{span.name} {id_hex(span.trace_id)} {id_hex(span.span_id)}"
                if len(span.attributes):
                    line += " " + " ".join(_attrs_inline(span.attributes))
                out.append(line + "\n")
    return "".join(out)


def _expo_buckets(p: Any) -> str:
    """`` le<lower bound>=<count>`` per bucket, negative then positive (upstream labels both sides by
    base**index), then `` zero_count<threshold>=<count>`` when there are zeros."""
    base = math.pow(2.0, math.pow(2.0, -float(p.scale)))
    text = ""
    for side in (p.negative, p.positive):
        for i, count in enumerate(side.bucket_counts):
            try:
                bound = math.pow(base, float(side.offset + i))
            except OverflowError:
                bound = math.inf
            text += f" le{format_float_v(bound)}={count}"
    if p.zero_count > 0:
        text += f" zero_count{format_float_v(p.zero_threshold)}={p.zero_count}"
    return text


def normal_metrics(data: Any) -> str:
    out: list[str] = []
    for i, rm in enumerate(data.resource_metrics):
        out.append(
            f"ResourceMetrics #{i}{_resource_details(rm.schema_url)}{_attrs_suffix(rm.resource.attributes)}\n"
        )
        for sm in rm.scope_metrics:
            sc = sm.scope
            out.append(
                f"ScopeMetrics #{i}{_scope_details(sc.name, sc.version, sm.schema_url)}{_attrs_suffix(sc.attributes)}\n"
            )
            for m in sm.metrics:
                which = m.WhichOneof("data")
                if which in ("gauge", "sum"):
                    for p in getattr(m, which).data_points:
                        v = p.WhichOneof("value")
                        value = str(p.as_int) if v == "as_int" else format_float_v(p.as_double) if v else ""
                        out.append(f"{m.name}{{{','.join(_attrs_inline(p.attributes))}}} {value}\n")
                elif which == "histogram":
                    for p in m.histogram.data_points:
                        value = f"count={p.count}"
                        if p.HasField("sum"):
                            value += f" sum={format_float_v(p.sum)}"
                        if p.HasField("min"):
                            value += f" min={format_float_v(p.min)}"
                        if p.HasField("max"):
                            value += f" max={format_float_v(p.max)}"
                        for n, count in enumerate(p.bucket_counts):
                            bound = (
                                f"le{format_float_v(p.explicit_bounds[n])}="
                                if n < len(p.explicit_bounds)
                                else ""
                            )
                            value += f" {bound}{count}"
                        out.append(f"{m.name}{{{','.join(_attrs_inline(p.attributes))}}} {value}\n")
                elif which == "exponential_histogram":
                    for p in m.exponential_histogram.data_points:
                        value = f"count={p.count}"
                        if p.HasField("sum"):
                            value += f" sum={format_float_v(p.sum)}"
                        if p.HasField("min"):
                            value += f" min={format_float_v(p.min)}"
                        if p.HasField("max"):
                            value += f" max={format_float_v(p.max)}"
                        value += _expo_buckets(p)
                        out.append(f"{m.name}{{{','.join(_attrs_inline(p.attributes))}}} {value}\n")
                elif which == "summary":
                    for p in m.summary.data_points:
                        value = f"count={p.count} sum={go_f6(p.sum)}"
                        for q in p.quantile_values:
                            value += f" q{format_float_v(q.quantile)}={format_float_v(q.value)}"
                        out.append(f"{m.name}{{{','.join(_attrs_inline(p.attributes))}}} {value}\n")
    return "".join(out)


def normal_logs(data: Any) -> str:
    out: list[str] = []
    for i, rl in enumerate(data.resource_logs):
        out.append(
            f"ResourceLog #{i}{_resource_details(rl.schema_url)}{_attrs_suffix(rl.resource.attributes)}\n"
        )
        for sl in rl.scope_logs:
            sc = sl.scope
            out.append(
                f"ScopeLog #{i}{_scope_details(sc.name, sc.version, sl.schema_url)}{_attrs_suffix(sc.attributes)}\n"
            )
            for lr in sl.log_records:
                out.append(f"{as_string(lr.body)} {' '.join(_attrs_inline(lr.attributes))}\n")
    return "".join(out)
