"""``memory_limiter`` processor (core ``processor/memorylimiterprocessor`` + ``internal/memorylimiter``).

Every ``check_interval`` the process's resident set size (one read of /proc/self/statm — cheap, and what
actually bounds a Python process, where upstream reads Go's heap ``Alloc``) is compared with the limits:
at or above ``limit - spike`` the processor refuses data with upstream's error
``data refused due to high memory usage`` (retryable ⇒ the OTLP receiver answers 503 / gRPC Unavailable);
at or above ``limit`` it forces a garbage collection first (not more often than the configured minimum
intervals). Deliberate addition: the refusal carries a retry delay of ``check_interval`` (at least 1 s),
so HTTP clients get a ``Retry-After`` header telling them when to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flightdeck.collector.component import (
    Consumer,
    ConsumerError,
    Host,
    Kind,
    Logger,
    Settings,
    Signal,
    Stability,
)
from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import SignalFactory

MIB = 1 << 20
ERR_DATA_REFUSED = "data refused due to high memory usage"


@dataclass(slots=True)
class Config:
    check_interval: DurationNs = 0
    min_gc_interval_when_soft_limited: DurationNs = 10_000_000_000
    min_gc_interval_when_hard_limited: DurationNs = 0
    limit_mib: int = 0
    spike_limit_mib: int = 0
    limit_percentage: int = 0
    spike_limit_percentage: int = 0


def _validate(cfg: Config) -> list[str]:
    if cfg.check_interval <= 0:
        return ["'check_interval' must be greater than zero"]
    if cfg.min_gc_interval_when_soft_limited < cfg.min_gc_interval_when_hard_limited:
        return [
            "'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'"
        ]
    if cfg.limit_mib == 0 and cfg.limit_percentage == 0:
        return ["'limit_mib' or 'limit_percentage' must be greater than zero"]
    if cfg.limit_percentage > 100 or cfg.spike_limit_percentage > 100:
        return [
            "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or equal to hundred"
        ]
    if 0 < cfg.limit_mib <= cfg.spike_limit_mib:
        return ["'spike_limit_mib' must be smaller than 'limit_mib'"]
    if 0 < cfg.limit_percentage <= cfg.spike_limit_percentage:
        return ["'spike_limit_percentage' must be smaller than 'limit_percentage'"]
    return []


def _collect() -> None:
    gc.collect()


def rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def total_memory_bytes() -> int:
    """The cgroup memory limit if there is one, else the machine's memory (upstream iruntime.TotalMemory)."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (1 << 60):
            return int(text)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


class MemoryChecker:
    """CheckMemLimits as a small state machine; usage, GC and clock are injected so tests run it on a
    virtual clock."""

    def __init__(
        self,
        limit: int,
        spike: int,
        cfg: Config,
        logger: Logger,
        read_usage: Callable[[], int] = rss_bytes,
        run_gc: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.spike = spike if spike else limit // 5
        self.cfg = cfg
        self.logger = logger
        self.read_usage = read_usage
        self.run_gc = run_gc
        self.clock = clock
        self.must_refuse = False
        self.last_gc = float("-inf")

    def _gc(self) -> int:
        self.run_gc()
        self.last_gc = self.clock()
        usage = self.read_usage()
        self.logger.info("Memory usage after GC.", cur_mem_mib=usage // MIB)
        return usage

    def check(self) -> None:
        usage = self.read_usage()
        self.logger.debug("Currently used memory.", cur_mem_mib=usage // MIB)
        soft = usage >= self.limit - self.spike
        if not soft:
            if self.must_refuse:
                self.logger.info(
                    "Memory usage back within limits. Resuming normal operation.", cur_mem_mib=usage // MIB
                )
            self.must_refuse = False
            return
        since = self.clock() - self.last_gc
        if usage >= self.limit:
            if since > self.cfg.min_gc_interval_when_hard_limited / 1e9:
                self.logger.warn("Memory usage is above hard limit. Forcing a GC.", cur_mem_mib=usage // MIB)
                usage = self._gc()
                soft = usage >= self.limit - self.spike
        elif since > self.cfg.min_gc_interval_when_soft_limited / 1e9:
            self.logger.info("Memory usage is above soft limit. Forcing a GC.", cur_mem_mib=usage // MIB)
            usage = self._gc()
            soft = usage >= self.limit - self.spike
        if not self.must_refuse and soft:
            self.logger.warn("Memory usage is above soft limit. Refusing data.", cur_mem_mib=usage // MIB)
        self.must_refuse = soft


class _Shared:
    """One checker per processor ID, shared by all its pipelines (as upstream)."""

    def __init__(self, settings: Settings, cfg: Config) -> None:
        if cfg.limit_mib:
            limit, spike = cfg.limit_mib * MIB, cfg.spike_limit_mib * MIB
        else:
            total = total_memory_bytes()
            settings.logger.info(
                "Using percentage memory limiter",
                total_memory_mib=total // MIB,
                limit_percentage=cfg.limit_percentage,
                spike_limit_percentage=cfg.spike_limit_percentage,
            )
            limit, spike = cfg.limit_percentage * total // 100, cfg.spike_limit_percentage * total // 100
        self.checker = MemoryChecker(limit, spike, cfg, settings.logger, run_gc=_collect)
        settings.logger.info(
            "Memory limiter configured",
            limit_mib=self.checker.limit // MIB,
            spike_limit_mib=self.checker.spike // MIB,
            check_interval=cfg.check_interval / 1e9,
        )
        self.cfg = cfg
        self.users = 0
        self.task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.check_interval / 1e9)
            with contextlib.suppress(OSError):  # /proc unreadable: keep the last decision
                self.checker.check()

    def acquire(self) -> None:
        self.users += 1
        if self.task is None:
            self.checker.check()
            self.task = asyncio.create_task(self._loop())

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.task is not None:
            self.task.cancel()
            self.task = None


# keyed by (collector's telemetry registry, processor ID): one checker per processor per collector
_SHARED: dict[tuple[int, str], _Shared] = {}


class MemoryLimiterProcessor:
    def __init__(self, shared: _Shared, next_consumer: Consumer) -> None:
        self.shared = shared
        self.next = next_consumer
        self.retry_after = max(1.0, shared.cfg.check_interval / 1e9)

    async def start(self, host: Host) -> None:
        self.shared.acquire()

    async def shutdown(self) -> None:
        self.shared.release()

    async def consume(self, data: Any) -> None:
        if self.shared.checker.must_refuse:
            raise ConsumerError(ERR_DATA_REFUSED, retry_after=self.retry_after)
        await self.next.consume(data)


@dataclass(frozen=True, slots=True)
class _Factory(SignalFactory):
    def create_processor(
        self, settings: Settings, cfg: Any, signal: Signal, next_consumer: Consumer
    ) -> MemoryLimiterProcessor:
        key = (id(settings.telemetry), str(settings.id))
        shared = _SHARED.get(key)
        if shared is None or shared.cfg != cfg:
            try:
                shared = _Shared(settings, cfg)
            except OSError as exc:
                raise ConfigError(
                    f"failed to get total memory, use fixed memory settings (limit_mib): {exc}"
                ) from None
            _SHARED[key] = shared
        return MemoryLimiterProcessor(shared, next_consumer)


FACTORY = _Factory(
    "memory_limiter",
    Kind.PROCESSOR,
    Config,
    _validate,
    {Signal.TRACES: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.LOGS: Stability.BETA},
)
