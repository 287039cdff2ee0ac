"""Values of the evaluator, vectorised across series *and* steps.

An instant vector is a list of label sets plus two ``(series, steps)`` arrays: the value and whether
the series has a value at that step. A range vector keeps its samples in one CSR layout (series ``i``
owns ``offsets[i]:offsets[i+1]``) and the effective evaluation time of each step. Every operation is
then a handful of numpy calls over whole matrices, whatever the number of series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.labels import Labels
from flightdeck.tsdb.promql.errors import ExecutionError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass
class Vector:
    labels: list[Labels]
    values: F64  # (series, steps)
    present: B  # (series, steps)

    @classmethod
    def empty(cls, steps: int) -> Vector:
        return cls([], np.empty((0, steps)), np.zeros((0, steps), dtype=bool))

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: I64 | list[int]) -> Vector:
        idx = np.asarray(rows, dtype=np.int64)
        return Vector([self.labels[i] for i in idx.tolist()], self.values[idx], self.present[idx])


@dataclass
class Scalar:
    values: F64  # (steps,)


@dataclass
class String:
    value: str


@dataclass
class RangeVector:
    """Samples behind a matrix selector or subquery (stale markers removed), grouped by series."""

    labels: list[Labels]
    offsets: I64  # len(labels) + 1
    ts: I64
    vs: F64
    range_ms: int
    eff: I64  # effective evaluation time per step (after @ and offset)
    selector: Any = None  # the VectorSelector, for absent_over_time's labels

    def __len__(self) -> int:
        return len(self.labels)

    def windows(self, lo_edge: I64, hi_edge: I64) -> tuple[I64, I64]:
        """``[lo, hi)`` sample index of every (series, step) window ``[lo_edge, hi_edge]``, flattened
        series-major. One searchsorted over a composite (series, time) key for all windows."""
        s = len(self.labels)
        t = len(hi_edge)
        if s == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        counts = np.diff(self.offsets)
        if len(self.ts) == 0:
            z = np.zeros(s * t, dtype=np.int64)
            return z, z
        if t == 1 and int(self.ts.min()) >= int(lo_edge[0]) and int(self.ts.max()) <= int(hi_edge[0]):
            return self.offsets[:-1].copy(), self.offsets[1:].copy()
        base = min(int(self.ts.min()), int(lo_edge.min()))
        span = max(int(self.ts.max()), int(hi_edge.max())) - base + 2
        rows = np.arange(s, dtype=np.int64)
        if span * (s + 1) < (1 << 62):
            key = np.repeat(rows * span, counts) + (self.ts - base)
            q_lo = (rows[:, None] * span + (lo_edge - base)[None, :]).ravel()
            q_hi = (rows[:, None] * span + (hi_edge - base)[None, :]).ravel()
            return np.searchsorted(key, q_lo, side="left"), np.searchsorted(key, q_hi, side="right")
        lo = np.empty(s * t, dtype=np.int64)
        hi = np.empty(s * t, dtype=np.int64)
        for i in range(s):
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            seg = self.ts[a:b]
            lo[i * t : (i + 1) * t] = a + np.searchsorted(seg, lo_edge, side="left")
            hi[i * t : (i + 1) * t] = a + np.searchsorted(seg, hi_edge, side="right")
        return lo, hi


Value = Vector | Scalar | String | RangeVector


@dataclass
class QueryResult:
    """``result_type`` is Prometheus' resultType; ``value`` holds:

    - vector: list of (labels, t_ms, value)
    - matrix: list of (labels, [t_ms...], [value...])  sorted by labels for range queries
    - scalar / string: (t_ms, value)
    """

    result_type: str
    value: Any
    warnings: list[str] = field(default_factory=list)


def merge_rows(vec: Vector, *, strict: bool = False) -> Vector:
    """Merge series with the same label set (as Prometheus assembles a result); two of them with a
    value at the same step (or at all, when ``strict``) is Prometheus' duplicate-labelset error.
    Series without any value are dropped."""
    if len(vec) == 0:
        return vec
    alive = np.asarray(vec.present.any(axis=1), dtype=bool)
    first: dict[Labels, int] = {}
    dups: list[int] = []
    for i, lset in enumerate(vec.labels):
        if not alive[i]:
            continue
        if lset in first:
            dups.append(i)
        else:
            first[lset] = i
    if not dups:
        if alive.all():
            return vec
        return vec.take(np.flatnonzero(alive))
    values = vec.values.copy()
    present = vec.present.copy()
    for i in dups:
        j = first[vec.labels[i]]
        if strict or (present[j] & vec.present[i]).any():
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        values[j] = np.where(vec.present[i], vec.values[i], values[j])
        present[j] |= vec.present[i]
    keep = sorted(first.values())
    idx = np.array(keep, dtype=np.int64)
    return Vector([vec.labels[i] for i in keep], values[idx], present[idx])
