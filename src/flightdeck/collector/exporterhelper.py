"""What upstream's ``exporterhelper`` gives the network exporters: a bounded in-memory sending queue with
worker tasks, retry with exponential back-off (``configretry``), a per-attempt timeout, and the
``otelcol_exporter_*`` self-metrics. Sender order as upstream: queue → obsreport → retry → timeout → send.

Overload behaviour: when the queue is full a request is rejected at once (``sending queue is full``,
logged with ``rejected_items`` and counted in ``otelcol_exporter_enqueue_failed_*``); a request whose
retries run out is dropped (logged with ``dropped_items``, counted in ``otelcol_exporter_send_failed_*``).
Memory is bounded by ``queue_size`` requests (or items with ``sizer: items``).
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flightdeck.collector.component import ConsumerError, Host, Settings, Signal
from flightdeck.collector.confdecode import DurationNs, format_go_duration_ns
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import SignalFactory
from flightdeck.collector.pdata import ITEM_NAMES, count_items


def _sizer(value: Any) -> str:
    if value not in ("requests", "items", "bytes"):
        raise ValueError(f'invalid sizer: "{value}"')
    return str(value)


@dataclass(slots=True)
class BatchConfig:
    flush_timeout: DurationNs = 200_000_000
    sizer: str = field(default="items", metadata={"decode": _sizer})
    min_size: int = 8192
    max_size: int = 0


@dataclass(slots=True)
class QueueConfig:
    enabled: bool = True
    wait_for_result: bool = False
    sizer: str = field(default="requests", metadata={"decode": _sizer})
    queue_size: int = 1000
    block_on_overflow: bool = False
    storage: str | None = None
    num_consumers: int = 10
    batch: BatchConfig | None = None


@dataclass(slots=True)
class RetryConfig:
    enabled: bool = True
    initial_interval: DurationNs = 5_000_000_000
    randomization_factor: float = 0.5
    multiplier: float = 1.5
    max_interval: DurationNs = 30_000_000_000
    max_elapsed_time: DurationNs = 300_000_000_000


def validate_queue(q: QueueConfig) -> list[str]:
    if not q.enabled:
        return []
    p = "sending_queue: "
    if q.num_consumers <= 0:
        return [p + "`num_consumers` must be positive"]
    if q.queue_size <= 0:
        return [p + "`queue_size` must be positive"]
    if q.storage is not None and q.wait_for_result:
        return [p + "`wait_for_result` is not supported with a persistent queue configured with `storage`"]
    if q.batch is not None and q.batch.sizer == q.sizer and q.batch.min_size > q.queue_size:
        return [p + "`min_size` must be less than or equal to `queue_size`"]
    return []


def validate_retry(r: RetryConfig) -> list[str]:
    if not r.enabled:
        return []
    p = "retry_on_failure: "
    checks = [
        (r.initial_interval < 0, "'initial_interval' must be non-negative"),
        (not 0 <= r.randomization_factor <= 1, "'randomization_factor' must be within [0, 1]"),
        (r.multiplier < 0, "'multiplier' must be non-negative"),
        (r.max_interval < 0, "'max_interval' must be non-negative"),
        (r.max_elapsed_time < 0, "'max_elapsed_time' must be non-negative"),
        (
            0 < r.max_elapsed_time < r.initial_interval,
            "'max_elapsed_time' must not be less than 'initial_interval'",
        ),
        (0 < r.max_elapsed_time < r.max_interval, "'max_elapsed_time' must not be less than 'max_interval'"),
    ]
    for bad, msg in checks:
        if bad:
            return [p + msg]
    return []


class Backoff:
    """cenkalti/backoff ExponentialBackOff: randomized intervals growing by ``multiplier`` up to
    ``max_interval``; the caller enforces max elapsed time."""

    def __init__(self, cfg: RetryConfig, rng: random.Random | None = None) -> None:
        self.cfg = cfg
        self.current = cfg.initial_interval / 1e9
        self.rng = rng or random.Random()

    def next(self) -> float:
        cur = self.current
        delta = self.cfg.randomization_factor * cur
        value = cur - delta + self.rng.random() * (2 * delta)
        max_s = self.cfg.max_interval / 1e9
        self.current = max_s if cur >= max_s / self.cfg.multiplier else cur * self.cfg.multiplier
        return value


SendFunc = Callable[[Any], Awaitable[None]]


class QueuedSender:
    """The exporterhelper chain around a ``send(data)`` coroutine that raises ConsumerError
    (``permanent`` for non-retryable, ``retry_after`` for throttling)."""

    reports_telemetry = True

    def __init__(
        self,
        settings: Settings,
        signal: Signal,
        send: SendFunc,
        queue: QueueConfig | None,
        retry: RetryConfig,
        timeout_ns: int,
        start: Callable[[Host], Awaitable[None]] | None = None,
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if queue is not None and queue.enabled and (queue.storage is not None or queue.batch is not None):
            raise ConfigError(
                "not supported: sending_queue.storage / sending_queue.batch (persistent or batching queue)"
            )
        self.settings = settings
        self.signal = signal
        self._send = send
        self.queue_cfg = queue if queue is not None and queue.enabled else None
        self.retry = retry
        self.timeout = timeout_ns / 1e9 if timeout_ns > 0 else None
        self._start_hook = start
        self._stop_hook = stop
        self._items: collections.deque[tuple[Any, int]] = collections.deque()
        self._size = 0
        self._cond: asyncio.Condition | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._closed = False
        self._inflight = 0
        word = ITEM_NAMES[signal]
        tel = settings.telemetry
        cid = str(settings.id)
        noun = {"spans": "spans", "metric_points": "metric points", "log_records": "log records"}[word]
        self._sent = tel.counter(
            f"otelcol_exporter_sent_{word}",
            f"Number of {noun if word != 'log_records' else 'log record'} successfully sent to destination. [Alpha]",
            {"exporter": cid},
        )
        self._failed = tel.counter(
            f"otelcol_exporter_send_failed_{word}",
            f"Number of {noun} in failed attempts to send to destination. [Alpha]",
            {"exporter": cid},
        )
        self._enqueue_failed = tel.counter(
            f"otelcol_exporter_enqueue_failed_{word}",
            f"Number of {noun} failed to be added to the sending queue. [Alpha]",
            {"exporter": cid},
        )
        self._fail_msg = ""
        if not retry.enabled:
            self._fail_msg += " Try enabling retry_on_failure config option to retry on retryable errors."
        if self.queue_cfg is None:
            self._fail_msg += " Try enabling sending_queue to survive temporary failures."
        if self.queue_cfg is not None:
            labels = {"data_type": signal.value, "exporter": cid}
            tel.gauge(
                "otelcol_exporter_queue_size",
                "Current size of the retry queue (in batches). [Alpha]",
                labels,
                lambda: float(self._size),
            )
            capacity = float(self.queue_cfg.queue_size)
            tel.gauge(
                "otelcol_exporter_queue_capacity",
                "Fixed capacity of the retry queue (in batches). [Alpha]",
                labels,
                lambda: capacity,
            )

    # --- component -------------------------------------------------------------------------------

    async def start(self, host: Host) -> None:
        if self._start_hook is not None:
            await self._start_hook(host)
        if self.queue_cfg is not None:
            self._cond = asyncio.Condition()
            self._workers = [
                asyncio.create_task(self._worker(), name=f"{self.settings.id}-consumer-{i}")
                for i in range(self.queue_cfg.num_consumers)
            ]

    async def shutdown(self) -> None:
        """Stop accepting, let the workers drain what is queued (retries are cut short), then close."""
        self._closed = True
        self._stopping.set()
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()
        if self._workers:
            deadline = (self.timeout or 5.0) + 1.0
            _, pending = await asyncio.wait(self._workers, timeout=deadline)
            for task in pending:
                task.cancel()
            if self._items:
                dropped = sum(count_items(self.signal, d) for d, _ in self._items)
                self._items.clear()
                self._size = 0
                self.settings.logger.error(
                    "Exporting failed. Dropping data." + self._fail_msg,
                    error="interrupted due to shutdown",
                    dropped_items=dropped,
                )
                self._failed.add(dropped)
        if self._stop_hook is not None:
            await self._stop_hook()

    # --- pipeline side ---------------------------------------------------------------------------

    def _units(self, data: Any, items: int) -> int:
        assert self.queue_cfg is not None
        if self.queue_cfg.sizer == "items":
            return items
        if self.queue_cfg.sizer == "bytes":
            return int(data.ByteSize())
        return 1

    async def consume(self, data: Any) -> None:
        items = count_items(self.signal, data)
        q = self.queue_cfg
        if q is None:
            try:
                await self._export(data, items)
            except ConsumerError as exc:
                self.settings.logger.error(
                    "Exporting failed. Rejecting data." + self._fail_msg,
                    error=exc.message,
                    rejected_items=items,
                )
                raise
            return
        units = self._units(data, items)
        if self._closed or self._size + units > q.queue_size:
            if q.block_on_overflow and not self._closed and self._cond is not None:
                async with self._cond:
                    await self._cond.wait_for(lambda: self._closed or self._size + units <= q.queue_size)
            if self._closed or self._size + units > q.queue_size:
                self._enqueue_failed.add(items)
                message = "sending queue is full" if not self._closed else "queue is closed"
                self.settings.logger.error(
                    "Exporting failed. Rejecting data." + self._fail_msg, error=message, rejected_items=items
                )
                raise ConsumerError(message)
        # fan-out shares ``data``; nobody mutates it, so the queue holds a reference, not a copy
        self._items.append((data, units))
        self._size += units
        assert self._cond is not None
        async with self._cond:
            self._cond.notify()

    async def _worker(self) -> None:
        assert self._cond is not None
        while True:
            async with self._cond:
                await self._cond.wait_for(lambda: bool(self._items) or self._stopping.is_set())
                if not self._items:
                    return
                data, units = self._items.popleft()
                self._size -= units
                self._cond.notify_all()
            items = count_items(self.signal, data)
            try:
                await self._export(data, items)
            except ConsumerError as exc:
                self.settings.logger.error(
                    "Exporting failed. Dropping data." + self._fail_msg,
                    error=exc.message,
                    dropped_items=items,
                )
            except Exception as exc:  # a bug in a send function must not kill the worker
                self._failed.add(items)
                self.settings.logger.error(
                    "Exporting failed. Dropping data.", error=repr(exc), dropped_items=items
                )

    async def _export(self, data: Any, items: int) -> None:
        """obsreport → retry → timeout → send."""
        try:
            await self._with_retry(data)
        except ConsumerError:
            self._failed.add(items)
            raise
        self._sent.add(items)

    async def _attempt(self, data: Any) -> None:
        if self.timeout is None:
            await self._send(data)
            return
        try:
            await asyncio.wait_for(self._send(data), self.timeout)
        except TimeoutError:
            raise ConsumerError("context deadline exceeded") from None

    async def _with_retry(self, data: Any) -> None:
        if not self.retry.enabled:
            await self._attempt(data)
            return
        backoff = Backoff(self.retry)
        deadline = (
            time.monotonic() + self.retry.max_elapsed_time / 1e9 if self.retry.max_elapsed_time > 0 else None
        )
        while True:
            try:
                await self._attempt(data)
                return
            except ConsumerError as exc:
                if exc.permanent:
                    raise ConsumerError(f"not retryable error: {exc.message}", permanent=True) from None
                delay = backoff.next()
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise ConsumerError(f"no more retries left: {exc.message}") from None
                if self._stopping.is_set():
                    raise ConsumerError(f"interrupted due to shutdown: {exc.message}") from None
                self.settings.logger.info(
                    "Exporting failed. Will retry the request after interval.",
                    error=exc.message,
                    interval=format_go_duration_ns(round(delay * 1e9)),
                )
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    continue
                raise ConsumerError(f"interrupted due to shutdown: {exc.message}") from None


class NetworkClient(Protocol):
    """What a push exporter implements; the queue, retry, timeout and self-metrics come from here."""

    async def start(self, host: Host) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, data: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class QueuedExporterFactory(SignalFactory):
    """Factory of an exporter built as upstream's ``exporterhelper.NewTraces/Metrics/Logs`` builds it: the
    client made by ``client(settings, cfg, signal)`` behind :class:`QueuedSender`, configured by the
    exporter config's ``sending_queue``, ``retry_on_failure`` and ``timeout``."""

    client: Callable[[Settings, Any, Signal], NetworkClient] | None = None

    def create_exporter(self, settings: Settings, cfg: Any, signal: Signal) -> QueuedSender:
        assert self.client is not None
        client = self.client(settings, cfg, signal)
        return QueuedSender(
            settings,
            signal,
            client.send,
            cfg.sending_queue,
            cfg.retry_on_failure,
            cfg.timeout,
            start=client.start,
            stop=client.stop,
        )
