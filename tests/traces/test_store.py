"""The bounded in-memory store."""

from __future__ import annotations

from flightdeck.traces.model import CHILD_OF, STRING, KeyValue, Log, Process, Span, SpanRef
from flightdeck.traces.store import TraceQuery, TraceStore

T = 1_700_000_000_000_000_000


def mk(
    trace: int, span_id: int, service: str = "svc", *, parent: int = 0, start: int = T, **kw: object
) -> Span:
    refs = [SpanRef(CHILD_OF, trace, parent)] if parent else []
    return Span(
        trace,
        span_id,
        str(kw.get("op", "op")),
        refs,
        start,
        int(kw.get("duration", 1000)),  # type: ignore[call-overload]
        list(kw.get("tags", [])),  # type: ignore[call-overload]
        list(kw.get("logs", [])),  # type: ignore[call-overload]
        Process(service, list(kw.get("ptags", []))),  # type: ignore[call-overload]
    )


def test_evicts_oldest_trace_by_count_and_spans() -> None:
    store = TraceStore(max_traces=3, max_spans=5)
    for t in range(1, 5):
        store.write_spans([mk(t, 1)])
    assert store.get_trace(1) is None and store.trace_count == 3
    store.write_spans([mk(9, s) for s in range(1, 5)])  # 4 spans: only 1 more fits
    assert store.span_count <= 5
    assert store.get_trace(9) is not None
    assert store.evicted_traces >= 2
    # a trace that alone exceeds the span bound is still kept
    store.write_spans([mk(10, s) for s in range(1, 8)])
    assert store.trace_count == 1 and store.span_count == 7


def test_services_operations_persist_after_eviction() -> None:
    store = TraceStore(max_traces=1)
    store.write_spans([mk(1, 1, "a", op="x", tags=[KeyValue("span.kind", STRING, "server")])])
    store.write_spans([mk(2, 1, "b", op="y")])
    assert store.services() == ["a", "b"]
    assert store.operations("a") == [("x", "server")]
    assert store.operations("a", "client") == []


def test_find_traces_filters_and_limit_keeps_newest() -> None:
    store = TraceStore()
    for t in range(1, 6):
        store.write_spans(
            [mk(t, 1, start=T + t * 1000, duration=t * 100, tags=[KeyValue("n", STRING, str(t))])]
        )
    store.write_spans([mk(7, 1, "other")])
    got = store.find_traces(TraceQuery("svc", limit=2))
    assert [t[0].trace_id for t in got] == [4, 5]
    got = store.find_traces(TraceQuery("svc", duration_min=200, duration_max=300, limit=0))
    assert [t[0].trace_id for t in got] == [2, 3]
    assert [t[0].trace_id for t in store.find_traces(TraceQuery("svc", tags={"n": "3"}))] == [3]
    assert store.find_traces(TraceQuery("svc", start_min=T + 4500))[0][0].trace_id == 5


def test_tag_search_covers_process_tags_and_log_fields() -> None:
    store = TraceStore()
    store.write_spans(
        [mk(1, 1, ptags=[KeyValue("host", STRING, "h1")], logs=[Log(T, [KeyValue("event", STRING, "boom")])])]
    )
    assert store.find_traces(TraceQuery("svc", tags={"host": "h1", "event": "boom"}))
    assert not store.find_traces(TraceQuery("svc", tags={"host": "h2"}))


def test_dependencies_between_services() -> None:
    store = TraceStore()
    store.write_spans(
        [
            mk(1, 1, "frontend"),
            mk(1, 2, "customer", parent=1),
            mk(1, 3, "customer", parent=2),
            mk(1, 4, "redis", parent=1),
        ]
    )
    deps = store.dependencies(T + 10, 100)
    assert [(d.parent, d.child, d.call_count) for d in deps] == [
        ("frontend", "customer", 1),
        ("frontend", "redis", 1),
    ]
    assert store.dependencies(T - 10, 100) == []


def test_reads_are_copies() -> None:
    store = TraceStore()
    store.write_spans([mk(1, 1)])
    got = store.get_trace(1)
    assert got is not None
    got[0].tags.append(KeyValue("x", STRING, "y"))
    again = store.get_trace(1)
    assert again is not None and again[0].tags == []
