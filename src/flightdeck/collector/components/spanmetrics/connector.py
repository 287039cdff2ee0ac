"""The ``spanmetrics`` connector component: feeds traces to the aggregator and, on a ticker of
``metrics_flush_interval``, hands the built metrics to the metrics pipelines (no flush at shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from flightdeck.collector.component import Consumer, ConsumerError, Host, Settings
from flightdeck.collector.components.spanmetrics.aggregator import SpanMetricsAggregator
from flightdeck.collector.components.spanmetrics.config import Config
from flightdeck.collector.errors import ConfigError


class SpanMetricsConnector:
    """traces → metrics; ``consume`` never fails (upstream ConsumeTraces never returns an error)."""

    def __init__(
        self,
        settings: Settings,
        cfg: Config,
        next_consumer: Consumer,
        clock: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        logger = settings.logger
        logger.info("Building spanmetrics connector")
        if cfg.dimensions_cache_size != 0:
            logger.warn("DimensionsCacheSize is deprecated, please use AggregationCardinalityLimit instead.")
        if cfg.metrics_flush_interval <= 0:
            # Go's time.NewTicker panics on a zero interval; validation only rejects negative ones.
            raise ConfigError("non-positive interval for NewTicker")
        try:
            self.aggregator = SpanMetricsAggregator(cfg, log=lambda msg, fields: logger.info(msg, **fields))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.settings = settings
        self.cfg = cfg
        self.next = next_consumer
        self.clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    async def consume(self, data: Any) -> None:
        self.aggregator.consume(data, self.clock())

    async def export_now(self) -> None:
        """One flush: build, reset, then hand the metrics on (errors are logged, not raised)."""
        metrics = self.aggregator.flush(self.clock())
        try:
            await self.next.consume(metrics)
        except ConsumerError as exc:
            self.settings.logger.error("Failed ConsumeMetrics", error=exc.message)

    async def _ticker(self) -> None:
        interval = self.cfg.metrics_flush_interval / 1e9
        due = self._monotonic() + interval
        while True:
            await self._sleep(max(0.0, due - self._monotonic()))
            try:
                await self.export_now()
            except Exception as exc:  # a bug in one flush must not stop the ticker
                self.settings.logger.error("Failed ConsumeMetrics", error=repr(exc))
            due += interval
            if due < self._monotonic():
                # Like time.Ticker: ticks missed while a slow flush ran are dropped.
                due = self._monotonic() + interval

    async def start(self, host: Host) -> None:
        self.settings.logger.info("Starting spanmetrics connector")
        self._task = asyncio.get_running_loop().create_task(self._ticker())

    async def shutdown(self) -> None:
        self.settings.logger.info("Shutting down spanmetrics connector")
        if self._task is not None:
            self.settings.logger.info("Stopping ticker")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
