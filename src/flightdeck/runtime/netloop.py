"""A dedicated asyncio event loop on its own thread, for the node's network plumbing (Service load balancers,
the forward proxy): their latency must not depend on what the rest of flightdeck is doing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class NetLoop:
    def __init__(self, name: str = "flightdeck-net") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> NetLoop:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self._started:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self._started = False
