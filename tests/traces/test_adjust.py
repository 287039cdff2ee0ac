"""Jaeger's query-side adjusters."""

from __future__ import annotations

from flightdeck.traces.adjust import adjust, clock_skew, uniquify_zipkin_span_ids
from flightdeck.traces.model import (
    CHILD_OF,
    FOLLOWS_FROM,
    INT64,
    STRING,
    KeyValue,
    Log,
    Process,
    Span,
    SpanRef,
)

T = 1_000_000_000_000


def mk(
    span_id: int,
    parent: int = 0,
    *,
    start: int = T,
    duration: int = 1000,
    tags: list[KeyValue] | None = None,
    process: Process | None = None,
    refs: list[SpanRef] | None = None,
    logs: list[Log] | None = None,
) -> Span:
    references = refs if refs is not None else ([SpanRef(CHILD_OF, 1, parent)] if parent else [])
    return Span(
        1,
        span_id,
        f"op{span_id}",
        references,
        start,
        duration,
        tags or [],
        logs or [],
        process or Process("svc"),
    )


def test_tags_sorted_and_event_field_first() -> None:
    s = mk(
        1,
        tags=[KeyValue("b", STRING, "x"), KeyValue("a", INT64, 1)],
        logs=[
            Log(T, [KeyValue("z", STRING, "1"), KeyValue("event", STRING, "e"), KeyValue("a", STRING, "2")])
        ],
    )
    (out,) = adjust([s])
    assert [t.key for t in out.tags] == ["a", "b"]
    assert [f.key for f in out.logs[0].fields] == ["event", "a", "z"]


def test_child_outside_parent_gets_clock_skew_warning() -> None:
    parent = mk(1, duration=10_000)
    child = mk(2, 1, start=T - 2_000, duration=4_000)
    clock_skew([parent, child])
    assert parent.warnings is None
    # latency = (10000-4000)/2 = 3000ns; delta = parent.start + 3000 - child.start = 5000ns
    assert child.warnings == ["clock skew adjustment disabled; not applying calculated delta of 5µs"]
    assert child.start_time == T - 2_000  # reported, not applied (jaeger-query's default)


def test_child_inside_parent_is_untouched() -> None:
    parent = mk(1, duration=10_000)
    child = mk(2, 1, start=T + 1_000, duration=4_000)
    adjust([parent, child])
    assert child.warnings is None


def test_missing_parent_and_duplicate_ids_warn() -> None:
    orphan = mk(3, 77)
    a, b = mk(4), mk(4, duration=5)
    clock_skew([orphan, a, b])
    assert orphan.warnings == ["invalid parent span IDs=000000000000004d; skipping clock skew adjustment"]
    assert b.warnings == ["duplicate span IDs; skipping clock skew adjustment"]


def test_exact_duplicates_are_dropped() -> None:
    spans = adjust([mk(1), mk(1), mk(2, 1)])
    assert [s.span_id for s in spans] == [1, 2]


def test_zipkin_shared_span_id_gets_unique_server_id() -> None:
    client = mk(5, 1, tags=[KeyValue("span.kind", STRING, "client")])
    server = mk(5, 1, tags=[KeyValue("span.kind", STRING, "server")])
    child = mk(9, 5)
    spans = [mk(1), client, server, child]
    uniquify_zipkin_span_ids(spans)
    assert server.span_id == 2  # the first free ID
    assert server.parent_span_id() == 5
    assert child.parent_span_id() == 2


def test_otel_sdk_tags_move_to_process() -> None:
    s = mk(1, tags=[KeyValue("telemetry.sdk.language", STRING, "python"), KeyValue("x", STRING, "y")])
    (out,) = adjust([s])
    assert out.tags == [KeyValue("x", STRING, "y")]
    assert out.process.tags == [KeyValue("telemetry.sdk.language", STRING, "python")]


def test_numeric_ip_tags_become_dotted() -> None:
    s = mk(
        1,
        tags=[KeyValue("peer.ipv4", INT64, 0x7F000001)],
        process=Process("svc", [KeyValue("ip", INT64, 0x0A000002)]),
    )
    (out,) = adjust([s])
    assert out.tags == [KeyValue("peer.ipv4", STRING, "127.0.0.1")]
    assert out.process.tags == [KeyValue("ip", STRING, "10.0.0.2")]


def test_zero_trace_id_references_removed_and_parent_first() -> None:
    s = mk(1, refs=[SpanRef(FOLLOWS_FROM, 1, 7), SpanRef(CHILD_OF, 0, 3), SpanRef(CHILD_OF, 1, 8)])
    (out,) = adjust([s])
    assert out.references == [SpanRef(CHILD_OF, 1, 8), SpanRef(FOLLOWS_FROM, 1, 7)]
    assert out.warnings is not None
    assert (
        "Invalid span reference removed {TraceID:0000000000000000 SpanID:0000000000000003 RefType:CHILD_OF}"
        in out.warnings
    )
