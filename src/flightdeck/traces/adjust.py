"""Jaeger's query-side adjusters (``cmd/query/app/querysvc/adjusters.go``, v1.76), in its order.

Every trace the query API returns has been through them (unless ``raw=true``): server spans that
share a Zipkin-style ID with their client get a fresh ID, tags are sorted, exact duplicate spans
are dropped, clock skew is *measured* (jaeger-query's default ``--query.max-clock-skew-adjustment``
is 0, so it only adds warnings), numeric ``ip`` tags become dotted quads, OTel SDK tags move to the
process, references without a trace ID are removed and the parent reference is moved first.

The functions edit the span copies handed to them in place.
"""

from __future__ import annotations

import ipaddress

from flightdeck.traces.goparse import duration_string
from flightdeck.traces.model import (
    CHILD_OF,
    FLOAT64,
    INT64,
    STRING,
    KeyValue,
    Log,
    Span,
    SpanRef,
    span_id_string,
    trace_id_string,
)

MAX_CLOCK_SKEW_ADJUST = 0
"""jaeger-query's default: clock skew adjustment disabled, only reported."""

_MAX_SPAN_ID = (1 << 64) - 1
_IP_TAGS = frozenset({"ip", "peer.ipv4"})
_OTEL_LIBRARY_KEYS = frozenset(
    {
        "telemetry.sdk.language",
        "telemetry.sdk.name",
        "telemetry.sdk.version",
        "telemetry.distro.name",
        "telemetry.distro.version",
    }
)
_REF_TYPE_NAMES = ("CHILD_OF", "FOLLOWS_FROM")


def adjust(spans: list[Span], max_clock_skew_adjust: int = MAX_CLOCK_SKEW_ADJUST) -> list[Span]:
    """Apply the standard adjusters; returns the (possibly shorter) span list."""
    uniquify_zipkin_span_ids(spans)
    sort_tags_and_log_fields(spans)
    spans = dedupe_by_span_hash(spans)
    clock_skew(spans, max_clock_skew_adjust)
    ip_tags(spans)
    otel_tags(spans)
    span_references(spans)
    parent_reference(spans)
    return spans


def _replace_parent_id(span: Span, new_parent: int) -> None:
    """jaeger-idl ``Span.ReplaceParentID``."""
    old_parent = span.parent_span_id()
    for i, ref in enumerate(span.references):
        if ref.span_id == old_parent and ref.trace_id == span.trace_id:
            span.references[i] = SpanRef(ref.ref_type, ref.trace_id, new_parent)
            return
    if new_parent == 0:
        return
    for ref in span.references:
        if ref.span_id == new_parent and ref.trace_id == span.trace_id:
            return
    span.references.insert(0, SpanRef(CHILD_OF, span.trace_id, new_parent))


def uniquify_zipkin_span_ids(spans: list[Span]) -> None:
    """``ZipkinSpanIDUniquifier``: a server span sharing its ID with a client span gets a new ID."""
    by_id: dict[int, list[Span]] = {}
    for span in spans:
        by_id.setdefault(span.span_id, []).append(span)
    if len(by_id) == len(spans):
        return  # no shared IDs: nothing to do (the common OTLP case)
    old_to_new: dict[int, int] = {}
    max_used = 0
    for span in spans:
        if span.span_kind() != "server":
            continue
        if not any(other.span_kind() == "client" for other in by_id.get(span.span_id, ())):
            continue
        new_id = 0
        candidate = max_used + 1
        while candidate < _MAX_SPAN_ID:
            if candidate not in by_id:
                new_id = candidate
                break
            candidate += 1
        if not new_id:
            span.warnings = [
                *(span.warnings or []),
                "cannot assign unique span ID, too many spans in the trace",
            ]
            continue
        max_used = new_id
        old_to_new[span.span_id] = new_id
        _replace_parent_id(span, span.span_id)
        span.span_id = new_id
    for span in spans:
        parent = old_to_new.get(span.parent_span_id())
        if parent is not None and span.span_id != parent:
            _replace_parent_id(span, parent)


def sort_tags_and_log_fields(spans: list[Span]) -> None:
    """``SortTagsAndLogFields``: tags by (key, type, value); in logs ``event`` first, the rest sorted."""
    for span in spans:
        span.tags.sort()
        span.process.tags.sort()
        for log in span.logs:
            fields = log.fields
            offset = 0
            for i, kv in enumerate(fields):
                if kv.key == "event" and kv.vtype == STRING:
                    if i > 0:
                        fields[0], fields[i] = fields[i], fields[0]
                    offset = 1
                    break
            if len(fields) > 1:
                fields[offset:] = sorted(fields[offset:])


def _span_hash(span: Span) -> tuple[object, ...]:
    return (
        span.trace_id,
        span.span_id,
        span.operation_name,
        tuple(span.references),
        span.flags,
        span.start_time,
        span.duration,
        tuple(span.tags),
        tuple((log.timestamp, tuple(log.fields)) for log in span.logs),
        span.process.key(),
        tuple(span.warnings or ()),
    )


def dedupe_by_span_hash(spans: list[Span]) -> list[Span]:
    """``DedupeBySpanHash``: drop spans identical in every field (the first copy stays)."""
    seen: set[tuple[object, ...]] = set()
    out: list[Span] = []
    for span in spans:
        try:
            key = _span_hash(span)
            if key in seen:
                continue
            seen.add(key)
        except TypeError:  # an unhashable value cannot occur, but never lose a span over it
            pass
        out.append(span)
    return out


def _host_key(span: Span) -> str:
    for tag in span.process.tags:
        if tag.key != "ip":
            continue
        if tag.vtype == STRING:
            return str(tag.value)
        if tag.vtype == INT64:
            return _dotted(int(tag.value))
        if isinstance(tag.value, bytes) and len(tag.value) in (4, 16):
            return str(ipaddress.ip_address(tag.value))
        return ""
    return ""


def _dotted(value: int) -> str:
    value &= 0xFFFFFFFF
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def clock_skew(spans: list[Span], max_delta: int = MAX_CLOCK_SKEW_ADJUST) -> None:
    """``ClockSkew``: compare each child with its parent across hosts; apply or report the delta."""
    nodes: dict[int, Span] = {}
    for span in spans:
        if span.span_id in nodes:
            span.warnings = [*(span.warnings or []), "duplicate span IDs; skipping clock skew adjustment"]
        else:
            nodes[span.span_id] = span
    children: dict[int, list[Span]] = {}
    roots: list[Span] = []
    for span in nodes.values():
        parent_id = span.parent_span_id()
        if parent_id == 0:
            roots.append(span)
        elif parent_id in nodes:
            children.setdefault(parent_id, []).append(span)
        else:
            span.warnings = [
                *(span.warnings or []),
                f"invalid parent span IDs={span_id_string(parent_id)}; skipping clock skew adjustment",
            ]
            roots.append(span)
    hosts = {span_id: _host_key(span) for span_id, span in nodes.items()}
    # Iterative depth-first walk: (span, parent, skew delta, skew host).
    stack: list[tuple[Span, Span | None, int, str]] = [(root, None, 0, hosts[root.span_id]) for root in roots]
    while stack:
        span, parent, delta, host = stack.pop()
        own_host = hosts[span.span_id]
        if parent is not None and (own_host != host or own_host == ""):
            delta, host = _calculate_skew(span, parent), own_host
        _adjust_timestamps(span, delta, max_delta)
        for child in children.get(span.span_id, ()):
            stack.append((child, span, delta, host))


def _calculate_skew(child: Span, parent: Span) -> int:
    if child.duration > parent.duration:
        if child.start_time < parent.start_time:
            return parent.start_time - child.start_time
        return 0
    child_end = child.start_time + child.duration
    parent_end = parent.start_time + parent.duration
    if child.start_time >= parent.start_time and child_end <= parent_end:
        return 0
    latency = (parent.duration - child.duration) // 2  # non-negative here, so // truncates like Go
    return parent.start_time + latency - child.start_time


def _adjust_timestamps(span: Span, delta: int, max_delta: int) -> None:
    if delta == 0:
        return
    if abs(delta) > max_delta:
        if max_delta == 0:
            message = (
                f"clock skew adjustment disabled; not applying calculated delta of {duration_string(delta)}"
            )
        else:
            message = (
                f"max clock skew adjustment delta of {duration_string(max_delta)} exceeded; "
                f"not applying calculated delta of {duration_string(delta)}"
            )
        span.warnings = [*(span.warnings or []), message]
        return
    span.start_time += delta
    span.warnings = [
        *(span.warnings or []),
        f"This span's timestamps were adjusted by {duration_string(delta)}",
    ]
    span.logs = [Log(log.timestamp + delta, log.fields) for log in span.logs]


def ip_tags(spans: list[Span]) -> None:
    """``IPTagAdjuster``: numeric ``ip`` / ``peer.ipv4`` tags become dotted-quad strings."""
    for span in spans:
        _fix_ip(span.tags)
        _fix_ip(span.process.tags)
        span.process.tags.sort()


def _fix_ip(tags: list[KeyValue]) -> None:
    for i, tag in enumerate(tags):
        if tag.key not in _IP_TAGS:
            continue
        if tag.vtype == INT64:
            tags[i] = KeyValue(tag.key, STRING, _dotted(int(tag.value)))
        elif tag.vtype == FLOAT64:
            number = float(tag.value)
            whole = int(number) if number == number and abs(number) < 2**63 else 0
            tags[i] = KeyValue(tag.key, STRING, _dotted(whole))


def otel_tags(spans: list[Span]) -> None:
    """``OTelTagAdjuster``: OTel SDK/distro tags on spans belong to the process."""
    for span in spans:
        kept: list[KeyValue] = []
        for tag in span.tags:
            if tag.key in _OTEL_LIBRARY_KEYS:
                span.process.tags.append(tag)
            else:
                kept.append(tag)
        span.tags = kept
        span.process.tags.sort()


def _ref_text(ref: SpanRef) -> str:
    """Go ``%+v`` of a jaeger-idl ``SpanRef``."""
    return (
        f"{{TraceID:{trace_id_string(ref.trace_id)} SpanID:{span_id_string(ref.span_id)} "
        f"RefType:{_REF_TYPE_NAMES[ref.ref_type]}}}"
    )


def span_references(spans: list[Span]) -> None:
    """``SpanReferences``: references with a zero trace ID are dropped with a warning."""
    for span in spans:
        if all(ref.trace_id != 0 for ref in span.references):
            continue
        kept: list[SpanRef] = []
        for ref in span.references:
            if ref.trace_id == 0:
                span.warnings = [*(span.warnings or []), f"Invalid span reference removed {_ref_text(ref)}"]
            else:
                kept.append(ref)
        span.references = kept


def parent_reference(spans: list[Span]) -> None:
    """``ParentReference``: the first same-trace CHILD_OF (else any same-trace) reference goes first."""
    for span in spans:
        refs = span.references
        first_child = -1
        first_other = -1
        for i, ref in enumerate(refs):
            if ref.trace_id == span.trace_id:
                if ref.ref_type == CHILD_OF:
                    first_child = i
                    break
                if first_other == -1:
                    first_other = i
        swap = first_child if first_child != -1 else first_other
        if swap > 0:
            refs[0], refs[swap] = refs[swap], refs[0]
