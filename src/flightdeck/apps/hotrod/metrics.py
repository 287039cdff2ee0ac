"""HotROD's Prometheus metrics (``pkg/tracing/rpcmetrics`` + Jaeger's Prometheus factory) and expvar maps.

A span processor on every tracer provider counts **server** spans by endpoint (the span name, normalised):
``hotrod_requests_total{endpoint,error}``, ``hotrod_request_latency{endpoint,error}`` (seconds histogram, the
Prometheus default buckets) and ``hotrod_http_requests_total{endpoint,status_code}``. All eight series of an
endpoint appear together the first time it is seen. ``/metrics`` renders them in the Prometheus text format,
families and series sorted as client_golang sorts them, next to the usual ``process_*`` gauges.
"""

from __future__ import annotations

import bisect
import json
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from flightdeck.util.gofmt import format_float_v

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_ENDPOINTS = 200
OTHER_ENDPOINT = "other"
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.")


def normalize_endpoint(name: str) -> str:
    """Bytes outside ``[A-Za-z0-9_/.]`` become ``_`` (byte-wise, as the original's normaliser)."""
    raw = name.encode()
    return "".join(chr(b) if chr(b) in _SAFE else "_" for b in raw)


def _fmt(value: float) -> str:
    return format_float_v(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(DEFAULT_BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(DEFAULT_BUCKETS, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += 1
        self.sum += value


@dataclass
class _EndpointMetrics:
    requests: dict[str, int] = field(default_factory=lambda: {"false": 0, "true": 0})
    latency: dict[str, _Histogram] = field(
        default_factory=lambda: {"false": _Histogram(), "true": _Histogram()}
    )
    http: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_CLASSES, 0))


def _status_class(code: int) -> str | None:
    return STATUS_CLASSES[code // 100 - 2] if 200 <= code < 600 else None


class RpcMetrics(SpanProcessor):
    """The rpcmetrics observer: a span processor counting server spans; shared by all providers of a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, str] = {}  # span name -> normalised endpoint
        self._metrics: dict[str, _EndpointMetrics] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not span.name or span.kind != SpanKind.SERVER:
            return
        start, end = span.start_time or 0, span.end_time or 0
        latency = max(0, end - start) / 1e9
        error = "true" if span.status.status_code == StatusCode.ERROR else "false"
        status_code = (span.attributes or {}).get("http.response.status_code")
        code: int | None = None
        if isinstance(status_code, int) and not isinstance(status_code, bool):
            code = status_code
        elif isinstance(status_code, str) and status_code.lstrip("+-").isdigit():
            code = int(status_code)
        with self._lock:
            metrics = self._endpoint(span.name)
            metrics.requests[error] += 1
            metrics.latency[error].observe(latency)
            klass = _status_class(code) if code is not None else None
            if klass is not None:
                metrics.http[klass] += 1

    def _endpoint(self, name: str) -> _EndpointMetrics:
        safe = self._endpoints.get(name)
        if safe is None:
            if len(self._endpoints) >= MAX_ENDPOINTS:
                safe = OTHER_ENDPOINT
            else:
                safe = normalize_endpoint(name)
                self._endpoints[name] = safe
        metrics = self._metrics.get(safe)
        if metrics is None:
            metrics = self._metrics[safe] = _EndpointMetrics()
        return metrics

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def exposition(self) -> str:
        """The ``hotrod_*`` families in the Prometheus text format."""
        with self._lock:
            items = sorted(self._metrics.items())
            out: list[str] = []
            out += [
                "# HELP hotrod_http_requests_total http_requests",
                "# TYPE hotrod_http_requests_total counter",
            ]
            for endpoint, m in items:
                ep = _escape(endpoint)
                for klass in STATUS_CLASSES:
                    out.append(
                        f'hotrod_http_requests_total{{endpoint="{ep}",status_code="{klass}"}} {m.http[klass]}'
                    )
            out += [
                "# HELP hotrod_request_latency request_latency",
                "# TYPE hotrod_request_latency histogram",
            ]
            for endpoint, m in items:
                ep = _escape(endpoint)
                for error in ("false", "true"):
                    h = m.latency[error]
                    labels = f'endpoint="{ep}",error="{error}"'
                    cumulative = 0
                    for bound, count in zip(DEFAULT_BUCKETS, h.counts, strict=True):
                        cumulative += count
                        out.append(
                            f'hotrod_request_latency_bucket{{{labels},le="{_fmt(bound)}"}} {cumulative}'
                        )
                    out.append(f'hotrod_request_latency_bucket{{{labels},le="+Inf"}} {h.total}')
                    out.append(f"hotrod_request_latency_sum{{{labels}}} {_fmt(h.sum)}")
                    out.append(f"hotrod_request_latency_count{{{labels}}} {h.total}")
            out += ["# HELP hotrod_requests_total requests", "# TYPE hotrod_requests_total counter"]
            for endpoint, m in items:
                ep = _escape(endpoint)
                for error in ("false", "true"):
                    out.append(
                        f'hotrod_requests_total{{endpoint="{ep}",error="{error}"}} {m.requests[error]}'
                    )
        if not items:
            return ""
        return "\n".join(out) + "\n"


_START_TIME = time.time()


def process_exposition() -> str:
    """client_golang's process collector, the gauges that are cheap to read on Linux."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    rss = vsize = 0
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            parts = fh.read().split()
        vsize, rss = int(parts[0]) * page, int(parts[1]) * page
    except OSError:
        rss = usage.ru_maxrss * 1024
    try:
        open_fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        open_fds = 0
    max_fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    families = (
        ("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
         usage.ru_utime + usage.ru_stime),
        ("process_max_fds", "Maximum number of open file descriptors.", "gauge", max_fds),
        ("process_open_fds", "Number of open file descriptors.", "gauge", open_fds),
        ("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", rss),
        ("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge",
         _START_TIME),
        ("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", vsize),
    )  # fmt: skip
    lines: list[str] = []
    for name, help_text, kind, value in families:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {_fmt(float(value))}"]
    return "\n".join(lines) + "\n"


class ExpvarMaps:
    """``route.calc.by.customer.sec`` / ``route.calc.by.session.sec`` (seconds of route calculation)."""

    NAMES = ("route.calc.by.customer.sec", "route.calc.by.session.sec")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._maps: dict[str, dict[str, float]] = {name: {} for name in self.NAMES}

    def add(self, name: str, key: str, value: float) -> None:
        with self._lock:
            entries = self._maps[name]
            entries[key] = entries.get(key, 0.0) + value

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {name: dict(sorted(entries.items())) for name, entries in self._maps.items()}

    def render(self) -> str:
        """The ``/debug/vars`` document: ``cmdline`` plus the maps, one variable per line like Go's expvar."""
        variables: dict[str, object] = {"cmdline": list(sys.argv)}
        variables.update(self.snapshot())
        body = ",\n".join(
            f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in sorted(variables.items())
        )
        return "{\n" + body + "\n}\n"
