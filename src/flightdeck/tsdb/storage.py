"""In-memory series storage: a postings index plus compact per-series numpy sample arrays.

Durability is not part of this slice. Every mutation goes through :meth:`Storage.append` /
:meth:`Storage.truncate`, and a :class:`SampleSink` (e.g. a future WAL writer) sees each new series and
each accepted sample, so a WAL + snapshot layer can be added without changing callers.
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.index import LabelMatcher, PostingsIndex
from flightdeck.tsdb.labels import Labels, make_labels

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]

DEFAULT_RETENTION_MS = 15 * 24 * 3600 * 1000
CHUNK_SAMPLES = 512


def float_bits(v: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", v))[0])


def is_stale_nan(v: float) -> bool:
    return v != v and float_bits(v) == STALE_NAN_BITS


def stale_mask(values: F64) -> npt.NDArray[np.bool_]:
    mask: npt.NDArray[np.bool_] = values.view(np.uint64) == np.uint64(STALE_NAN_BITS)
    return mask


class AppendError(ValueError):
    """A rejected sample; ``str()`` is Prometheus' storage error text."""


class OutOfOrderSampleError(AppendError):
    def __init__(self) -> None:
        super().__init__("out of order sample")


class TooOldSampleError(AppendError):
    def __init__(self) -> None:
        super().__init__("too old sample")


class DuplicateSampleError(AppendError):
    def __init__(self) -> None:
        super().__init__("duplicate sample for timestamp")


class SampleSink(Protocol):
    """Receives every mutation (the hook a WAL will implement)."""

    def series_created(self, series_id: int, labels: Labels) -> None: ...

    def samples_appended(self, series_id: int, timestamps: I64, values: F64) -> None: ...

    def truncated(self, before_ms: int) -> None: ...


class MemSeries:
    """One series: frozen chunks of (int64 ms, float64) plus a preallocated head chunk."""

    __slots__ = ("_cache", "_chunks", "_head_t", "_head_v", "_n", "id", "labels", "last_t", "last_v")

    def __init__(self, series_id: int, labels: Labels) -> None:
        self.id = series_id
        self.labels = labels
        self._chunks: list[tuple[I64, F64]] = []
        self._head_t: I64 = np.empty(CHUNK_SAMPLES, dtype=np.int64)
        self._head_v: F64 = np.empty(CHUNK_SAMPLES, dtype=np.float64)
        self._n = 0
        self._cache: tuple[I64, F64] | None = None
        self.last_t = -(1 << 63)
        self.last_v = math.nan

    def __len__(self) -> int:
        return sum(len(t) for t, _ in self._chunks) + self._n

    @property
    def min_time(self) -> int | None:
        if self._chunks:
            return int(self._chunks[0][0][0])
        return int(self._head_t[0]) if self._n else None

    def _push(self, t: int, v: float) -> None:
        if self._n == CHUNK_SAMPLES:
            self._chunks.append((self._head_t, self._head_v))
            self._head_t = np.empty(CHUNK_SAMPLES, dtype=np.int64)
            self._head_v = np.empty(CHUNK_SAMPLES, dtype=np.float64)
            self._n = 0
        self._head_t[self._n] = t
        self._head_v[self._n] = v
        self._n += 1
        self.last_t = t
        self.last_v = v
        self._cache = None

    def arrays(self) -> tuple[I64, F64]:
        """All samples in time order (stale markers included)."""
        if self._cache is None:
            ts = [t for t, _ in self._chunks]
            vs = [v for _, v in self._chunks]
            ts.append(self._head_t[: self._n])
            vs.append(self._head_v[: self._n])
            self._cache = (
                (np.concatenate(ts), np.concatenate(vs)) if len(ts) > 1 else (ts[0].copy(), vs[0].copy())
            )
        return self._cache

    def _rebuild(self, ts: I64, vs: F64) -> None:
        self._chunks = []
        self._n = 0
        self._cache = None
        full = (len(ts) // CHUNK_SAMPLES) * CHUNK_SAMPLES
        if len(ts) and full == len(ts):
            full -= CHUNK_SAMPLES
        for i in range(0, full, CHUNK_SAMPLES):
            self._chunks.append((ts[i : i + CHUNK_SAMPLES].copy(), vs[i : i + CHUNK_SAMPLES].copy()))
        self._head_t = np.empty(CHUNK_SAMPLES, dtype=np.int64)
        self._head_v = np.empty(CHUNK_SAMPLES, dtype=np.float64)
        rest = len(ts) - full
        self._head_t[:rest] = ts[full:]
        self._head_v[:rest] = vs[full:]
        self._n = rest
        if len(ts):
            self.last_t = int(ts[-1])
            self.last_v = float(vs[-1])
        else:
            self.last_t = -(1 << 63)
            self.last_v = math.nan

    def append(self, t: int, v: float, ooo_window_ms: int) -> bool:
        """Append one sample; returns False for an exact duplicate (silently ignored, as Prometheus)."""
        if t > self.last_t:
            self._push(t, v)
            return True
        if t == self.last_t:
            if float_bits(v) == float_bits(self.last_v):
                return False
            raise DuplicateSampleError()
        if ooo_window_ms <= 0:
            raise OutOfOrderSampleError()
        if t < self.last_t - ooo_window_ms:
            raise TooOldSampleError()
        ts, vs = self.arrays()
        pos = int(np.searchsorted(ts, t, side="left"))
        if pos < len(ts) and ts[pos] == t:
            if float_bits(float(vs[pos])) == float_bits(v):
                return False
            raise DuplicateSampleError()
        self._rebuild(np.insert(ts, pos, t), np.insert(vs, pos, v))
        return True

    def truncate(self, before_ms: int) -> None:
        ts, vs = self.arrays()
        cut = int(np.searchsorted(ts, before_ms, side="left"))
        if cut:
            last_t, last_v = self.last_t, self.last_v
            self._rebuild(ts[cut:], vs[cut:])
            if not len(self):
                # Keep the append position so a dropped series still rejects older samples.
                self.last_t, self.last_v = last_t, last_v


@dataclass(frozen=True)
class SeriesData:
    """A selected series: labels and its samples (timestamps in ms), stale markers included."""

    id: int
    labels: Labels
    timestamps: I64
    values: F64


class Storage:
    """Thread-safe in-memory TSDB.

    ``out_of_order_window_ms``: samples older than a series' newest sample but within this window are
    inserted in order (0 = reject like Prometheus' default, "out of order sample").
    ``retention_ms``: :meth:`apply_retention` drops samples older than newest-retention.
    """

    def __init__(
        self,
        *,
        retention_ms: int = DEFAULT_RETENTION_MS,
        out_of_order_window_ms: int = 0,
        sink: SampleSink | None = None,
    ) -> None:
        self.retention_ms = retention_ms
        self.out_of_order_window_ms = out_of_order_window_ms
        self.sink = sink
        self._lock = threading.RLock()
        self._index = PostingsIndex()
        self._by_labels: dict[Labels, MemSeries] = {}
        self._by_id: dict[int, MemSeries] = {}
        self._next_id = 1
        self.max_time = -(1 << 63)
        self.samples_appended = 0

    # -- writing ---------------------------------------------------------------------------------
    def _series(self, labels: Labels) -> MemSeries:
        series = self._by_labels.get(labels)
        if series is None:
            if not labels:
                raise AppendError("empty label set")
            series = MemSeries(self._next_id, labels)
            self._next_id += 1
            self._by_labels[labels] = series
            self._by_id[series.id] = series
            self._index.add(series.id, labels)
            if self.sink is not None:
                self.sink.series_created(series.id, labels)
        return series

    def append(self, labels: Labels | Mapping[str, str], t: int, v: float) -> int:
        """Append one sample (t in ms). Returns the series id; raises :class:`AppendError`."""
        lset = labels if isinstance(labels, tuple) else make_labels(labels)
        with self._lock:
            series = self._series(lset)
            if series.append(int(t), float(v), self.out_of_order_window_ms):
                self.samples_appended += 1
                if t > self.max_time:
                    self.max_time = int(t)
                if self.sink is not None:
                    self.sink.samples_appended(
                        series.id, np.array([t], dtype=np.int64), np.array([v], dtype=np.float64)
                    )
            return series.id

    def append_many(
        self, samples: Iterable[tuple[Labels, int, float]]
    ) -> tuple[int, list[tuple[Labels, str]]]:
        """Append a batch under one lock; returns (accepted count, [(labels, error text)])."""
        accepted = 0
        errors: list[tuple[Labels, str]] = []
        ooo = self.out_of_order_window_ms
        with self._lock:
            for lset, t, v in samples:
                try:
                    series = self._series(lset)
                    if series.append(t, v, ooo):
                        accepted += 1
                        if t > self.max_time:
                            self.max_time = t
                        if self.sink is not None:
                            self.sink.samples_appended(
                                series.id, np.array([t], dtype=np.int64), np.array([v], dtype=np.float64)
                            )
                except AppendError as exc:
                    errors.append((lset, str(exc)))
            self.samples_appended += accepted
        return accepted, errors

    def append_series(
        self, labels: Labels | Mapping[str, str], timestamps: Iterable[int], values: Iterable[float]
    ) -> int:
        """Bulk-load one series (fast path when samples are newer than the head)."""
        lset = labels if isinstance(labels, tuple) else make_labels(labels)
        ts = np.asarray(
            list(timestamps) if not isinstance(timestamps, np.ndarray) else timestamps, dtype=np.int64
        )
        vs = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64)
        if ts.shape != vs.shape:
            raise ValueError("timestamps and values differ in length")
        with self._lock:
            series = self._series(lset)
            if len(ts) and bool(np.all(np.diff(ts) > 0)) and int(ts[0]) > series.last_t:
                old_t, old_v = series.arrays()
                series._rebuild(np.concatenate([old_t, ts]), np.concatenate([old_v, vs]))
                self.samples_appended += len(ts)
                self.max_time = max(self.max_time, int(ts[-1]))
                if self.sink is not None:
                    self.sink.samples_appended(series.id, ts, vs)
                return len(ts)
        accepted = 0
        for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
            try:
                self.append(lset, t, v)
                accepted += 1
            except AppendError:
                pass
        return accepted

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Drop samples older than ``(now or newest sample) - retention``; returns series removed."""
        reference = self.max_time if now_ms is None else now_ms
        return self.truncate(reference - self.retention_ms)

    def truncate(self, before_ms: int) -> int:
        with self._lock:
            dead: set[int] = set()
            for series in self._by_id.values():
                first = series.min_time
                if first is not None and first < before_ms:
                    series.truncate(before_ms)
                if not len(series):
                    dead.add(series.id)
            labels_of = {sid: self._by_id[sid].labels for sid in dead}
            self._index.remove(dead, labels_of)
            for sid in dead:
                series = self._by_id.pop(sid)
                del self._by_labels[series.labels]
            if self.sink is not None:
                self.sink.truncated(before_ms)
            return len(dead)

    # -- reading ---------------------------------------------------------------------------------
    def select(
        self, matchers: list[LabelMatcher], mint: int | None = None, maxt: int | None = None
    ) -> list[SeriesData]:
        """Series matching all matchers, sorted by label set, with samples in [mint, maxt]."""
        with self._lock:
            ids = self._index.select(matchers)
            out: list[SeriesData] = []
            for sid in ids.tolist():
                series = self._by_id[sid]
                ts, vs = series.arrays()
                if mint is not None or maxt is not None:
                    lo = 0 if mint is None else int(np.searchsorted(ts, mint, side="left"))
                    hi = len(ts) if maxt is None else int(np.searchsorted(ts, maxt, side="right"))
                    ts, vs = ts[lo:hi], vs[lo:hi]
                out.append(SeriesData(sid, series.labels, ts, vs))
        out.sort(key=lambda s: s.labels)
        return out

    def series_labels(
        self, matcher_sets: list[list[LabelMatcher]], mint: int | None = None, maxt: int | None = None
    ) -> list[Labels]:
        seen: set[Labels] = set()
        for matchers in matcher_sets or [[]]:
            for s in self.select(matchers, mint, maxt):
                if len(s.timestamps) or (mint is None and maxt is None):
                    seen.add(s.labels)
        return sorted(seen)

    def label_names(
        self,
        matcher_sets: list[list[LabelMatcher]] | None = None,
        mint: int | None = None,
        maxt: int | None = None,
    ) -> list[str]:
        if not matcher_sets and mint is None and maxt is None:
            with self._lock:
                return self._index.label_names()
        names: set[str] = set()
        for lset in self.series_labels(matcher_sets or [], mint, maxt):
            names.update(k for k, _ in lset)
        return sorted(names)

    def label_values(
        self,
        name: str,
        matcher_sets: list[list[LabelMatcher]] | None = None,
        mint: int | None = None,
        maxt: int | None = None,
    ) -> list[str]:
        if not matcher_sets and mint is None and maxt is None:
            with self._lock:
                return self._index.label_values(name)
        values: set[str] = set()
        for lset in self.series_labels(matcher_sets or [], mint, maxt):
            for k, v in lset:
                if k == name:
                    values.add(v)
        return sorted(values)

    @property
    def num_series(self) -> int:
        return len(self._by_id)
