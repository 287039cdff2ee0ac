"""A programmable metrics exporter: serves the Prometheus text format on a loopback port.

Tests and the demo set counters, gauges and histogram buckets; a real Prometheus (or flightdeck's store)
scrapes them. Counters can be given a rate so they grow with wall time between scrapes.
"""

from __future__ import annotations

import http.server
import math
import threading
import time
from collections.abc import Mapping

from flightdeck.util.gofmt import format_float_v

LabelSet = tuple[tuple[str, str], ...]


def _labels(labels: Mapping[str, str]) -> LabelSet:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format_float_v(value)


class _Series:
    __slots__ = ("base", "rate", "since")

    def __init__(self, base: float, rate: float, since: float) -> None:
        self.base = base
        self.rate = rate
        self.since = since

    def value(self, now: float) -> float:
        return self.base + self.rate * (now - self.since)


class MetricsExporter:
    """Thread-safe registry of series plus an HTTP server for ``/metrics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, dict[LabelSet, _Series]] = {}
        self._types: dict[str, str] = {}
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.scrapes = 0

    # -- data -----------------------------------------------------------------------------------
    def set(self, name: str, labels: Mapping[str, str], value: float, *, kind: str = "gauge") -> None:
        with self._lock:
            self._types.setdefault(name, kind)
            self._series.setdefault(name, {})[_labels(labels)] = _Series(value, 0.0, time.time())

    def grow(self, name: str, labels: Mapping[str, str], per_second: float, now: float | None = None) -> None:
        """Make a counter increase continuously at ``per_second`` from now on."""
        now = time.time() if now is None else now
        with self._lock:
            self._types.setdefault(name, "counter")
            series = self._series.setdefault(name, {})
            current = series.get(_labels(labels))
            base = current.value(now) if current else 0.0
            series[_labels(labels)] = _Series(base, per_second, now)

    def grow_histogram(
        self,
        name: str,
        labels: Mapping[str, str],
        per_second: float,
        bucket_shares: Mapping[float, float],
        mean: float = 0.0,
    ) -> None:
        """A classic histogram whose observations arrive at ``per_second``; ``bucket_shares`` maps an
        upper bound to the share of observations at or below it (cumulative, ending at 1.0)."""
        bounds = sorted(bucket_shares)
        now = time.time()  # one instant for every series, so the buckets stay cumulative
        with self._lock:
            self._types.setdefault(name, "histogram")
        for le in bounds:
            self.grow(f"{name}_bucket", {**labels, "le": _fmt(le)}, per_second * bucket_shares[le], now)
        self.grow(f"{name}_bucket", {**labels, "le": "+Inf"}, per_second, now)
        self.grow(f"{name}_count", labels, per_second, now)
        self.grow(f"{name}_sum", labels, per_second * mean, now)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()
            self._types.clear()

    def exposition(self) -> str:
        now = time.time()
        lines: list[str] = []
        typed: set[str] = set()
        with self._lock:
            for name in sorted(self._series):
                family = name
                for suffix in ("_bucket", "_count", "_sum"):
                    if name.endswith(suffix) and self._types.get(name[: -len(suffix)]) == "histogram":
                        family = name[: -len(suffix)]
                if family not in typed:
                    typed.add(family)
                    lines.append(f"# TYPE {family} {self._types.get(family, 'untyped')}")
                for labels, series in self._series[name].items():
                    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{body}}} {_fmt(series.value(now))}")
        return "\n".join(lines) + "\n"

    # -- server ---------------------------------------------------------------------------------
    def start(self) -> str:
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                exporter.scrapes += 1
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.address

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        port = self._server.server_address[1]
        return f"127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
