"""Run a collector in-process (its own asyncio loop on a background thread) for tests that drive it with
real clients, and a capturing exporter factory to see what came out of a pipeline.

Captures belong to one running collector (``running.captured(name)``), never to the module: two
collectors in one test, or one test run twice in a session, cannot see each other's requests."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import (
    ComponentID,
    Host,
    Kind,
    Registry,
    Settings,
    Signal,
    Stability,
    default_registry,
)
from flightdeck.collector.service import Collector
from flightdeck.collector.zaplog import ZapLogger


@dataclass
class Captured:
    items: list[Any] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class CaptureConfig:
    name: str = "default"


class _CaptureExporter:
    def __init__(self, cfg: CaptureConfig, store: dict[str, Captured]) -> None:
        self.box = store.setdefault(cfg.name, Captured())

    async def start(self, host: Host) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def consume(self, data: Any) -> None:
        copy = type(data)()
        copy.CopyFrom(data)
        self.box.items.append(copy)
        self.box.event.set()


@dataclass(frozen=True)
class CaptureFactory:
    """Test-only exporter ``capture`` that records every request it gets (by config ``name``) in ``store``."""

    store: dict[str, Captured] = field(default_factory=dict)
    type: str = "capture"
    kind: Kind = Kind.EXPORTER
    signals: Any = field(
        default_factory=lambda: {Signal.TRACES: Stability.DEVELOPMENT, Signal.METRICS: Stability.DEVELOPMENT}
    )

    def default_config(self) -> CaptureConfig:
        return CaptureConfig()

    def load_config(self, raw: Any) -> CaptureConfig:
        from flightdeck.collector.confdecode import decode

        return decode(raw, CaptureConfig())

    def validate(self, cfg: Any) -> list[str]:
        return []

    def create_exporter(self, settings: Settings, cfg: Any, signal: Signal) -> _CaptureExporter:
        return _CaptureExporter(cfg, self.store)


def registry_with_capture(store: dict[str, Captured]) -> Registry:
    reg = default_registry()
    reg.register(CaptureFactory(store))
    return reg


class Running:
    def __init__(
        self,
        collector: Collector,
        loop: asyncio.AbstractEventLoop,
        log: io.StringIO,
        captures: dict[str, Captured],
    ) -> None:
        self.collector = collector
        self.loop = loop
        self.log = log
        self.captures = captures

    def captured(self, name: str) -> Captured:
        """What this collector's ``capture`` exporter named ``name`` received (created on first use)."""
        return self.captures.setdefault(name, Captured())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def component(self, kind: Kind, cid: str) -> Any:
        for k, i, comp in self.collector._built.start_order if self.collector._built else []:
            if k is kind and i == ComponentID.parse(cid):
                return comp
        for i, ext in self.collector.extensions().items():
            if kind is Kind.EXTENSION and i == ComponentID.parse(cid):
                return ext
        raise KeyError(cid)


@contextmanager
def running_collector(
    text: str, registry: Registry | None = None, log_level: str = "info"
) -> Iterator[Running]:
    """Build from YAML text and start on a private loop; stop (graceful shutdown) on exit."""
    log = io.StringIO()
    captures: dict[str, Captured] = {}
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    stop = asyncio.Event()
    ready: Future[None] = Future()

    async def main() -> None:
        try:
            col = Collector.from_text(
                text,
                registry or registry_with_capture(captures),
                logger=ZapLogger(stream=log, level=log_level),
            )
            holder.append(col)
            await col.start()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        await stop.wait()
        await col.shutdown()

    holder: list[Collector] = []
    task = asyncio.run_coroutine_threadsafe(main(), loop)
    try:
        ready.result(20)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        raise
    try:
        yield Running(holder[0], loop, log, captures)
    finally:
        loop.call_soon_threadsafe(stop.set)
        task.result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
