"""The scrape loop: fetch each target, parse, relabel, append; report ``up`` and friends; write
staleness markers for series that disappear. Clock and fetcher are injectable so a simulator can
drive scrapes on virtual time (:meth:`ScrapeManager.run_due`)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from flightdeck.tsdb.labels import METRIC_NAME, Labels
from flightdeck.tsdb.scrape.config import ScrapeConfigFile, Target
from flightdeck.tsdb.scrape.relabel import relabel
from flightdeck.tsdb.scrape.textparse import ExpositionError, parse_text
from flightdeck.tsdb.storage import STALE_NAN, Storage


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# (url, timeout seconds) -> (HTTP status, body text)
Fetcher = Callable[[str, float], tuple[int, str]]

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


class HttpFetcher:
    def __init__(self) -> None:
        self._client = httpx.Client(headers={"Accept": ACCEPT, "User-Agent": "flightdeck-tsdb/0.1"})

    def __call__(self, url: str, timeout: float) -> tuple[int, str]:
        resp = self._client.get(
            url, timeout=timeout, headers={"X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}"}
        )
        return resp.status_code, resp.text

    def close(self) -> None:
        self._client.close()


@dataclass
class TargetState:
    target: Target
    next_due: float = 0.0
    last_series: set[Labels] = field(default_factory=set)
    health: str = "unknown"
    last_error: str = ""
    last_scrape: float = 0.0


def _merge_labels(sample: tuple[tuple[str, str], ...], target: Labels, honor: bool) -> dict[str, str]:
    out = dict(sample)
    for name, value in target:
        if name in out:
            if honor:
                continue
            existing = out.pop(name)
            new = "exported_" + name
            while new in out:
                new = "exported_" + new
            out[new] = existing
        out[name] = value
    return out


class ScrapeManager:
    def __init__(
        self,
        storage: Storage,
        config: ScrapeConfigFile,
        *,
        clock: Clock | None = None,
        fetch: Fetcher | None = None,
    ) -> None:
        self.storage = storage
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._http: HttpFetcher | None = None
        if fetch is None:
            self._http = HttpFetcher()
            fetch = self._http
        self.fetch: Fetcher = fetch
        self.states = [TargetState(t) for t in config.targets()]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one scrape -------------------------------------------------------------------------------
    def scrape(self, state: TargetState, now: float) -> None:
        target = state.target
        job = target.job
        ts_ms = int(now * 1000)
        started = time.monotonic()
        error = ""
        batch: list[tuple[Labels, int, float]] = []
        seen: set[Labels] = set()
        scraped = 0
        try:
            status, body = self.fetch(target.url, job.scrape_timeout)
            if status != 200:
                raise ExpositionError(f"server returned HTTP status {status}")
            samples, _types = parse_text(body)
            scraped = len(samples)
            for s in samples:
                lset = _merge_labels(((METRIC_NAME, s.name), *s.labels), target.labels, job.honor_labels)
                if job.metric_relabel_configs:
                    final = relabel(lset, job.metric_relabel_configs)
                    if final is None:
                        continue
                    lset = final
                key = tuple(sorted((k, v) for k, v in lset.items() if v))
                explicit = s.timestamp_ms is not None and job.honor_timestamps
                t = s.timestamp_ms if explicit and s.timestamp_ms is not None else ts_ms
                batch.append((key, t, s.value))
                if not explicit:
                    seen.add(key)
        except (httpx.HTTPError, ExpositionError, OSError, UnicodeDecodeError) as exc:
            error = str(exc) or type(exc).__name__
            batch = []
            seen = set()
            scraped = 0
        post_relabel = len(batch)
        for gone in state.last_series - seen:
            batch.append((gone, ts_ms, STALE_NAN))
        before = self.storage.num_series
        self.storage.append_many(batch)
        added = self.storage.num_series - before
        duration = time.monotonic() - started
        up = 0.0 if error else 1.0
        report = [
            ("up", up),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", float(scraped)),
            ("scrape_samples_post_metric_relabeling", float(post_relabel)),
            ("scrape_series_added", float(max(added, 0))),
        ]
        self.storage.append_many(
            [(tuple(sorted(((METRIC_NAME, name), *target.labels))), ts_ms, value) for name, value in report]
        )
        state.last_series = seen
        state.health = "down" if error else "up"
        state.last_error = error
        state.last_scrape = now

    # -- scheduling -------------------------------------------------------------------------------
    def run_due(self, now: float | None = None) -> int:
        """Scrape every target that is due at ``now`` (default: the clock); returns scrapes done."""
        at = self.clock.now() if now is None else now
        done = 0
        for state in self.states:
            if state.next_due <= at:
                self.scrape(state, at)
                interval = state.target.job.scrape_interval
                state.next_due = (state.next_due + interval) if state.next_due else at + interval
                if state.next_due <= at:
                    state.next_due = at + interval
                done += 1
        return done

    def next_due(self) -> float:
        return min((s.next_due for s in self.states), default=math.inf)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            wait = self.next_due() - self.clock.now()
            if wait > 0:
                self._stop.wait(min(wait, 1.0)) if isinstance(self.clock, SystemClock) else self.clock.sleep(
                    wait
                )

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tsdb-scrape", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._http is not None:
            self._http.close()
