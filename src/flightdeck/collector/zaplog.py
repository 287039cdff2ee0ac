"""Log lines shaped like the collector's zap console encoder:
``2025-01-02T03:04:05.678Z<TAB>info<TAB>message<TAB>{"key": "value", …}``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

_LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3}


def _timestamp(now: float) -> str:
    secs = int(now)
    ms = int((now - secs) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def _json(value: object) -> str:
    # zap's console encoder separates with ", " and ": "
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


class Sampler:
    """The collector's default log sampling (service.telemetry.logs.sampling): per level+message and
    10 s tick, the first 10 entries, then every 100th — so a flood of identical errors stays bounded."""

    def __init__(self, tick: float = 10.0, initial: int = 10, thereafter: int = 100) -> None:
        self.tick = tick
        self.initial = initial
        self.thereafter = thereafter
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def allow(self, level: str, msg: str) -> bool:
        window = int(time.monotonic() // self.tick)
        if window != self._window:
            self._window = window
            self._counts.clear()
        key = (level, msg)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        return n <= self.initial or (n - self.initial) % self.thereafter == 0


class ZapLogger:
    """Implements :class:`flightdeck.collector.component.Logger`; ``with_fields`` adds context."""

    def __init__(
        self,
        fields: Mapping[str, object] | None = None,
        stream: TextIO | None = None,
        level: str = "info",
        lock: threading.Lock | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self._fields = dict(fields or {})
        self._stream = stream
        self._level = _LEVELS[level]
        self._lock = lock or threading.Lock()
        self._sampler = sampler if sampler is not None else Sampler()

    def with_fields(self, **fields: object) -> ZapLogger:
        child = ZapLogger({**self._fields, **fields}, self._stream, "info", self._lock, self._sampler)
        child._level = self._level
        return child

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self._level

    def _write(self, level: str, msg: str, fields: Mapping[str, object]) -> None:
        if _LEVELS[level] < self._level:
            return
        with self._lock:
            if not self._sampler.allow(level, msg):
                return
        merged = {**self._fields, **fields}
        line = f"{_timestamp(time.time())}\t{level}\t{msg}"
        if merged:
            line += "\t" + _json(merged)
        stream = self._stream or sys.stderr
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def debug(self, msg: str, **fields: object) -> None:
        self._write("debug", msg, fields)

    def info(self, msg: str, **fields: object) -> None:
        self._write("info", msg, fields)

    def warn(self, msg: str, **fields: object) -> None:
        self._write("warn", msg, fields)

    def error(self, msg: str, **fields: object) -> None:
        self._write("error", msg, fields)

    def raw(self, text: str) -> None:
        """Multi-line text exactly as given (the debug exporter's detailed dump follows its log line)."""
        stream = self._stream or sys.stderr
        with self._lock:
            stream.write(text)
            stream.flush()
