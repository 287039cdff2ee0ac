"""The head: the newest samples of every series in one 2-D array (one row per series ref).

Appends for many series at once are a single fancy-index assignment. When a row fills up, its samples
(plus any further full rows' worth from the same batch) leave the head as one immutable
:class:`~flightdeck.tsdb.block.Block`, so the head stays small and reads of recent data (the common
case: ``rate(x[2m])`` now) touch only the head and the newest block.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.block import Block, bisect_rows, ranges

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DEFAULT_WIDTH = 128


def group_bounds(sorted_refs: I64) -> tuple[I64, I64, I64]:
    """For refs sorted ascending: (unique refs, first index of each group, group sizes)."""
    if len(sorted_refs) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    change = np.flatnonzero(sorted_refs[1:] != sorted_refs[:-1]) + 1
    starts = np.concatenate([np.zeros(1, dtype=np.int64), change])
    sizes = np.diff(np.concatenate([starts, np.array([len(sorted_refs)], dtype=np.int64)]))
    return sorted_refs[starts], starts, sizes


class Head:
    def __init__(self, width: int = DEFAULT_WIDTH, capacity: int = 1024) -> None:
        self.width = width
        self.t: I64 = np.zeros((capacity, width), dtype=np.int64)
        self.v: F64 = np.zeros((capacity, width), dtype=np.float64)
        self.n: I64 = np.zeros(capacity, dtype=np.int64)

    @property
    def capacity(self) -> int:
        return len(self.n)

    @property
    def nbytes(self) -> int:
        return int(self.t.nbytes + self.v.nbytes + self.n.nbytes)

    @property
    def num_samples(self) -> int:
        return int(self.n.sum())

    def ensure(self, capacity: int) -> None:
        if capacity <= self.capacity:
            return
        new = max(capacity, self.capacity * 2)
        for name in ("t", "v"):
            old = getattr(self, name)
            grown = np.zeros((new, self.width), dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)
        n = np.zeros(new, dtype=np.int64)
        n[: len(self.n)] = self.n
        self.n = n

    # -- writing -------------------------------------------------------------------------------
    def append_unique(self, refs: I64, ts: I64, vs: F64) -> Block | None:
        """One sample per ref (distinct refs), each newer than the row's samples."""
        n = self.n[refs]
        full = n >= self.width
        cut: Block | None = None
        if full.any():
            cut = self.cut_rows(np.sort(refs[full]))
            n = self.n[refs]
        self.t[refs, n] = ts
        self.v[refs, n] = vs
        self.n[refs] = n + 1
        return cut

    def append_grouped(self, refs: I64, ts: I64, vs: F64) -> Block | None:
        """Samples grouped by ref (ascending), time increasing within a group, all newer than the
        rows' samples. Full rows' worth of samples go to a block; the rest stays in the head."""
        uniq, starts, sizes = group_bounds(refs)
        rank = np.arange(len(refs), dtype=np.int64) - np.repeat(starts, sizes)
        base = self.n[uniq]
        pos = np.repeat(base, sizes) + rank
        gen = pos // self.width
        last_gen = gen[starts + sizes - 1]
        to_head = gen == np.repeat(last_gen, sizes)
        block: Block | None = None
        cut = last_gen > 0
        if cut.any():
            cut_refs = uniq[cut]
            head_counts = base[cut]
            leaving = ~to_head
            batch_counts = np.bincount(
                np.repeat(np.arange(len(uniq)), sizes)[leaving], minlength=len(uniq)
            ).astype(np.int64)[cut]
            total = head_counts + batch_counts
            offsets = np.zeros(len(cut_refs) + 1, dtype=np.int64)
            np.cumsum(total, out=offsets[1:])
            out_t = np.empty(int(offsets[-1]), dtype=np.int64)
            out_v = np.empty(int(offsets[-1]), dtype=np.float64)
            src = ranges(cut_refs * self.width, head_counts)
            dst = ranges(offsets[:-1], head_counts)
            out_t[dst] = self.t.ravel()[src]
            out_v[dst] = self.v.ravel()[src]
            dst = ranges(offsets[:-1] + head_counts, batch_counts)
            out_t[dst] = ts[leaving]
            out_v[dst] = vs[leaving]
            block = Block.build(cut_refs, total, out_t, out_v)
        slot = pos % self.width
        self.t[refs[to_head], slot[to_head]] = ts[to_head]
        self.v[refs[to_head], slot[to_head]] = vs[to_head]
        self.n[uniq] = slot[starts + sizes - 1] + 1
        return block

    def cut_rows(self, refs: I64) -> Block | None:
        """Move whole rows (sorted refs) out of the head into a block."""
        counts = self.n[refs]
        if not counts.any():
            return None
        src = ranges(refs * self.width, counts)
        block = Block.build(refs, counts, self.t.ravel()[src], self.v.ravel()[src])
        self.n[refs] = 0
        return block

    def cut_all(self) -> Block | None:
        refs = np.flatnonzero(self.n).astype(np.int64)
        return self.cut_rows(refs) if len(refs) else None

    def truncate(self, before_ms: int) -> None:
        rows = np.flatnonzero(self.n)
        if not len(rows):
            return
        cols = np.arange(self.width)
        t = self.t[rows]
        drop = ((t < before_ms) & (cols[None, :] < self.n[rows][:, None])).sum(axis=1)
        sel = drop > 0
        if not sel.any():
            return
        rows, drop = rows[sel], drop[sel]
        idx = np.minimum(cols[None, :] + drop[:, None], self.width - 1)
        self.t[rows] = np.take_along_axis(self.t[rows], idx, axis=1)
        self.v[rows] = np.take_along_axis(self.v[rows], idx, axis=1)
        self.n[rows] -= drop

    # -- reading -------------------------------------------------------------------------------
    def window(self, refs: I64, mint: int, maxt: int) -> tuple[I64, I64]:
        """``[lo, hi)`` flat indexes (into ``t.ravel()``) of each ref's samples in ``[mint, maxt]``."""
        lo = refs * self.width
        hi = lo + self.n[refs]
        flat = self.t.ravel()
        lo = bisect_rows(flat, lo, hi, mint, right=False)
        hi = bisect_rows(flat, lo, hi, maxt, right=True)
        return lo, hi

    def find(self, ref: int, t: int) -> float | None:
        n = int(self.n[ref])
        row = self.t[ref, :n]
        i = int(np.searchsorted(row, t))
        if i < n and int(row[i]) == t:
            return float(self.v[ref, i])
        return None

    def rows_data(self) -> tuple[I64, I64, I64, F64]:
        """(refs, counts, ts, vs) of every non-empty row, for snapshots."""
        refs = np.flatnonzero(self.n).astype(np.int64)
        counts = self.n[refs]
        src = ranges(refs * self.width, counts)
        return refs, counts, self.t.ravel()[src], self.v.ravel()[src]

    def load_rows(self, refs: I64, counts: I64, ts: I64, vs: F64) -> None:
        if not len(refs):
            return
        self.ensure(int(refs.max()) + 1)
        if int(counts.max()) > self.width:
            raise ValueError("head row longer than the head width")
        cols = np.arange(len(ts)) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = np.repeat(refs, counts)
        self.t[rows, cols] = ts
        self.v[rows, cols] = vs
        self.n[refs] = counts
