"""The connector component on a virtual clock: ticker flushes, consumer errors logged, no flush at shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from flightdeck.collector.component import ComponentID, ConsumerError, Kind, Settings, Signal
from flightdeck.collector.components.spanmetrics import FACTORY, SpanMetricsConnector
from flightdeck.collector.errors import ConfigError
from tests.collector.components.spanmetrics.helpers import RecordingLogger, S, SpanSpec, request


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall_ns(self) -> int:
        return S + int(self.now * 1e9)

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.items: list[Any] = []
        self.fail = fail

    async def consume(self, data: Any) -> None:
        self.items.append(data)
        if self.fail:
            raise ConsumerError("downstream refused")


def make(raw: dict[str, Any], sink: Sink, clock: FakeTime, log: RecordingLogger) -> SpanMetricsConnector:
    settings = Settings(ComponentID("spanmetrics"), Kind.CONNECTOR, log, None)  # type: ignore[arg-type]
    return SpanMetricsConnector(
        settings,
        FACTORY.load_config(raw),
        sink,
        clock=clock.wall_ns,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


def test_ticker_flushes_every_interval_and_logs_like_upstream() -> None:
    async def main() -> tuple[Sink, RecordingLogger]:
        clock, sink, log = FakeTime(), Sink(), RecordingLogger()
        conn = make({"metrics_flush_interval": "15s"}, sink, clock, log)
        await conn.start(None)  # type: ignore[arg-type]
        await conn.consume(request([({"service.name": "svc"}, [SpanSpec("op")])]))
        for _ in range(10):
            await asyncio.sleep(0)
        await conn.shutdown()
        return sink, log

    sink, log = asyncio.run(main())
    assert len(sink.items) >= 2
    first = sink.items[0].resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]
    assert first.time_unix_nano == S + 15_000_000_000
    assert [m for _, m, _ in log.lines] == [
        "Building spanmetrics connector",
        "Starting spanmetrics connector",
        "Shutting down spanmetrics connector",
        "Stopping ticker",
    ]


def test_consumer_errors_are_logged_not_raised() -> None:
    async def main() -> RecordingLogger:
        clock, sink, log = FakeTime(), Sink(fail=True), RecordingLogger()
        conn = make({}, sink, clock, log)
        await conn.export_now()
        return log

    log = asyncio.run(main())
    assert ("error", "Failed ConsumeMetrics", {"error": "downstream refused"}) in log.lines


def test_factory_contract() -> None:
    assert FACTORY.type == "spanmetrics" and FACTORY.kind is Kind.CONNECTOR
    assert list(FACTORY.pairs) == [(Signal.TRACES, Signal.METRICS)]
    log = RecordingLogger()
    make({"dimensions_cache_size": 500}, Sink(), FakeTime(), log)
    assert (
        "warn",
        "DimensionsCacheSize is deprecated, please use AggregationCardinalityLimit instead.",
        {},
    ) in log.lines


def test_zero_flush_interval_and_cache_size_fail_at_creation() -> None:
    for raw, text in (
        ({"metrics_flush_interval": 0}, "non-positive interval for NewTicker"),
        ({"resource_metrics_cache_size": 0}, "must provide a positive size"),
    ):
        try:
            make(raw, Sink(), FakeTime(), RecordingLogger())
        except ConfigError as exc:
            assert str(exc) == text
        else:
            raise AssertionError(raw)
