"""Clocks: the one place where controllers' notion of "now" comes from.

Reconcilers receive ``now`` as an argument; the controller manager reads it from a Clock. The server uses
:class:`RealClock`; tests and simulations use :class:`VirtualClock`, which only moves when told to, so a
ten-minute progress deadline is checked in microseconds.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class RealClock:
    def now(self) -> float:
        return time.time()


class VirtualClock:
    """A clock that stands still until :meth:`advance` or :meth:`set` moves it (thread-safe)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a virtual clock cannot go back ({seconds} s)")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        with self._lock:
            if when < self._now:
                raise ValueError(f"a virtual clock cannot go back (from {self._now} to {when})")
            self._now = when
