"""``batch`` processor (core ``processor/batchprocessor``): merges requests until ``send_batch_size``
items or ``timeout``, splits at ``send_batch_max_size``; downstream errors are logged
(``Sender failed``), not returned, as upstream.

Splitting is per item for traces and logs; for metrics it is per metric (a metric's data points stay
together), which can exceed ``send_batch_max_size`` for a single metric with more points than that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import (
    SIGNAL_TYPES,
    Consumer,
    ConsumerError,
    Host,
    Kind,
    Settings,
    Signal,
    Stability,
)
from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import SignalFactory
from flightdeck.collector.pdata import count_items


@dataclass(slots=True)
class Config:
    timeout: DurationNs = 200_000_000
    send_batch_size: int = 8192
    send_batch_max_size: int = 0
    metadata_keys: list[str] = field(default_factory=list)
    metadata_cardinality_limit: int = 1000


def _validate(cfg: Config) -> list[str]:
    if 0 < cfg.send_batch_max_size < cfg.send_batch_size:
        return ["send_batch_max_size must be greater or equal to send_batch_size"]
    seen: set[str] = set()
    for key in cfg.metadata_keys:
        low = key.lower()
        if low in seen:
            return [f'duplicate entry in metadata_keys: "{low}" (case-insensitive)']
        seen.add(low)
    if cfg.timeout < 0:
        return ["timeout must be greater or equal to 0"]
    return []


_TOP = {Signal.TRACES: "resource_spans", Signal.METRICS: "resource_metrics", Signal.LOGS: "resource_logs"}
_SCOPE = {Signal.TRACES: "scope_spans", Signal.METRICS: "scope_metrics", Signal.LOGS: "scope_logs"}
_ITEMS = {Signal.TRACES: "spans", Signal.METRICS: "metrics", Signal.LOGS: "log_records"}


def _points(metric: Any) -> int:
    which = metric.WhichOneof("data")
    return len(getattr(metric, which).data_points) if which else 0


def split(signal: Signal, data: Any, max_items: int) -> Iterator[Any]:
    """Pieces of at most ``max_items`` items (metrics: per whole metric), preserving order."""
    top, scope_f, items_f = _TOP[signal], _SCOPE[signal], _ITEMS[signal]
    out = SIGNAL_TYPES[signal]()
    size = 0
    for res in getattr(data, top):
        cur_res = None
        for sc in getattr(res, scope_f):
            cur_sc = None
            for item in getattr(sc, items_f):
                n = _points(item) if signal is Signal.METRICS else 1
                if size and size + n > max_items:
                    yield out
                    out, size, cur_res, cur_sc = SIGNAL_TYPES[signal](), 0, None, None
                if cur_res is None:
                    cur_res = getattr(out, top).add()
                    cur_res.resource.CopyFrom(res.resource)
                    cur_res.schema_url = res.schema_url
                if cur_sc is None:
                    cur_sc = getattr(cur_res, scope_f).add()
                    cur_sc.scope.CopyFrom(sc.scope)
                    cur_sc.schema_url = sc.schema_url
                getattr(cur_sc, items_f).append(item)
                size += n
    if size:
        yield out


class BatchProcessor:
    def __init__(self, settings: Settings, cfg: Config, signal: Signal, next_consumer: Consumer) -> None:
        if cfg.metadata_keys:
            raise ConfigError("not supported: metadata_keys on the batch processor")
        self.settings = settings
        self.cfg = cfg
        self.signal = signal
        self.next = next_consumer
        self.pending = SIGNAL_TYPES[signal]()
        self.pending_items = 0
        self.timer: asyncio.TimerHandle | None = None
        self.lock = asyncio.Lock()
        tel = settings.telemetry
        labels = {"processor": str(settings.id)}
        self.size_trigger = tel.counter(
            "otelcol_processor_batch_batch_size_trigger_send",
            "Number of times the batch was sent due to a size trigger [Development]",
            labels,
        )
        self.timeout_trigger = tel.counter(
            "otelcol_processor_batch_timeout_trigger_send",
            "Number of times the batch was sent due to a timeout trigger [Development]",
            labels,
        )
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: Host) -> None:
        return None

    async def shutdown(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        await self._flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def consume(self, data: Any) -> None:
        n = count_items(self.signal, data)
        if n == 0:
            return
        # extend() copies into the pending message, so the shared input is never mutated
        getattr(self.pending, _TOP[self.signal]).extend(getattr(data, _TOP[self.signal]))
        self.pending_items += n
        if self.cfg.timeout == 0 or self.pending_items >= self.cfg.send_batch_size:
            if self.cfg.timeout != 0:
                self.size_trigger.add(1)
            await self._flush()
        elif self.timer is None:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(self.cfg.timeout / 1e9, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        if self.pending_items:
            self.timeout_trigger.add(1)
            task = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        if not self.pending_items:
            return
        batch, self.pending, self.pending_items = self.pending, SIGNAL_TYPES[self.signal](), 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        max_size = self.cfg.send_batch_max_size
        pieces = (
            [batch]
            if max_size <= 0 or count_items(self.signal, batch) <= max_size
            else list(split(self.signal, batch, max_size))
        )
        async with self.lock:
            for piece in pieces:
                try:
                    await self.next.consume(piece)
                except ConsumerError as exc:
                    self.settings.logger.warn("Sender failed", error=exc.message)


@dataclass(frozen=True, slots=True)
class _Factory(SignalFactory):
    def create_processor(
        self, settings: Settings, cfg: Any, signal: Signal, next_consumer: Consumer
    ) -> BatchProcessor:
        return BatchProcessor(settings, cfg, signal, next_consumer)


FACTORY = _Factory(
    "batch",
    Kind.PROCESSOR,
    Config,
    _validate,
    {Signal.TRACES: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.LOGS: Stability.BETA},
)
