"""Series storage: a postings index, a 2-D head of recent samples and immutable CSR blocks.

Appends are batches of (series ref, timestamp, value) validated and written with a few numpy calls
(the scrape loop and the remote-write receiver hand over whole batches); the label-set API
(:meth:`Storage.append`, :meth:`Storage.append_many`) resolves refs first. Reads gather any set of
series over a time range as one CSR result (:meth:`Storage.gather`), vectorised across series.

Semantics follow Prometheus' head appender: a sample older than the series' newest one is an
"out of order sample" (or, within ``out_of_order_window_ms``, accepted out of order), the same
timestamp with another value is a "duplicate sample for timestamp", an identical resend is ignored,
and within one batch later samples that are not newer are dropped like at Prometheus' commit.

Durability: every accepted batch is handed to a :class:`Journal` (the WAL, see
:mod:`flightdeck.tsdb.wal`) before it becomes visible, under the same lock, so a write that returned
is on disk in the order it was applied. Without a journal the storage is purely in memory.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.block import Block, merge_blocks, ranges
from flightdeck.tsdb.head import DEFAULT_WIDTH, Head, group_bounds
from flightdeck.tsdb.index import LabelMatcher, PostingsIndex
from flightdeck.tsdb.labels import Labels, make_labels

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]

DEFAULT_RETENTION_MS = 15 * 24 * 3600 * 1000
_MIN_T = -(1 << 63)
_MERGE_FAN_IN = 4


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


class OutOfBoundsError(AppendError):
    def __init__(self) -> None:
        super().__init__("out of bounds")


_OK, _OOO, _DUP, _OOB, _TOO_OLD = 0, 1, 2, 3, 4
_ERRORS: dict[int, type[AppendError]] = {
    _OOO: OutOfOrderSampleError,
    _DUP: DuplicateSampleError,
    _OOB: OutOfBoundsError,
    _TOO_OLD: TooOldSampleError,
}


@dataclass
class AppendResult:
    """Outcome of a batch: accepted samples, per-error counts, and the first error in batch order."""

    accepted: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    out_of_bounds: int = 0
    too_old: int = 0
    first_error: AppendError | None = None
    first_error_index: int = -1
    errors: list[tuple[int, AppendError]] = field(default_factory=list)


class Journal(Protocol):
    """Receives every accepted mutation before it becomes visible (the WAL implements it)."""

    def log_series(self, refs: Sequence[int], labels: Sequence[Labels]) -> None: ...

    def log_samples(self, refs: I64, ts: I64, vs: F64, *, in_order: bool) -> None: ...

    def log_truncate(self, before_ms: int) -> None: ...

    def commit(self) -> None: ...


@dataclass(frozen=True)
class SeriesData:
    """A selected series: labels and its samples (timestamps in ms), stale markers included."""

    id: int
    labels: Labels
    timestamps: I64
    values: F64


@dataclass(frozen=True)
class SeriesSet:
    """Many series' samples in one CSR layout: series ``i`` owns ``offsets[i]:offsets[i+1]``."""

    refs: I64
    labels: list[Labels]
    offsets: I64
    ts: I64
    vs: F64

    def __len__(self) -> int:
        return len(self.refs)

    def series(self, i: int) -> SeriesData:
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return SeriesData(int(self.refs[i]), self.labels[i], self.ts[lo:hi], self.vs[lo:hi])


def _increasing_in_groups(refs: I64, ts: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Stable order grouping ``refs``, and which samples (in that order) are newer than every
    earlier sample of the same ref in the batch."""
    order = np.argsort(refs, kind="stable")
    r, t = refs[order], ts[order]
    if len(t) == 0:
        return order, np.zeros(0, dtype=bool)
    _, starts, sizes = group_bounds(r)
    gid = np.repeat(np.arange(len(starts), dtype=np.int64), sizes)
    t0 = int(t.min())
    span = int(t.max()) - t0 + 1
    if span * (len(starts) + 1) < (1 << 62):
        key = gid * span + (t - t0)
        prev = np.empty_like(key)
        prev[0] = -1
        np.maximum.accumulate(key[:-1], out=prev[1:])
        return order, key > prev
    keep = np.zeros(len(t), dtype=bool)
    last: dict[int, int] = {}
    for i, (ref, ti) in enumerate(zip(r.tolist(), t.tolist(), strict=True)):
        if ref not in last or ti > last[ref]:
            keep[i] = True
            last[ref] = ti
    return order, keep


class Storage:
    """Thread-safe TSDB.

    ``out_of_order_window_ms``: samples older than a series' newest sample but no older than the
    store's newest sample minus this window are accepted out of order (0 = reject them, Prometheus'
    default, "out of order sample"; beyond the window: "too old sample").
    ``out_of_bounds_ms``: when set, samples older than the newest sample of the whole store minus this
    are rejected with "out of bounds" (Prometheus' head accepts one hour behind its newest sample).
    ``retention_ms``: :meth:`apply_retention` drops samples older than newest - retention.
    """

    def __init__(
        self,
        *,
        retention_ms: int = DEFAULT_RETENTION_MS,
        out_of_order_window_ms: int = 0,
        out_of_bounds_ms: int | None = None,
        head_width: int = DEFAULT_WIDTH,
        journal: Journal | None = None,
    ) -> None:
        self.retention_ms = retention_ms
        self.out_of_order_window_ms = out_of_order_window_ms
        self.out_of_bounds_ms = out_of_bounds_ms
        self.journal = journal
        self._lock = threading.RLock()
        self._index = PostingsIndex()
        self._labels: list[Labels | None] = [None]  # ref 0 is never used
        self._by_labels: dict[Labels, int] = {}
        self._last_t: I64 = np.full(1024, _MIN_T, dtype=np.int64)
        self._last_bits: U64 = np.zeros(1024, dtype=np.uint64)
        self._mark: I64 = np.zeros(1024, dtype=np.int64)
        self._head = Head(head_width)
        self._blocks: list[Block] = []
        self._ooo: list[tuple[int, int, float]] = []
        self._ooo_keys: dict[tuple[int, int], int] = {}
        self._unsorted = False  # some out-of-order data is stored and not yet re-sorted
        self._rank: I64 | None = None  # position of each ref in label order (rebuilt lazily)
        self.max_time = _MIN_T
        self.samples_appended = 0

    # -- series ----------------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def _grow(self, ref: int) -> None:
        if ref < len(self._last_t):
            return
        size = max(ref + 1, len(self._last_t) * 2)
        last_t = np.full(size, _MIN_T, dtype=np.int64)
        last_t[: len(self._last_t)] = self._last_t
        self._last_t = last_t
        bits = np.zeros(size, dtype=np.uint64)
        bits[: len(self._last_bits)] = self._last_bits
        self._last_bits = bits
        self._mark = np.zeros(size, dtype=np.int64)
        self._head.ensure(size)

    def _create(self, labels: Labels, ref: int | None = None) -> int:
        if not labels:
            raise AppendError("empty label set")
        if ref is None:
            ref = len(self._labels)
        while len(self._labels) <= ref:
            self._labels.append(None)
        self._labels[ref] = labels
        self._by_labels[labels] = ref
        self._index.add(ref, labels)
        self._grow(ref)
        self._rank = None
        return ref

    def ref(self, labels: Labels | Mapping[str, str]) -> int:
        """The series ref of a label set, creating the series (and journaling it) if new."""
        lset = labels if isinstance(labels, tuple) else make_labels(labels)
        found = self._by_labels.get(lset)
        if found is not None:
            return found
        with self._lock:
            found = self._by_labels.get(lset)
            if found is not None:
                return found
            ref = self._create(lset)
            if self.journal is not None:
                self.journal.log_series([ref], [lset])
            return ref

    def refs(self, label_sets: Sequence[Labels]) -> I64:
        """Refs of many label sets (canonical tuples), creating new series in one journal record."""
        out = np.empty(len(label_sets), dtype=np.int64)
        new_refs: list[int] = []
        new_labels: list[Labels] = []
        with self._lock:
            get = self._by_labels.get
            for i, lset in enumerate(label_sets):
                ref = get(lset)
                if ref is None:
                    ref = self._create(lset)
                    new_refs.append(ref)
                    new_labels.append(lset)
                out[i] = ref
            if new_refs and self.journal is not None:
                self.journal.log_series(new_refs, new_labels)
        return out

    def labels_of(self, ref: int) -> Labels:
        lset = self._labels[ref] if 0 < ref < len(self._labels) else None
        if lset is None:
            raise KeyError(ref)
        return lset

    @property
    def num_series(self) -> int:
        return len(self._by_labels)

    # -- appending -------------------------------------------------------------------------------
    def append_refs(
        self,
        refs: I64 | Sequence[int],
        ts: I64 | Sequence[int] | int,
        vs: F64 | Sequence[float],
        *,
        atomic: bool = False,
        collect_errors: bool = False,
        validate_only: bool = False,
    ) -> AppendResult:
        """Append a batch. ``atomic``: any rejected sample rejects the whole batch (remote write);
        otherwise rejected samples are skipped and counted (scrape). ``ts`` may be one timestamp.
        ``validate_only``: report what would be rejected, change nothing."""
        r = np.asarray(refs, dtype=np.int64)
        v = np.asarray(vs, dtype=np.float64)
        t = np.full(len(r), ts, dtype=np.int64) if isinstance(ts, int) else np.asarray(ts, dtype=np.int64)
        if not (len(r) == len(t) == len(v)):
            raise ValueError("refs, timestamps and values differ in length")
        with self._lock:
            result = self._append_locked(r, t, v, atomic or validate_only, collect_errors, validate_only)
            if self.journal is not None:
                self.journal.commit()
            return result

    def _append_locked(
        self, r: I64, t: I64, v: F64, atomic: bool, collect_errors: bool, validate_only: bool = False
    ) -> AppendResult:
        result = AppendResult()
        n = len(r)
        if n == 0:
            return result
        bits = v.view(np.uint64)
        last = self._last_t[r]
        err = np.zeros(n, dtype=np.int8)
        less = t < last
        eq = t == last
        ident = eq & (bits == self._last_bits[r])
        err[eq & ~ident] = _DUP
        window = self.out_of_order_window_ms
        ooo_ok = np.zeros(n, dtype=bool)
        if window > 0:
            # Like Prometheus' OOO head: the window counts back from the newest sample of all.
            ooo_ok = less & (t >= self.max_time - window)
            err[less & ~ooo_ok] = _TOO_OLD
        else:
            err[less] = _OOO
            if self.out_of_bounds_ms is not None and self.max_time != _MIN_T:
                err[t < self.max_time - self.out_of_bounds_ms] = _OOB
        ooo_ok &= err == _OK
        # Out-of-order candidates need a look-up for an existing sample at the same timestamp.
        ooo_idx = np.flatnonzero(ooo_ok)
        ooo_accept: list[int] = []
        in_batch: set[tuple[int, int]] = set()
        for i in ooo_idx.tolist():
            key = (int(r[i]), int(t[i]))
            if key in in_batch:
                continue  # a repeat within the batch is dropped, like at Prometheus' commit
            existing = self._find(*key)
            if existing is None:
                ooo_accept.append(i)
                in_batch.add(key)
            elif float_bits(existing) != int(bits[i]):
                err[i] = _DUP
        bad = np.flatnonzero(err)
        if len(bad):
            codes = err[bad]
            result.out_of_order = int((codes == _OOO).sum())
            result.duplicates = int((codes == _DUP).sum())
            result.out_of_bounds = int((codes == _OOB).sum())
            result.too_old = int((codes == _TOO_OLD).sum())
            first = int(bad[0])
            result.first_error = _ERRORS[int(err[first])]()
            result.first_error_index = first
            if collect_errors:
                result.errors = [(i, _ERRORS[int(err[i])]()) for i in bad.tolist()]
            if atomic:
                return result
        if validate_only:
            return result
        cand = (err == _OK) & ~ident & ~ooo_ok
        if ooo_accept:
            self._apply_ooo(r[ooo_accept], t[ooo_accept], v[ooo_accept])
            result.accepted += len(ooo_accept)
        ci = np.flatnonzero(cand) if not cand.all() else None
        cr, ct, cv = (r, t, v) if ci is None else (r[ci], t[ci], v[ci])
        if len(cr):
            accepted = self._apply_in_order(cr, ct, cv)
            result.accepted += accepted
        return result

    def _apply_in_order(self, r: I64, t: I64, v: F64, *, log: bool = True) -> int:
        """Samples newer than their series' newest; drops in-batch repeats (Prometheus' commit)."""
        mark = self._mark
        mark[r] = np.arange(len(r))
        unique = bool((mark[r] == np.arange(len(r))).all())
        if unique:
            if log and self.journal is not None:
                self.journal.log_samples(r, t, v, in_order=True)
            block = self._head.append_unique(r, t, v)
            self._last_t[r] = t
            self._last_bits[r] = v.view(np.uint64)
        else:
            order, keep = _increasing_in_groups(r, t)
            sel = order[keep]
            r, t, v = r[sel], t[sel], v[sel]
            if log and self.journal is not None:
                self.journal.log_samples(r, t, v, in_order=True)
            block = self._head.append_grouped(r, t, v)
            _, starts, sizes = group_bounds(r)
            last_i = starts + sizes - 1
            self._last_t[r[last_i]] = t[last_i]
            self._last_bits[r[last_i]] = v[last_i].view(np.uint64)
        if block is not None:
            self._add_block(block)
        top = int(t.max())
        if top > self.max_time:
            self.max_time = top
        self.samples_appended += len(r)
        return len(r)

    def _apply_ooo(self, r: I64, t: I64, v: F64, *, log: bool = True) -> None:
        if log and self.journal is not None:
            self.journal.log_samples(r, t, v, in_order=False)
        bits = v.view(np.uint64)
        for ref, ti, vi, bi in zip(r.tolist(), t.tolist(), v.tolist(), bits.tolist(), strict=True):
            self._ooo.append((ref, ti, vi))
            self._ooo_keys[(ref, ti)] = bi
        self._unsorted = True
        self.samples_appended += len(r)
        if len(self._ooo) >= 4096:
            self._flush_ooo()

    def _flush_ooo(self) -> None:
        if not self._ooo:
            return
        arr = np.array([(a, b) for a, b, _ in self._ooo], dtype=np.int64).reshape(-1, 2)
        vals = np.array([c for _, _, c in self._ooo], dtype=np.float64)
        order = np.lexsort((arr[:, 1], arr[:, 0]))
        refs, ts, vals = arr[order, 0], arr[order, 1], vals[order]
        uniq, _, sizes = group_bounds(refs)
        self._blocks.append(Block.build(uniq, sizes, ts, vals, sorted_=False))
        self._ooo = []
        self._ooo_keys = {}

    def _find(self, ref: int, t: int) -> float | None:
        bits = self._ooo_keys.get((ref, t))
        if bits is not None:
            return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])
        found = self._head.find(ref, t)
        if found is not None:
            return found
        for block in self._blocks:
            found = block.find(ref, t)
            if found is not None:
                return found
        return None

    def _add_block(self, block: Block) -> None:
        self._blocks.append(block)
        self._compact()

    def _compact(self) -> None:
        """Size-tiered merging of the newest blocks: four consecutive blocks of the same size tier
        become one, so a store holds O(log n) blocks."""
        while len(self._blocks) >= _MERGE_FAN_IN:
            tail = self._blocks[-_MERGE_FAN_IN:]
            if not all(b.sorted for b in tail):
                return
            tiers = {max(b.num_samples, 1).bit_length() // 2 for b in tail}
            if len(tiers) != 1:
                return
            merged = merge_blocks(tail)
            self._blocks[-_MERGE_FAN_IN:] = [merged]

    def compact_all(self) -> None:
        """Merge everything (head excluded) into one block, re-sorting out-of-order data."""
        with self._lock:
            self._flush_ooo()
            if len(self._blocks) > 1 or (self._blocks and not self._blocks[0].sorted):
                self._blocks = [merge_blocks(self._blocks, resort=self._unsorted)]
            self._unsorted = False

    def append(self, labels: Labels | Mapping[str, str], t: int, v: float) -> int:
        """Append one sample (t in ms). Returns the series id; raises :class:`AppendError`."""
        ref = self.ref(labels)
        t = int(t)
        v = float(v)
        with self._lock:
            # The common case without numpy's per-call overhead: newer than the series' newest
            # sample, room left in its head row.
            n = int(self._head.n[ref])
            if (
                t > int(self._last_t[ref])
                and n < self._head.width
                and (
                    self.out_of_bounds_ms is None
                    or self.max_time == _MIN_T
                    or t >= self.max_time - self.out_of_bounds_ms
                )
            ):
                if self.journal is not None:
                    self.journal.log_samples(
                        np.array([ref], dtype=np.int64),
                        np.array([t], dtype=np.int64),
                        np.array([v]),
                        in_order=True,
                    )
                self._head.t[ref, n] = t
                self._head.v[ref, n] = v
                self._head.n[ref] = n + 1
                self._last_t[ref] = t
                self._last_bits[ref] = float_bits(v)
                if t > self.max_time:
                    self.max_time = t
                self.samples_appended += 1
                if self.journal is not None:
                    self.journal.commit()
                return ref
        res = self.append_refs(
            np.array([ref], dtype=np.int64),
            np.array([int(t)], dtype=np.int64),
            np.array([float(v)], dtype=np.float64),
            atomic=True,
        )
        if res.first_error is not None:
            raise res.first_error
        return ref

    def append_many(
        self, samples: Iterable[tuple[Labels, int, float]]
    ) -> tuple[int, list[tuple[Labels, str]]]:
        """Append a batch; returns (accepted count, [(labels, error text)])."""
        items = list(samples)
        if not items:
            return 0, []
        errors: list[tuple[Labels, str]] = [(s[0], "empty label set") for s in items if not s[0]]
        if errors:
            items = [s for s in items if s[0]]
        label_sets = [s[0] for s in items]
        refs = self.refs(label_sets)
        ts = np.array([s[1] for s in items], dtype=np.int64)
        vs = np.array([s[2] for s in items], dtype=np.float64)
        res = self.append_refs(refs, ts, vs, collect_errors=True)
        return res.accepted, errors + [(label_sets[i], str(e)) for i, e in res.errors]

    def append_series(
        self, labels: Labels | Mapping[str, str], timestamps: Iterable[int], values: Iterable[float]
    ) -> int:
        """Bulk-load one series; returns the number of samples accepted."""
        ts = np.asarray(
            timestamps if isinstance(timestamps, np.ndarray) else list(timestamps), dtype=np.int64
        )
        vs = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.float64)
        if ts.shape != vs.shape:
            raise ValueError("timestamps and values differ in length")
        ref = self.ref(labels)
        return self.append_refs(np.full(len(ts), ref, dtype=np.int64), ts, vs).accepted

    # -- retention -------------------------------------------------------------------------------
    def apply_retention(self, now_ms: int | None = None) -> int:
        """Drop samples older than ``(now or newest sample) - retention``; returns series removed."""
        reference = self.max_time if now_ms is None else now_ms
        if reference == _MIN_T:
            return 0
        return self.truncate(reference - self.retention_ms)

    def truncate(self, before_ms: int) -> int:
        with self._lock:
            oldest = self.min_time
            if oldest is None or oldest >= before_ms:
                return 0
            if self.journal is not None:
                self.journal.log_truncate(before_ms)
            removed = self._truncate_locked(before_ms)
            if self.journal is not None:
                self.journal.commit()
            return removed

    def _truncate_locked(self, before_ms: int) -> int:
        self._flush_ooo()
        kept: list[Block] = []
        for block in self._blocks:
            cut = block.truncate(before_ms)
            if cut is not None:
                kept.append(cut)
        self._blocks = kept
        self._head.truncate(before_ms)
        counts = np.zeros(len(self._labels), dtype=np.int64)
        counts[: min(len(counts), self._head.capacity)] += self._head.n[: len(counts)]
        for block in self._blocks:
            counts[block.refs] += block.counts()
        dead = [ref for ref, lset in enumerate(self._labels) if lset is not None and counts[ref] == 0]
        if dead:
            labels_of: dict[int, Labels] = {}
            for ref in dead:
                lset = self._labels[ref]
                assert lset is not None
                labels_of[ref] = lset
                del self._by_labels[lset]
                self._labels[ref] = None
            self._index.remove(set(dead), labels_of)
            self._rank = None
        return len(dead)

    def _label_order(self, refs: I64) -> I64:
        """``refs`` ordered by their label sets, the order Prometheus' storage returns series in."""
        if len(refs) < 2:
            return refs
        if self._rank is None or len(self._rank) < len(self._labels):
            live = sorted((lset, ref) for ref, lset in enumerate(self._labels) if lset is not None)
            rank = np.zeros(len(self._labels), dtype=np.int64)
            rank[np.array([ref for _, ref in live], dtype=np.int64)] = np.arange(len(live), dtype=np.int64)
            self._rank = rank
        return refs[np.argsort(self._rank[refs], kind="stable")]

    # -- reading ---------------------------------------------------------------------------------
    def select_refs(self, matchers: list[LabelMatcher]) -> I64:
        with self._lock:
            return self._index.select(matchers)

    def gather(self, refs: I64, mint: int, maxt: int) -> tuple[I64, I64, F64]:
        """Samples of ``refs`` (any order) in ``[mint, maxt]``: (counts per ref, ts, vs) grouped by ref,
        in time order within a ref."""
        with self._lock:
            if self._ooo:
                self._flush_ooo()
            parts: list[tuple[I64, I64, F64]] = []
            resort = False
            for block in self._blocks:
                if block.maxt < mint or block.mint > maxt:
                    continue
                lo, hi = block.window(refs, mint, maxt)
                cnt = hi - lo
                if not cnt.any():
                    continue
                idx = ranges(lo, cnt)
                parts.append((cnt, block.ts[idx].astype(np.int64) + block.t_base, block.vs[idx]))
                resort |= not block.sorted
            lo, hi = self._head.window(refs, mint, maxt)
            cnt = hi - lo
            if cnt.any():
                idx = ranges(lo, cnt)
                parts.append((cnt, self._head.t.ravel()[idx], self._head.v.ravel()[idx]))
        if not parts:
            return np.zeros(len(refs), dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        if len(parts) == 1:
            counts, ts, vs = parts[0]
        else:
            counts = np.sum([p[0] for p in parts], axis=0)
            offsets = np.zeros(len(refs) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            ts = np.empty(int(offsets[-1]), dtype=np.int64)
            vs = np.empty(int(offsets[-1]), dtype=np.float64)
            before = offsets[:-1].copy()
            for cnt, pt, pv in parts:
                dst = ranges(before, cnt)
                ts[dst] = pt
                vs[dst] = pv
                before += cnt
        if resort and len(ts):
            rows = np.repeat(np.arange(len(refs)), counts)
            order = np.lexsort((ts, rows))
            ts, vs = ts[order], vs[order]
        return counts, ts, vs

    def select_set(
        self,
        matchers: list[LabelMatcher],
        mint: int | None = None,
        maxt: int | None = None,
        *,
        drop_empty: bool = True,
    ) -> SeriesSet:
        """Series matching all matchers (in label order) with their samples in [mint, maxt]."""
        with self._lock:
            refs = self._label_order(self._index.select(matchers))
            labels_all = self._labels
            counts, ts, vs = self.gather(
                refs, _MIN_T if mint is None else mint, (1 << 63) - 1 if maxt is None else maxt
            )
            if drop_empty and len(refs) and not counts.all():
                keep = counts > 0
                refs, counts = refs[keep], counts[keep]
            labels = [labels_all[r] for r in refs.tolist()]
        offsets = np.zeros(len(refs) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return SeriesSet(refs, labels, offsets, ts, vs)

    def select(
        self, matchers: list[LabelMatcher], mint: int | None = None, maxt: int | None = None
    ) -> list[SeriesData]:
        """Series matching all matchers, sorted by label set, with samples in [mint, maxt]."""
        found = self.select_set(matchers, mint, maxt)
        out = [found.series(i) for i in range(len(found))]
        out.sort(key=lambda s: s.labels)
        return out

    def series_labels(
        self, matcher_sets: list[list[LabelMatcher]], mint: int | None = None, maxt: int | None = None
    ) -> list[Labels]:
        seen: set[Labels] = set()
        for matchers in matcher_sets or [[]]:
            found = self.select_set(matchers, mint, maxt)
            seen.update(found.labels)
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

    # -- statistics ------------------------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        with self._lock:
            return self._head.num_samples + sum(b.num_samples for b in self._blocks) + len(self._ooo)

    def sample_bytes(self) -> int:
        """Bytes held by sample data (blocks + the head's arrays)."""
        with self._lock:
            return self._head.nbytes + sum(b.nbytes for b in self._blocks)

    @property
    def num_blocks(self) -> int:
        return len(self._blocks)

    @property
    def min_time(self) -> int | None:
        with self._lock:
            self._flush_ooo()
            times = [b.mint for b in self._blocks]
            refs = np.flatnonzero(self._head.n)
            if len(refs):
                times.append(int(self._head.t[refs, 0].min()))
            return min(times) if times else None

    def last_sample(self, ref: int) -> tuple[int, float] | None:
        """The newest sample of a series (what the next in-order append is compared with)."""
        with self._lock:
            t = int(self._last_t[ref]) if ref < len(self._last_t) else _MIN_T
            if t == _MIN_T:
                return None
            bits = np.array([self._last_bits[ref]], dtype=np.uint64)
            return t, float(bits.view(np.float64)[0])

    # -- persistence hooks -------------------------------------------------------------------------
    def export_state(self) -> StorageState:
        """A consistent copy of everything (blocks are immutable and shared, not copied)."""
        with self._lock:
            self._flush_ooo()
            refs = [r for r, lset in enumerate(self._labels) if lset is not None]
            labels = [self._labels[r] for r in refs]
            head = self._head.rows_data()
            n = len(self._labels)
            return StorageState(
                series_refs=np.array(refs, dtype=np.int64),
                series_labels=[lset for lset in labels if lset is not None],
                next_ref=n,
                last_t=self._last_t[:n].copy(),
                last_bits=self._last_bits[:n].copy(),
                head=head,
                blocks=list(self._blocks),
                max_time=self.max_time,
                samples_appended=self.samples_appended,
                unsorted=self._unsorted,
            )

    def import_state(self, state: StorageState) -> None:
        """Replace the contents with a snapshot (no journaling)."""
        with self._lock:
            self._index = PostingsIndex()
            self._labels = [None]
            self._by_labels = {}
            self._last_t = np.full(max(1024, state.next_ref), _MIN_T, dtype=np.int64)
            self._last_bits = np.zeros(len(self._last_t), dtype=np.uint64)
            self._mark = np.zeros(len(self._last_t), dtype=np.int64)
            self._head = Head(self._head.width, len(self._last_t))
            for ref, lset in zip(state.series_refs.tolist(), state.series_labels, strict=True):
                self._create(lset, ref)
            while len(self._labels) < state.next_ref:
                self._labels.append(None)
            self._last_t[: len(state.last_t)] = state.last_t
            self._last_bits[: len(state.last_bits)] = state.last_bits
            self._head.load_rows(*state.head)
            self._blocks = list(state.blocks)
            self._ooo = []
            self._ooo_keys = {}
            self._unsorted = state.unsorted
            self.max_time = state.max_time
            self.samples_appended = state.samples_appended

    def replay_series(self, refs: Sequence[int], labels: Sequence[Labels]) -> None:
        with self._lock:
            for ref, lset in zip(refs, labels, strict=True):
                if lset not in self._by_labels:
                    self._create(lset, ref)

    def replay_samples(self, refs: I64, ts: I64, vs: F64, *, in_order: bool) -> None:
        with self._lock:
            if in_order:
                self._apply_in_order(refs, ts, vs, log=False)
            else:
                self._apply_ooo(refs, ts, vs, log=False)

    def replay_truncate(self, before_ms: int) -> None:
        with self._lock:
            self._truncate_locked(before_ms)


@dataclass
class StorageState:
    series_refs: I64
    series_labels: list[Labels]
    next_ref: int
    last_t: I64
    last_bits: U64
    head: tuple[I64, I64, I64, F64]
    blocks: list[Block]
    max_time: int
    samples_appended: int
    unsorted: bool
