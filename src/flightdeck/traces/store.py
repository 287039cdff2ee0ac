"""The embedded trace store: Jaeger's in-memory span store (``internal/storage/v1/memory``) with bounds.

Like Jaeger's memory store it keeps whole traces by ID, the services and the (operation, span kind)
pairs ever seen, and evicts the oldest *created* trace first. Unlike Jaeger's (whose default is
unbounded) it is always bounded, by trace count and by span count, because it shares one machine
with the whole system.

Reads hand out copies, so the adjusters and renderers never race with writers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from flightdeck.traces.model import Span

DEFAULT_MAX_TRACES = 2_000
DEFAULT_MAX_SPANS = 50_000


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """``spanstore.TraceQueryParameters``; times and durations in nanoseconds. A duration bound of 0
    and a time bound of None mean "no bound", as in Jaeger."""

    service: str
    operation: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    start_min: int | None = None
    start_max: int | None = None
    duration_min: int = 0
    duration_max: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Dependency:
    parent: str
    child: str
    call_count: int


class TraceStore:
    """Thread-safe bounded store of Jaeger-model spans."""

    def __init__(self, max_traces: int = DEFAULT_MAX_TRACES, max_spans: int = DEFAULT_MAX_SPANS) -> None:
        if max_traces < 1 or max_spans < 1:
            raise ValueError("max_traces and max_spans must be at least 1")
        self.max_traces = max_traces
        self.max_spans = max_spans
        self._lock = threading.Lock()
        self._traces: dict[int, list[Span]] = {}  # insertion order = creation order
        self._span_count = 0
        self._services: set[str] = set()
        self._operations: dict[str, dict[tuple[str, str], None]] = {}
        self.evicted_traces = 0

    # -- writing ----------------------------------------------------------------------------------

    def write_spans(self, spans: Iterable[Span]) -> int:
        """Store spans (Jaeger's ``WriteSpan`` for each); returns how many were written."""
        written = 0
        with self._lock:
            traces = self._traces
            for span in spans:
                service = span.process.service_name
                ops = self._operations.get(service)
                if ops is None:
                    ops = self._operations[service] = {}
                ops[(span.operation_name, span.span_kind())] = None
                self._services.add(service)
                trace = traces.get(span.trace_id)
                if trace is None:
                    trace = traces[span.trace_id] = []
                trace.append(span)
                written += 1
            self._span_count += written
            self._evict()
        return written

    def _evict(self) -> None:
        traces = self._traces
        # The newest trace always stays, even when it alone is over the span bound.
        while len(traces) > 1 and (len(traces) > self.max_traces or self._span_count > self.max_spans):
            oldest = next(iter(traces))
            self._span_count -= len(traces.pop(oldest))
            self.evicted_traces += 1

    # -- reading ----------------------------------------------------------------------------------

    @property
    def trace_count(self) -> int:
        return len(self._traces)

    @property
    def span_count(self) -> int:
        return self._span_count

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def operations(self, service: str, span_kind: str = "") -> list[tuple[str, str]]:
        """(name, span kind) pairs of ``service``, optionally of one kind, in first-seen order."""
        with self._lock:
            ops = list(self._operations.get(service, ()))
        return [op for op in ops if not span_kind or op[1] == span_kind]

    def get_trace(self, trace_id: int) -> list[Span] | None:
        with self._lock:
            trace = self._traces.get(trace_id)
            return None if trace is None else [span.copy() for span in trace]

    def find_traces(self, query: TraceQuery) -> list[list[Span]]:
        """Traces with at least one span matching ``query``; the newest ``limit`` (by the start of
        their first stored span) when more match, oldest first."""
        with self._lock:
            matches = [
                trace for trace in self._traces.values() if any(_matches(span, query) for span in trace)
            ]
            if query.limit > 0 and len(matches) > query.limit:
                matches.sort(key=lambda t: t[0].start_time)
                matches = matches[len(matches) - query.limit :]
            else:
                matches.sort(key=lambda t: t[0].start_time)
            return [[span.copy() for span in trace] for trace in matches]

    def dependencies(self, end_ns: int, lookback_ns: int) -> list[Dependency]:
        """Service-to-service call counts from parent/child spans of traces in the window."""
        start_ns = end_ns - lookback_ns
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            for trace in self._traces.values():
                if not any(start_ns < s.start_time < end_ns for s in trace):
                    continue
                by_id: dict[int, Span] = {}
                for span in trace:
                    by_id.setdefault(span.span_id, span)
                for span in trace:
                    parent = by_id.get(span.parent_span_id())
                    if parent is None:
                        continue
                    pair = (parent.process.service_name, span.process.service_name)
                    if pair[0] == pair[1]:
                        continue
                    counts[pair] = counts.get(pair, 0) + 1
        return [Dependency(p, c, n) for (p, c), n in sorted(counts.items())]


def _matches(span: Span, query: TraceQuery) -> bool:
    """Jaeger memory store's ``validSpan``."""
    if span.process.service_name != query.service:
        return False
    if query.operation and span.operation_name != query.operation:
        return False
    if query.duration_min and span.duration < query.duration_min:
        return False
    if query.duration_max and span.duration > query.duration_max:
        return False
    if query.start_min is not None and span.start_time < query.start_min:
        return False
    if query.start_max is not None and span.start_time > query.start_max:
        return False
    if query.tags:
        flat = [*span.tags, *span.process.tags]
        for log in span.logs:
            flat.extend(log.fields)
        for key, value in query.tags.items():
            if not any(kv.key == key and kv.as_string() == value for kv in flat):
                return False
    return True
