"""Latency emerges from the model: checked on the model's parts, at 1/20 of real time."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable

from opentelemetry.sdk.trace import ReadableSpan

from flightdeck.apps.hotrod.delay import Simulator
from tests.apps.conftest import SCALE, Running, get


def max_overlap(intervals: list[tuple[int, int]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    best = current = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


def interval(span: ReadableSpan) -> tuple[int, int]:
    assert span.start_time is not None and span.end_time is not None
    return span.start_time, span.end_time


def test_delay_distribution_is_the_originals() -> None:
    slept: list[float] = []
    sim = Simulator(scale=0.5, seed=1, sleeper=slept.append)
    model = [sim.sleep(0.300, 0.030) for _ in range(20000)]
    assert abs(statistics.fmean(model) - 0.300) < 0.002
    assert abs(statistics.stdev(model) - 0.030) < 0.002
    assert slept == [m * 0.5 for m in model]  # the scale applies to the real sleep only
    clamped = Simulator(seed=2, sleeper=lambda s: None)
    assert min(clamped.sleep(0.0, 1.0) for _ in range(1000)) == 1e-9  # max(1ns, N(mean, sd))


def dispatch_concurrently(running: Running, n: int) -> None:
    threads = [
        threading.Thread(target=get, args=(running.url + f"/dispatch?customer={c}",))
        for c in (["123", "567", "392", "731"] * n)[:n]
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_db_mutex_serialises_queries_and_queues_requests(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod()
    dispatch_concurrently(running, 5)
    sql = sorted((s for s in running.spans() if s.name == "SQL SELECT"), key=lambda s: s.start_time or 0)
    assert len(sql) == 5
    held = []
    for span in sql:
        acquired = next(e for e in span.events if e.name.startswith("Acquired lock"))
        held.append((acquired.timestamp, span.end_time or 0))
    assert max_overlap(held) == 1  # one connection: no two queries at once
    waits = [e.name for s in sql for e in s.events if e.name.startswith("Waiting for lock behind")]
    assert waits  # later requests queued behind earlier ones
    # the k-th query waited for k-1 others: the longest SQL span is several query times long
    durations = sorted((s.end_time or 0) - (s.start_time or 0) for s in sql)
    query = 0.300 * SCALE * 1e9
    assert durations[-1] > 3.5 * query


def test_without_mutex_queries_overlap(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod(mysql_mutex_disabled=True)
    dispatch_concurrently(running, 4)
    sql = [s for s in running.spans() if s.name == "SQL SELECT"]
    assert max_overlap([interval(s) for s in sql]) >= 3
    assert not [e for s in sql for e in s.events]  # no lock, no lock log lines
    durations = [((s.end_time or 0) - (s.start_time or 0)) / 1e9 / SCALE for s in sql]
    assert max(durations) < 0.300 + 0.15  # model seconds: N(300ms, 30ms) plus a little overhead


def test_route_calls_never_exceed_the_worker_pool(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod()
    dispatch_concurrently(running, 2)
    calls = [interval(s) for s in running.spans() if s.name == "HTTP GET" and "/route?" in str(s.attributes)]
    assert len(calls) == 20 and max_overlap(calls) == 3

    wide = start_hotrod(route_worker_pool_size=10)
    get(wide.url + "/dispatch?customer=123")
    calls = [interval(s) for s in wide.spans() if s.name == "HTTP GET" and "/route?" in str(s.attributes)]
    assert max_overlap(calls) > 3


def test_redis_fails_first_and_every_fifth_call(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod()
    for _ in range(3):
        get(running.url + "/dispatch?customer=123")
    calls = sorted((s for s in running.spans() if s.name == "GetDriver"), key=lambda s: s.start_time or 0)
    failed = [i for i, s in enumerate(calls) if s.status.status_code.name == "ERROR"]
    assert failed == list(range(0, len(calls), 5))
