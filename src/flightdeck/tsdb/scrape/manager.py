"""The scrape manager: discovery → targets → scrape loops, with Prometheus 2.42's semantics.

Per target: scrapes at ``offset + k·interval`` (the offset derived from the target's identity, like
Prometheus spreads its scrapes), a cache from series text to storage ref (so a known series costs a
dict look-up; relabeling runs once per new series), ``up`` and the ``scrape_*`` series, stale markers
for series that disappear from one scrape to the next, for every series of a failed scrape, and —
two intervals after it is gone — for a target that left discovery. A failed scrape (HTTP error,
parse error, sample limit) appends nothing but stale markers and the report, like Prometheus' rollback.

The clock and the fetcher are injectable: a simulator drives :meth:`ScrapeManager.run_due` on virtual
time with an in-process fetcher; the server runs :meth:`start` on the wall clock with HTTP.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from flightdeck.tsdb.labels import LABEL_NAME_RE, METRIC_NAME, METRIC_NAME_RE, Labels
from flightdeck.tsdb.scrape.config import ScrapeConfigFile, ScrapeJob
from flightdeck.tsdb.scrape.discovery import (
    KUBERNETES_POD,
    DiscoveryHub,
    FileDiscovery,
    HTTPDiscovery,
    LabelPairs,
    TargetGroup,
)
from flightdeck.tsdb.scrape.fetch import Fetcher, FetchError, FetchResult, HttpFetcher
from flightdeck.tsdb.scrape.relabel import relabel
from flightdeck.tsdb.scrape.targets import Target, targets_from_group
from flightdeck.tsdb.scrape.textparse import parse, series_labels
from flightdeck.tsdb.storage import STALE_NAN, Storage
from flightdeck.util.gofmt import go_quote

log = logging.getLogger("flightdeck.tsdb")

REPORT_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)
_DROPPED = -1


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class Metadata:
    type: str = "unknown"
    help: str = ""
    unit: str = ""


@dataclass
class TargetState:
    target: Target
    pool: str
    next_due: float = 0.0
    health: str = "unknown"
    last_error: str = ""
    last_scrape: float = 0.0  # wall-clock seconds; 0 = never
    last_duration: float = 0.0
    cache: dict[str, int] = field(default_factory=dict)
    seen: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    report_refs: np.ndarray | None = None
    metadata: dict[str, Metadata] = field(default_factory=dict)
    forced_error: str = ""
    scraped_once: bool = False
    stale_at: float = 0.0  # end-of-run staleness: marker timestamp …
    stale_write_at: float = math.inf  # … and when to write them
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def labels(self) -> LabelPairs:
        return self.target.public_labels


def _target_offset(target: Target, interval: float) -> float:
    """Where in each interval this target is scraped (stable per target)."""
    digest = int.from_bytes(hashlib.sha1(target.key.encode()).digest()[:8], "big")
    ms = max(round(interval * 1000), 1)
    return (digest % ms) / 1000.0


def _first_due(now: float, interval: float, offset: float) -> float:
    base = math.floor((now - offset) / interval) * interval + offset
    return base if base >= now else base + interval


def mutate_labels(exposed: list[tuple[str, str]], target: LabelPairs, honor: bool) -> dict[str, str]:
    """Prometheus' ``mutateSampleLabels`` before metric relabeling: target labels win, a clashing
    exposed label is kept as ``exported_<name>`` (or, with honor_labels, the exposed one wins)."""
    exposed_map = dict(exposed)
    out = dict(exposed_map)
    if honor:
        for name, value in target:
            if name not in exposed_map:
                out[name] = value
        return out
    conflicts: list[tuple[str, str]] = []
    for name, value in target:
        existing = exposed_map.get(name, "")
        if existing:
            conflicts.append((name, existing))
        out[name] = value
    if conflicts:
        target_names = {k for k, _ in target}
        conflicts.sort(key=lambda p: len(p[0]))
        renamed: list[tuple[str, str]] = []
        for name, value in conflicts:
            new = name
            while True:
                new = "exported_" + new
                if new not in exposed_map and new not in target_names and all(new != r for r, _ in renamed):
                    break
            renamed.append((new, value))
        for name, value in renamed:
            out[name] = value
    return out


class _Pool:
    """One scrape config's discoverers and targets."""

    def __init__(self, job: ScrapeJob, base_dir: Path) -> None:
        self.job = job
        self.files = [FileDiscovery(c.files, c.refresh_interval, base_dir) for c in job.file_sd_configs]
        self.https = [HTTPDiscovery(c.url, c.refresh_interval) for c in job.http_sd_configs]
        self.static = [
            TargetGroup(str(i), tuple(((("__address__", t),)) for t in sc.targets), sc.labels)
            for i, sc in enumerate(job.static_configs)
        ]
        self.targets: dict[str, TargetState] = {}
        self.dropped: list[LabelPairs] = []

    def groups(self, hub: DiscoveryHub) -> list[TargetGroup]:
        out = list(self.static)
        for f in self.files:
            out.extend(f.groups())
        for h in self.https:
            out.extend(h.groups())
        for k in self.job.kubernetes_sd_configs:
            for g in hub.target_groups(KUBERNETES_POD):
                ns = g.source.split("/")[1] if g.source.count("/") >= 2 else ""
                if k.namespaces and ns not in k.namespaces:
                    continue
                out.append(g)
        return out


class ScrapeManager:
    def __init__(
        self,
        storage: Storage,
        config: ScrapeConfigFile,
        *,
        clock: Clock | None = None,
        fetch: Fetcher | None = None,
        discovery: DiscoveryHub | None = None,
        base_dir: str | Path | None = None,
        workers: int | None = None,
    ) -> None:
        self.storage = storage
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.virtual = not isinstance(self.clock, SystemClock)
        self._http: HttpFetcher | None = None
        if fetch is None:
            self._http = HttpFetcher()
            fetch = self._http
        self.fetch: Fetcher = fetch
        self.discovery = discovery or DiscoveryHub()
        self._base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.pools: dict[str, _Pool] = {j.job_name: _Pool(j, self._base_dir) for j in config.jobs}
        self._stopping: list[TargetState] = []
        self._lock = threading.RLock()
        self._synced_version = -1
        self._workers = (0 if self.virtual else 8) if workers is None else workers
        self._executor = ThreadPoolExecutor(self._workers, "tsdb-scrape") if self._workers else None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.discovery.subscribe(self._wake.set)
        self.sync(self.clock.now())

    # -- discovery -------------------------------------------------------------------------------
    def refresh_discovery(self, now: float) -> bool:
        changed = False
        for pool in self.pools.values():
            for f in pool.files:
                changed |= f.refresh(now)
            for h in pool.https:
                changed |= h.refresh(now)
        return changed

    def sync(self, now: float) -> None:
        """Recompute every pool's targets from its current target groups."""
        with self._lock:
            self._synced_version = self.discovery.version
            for name, pool in self.pools.items():
                active: dict[str, Target] = {}
                dropped: list[LabelPairs] = []
                for group in pool.groups(self.discovery):
                    targets, drops, errors = targets_from_group(group, pool.job)
                    for err in errors:
                        log.error("scrape pool %s: creating target failed: %s", name, err)
                    for t in targets:
                        active.setdefault(t.key, t)
                    dropped.extend(drops)
                pool.dropped = dropped
                for key in list(pool.targets):
                    if key not in active:
                        self._retire(pool.targets.pop(key))
                for key, target in active.items():
                    if key not in pool.targets:
                        interval = target.scrape_interval
                        due = _first_due(now, interval, _target_offset(target, interval))
                        pool.targets[key] = TargetState(target, name, next_due=due)
                limit = pool.job.target_limit
                forced = ""
                if limit and len(pool.targets) > limit:
                    forced = f"target_limit exceeded (number of targets: {len(pool.targets)}, limit: {limit})"
                for st in pool.targets.values():
                    st.forced_error = forced

    def _retire(self, state: TargetState) -> None:
        """A target left discovery: two intervals later, mark its series stale (if it scraped)."""
        if not state.scraped_once:
            return
        interval = state.target.scrape_interval
        state.stale_at = state.next_due
        state.stale_write_at = state.next_due + interval + interval / 10
        self._stopping.append(state)

    # -- one scrape ----------------------------------------------------------------------------------
    def scrape(self, state: TargetState, ts: float) -> None:
        with state.lock:
            self._scrape_locked(state, ts)

    def _scrape_locked(self, state: TargetState, ts: float) -> None:
        target = state.target
        job = target.job
        t_ms = round(ts * 1000)
        started = time.monotonic()
        wall_start = ts if self.virtual else time.time()
        error = state.forced_error
        result = None
        if not error:
            try:
                fetched: FetchResult = self.fetch(target.url, target.scrape_timeout, job.body_size_limit)
            except FetchError as exc:
                error = str(exc)
            else:
                result = parse(fetched.body, fetched.content_type)
                if result.error is not None:
                    error = result.error
        total = added = series_added = 0
        refs: list[int] = []
        values: list[float] = []
        times: list[int] = []
        tracked: list[int] = []
        if result is not None:
            total = len(result.series)
            outcome = self._resolve(state, result, t_ms, refs, values, times, tracked)
            added, series_added = outcome[0], outcome[1]
            if outcome[2] and not error:
                error = outcome[2]
        duration = time.monotonic() - started
        storage = self.storage
        if error:
            refs, values, times, tracked = [], [], [], []
        seen = np.array(tracked, dtype=np.int64)
        gone = np.setdiff1d(state.seen, seen, assume_unique=False)
        if len(gone):
            refs.extend(gone.tolist())
            values.extend([STALE_NAN] * len(gone))
            times.extend([t_ms] * len(gone))
        if refs:
            storage.append_refs(
                np.array(refs, dtype=np.int64), np.array(times, dtype=np.int64), np.array(values)
            )
        state.seen = seen
        self._report(
            state, t_ms, [0.0 if error else 1.0, duration, float(total), float(added), float(series_added)]
        )
        if result is not None and not error:
            for name, mtype in result.types.items():
                state.metadata.setdefault(name, Metadata()).type = mtype
            for name, text in result.helps.items():
                state.metadata.setdefault(name, Metadata()).help = text
            for name, unit in result.units.items():
                state.metadata.setdefault(name, Metadata()).unit = unit
        state.health = "down" if error else "up"
        state.last_error = error
        state.last_scrape = wall_start
        state.last_duration = duration
        state.scraped_once = True

    def _resolve(
        self,
        state: TargetState,
        result: object,
        t_ms: int,
        refs: list[int],
        values: list[float],
        times: list[int],
        tracked: list[int],
    ) -> tuple[int, int, str]:
        """Map parsed samples to refs (cache, else labels + relabeling); (added, series added, error)."""
        from flightdeck.tsdb.scrape.textparse import ScrapeResult

        assert isinstance(result, ScrapeResult)
        job = state.target.job
        cache = state.cache
        target_labels = state.target.public_labels
        honor_ts = job.honor_timestamps
        added = 0
        series_added = 0
        fresh: dict[str, int] = {}  # new series text -> index into new_labels
        new_labels: list[Labels] = []
        pending: list[tuple[int, int]] = []  # (position in refs, index into new_labels)
        error = ""
        for series, value, ts in zip(result.series, result.values, result.timestamps, strict=True):
            ref = cache.get(series)
            if ref == _DROPPED:
                continue
            if ref is None:
                idx = fresh.get(series)
                if idx is None:
                    lset, err = self._labels_for(state, result, series, target_labels)
                    if err:
                        error = err
                        break
                    if lset is None:
                        cache[series] = _DROPPED
                        continue
                    idx = len(new_labels)
                    fresh[series] = idx
                    new_labels.append(lset)
                    series_added += 1
                pending.append((len(refs), idx))
                ref = 0
            explicit = ts is not None and honor_ts
            refs.append(ref)
            values.append(value)
            times.append(ts if explicit and ts is not None else t_ms)
            if not explicit:
                tracked.append(len(refs) - 1)
            added += 1
        if not error and job.sample_limit and added > job.sample_limit:
            error = "sample limit exceeded"
        if error:
            return added, series_added, error
        if new_labels:
            made = self.storage.refs(new_labels).tolist()
            for pos, idx in pending:
                refs[pos] = made[idx]
            for series, idx in fresh.items():
                cache[series] = made[idx]
        tracked[:] = [refs[i] for i in tracked]
        return added, series_added, ""

    def _labels_for(
        self, state: TargetState, result: object, series: str, target_labels: LabelPairs
    ) -> tuple[Labels | None, str]:
        from flightdeck.tsdb.scrape.textparse import ScrapeResult

        assert isinstance(result, ScrapeResult)
        job = state.target.job
        name, pairs = series_labels(result, series)
        names = [k for k, _ in pairs]
        exposed = [(METRIC_NAME, name), *pairs]
        lset = mutate_labels(exposed, target_labels, job.honor_labels)
        if job.metric_relabel_configs:
            relabeled = relabel(lset, job.metric_relabel_configs)
            if relabeled is None:
                return None, ""
            lset = relabeled
        lset = {k: v for k, v in lset.items() if v != ""}
        if not lset:
            return None, ""
        if METRIC_NAME not in lset:
            return None, "missing metric name (__name__ label)"
        if not METRIC_NAME_RE.match(lset[METRIC_NAME]) or not all(LABEL_NAME_RE.match(k) for k in lset):
            shown = "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(lset.items())) + "}"
            return None, f"invalid metric name or label names: {shown}"
        if len(set(names)) != len(names):
            dup = sorted(k for k in names if names.count(k) > 1)[0]
            return None, f'label name "{dup}" is not unique: invalid sample'
        err = self._check_limits(job, lset)
        if err:
            return None, err
        return tuple(sorted(lset.items())), ""

    @staticmethod
    def _check_limits(job: ScrapeJob, lset: Mapping[str, str]) -> str:
        metric = lset.get(METRIC_NAME, "")[:50]
        if job.label_limit and len(lset) > job.label_limit:
            return f"label_limit exceeded (metric: {metric}, number of labels: {len(lset)}, limit: {job.label_limit})"
        for name, value in sorted(lset.items()):
            if job.label_name_length_limit and len(name) > job.label_name_length_limit:
                return (
                    f"label_name_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                    f"length: {len(name)}, limit: {job.label_name_length_limit})"
                )
            if job.label_value_length_limit and len(value) > job.label_value_length_limit:
                return (
                    f"label_value_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                    f"value: {go_quote(value[:50])}, length: {len(value)}, limit: {job.label_value_length_limit})"
                )
        return ""

    def _report_refs(self, state: TargetState) -> np.ndarray:
        if state.report_refs is None:
            base = dict(state.labels)
            state.report_refs = self.storage.refs(
                [tuple(sorted({**base, METRIC_NAME: name}.items())) for name in REPORT_SERIES]
            )
        return state.report_refs

    def _report(self, state: TargetState, t_ms: int, values: list[float]) -> None:
        self.storage.append_refs(self._report_refs(state), t_ms, np.array(values, dtype=np.float64))

    def _write_end_of_run_staleness(self, state: TargetState) -> None:
        t_ms = round(state.stale_at * 1000)
        refs = np.concatenate([state.seen, self._report_refs(state)])
        self.storage.append_refs(refs, t_ms, np.full(len(refs), STALE_NAN))
        state.seen = np.empty(0, dtype=np.int64)

    # -- scheduling ----------------------------------------------------------------------------------
    def run_due(self, now: float | None = None) -> int:
        """Scrape every target due at ``now`` (default: the clock); returns the number of scrapes."""
        at = self.clock.now() if now is None else now
        if self.refresh_discovery(at) or self.discovery.version != self._synced_version:
            self.sync(at)
        with self._lock:
            for st in [s for s in self._stopping if s.stale_write_at <= at]:
                self._stopping.remove(st)
                with st.lock:
                    self._write_end_of_run_staleness(st)
            due: list[tuple[TargetState, float]] = []
            for pool in self.pools.values():
                for st in pool.targets.values():
                    if st.next_due <= at:
                        interval = st.target.scrape_interval
                        when = st.next_due if self.virtual else at
                        # Missed ticks are skipped, like Go's ticker.
                        st.next_due += interval * max(1, math.floor((at - st.next_due) / interval) + 1)
                        due.append((st, when))
        if self._executor is not None and len(due) > 1:
            list(self._executor.map(lambda item: self.scrape(*item), due))
        else:
            for st, when in due:
                self.scrape(st, when)
        return len(due)

    def next_due(self) -> float:
        with self._lock:
            times = [s.next_due for p in self.pools.values() for s in p.targets.values()]
            times += [s.stale_write_at for s in self._stopping]
            for pool in self.pools.values():
                if pool.files:
                    times.append(self.clock.now() + 1.0)  # poll files for changes every second
                times.extend(h._next for h in pool.https)
            return min(times, default=math.inf)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # a bug must not stop all scraping; it is logged with its traceback
                log.exception("scrape loop iteration failed")
            wait = self.next_due() - self.clock.now()
            if wait > 0:
                self._wake.clear()
                self._wake.wait(min(wait, 1.0))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tsdb-scrape", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._http is not None:
            self._http.close()

    # -- views for the API ---------------------------------------------------------------------------
    def active_targets(self) -> dict[str, list[TargetState]]:
        with self._lock:
            return {
                name: sorted(pool.targets.values(), key=lambda s: s.target.labels)
                for name, pool in self.pools.items()
            }

    def dropped_targets(self) -> dict[str, list[LabelPairs]]:
        with self._lock:
            return {name: list(pool.dropped) for name, pool in self.pools.items()}

    @property
    def states(self) -> list[TargetState]:
        return [s for targets in self.active_targets().values() for s in targets]
