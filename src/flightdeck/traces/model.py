"""Jaeger's span model (``jaeger-idl`` ``model/v1``) as small Python values.

The store keeps spans in this shape because every query answer is computed from it: Jaeger's
query service stores Jaeger-model spans, runs its adjusters on a copy of a trace and renders the
UI JSON from the result. Times are integer nanoseconds (Go's ``time.Time``/``time.Duration``) so
that comparisons with query bounds are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# jaeger-idl ValueType enum values; the sort order of tags compares them numerically.
STRING = 0
BOOL = 1
INT64 = 2
FLOAT64 = 3
BINARY = 4

VALUE_TYPE_NAMES = ("string", "bool", "int64", "float64", "binary")

CHILD_OF = 0
FOLLOWS_FROM = 1

SPAN_KIND_KEY = "span.kind"
SPAN_KINDS = frozenset({"client", "server", "producer", "consumer", "internal", ""})


class KeyValue(NamedTuple):
    """A tag or log field. Tuple order (key, type, value) is jaeger-idl's ``KeyValue.Compare``
    order, so ``sorted()`` sorts tags exactly like ``KeyValues.Sort``."""

    key: str
    vtype: int
    value: str | bool | int | float | bytes

    def as_string(self) -> str:
        """``KeyValue.AsString``: what tag search and the span kind lookup compare against."""
        vtype = self.vtype
        value = self.value
        if vtype == STRING:
            return str(value)
        if vtype == BOOL:
            return "true" if value else "false"
        if vtype == INT64:
            return str(value)
        if vtype == FLOAT64:
            return _format_g10(float(value))
        assert isinstance(value, bytes)
        return value.hex()


def _format_g10(value: float) -> str:
    """Go ``strconv.FormatFloat(v, 'g', 10, 64)``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = f"{value:.10g}"
    mantissa, sep, exponent = text.partition("e")
    if not sep:
        return text
    # Go writes at least two exponent digits, as Python does; both use a sign.
    return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0').rjust(2, '0')}"


def string_tag(key: str, value: str) -> KeyValue:
    return KeyValue(key, STRING, value)


class SpanRef(NamedTuple):
    ref_type: int
    trace_id: int
    """128-bit trace ID as one integer (high << 64 | low)."""
    span_id: int


class Log(NamedTuple):
    timestamp: int
    fields: list[KeyValue]


@dataclass(slots=True)
class Process:
    service_name: str
    tags: list[KeyValue] = field(default_factory=list)

    def key(self) -> tuple[str, tuple[KeyValue, ...]]:
        """Identity for process de-duplication in a trace (jaeger's processHashtable: equal
        service name and equal tags in order)."""
        return (self.service_name, tuple(self.tags))


@dataclass(slots=True)
class Span:
    trace_id: int
    span_id: int
    operation_name: str
    references: list[SpanRef]
    start_time: int
    """Nanoseconds since the epoch."""
    duration: int
    """Nanoseconds."""
    tags: list[KeyValue]
    logs: list[Log]
    process: Process
    flags: int = 0
    warnings: list[str] | None = None

    def copy(self) -> Span:
        """A copy the adjusters may edit (tags, logs and references are new lists; values are immutable)."""
        return Span(
            self.trace_id,
            self.span_id,
            self.operation_name,
            list(self.references),
            self.start_time,
            self.duration,
            list(self.tags),
            [Log(log.timestamp, list(log.fields)) for log in self.logs],
            Process(self.process.service_name, list(self.process.tags)),
            self.flags,
            None if self.warnings is None else list(self.warnings),
        )

    def find_tag(self, key: str) -> KeyValue | None:
        for tag in self.tags:
            if tag.key == key:
                return tag
        return None

    def span_kind(self) -> str:
        """``Span.GetSpanKind``: the ``span.kind`` tag when it names a known kind, else ""."""
        tag = self.find_tag(SPAN_KIND_KEY)
        if tag is None:
            return ""
        kind = tag.as_string()
        return kind if kind in SPAN_KINDS else ""

    def parent_span_id(self) -> int:
        """``Span.ParentSpanID``: the first same-trace CHILD_OF reference, else the first FOLLOWS_FROM."""
        follows: int | None = None
        for ref in self.references:
            if ref.trace_id != self.trace_id:
                continue
            if ref.ref_type == CHILD_OF:
                return ref.span_id
            if follows is None:
                follows = ref.span_id
        return follows if follows is not None else 0


def trace_id_string(trace_id: int) -> str:
    """jaeger-idl ``TraceID.String``: 16 hex digits when the high half is zero, else 32."""
    if trace_id >> 64 == 0:
        return f"{trace_id:016x}"
    return f"{trace_id:032x}"


def span_id_string(span_id: int) -> str:
    return f"{span_id:016x}"
