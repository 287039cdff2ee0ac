"""The scenario's traffic generator, re-written: by default exactly the seed's curl loop.

Default: wait 10 s, then forever: pick one of ``/`` and ``/dispatch?customer=123|567|392|731`` by the wall
clock's second modulo 5 (``$(date +%s) % 5``), GET it with ``User-Agent: TrafficGenerator/1.0``, print
``Request successful | Status: 200 | Time: 0.651234s | Endpoint: /dispatch?customer=123`` (curl prints that
line even when the connection fails, with status ``000``, followed by ``Request failed to <endpoint>``),
then sleep 0.5 s. ``--rate`` switches to an open-loop schedule, ``--concurrency`` runs that many workers,
``--duration``/``--requests`` bound the run; a summary with latency percentiles ends every run, also on
SIGTERM.
"""

from __future__ import annotations

import http.client
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TextIO

ENDPOINTS = (
    "/",
    "/dispatch?customer=123",
    "/dispatch?customer=567",
    "/dispatch?customer=392",
    "/dispatch?customer=731",
)
USER_AGENT = "TrafficGenerator/1.0"


@dataclass(frozen=True)
class Options:
    target: str = "http://localhost:8080"
    wait: float = 10.0
    interval: float = 0.5
    rate: float | None = None
    concurrency: int = 1
    duration: float | None = None
    requests: int | None = None
    timeout: float = 30.0
    pick: str = "clock"  # "clock" (the seed's date +%s % 5) or "random"
    endpoints: tuple[str, ...] = ENDPOINTS
    seed: int | None = None
    quiet: bool = False


@dataclass(frozen=True)
class Result:
    endpoint: str
    status: int  # 0: no HTTP response (curl's 000)
    seconds: float
    error: str = ""


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)
    elapsed: float = 0.0
    skipped: int = 0

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status == 0)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if 200 <= r.status < 400)

    @property
    def http_errors(self) -> int:
        return sum(1 for r in self.results if r.status >= 400)

    def latencies(self) -> list[float]:
        return sorted(r.seconds for r in self.results if r.status)

    def render(self) -> str:
        n = len(self.results)
        lines = [
            "--- traffic generator summary ---",
            f"requests: {n}  ok: {self.ok}  http errors: {self.http_errors}  failed: {self.failed}"
            + (f"  skipped (all workers busy): {self.skipped}" if self.skipped else ""),
            f"elapsed: {self.elapsed:.3f}s  throughput: {n / self.elapsed if self.elapsed > 0 else 0.0:.3f} req/s",
        ]
        lat = self.latencies()
        if lat:
            qs = "  ".join(f"p{int(q * 100)}={percentile(lat, q):.6f}s" for q in (0.5, 0.9, 0.95, 0.99))
            lines.append(f"latency: {qs}  max={lat[-1]:.6f}s")
        else:
            lines.append("latency: no responses")
        statuses = Counter(f"{r.status:03d}" for r in self.results)
        if statuses:
            lines.append("status codes: " + "  ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
        if n and self.failed == n:
            errors = Counter(r.error for r in self.results)
            lines.append(f"target unreachable: all {n} requests failed ({errors.most_common(1)[0][0]})")
        return "\n".join(lines)


class LoadGenerator:
    def __init__(
        self, options: Options, out: TextIO | None = None, stop: threading.Event | None = None
    ) -> None:
        if options.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if options.rate is not None and options.rate <= 0:
            raise ValueError("rate must be > 0")
        split = urllib.parse.urlsplit(options.target)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"target must be an http:// URL, got {options.target!r}")
        self.options = options
        self.stop = stop or threading.Event()
        self._out = out if out is not None else sys.stdout
        self._host = split.hostname
        self._port = split.port or 80
        self._base = split.path.rstrip("/")
        self._rng = random.Random(options.seed)
        self._lock = threading.Lock()
        self._issued = 0
        self._deadline = float("inf")
        self.summary = Summary()

    def _print(self, line: str) -> None:
        if self.options.quiet:
            return
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):
                pass

    def _claim(self) -> bool:
        """Reserve one request within the bounds; False once the run is over."""
        with self._lock:
            if self.stop.is_set() or time.monotonic() >= self._deadline:
                return False
            if self.options.requests is not None and self._issued >= self.options.requests:
                return False
            self._issued += 1
            return True

    def _pick(self) -> str:
        endpoints = self.options.endpoints
        if self.options.pick == "clock":
            return endpoints[int(time.time()) % len(endpoints)]
        with self._lock:
            return self._rng.choice(endpoints)

    def request(self, endpoint: str) -> Result:
        start = time.perf_counter()
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.options.timeout)
        try:
            conn.request("GET", self._base + endpoint, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
            response = conn.getresponse()
            response.read()
            result = Result(endpoint, response.status, time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as exc:
            result = Result(endpoint, 0, time.perf_counter() - start, str(exc) or type(exc).__name__)
        finally:
            conn.close()
        with self._lock:
            self.summary.results.append(result)
        self._print(
            f"Request successful | Status: {result.status:03d} | Time: {result.seconds:.6f}s | Endpoint: {endpoint}"
        )
        if result.status == 0:
            self._print(f"Request failed to {endpoint}")
        return result

    def _closed_loop_worker(self) -> None:
        while self._claim():
            self.request(self._pick())
            if self.stop.wait(self.options.interval):
                return

    def _open_loop(self, started: float) -> None:
        rate = self.options.rate
        assert rate is not None
        in_flight = threading.BoundedSemaphore(self.options.concurrency)
        with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="loadgen") as pool:
            i = 0
            while True:
                due = started + i / rate
                if self.stop.wait(max(0.0, due - time.monotonic())) or not self._claim():
                    break
                i += 1
                if not in_flight.acquire(blocking=False):
                    with self._lock:
                        self.summary.skipped += 1
                        self._issued -= 1
                    continue
                endpoint = self._pick()

                def job(endpoint: str = endpoint) -> None:
                    try:
                        self.request(endpoint)
                    finally:
                        in_flight.release()

                pool.submit(job)

    def run(self) -> Summary:
        opts = self.options
        self._print("Starting HotROD traffic generator...")
        if opts.wait > 0:
            self._print(f"Waiting {opts.wait:g}s for HotROD to be ready...")
            self.stop.wait(opts.wait)
        self._print("Generating traffic to HotROD frontend...")
        started = time.monotonic()
        if opts.duration is not None:
            self._deadline = started + opts.duration
        if opts.rate is not None:
            self._open_loop(started)
        else:
            workers = [
                threading.Thread(target=self._closed_loop_worker, name=f"loadgen-{i}", daemon=True)
                for i in range(opts.concurrency)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                _join_interruptibly(worker, self.stop.is_set)
        self.summary.elapsed = time.monotonic() - started
        return self.summary


def _join_interruptibly(thread: threading.Thread, stopped: Callable[[], bool]) -> None:
    """Join, but give up on a worker stuck in a request once a stop was asked (it is a daemon)."""
    deadline: float | None = None
    while thread.is_alive():
        thread.join(0.2)
        if stopped():
            deadline = deadline or time.monotonic() + 1.0
            if time.monotonic() > deadline:
                return
