"""Immutable sample blocks: many series' samples in one CSR layout, and the vector helpers that read them.

A block holds, for a sorted array of series refs, each series' samples in time order, back to back
(``offsets[i]:offsets[i+1]`` is the slice of ``refs[i]``). Timestamps are stored relative to the block's
``t_base``, as int32 when the block spans less than ~24 days (the usual case), which keeps a stored
sample at 12 bytes. Everything that reads or builds blocks is vectorised across series: a query over
10,000 series does a handful of numpy calls per block, never a Python loop per series.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
TimeArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]

_INT32_SPAN = (1 << 31) - 1
_block_ids = itertools.count(1)


def next_block_id() -> int:
    return next(_block_ids)


def bump_block_ids(at_least: int) -> None:
    """After loading blocks from disk, keep new ids above the loaded ones."""
    global _block_ids
    current = next(_block_ids)
    _block_ids = itertools.count(max(current, at_least + 1))


def ranges(starts: I64, counts: I64) -> I64:
    """Concatenation of ``arange(s, s + c)`` for each (s, c): the gather index of CSR slices."""
    total = int(counts.sum()) if len(counts) else 0
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    out: I64 = np.arange(total, dtype=np.int64)
    out += np.repeat(starts - (ends - counts), counts)
    return out


def bisect_rows(arr: TimeArray, lo: I64, hi: I64, x: int, right: bool) -> I64:
    """Per-row binary search: for every ``[lo, hi)`` slice of the sorted-per-row ``arr``, the first
    index whose value is ``> x`` (``right``) or ``>= x``. Vectorised across rows: one pass per bit of
    the longest row."""
    lo = lo.copy()
    hi = hi.copy()
    if len(arr) == 0:
        return lo
    last = len(arr) - 1
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        v = arr[np.minimum(mid, last)]
        go_right = (v <= x) if right else (v < x)
        go_right &= active
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


def _time_array(ts_abs: I64, t_base: int) -> TimeArray:
    rel = ts_abs - t_base
    if len(rel) == 0 or int(rel.max()) <= _INT32_SPAN:
        return rel.astype(np.int32)
    return rel


@dataclass(frozen=True, eq=False)
class Block:
    id: int
    refs: I64  # sorted, unique
    offsets: I64  # len(refs) + 1
    t_base: int
    ts: TimeArray  # relative to t_base
    vs: F64
    mint: int
    maxt: int
    sorted: bool = True  # False for a block of out-of-order samples (may overlap other blocks)

    @classmethod
    def build(cls, refs: I64, counts: I64, ts_abs: I64, vs: F64, *, sorted_: bool = True) -> Block:
        """From per-series counts and samples grouped by series (refs ascending)."""
        keep = counts > 0
        if not keep.all():
            refs, counts = refs[keep], counts[keep]
        offsets = np.zeros(len(refs) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        mint = int(ts_abs.min()) if len(ts_abs) else 0
        maxt = int(ts_abs.max()) if len(ts_abs) else 0
        return cls(
            next_block_id(),
            refs.astype(np.int64, copy=False),
            offsets,
            mint,
            _time_array(ts_abs, mint),
            vs.astype(np.float64, copy=False),
            mint,
            maxt,
            sorted_,
        )

    @property
    def num_samples(self) -> int:
        return len(self.vs)

    @property
    def nbytes(self) -> int:
        return int(self.refs.nbytes + self.offsets.nbytes + self.ts.nbytes + self.vs.nbytes)

    def counts(self) -> I64:
        return np.diff(self.offsets)

    def abs_ts(self) -> I64:
        return self.ts.astype(np.int64) + self.t_base

    def rows_of(self, refs: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
        """Row index of each ref and whether the block has it."""
        if len(self.refs) == 0:
            return np.zeros(len(refs), dtype=np.int64), np.zeros(len(refs), dtype=bool)
        pos = np.searchsorted(self.refs, refs)
        pos_c = np.minimum(pos, len(self.refs) - 1)
        return pos_c, self.refs[pos_c] == refs

    def window(self, refs: I64, mint: int, maxt: int) -> tuple[I64, I64]:
        """``[lo, hi)`` sample index of each of ``refs`` (sorted) restricted to ``[mint, maxt]``."""
        rows, hit = self.rows_of(refs)
        lo = np.where(hit, self.offsets[rows], 0)
        hi = np.where(hit, self.offsets[rows + 1], 0)
        if mint > self.mint:
            lo = bisect_rows(self.ts, lo, hi, mint - self.t_base, right=False)
        if maxt < self.maxt:
            hi = bisect_rows(self.ts, lo, hi, maxt - self.t_base, right=True)
        return lo, np.maximum(hi, lo)

    def find(self, ref: int, t: int) -> float | None:
        """The value stored for (ref, t), if any (slow path for out-of-order appends)."""
        if not self.mint <= t <= self.maxt:
            return None
        rows, hit = self.rows_of(np.array([ref], dtype=np.int64))
        if not hit[0]:
            return None
        lo, hi = int(self.offsets[rows[0]]), int(self.offsets[rows[0] + 1])
        seg = self.ts[lo:hi]
        i = int(np.searchsorted(seg, t - self.t_base))
        if i < len(seg) and int(seg[i]) == t - self.t_base:
            return float(self.vs[lo + i])
        return None

    def last_sample(self, ref: int) -> tuple[int, float] | None:
        rows, hit = self.rows_of(np.array([ref], dtype=np.int64))
        if not hit[0]:
            return None
        hi = int(self.offsets[rows[0] + 1])
        if hi == int(self.offsets[rows[0]]):
            return None
        return int(self.ts[hi - 1]) + self.t_base, float(self.vs[hi - 1])

    def truncate(self, before_ms: int) -> Block | None:
        """Drop samples older than ``before_ms``; None when nothing is left."""
        if self.mint >= before_ms:
            return self
        if self.maxt < before_ms:
            return None
        keep = self.ts >= before_ms - self.t_base
        rows = np.repeat(np.arange(len(self.refs)), self.counts())
        counts = np.bincount(rows[keep], minlength=len(self.refs)).astype(np.int64)
        if not counts.any():
            return None
        return Block.build(self.refs, counts, self.abs_ts()[keep], self.vs[keep], sorted_=self.sorted)

    def with_samples(self, refs: I64, ts: I64, vs: F64) -> Block:
        """A copy with extra (possibly out-of-order) samples merged in, re-sorted per series."""
        rows = np.repeat(self.refs, self.counts())
        all_refs = np.concatenate([rows, refs])
        all_ts = np.concatenate([self.abs_ts(), ts])
        all_vs = np.concatenate([self.vs, vs])
        order = np.lexsort((all_ts, all_refs))
        all_refs, all_ts, all_vs = all_refs[order], all_ts[order], all_vs[order]
        uniq, counts = np.unique(all_refs, return_counts=True)
        return Block.build(uniq, counts.astype(np.int64), all_ts, all_vs, sorted_=self.sorted)


def merge_blocks(blocks: list[Block], *, resort: bool = False) -> Block:
    """One block from consecutive blocks. Per series, each block's samples are newer than the
    previous block's, so the merge is a scatter without sorting — unless ``resort`` (out-of-order
    data), which orders every series by time."""
    all_refs = np.unique(np.concatenate([b.refs for b in blocks]))
    per_block_counts = []
    for b in blocks:
        cnt = np.zeros(len(all_refs), dtype=np.int64)
        cnt[np.searchsorted(all_refs, b.refs)] = b.counts()
        per_block_counts.append(cnt)
    total = np.sum(per_block_counts, axis=0) if per_block_counts else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(all_refs) + 1, dtype=np.int64)
    np.cumsum(total, out=offsets[1:])
    n = int(offsets[-1])
    out_ts = np.empty(n, dtype=np.int64)
    out_vs = np.empty(n, dtype=np.float64)
    before = offsets[:-1].copy()
    for b, cnt in zip(blocks, per_block_counts, strict=True):
        pos = np.searchsorted(all_refs, b.refs)
        dst = ranges(before[pos], b.counts())
        out_ts[dst] = b.abs_ts()
        out_vs[dst] = b.vs
        before += cnt
    if resort and n:
        rows = np.repeat(np.arange(len(all_refs)), total)
        order = np.lexsort((out_ts, rows))
        out_ts, out_vs = out_ts[order], out_vs[order]
    return Block.build(all_refs, total, out_ts, out_vs, sorted_=True)
