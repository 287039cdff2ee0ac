"""Aggregation operators over a whole vector at once: rows are sorted by group so every group is a
contiguous block, then numpy's ``reduceat`` does each aggregate for all groups and steps."""

from __future__ import annotations

import math

import numpy as np

from flightdeck.tsdb.labels import LABEL_NAME_RE, METRIC_NAME, Labels
from flightdeck.tsdb.promql import rangefuncs
from flightdeck.tsdb.promql.errors import ExecutionError
from flightdeck.tsdb.promql.values import F64, I64, B, Vector
from flightdeck.util.gofmt import format_float

# Beyond this many members per group, the incremental mean/variance loop is replaced by the
# two-pass formulas (same value up to the last bits; Prometheus' loop is per member).
_INCREMENTAL_LIMIT = 64


def group_key(lset: Labels, grouping: list[str], without: bool) -> Labels:
    if without:
        drop = set(grouping) | {METRIC_NAME}
        return tuple(p for p in lset if p[0] not in drop)
    keep = set(grouping)
    return tuple(p for p in lset if p[0] in keep)


def group_rows(labels: list[Labels], grouping: list[str], without: bool) -> tuple[list[Labels], I64]:
    """(group label sets in first-seen order, group index of every row)."""
    index: dict[Labels, int] = {}
    keys: list[Labels] = []
    out = np.empty(len(labels), dtype=np.int64)
    cache: dict[Labels, Labels] = {}
    for i, lset in enumerate(labels):
        key = cache.get(lset)
        if key is None:
            key = group_key(lset, grouping, without)
            cache[lset] = key
        g = index.get(key)
        if g is None:
            g = len(keys)
            index[key] = g
            keys.append(key)
        out[i] = g
    return keys, out


def _blocks(g: I64) -> tuple[I64, I64, I64]:
    """Stable order putting groups together, the start of each block and its group id."""
    order = np.argsort(g, kind="stable")
    sg = g[order]
    starts = np.concatenate([[0], np.flatnonzero(sg[1:] != sg[:-1]) + 1]).astype(np.int64)
    return order, starts, sg[starts]


def aggregate_simple(op: str, vec: Vector, grouping: list[str], without: bool) -> Vector:
    """sum avg min max count group stddev stdvar."""
    steps = vec.values.shape[1]
    if len(vec) == 0:
        return Vector.empty(steps)
    keys, g = group_rows(vec.labels, grouping, without)
    order, starts, gids = _blocks(g)
    v = vec.values[order]
    m = vec.present[order]
    count = np.add.reduceat(m.astype(np.float64), starts, axis=0)
    started = count > 0
    with np.errstate(all="ignore"):
        if op == "sum":
            value = _sequential_sum(np.where(m, v, -0.0), starts)
        elif op == "count":
            value = count
        elif op == "group":
            value = np.ones_like(count)
        elif op == "max":
            value = np.fmax.reduceat(np.where(m, v, -np.inf), starts, axis=0)
            value = np.where(np.add.reduceat(m & ~np.isnan(v), starts, axis=0) > 0, value, np.nan)
        elif op == "min":
            value = np.fmin.reduceat(np.where(m, v, np.inf), starts, axis=0)
            value = np.where(np.add.reduceat(m & ~np.isnan(v), starts, axis=0) > 0, value, np.nan)
        elif op in ("avg", "stddev", "stdvar"):
            sizes = np.diff(np.concatenate([starts, [len(order)]]))
            finite = np.isfinite(np.where(m, v, 0.0))
            if int(sizes.max()) <= _INCREMENTAL_LIMIT or not bool(
                (np.abs(np.where(m & finite, v, 0.0)) < 1e300).all()
            ):
                value = _incremental(op, v, m, starts, sizes, steps)
            elif op == "avg":
                value = np.add.reduceat(np.where(m, v, 0.0), starts, axis=0) / count
            else:
                mean = np.add.reduceat(np.where(m, v, 0.0), starts, axis=0) / count
                dev = np.where(m, v - np.repeat(mean, sizes, axis=0), 0.0)
                value = np.add.reduceat(dev * dev, starts, axis=0) / count
                if op == "stddev":
                    value = np.sqrt(value)
        else:
            raise ExecutionError(f"unknown aggregation {op}")
    labels = [keys[i] for i in gids.tolist()]
    return Vector(labels, value, started)


def _sequential_sum(v: F64, starts: I64) -> F64:
    """Each block of rows summed strictly in row order, as Prometheus adds series one by one
    (numpy's reductions may pair terms up, which changes the last bits). -0.0 fills the gaps: it is
    the exact identity of IEEE addition."""
    sizes = np.diff(np.concatenate([starts, [len(v)]]))
    if len(starts) <= int(sizes.max()):
        out = np.empty((len(starts), v.shape[1]))
        for gi, (a, n) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
            out[gi] = np.cumsum(v[a : a + n], axis=0)[-1]
        return out
    # Many small groups: add member k of every group in one step.
    out = v[starts].copy()
    for k in range(1, int(sizes.max())):
        members = np.flatnonzero(sizes > k)
        out[members] += v[starts[members] + k]
    return out


def _incremental(op: str, v: F64, m: B, starts: I64, sizes: I64, steps: int) -> F64:
    """Prometheus' per-member update rules, vectorised across groups and steps: member k of every
    group in one pass."""
    n_groups = len(starts)
    mean = np.zeros((n_groups, steps))
    value = np.zeros((n_groups, steps))
    count = np.zeros((n_groups, steps))
    for k in range(int(sizes.max())):
        has = sizes > k
        gi = np.flatnonzero(has)
        rows = starts[gi] + k
        x = v[rows]
        p = m[rows]
        c = count[gi] + p
        count[gi] = c
        cur = mean[gi]
        if op == "avg":
            first = p & (c == 1)
            mean_inf = np.isinf(cur)
            x_inf = np.isinf(x)
            skip = mean_inf & ((x_inf & ((cur > 0) == (x > 0))) | (~x_inf & ~np.isnan(x)))
            upd = p & ~first & ~skip
            new = np.where(first, x, np.where(upd, cur + x / c - cur / c, cur))
            mean[gi] = new
        else:
            first = p & (c == 1)
            delta = x - np.where(first, 0.0, cur)
            new_mean = np.where(first, x, cur + delta / np.where(c == 0, 1, c))
            val = value[gi]
            value[gi] = np.where(first, 0.0, np.where(p, val + delta * (x - new_mean), val))
            mean[gi] = np.where(p, new_mean, cur)
    if op == "avg":
        return mean
    var = value / count
    return np.sqrt(var) if op == "stddev" else var


def aggregate_topk(op: str, param: F64, vec: Vector, grouping: list[str], without: bool) -> Vector:
    steps = vec.values.shape[1]
    for k_f in param.tolist():
        if math.isnan(k_f) or abs(k_f) >= 2**63:
            raise ExecutionError(f"Scalar value {format_float(k_f)} overflows int64")
    if len(vec) == 0:
        return Vector.empty(steps)
    k = np.trunc(param).astype(np.int64)
    _, g = group_rows(vec.labels, grouping, without)
    selected = np.zeros_like(vec.present)
    order, starts, _ = _blocks(g)
    ends = np.concatenate([starts[1:], [len(order)]])
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        rows = order[a:b]
        v = vec.values[rows]
        p = vec.present[rows]
        nan = np.isnan(v)
        # Best first; NaN ranks last in both directions; missing values after everything.
        primary = np.where(nan, 0.0, -v if op == "topk" else v)
        rank_group = np.where(p, np.where(nan, 1, 0), 2)
        pos = np.lexsort((primary, rank_group), axis=0)
        rank = np.empty_like(pos)
        np.put_along_axis(rank, pos, np.arange(len(rows))[:, None].repeat(steps, axis=1), axis=0)
        selected[rows] = p & (rank < k[None, :])
    keep = np.flatnonzero(selected.any(axis=1))
    if steps == 1 and len(keep):
        # An instant result lists each group's picks best first, groups in order of appearance.
        v = vec.values[keep, 0]
        nan = np.isnan(v)
        keep = keep[np.lexsort((np.where(nan, 0.0, -v if op == "topk" else v), nan, g[keep]))]
    return Vector([vec.labels[i] for i in keep.tolist()], vec.values[keep], selected[keep])


def aggregate_quantile(param: F64, vec: Vector, grouping: list[str], without: bool) -> Vector:
    steps = vec.values.shape[1]
    if len(vec) == 0:
        return Vector.empty(steps)
    keys, g = group_rows(vec.labels, grouping, without)
    order, starts, gids = _blocks(g)
    ends = np.concatenate([starts[1:], [len(order)]])
    values = np.full((len(starts), steps), np.nan)
    present = np.zeros((len(starts), steps), dtype=bool)
    for gi, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        rows = order[a:b]
        v = vec.values[rows].T  # (steps, members)
        p = vec.present[rows].T
        group = np.where(p, np.where(np.isnan(v), 0, 1), 2)
        srt = np.lexsort((np.where(np.isnan(v), 0.0, v), group), axis=1)
        ordered = np.take_along_axis(v, srt, axis=1)
        n = p.sum(axis=1).astype(np.int64)
        values[gi] = rangefuncs.quantile_sorted(param, ordered, n)
        present[gi] = n > 0
    return Vector([keys[i] for i in gids.tolist()], values, present)


def aggregate_count_values(label: str, vec: Vector, grouping: list[str], without: bool) -> Vector:
    steps = vec.values.shape[1]
    if not LABEL_NAME_RE.match(label):
        raise ExecutionError(f'invalid label name "{label}"')
    rows, cols = np.nonzero(vec.present)
    if len(rows) == 0:
        return Vector.empty(steps)
    bits = vec.values[rows, cols].view(np.uint64)
    # Distinct (series' group, value) pairs; each value formatted once.
    base_keys: list[Labels] = []
    base_index: dict[Labels, int] = {}
    row_group = np.empty(len(vec), dtype=np.int64)
    others = [n for n in grouping if n != label]
    add_value = not (without and label in grouping)
    for i, lset in enumerate(vec.labels):
        # The value label replaces any existing one, then grouping applies as usual.
        key = group_key(tuple(p for p in lset if p[0] != label), others if not without else grouping, without)
        gi = base_index.get(key)
        if gi is None:
            gi = len(base_keys)
            base_index[key] = gi
            base_keys.append(key)
        row_group[i] = gi
    pairs = np.stack([row_group[rows].astype(np.uint64), bits], axis=1)
    uniq, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    # Prometheus lists the (group, value) pairs in order of first appearance (series by series).
    appearance = np.lexsort((cols[first], rows[first]))
    remap = np.empty(len(uniq), dtype=np.int64)
    remap[appearance] = np.arange(len(uniq))
    uniq, inverse = uniq[appearance], remap[inverse]
    out_values = np.zeros((len(uniq), steps))
    np.add.at(out_values, (inverse, cols), 1.0)
    labels: list[Labels] = []
    for gi, b in uniq.tolist():
        text = format_float(float(np.array([b], dtype=np.uint64).view(np.float64)[0]))
        extra = ((label, text),) if add_value else ()
        labels.append(tuple(sorted((*base_keys[int(gi)], *extra))))
    return Vector(labels, out_values, out_values > 0)
