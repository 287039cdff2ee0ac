"""Range-vector functions, vectorised across evaluation steps.

Each function receives one series' samples (stale markers already removed), the window bounds per step
(``lo``/``hi`` indexes into the samples; a window is ``[eff - range, eff]`` inclusive, as in Prometheus
2.x) and returns ``(values, present)`` per step. Where Prometheus accumulates with Kahan/Neumaier or in a
particular order, we loop over the position inside the window and vectorise across windows, so the float
arithmetic is the same as Prometheus'.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass
class Window:
    ts: I64  # sample timestamps (ms)
    vs: F64  # sample values
    lo: I64  # first index per step
    hi: I64  # one past the last index per step
    eff: I64  # effective evaluation time per step (after @ / offset), ms
    outer: I64  # the step's own timestamp (enh.Ts), ms
    range_ms: int
    args: list[F64]  # scalar arguments per step (in call order, excluding the matrix)

    @property
    def n(self) -> I64:
        return self.hi - self.lo


def _positions(w: Window) -> Iterator[tuple[B, I64]]:
    n = w.n
    top = int(n.max()) if len(n) else 0
    for k in range(top):
        active = n > k
        yield active, np.where(active, w.lo + k, 0)


def _kahan_inc(inc: F64, total: F64, c: F64) -> tuple[F64, F64]:
    t = total + inc
    c2 = c + np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total)
    return t, c2


def _safe(arr: F64, idx: I64) -> F64:
    if len(arr) == 0:
        return np.zeros(len(idx), dtype=np.float64)
    return arr[np.clip(idx, 0, len(arr) - 1)]


def _safe_t(arr: I64, idx: I64) -> I64:
    if len(arr) == 0:
        return np.zeros(len(idx), dtype=np.int64)
    return arr[np.clip(idx, 0, len(arr) - 1)]


def _counter_corrections(w: Window, ok: B) -> F64:
    """Per window, the sum of the values just before each counter reset inside it (what
    Prometheus adds back to last - first). Few windows with resets: summed in Prometheus' order;
    many: from per-series prefix sums (differences only in the last bits)."""
    out = np.zeros(len(w.lo))
    drops = w.vs[1:] < w.vs[:-1]  # drops[i]: a reset at sample i+1
    if not drops.any():
        return out
    cum = np.concatenate([[0], np.cumsum(drops)])
    last = len(cum) - 1
    counts = np.where(ok, cum[np.clip(w.hi - 1, 0, last)] - cum[np.clip(w.lo, 0, last)], 0)
    affected = np.flatnonzero(counts > 0)
    if len(affected) <= 2000:
        for win in affected.tolist():
            lo, hi = int(w.lo[win]), int(w.hi[win])
            seg = w.vs[lo:hi]
            acc = 0.0
            for j in np.nonzero(seg[1:] < seg[:-1])[0].tolist():
                acc += float(seg[j])
            out[win] = acc
        return out
    dropped = np.concatenate([np.where(drops, w.vs[:-1], 0.0), [0.0]])
    prefix = np.concatenate([[0.0], np.cumsum(dropped)])
    # corrections of samples lo .. hi-2 (the reset happening at lo+1 .. hi-1)
    sel = affected
    out[sel] = prefix[w.hi[sel] - 1] - prefix[w.lo[sel]]
    return out


def extrapolated_rate(w: Window, is_counter: bool, is_rate: bool) -> tuple[F64, B]:
    n = w.n
    ok = n >= 2
    first_i = w.lo
    last_i = w.hi - 1
    first_v = _safe(w.vs, first_i)
    last_v = _safe(w.vs, last_i)
    first_t = _safe_t(w.ts, first_i)
    last_t = _safe_t(w.ts, last_i)
    result = last_v - first_v
    if is_counter and len(w.vs) > 1:
        result = result + _counter_corrections(w, ok)
    range_start = w.eff - w.range_ms
    range_end = w.eff
    dur_start = (first_t - range_start) / 1000.0
    dur_end = (range_end - last_t) / 1000.0
    sampled = (last_t - first_t) / 1000.0
    with np.errstate(all="ignore"):
        avg = sampled / np.maximum(n - 1, 1)
        if is_counter:
            cond = (result > 0) & (first_v >= 0)
            to_zero = sampled * (first_v / result)
            dur_start = np.where(cond & (to_zero < dur_start), to_zero, dur_start)
        threshold = avg * 1.1
        interval = sampled.copy()
        interval += np.where(dur_start < threshold, dur_start, avg / 2)
        interval += np.where(dur_end < threshold, dur_end, avg / 2)
        factor = interval / sampled
        if is_rate:
            factor = factor / (w.range_ms / 1000.0)
        result = result * factor
    return result, ok


def instant_value(w: Window, is_rate: bool) -> tuple[F64, B]:
    ok = w.n >= 2
    last_v = _safe(w.vs, w.hi - 1)
    prev_v = _safe(w.vs, w.hi - 2)
    last_t = _safe_t(w.ts, w.hi - 1)
    prev_t = _safe_t(w.ts, w.hi - 2)
    with np.errstate(all="ignore"):
        result = np.where(is_rate & (last_v < prev_v), last_v, last_v - prev_v)
        interval = last_t - prev_t
        ok = ok & (interval != 0)
        if is_rate:
            result = result / (interval / 1000.0)
    return result, ok


def f_rate(w: Window) -> tuple[F64, B]:
    return extrapolated_rate(w, True, True)


def f_increase(w: Window) -> tuple[F64, B]:
    return extrapolated_rate(w, True, False)


def f_delta(w: Window) -> tuple[F64, B]:
    return extrapolated_rate(w, False, False)


def f_irate(w: Window) -> tuple[F64, B]:
    return instant_value(w, True)


def f_idelta(w: Window) -> tuple[F64, B]:
    return instant_value(w, False)


def f_count_over_time(w: Window) -> tuple[F64, B]:
    return w.n.astype(np.float64), w.n > 0


def f_present_over_time(w: Window) -> tuple[F64, B]:
    return np.ones(len(w.n), dtype=np.float64), w.n > 0


def f_last_over_time(w: Window) -> tuple[F64, B]:
    return _safe(w.vs, w.hi - 1), w.n > 0


def f_sum_over_time(w: Window) -> tuple[F64, B]:
    total = np.zeros(len(w.n))
    c = np.zeros(len(w.n))
    with np.errstate(all="ignore"):
        for active, idx in _positions(w):
            t2, c2 = _kahan_inc(w.vs[idx], total, c)
            total = np.where(active, t2, total)
            c = np.where(active, c2, c)
        return np.where(np.isinf(total), total, total + c), w.n > 0


def f_avg_over_time(w: Window) -> tuple[F64, B]:
    mean = np.zeros(len(w.n))
    c = np.zeros(len(w.n))
    with np.errstate(all="ignore"):
        for k, (active, idx) in enumerate(_positions(w)):
            count = float(k + 1)
            v = w.vs[idx]
            mean_inf = np.isinf(mean)
            v_inf = np.isinf(v)
            skip = mean_inf & ((v_inf & ((mean > 0) == (v > 0))) | (~v_inf & ~np.isnan(v)))
            m2, c2 = _kahan_inc(v / count - mean / count, mean, c)
            upd = active & ~skip
            mean = np.where(upd, m2, mean)
            c = np.where(upd, c2, c)
        return np.where(np.isinf(mean), mean, mean + c), w.n > 0


_SPARSE_TABLE_LIMIT = 1 << 25  # elements of all levels together


def _extreme(w: Window, is_max: bool) -> tuple[F64, B]:
    n = w.n
    longest = int(n.max()) if len(n) else 0
    levels = max(longest, 1).bit_length()
    if longest > 8 and len(w.vs) * levels <= _SPARSE_TABLE_LIMIT:
        # A sparse table: level j holds the extreme of every run of 2**j samples, so any window is
        # the extreme of two overlapping runs. fmax/fmin skip NaN like Prometheus' loop does (the
        # result is NaN only when every value is).
        pick = np.fmax if is_max else np.fmin
        table = [w.vs]
        for lvl in range(1, levels):
            prev = table[-1]
            half = 1 << (lvl - 1)
            table.append(pick(prev[:-half], prev[half:]))
        ok = n > 0
        run = np.floor(np.log2(np.maximum(n, 1))).astype(np.int64)
        out = np.full(len(n), np.nan)
        for level in np.unique(run[ok]).tolist():
            sel = np.flatnonzero(ok & (run == level))
            arr = table[level]
            out[sel] = pick(arr[w.lo[sel]], arr[w.hi[sel] - (1 << level)])
        return out, ok
    cur = _safe(w.vs, w.lo)
    for active, idx in _positions(w):
        v = w.vs[idx]
        better = (v > cur) if is_max else (v < cur)
        cur = np.where(active & (better | np.isnan(cur)), v, cur)
    return cur, w.n > 0


def f_max_over_time(w: Window) -> tuple[F64, B]:
    return _extreme(w, True)


def f_min_over_time(w: Window) -> tuple[F64, B]:
    return _extreme(w, False)


def _variance(w: Window) -> F64:
    n = len(w.n)
    mean, c_mean, aux, c_aux = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    with np.errstate(all="ignore"):
        for k, (active, idx) in enumerate(_positions(w)):
            count = float(k + 1)
            v = w.vs[idx]
            delta = v - (mean + c_mean)
            m2, cm2 = _kahan_inc(delta / count, mean, c_mean)
            a2, ca2 = _kahan_inc(delta * (v - (m2 + cm2)), aux, c_aux)
            mean = np.where(active, m2, mean)
            c_mean = np.where(active, cm2, c_mean)
            aux = np.where(active, a2, aux)
            c_aux = np.where(active, ca2, c_aux)
        result: F64 = (aux + c_aux) / np.maximum(w.n, 1)
    return result


def f_stdvar_over_time(w: Window) -> tuple[F64, B]:
    return _variance(w), w.n > 0


def f_stddev_over_time(w: Window) -> tuple[F64, B]:
    with np.errstate(all="ignore"):
        return np.sqrt(_variance(w)), w.n > 0


def quantile(q: float, values: F64) -> float:
    """Prometheus' ``quantile`` (linear interpolation between closest ranks)."""
    if len(values) == 0 or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(values)  # NaN sorts last in numpy, first in Go: handled below
    nans = int(np.isnan(ordered).sum())
    if nans:
        ordered = np.concatenate([ordered[len(ordered) - nans :], ordered[: len(ordered) - nans]])
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return float(ordered[int(lower)]) * (1 - weight) + float(ordered[int(upper)]) * weight


def sorted_windows(w: Window, chunk: int = 1 << 20) -> tuple[F64, I64]:
    """Each window's values in Go's float order (NaN first), padded at the end: a (windows, width)
    matrix, built in chunks so long range queries stay within memory."""
    n = w.n
    width = int(n.max()) if len(n) else 0
    out = np.empty((len(n), width))
    if width == 0:
        return out, n
    rows_per_chunk = max(1, chunk // width)
    cols = np.arange(width)
    for start in range(0, len(n), rows_per_chunk):
        stop = min(start + rows_per_chunk, len(n))
        inside = cols[None, :] < n[start:stop, None]
        idx = np.where(inside, w.lo[start:stop, None] + cols[None, :], 0)
        vals = w.vs[idx] if len(w.vs) else np.zeros(idx.shape)
        # Sort keys: padding last, NaN first (Go's sort.Float64s), then by value.
        group = np.where(inside, np.where(np.isnan(vals), 0, 1), 2)
        order = np.lexsort((np.where(np.isnan(vals), 0.0, vals), group), axis=1)
        out[start:stop] = np.take_along_axis(vals, order, axis=1)
    return out, n


def quantile_sorted(q: F64, ordered: F64, n: I64) -> F64:
    """Prometheus' ``quantile`` on per-row sorted values (``n`` valid entries per row)."""
    res = np.full(len(n), np.nan)
    ok = n > 0
    with np.errstate(all="ignore"):
        nf = n.astype(np.float64)
        rank = q * (nf - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(nf - 1, lower + 1)
        weight = rank - np.floor(rank)
        rows = np.arange(len(n))
        li = np.clip(np.nan_to_num(lower), 0, max(ordered.shape[1] - 1, 0)).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, max(ordered.shape[1] - 1, 0)).astype(np.int64)
        if ordered.shape[1]:
            val = ordered[rows, li] * (1 - weight) + ordered[rows, ui] * weight
            res = np.where(ok, val, np.nan)
    res = np.where(ok & np.isnan(q), np.nan, res)
    res = np.where(ok & (q < 0), -np.inf, res)
    res = np.where(ok & (q > 1), np.inf, res)
    return res


def f_quantile_over_time(w: Window) -> tuple[F64, B]:
    ordered, n = sorted_windows(w)
    return quantile_sorted(w.args[0], ordered, n), n > 0


def _count_flags(w: Window, flags: B) -> F64:
    cum = np.concatenate([[0], np.cumsum(flags)])  # cum[i] = flags before sample i
    hi = np.clip(w.hi - 1, 0, max(len(cum) - 1, 0))
    lo = np.clip(w.lo, 0, max(len(cum) - 1, 0))
    counts = np.where(w.n > 0, cum[hi] - cum[lo], 0)
    return counts.astype(np.float64)


def f_changes(w: Window) -> tuple[F64, B]:
    vs = w.vs
    flags = (vs[1:] != vs[:-1]) & ~(np.isnan(vs[1:]) & np.isnan(vs[:-1]))
    return _count_flags(w, flags), w.n > 0


def f_resets(w: Window) -> tuple[F64, B]:
    vs = w.vs
    return _count_flags(w, vs[1:] < vs[:-1]), w.n > 0


def _linear_regression(w: Window, intercept_time: I64) -> tuple[F64, F64]:
    size = len(w.n)
    n = np.zeros(size)
    sx, cx, sy, cy, sxy, cxy, sx2, cx2 = (np.zeros(size) for _ in range(8))
    init_y = _safe(w.vs, w.lo)
    const_y = np.ones(size, dtype=bool)
    with np.errstate(all="ignore"):
        for k, (active, idx) in enumerate(_positions(w)):
            v = w.vs[idx]
            if k > 0:
                const_y &= ~active | (v == init_y)
            x = (w.ts[idx] - intercept_time) / 1e3
            n = np.where(active, n + 1.0, n)
            for acc_i, inc in ((0, x), (1, v), (2, x * v), (3, x * x)):
                tot, cc = ((sx, cx), (sy, cy), (sxy, cxy), (sx2, cx2))[acc_i]
                t2, c2 = _kahan_inc(inc, tot, cc)
                tot2 = np.where(active, t2, tot)
                cc2 = np.where(active, c2, cc)
                if acc_i == 0:
                    sx, cx = tot2, cc2
                elif acc_i == 1:
                    sy, cy = tot2, cc2
                elif acc_i == 2:
                    sxy, cxy = tot2, cc2
                else:
                    sx2, cx2 = tot2, cc2
        sumx, sumy, sumxy, sumx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
        cov = sumxy - sumx * sumy / n
        var = sumx2 - sumx * sumx / n
        slope = cov / var
        intercept = sumy / n - slope * sumx / n
        inf_y = np.isinf(init_y)
        slope = np.where(const_y, np.where(inf_y, math.nan, 0.0), slope)
        intercept = np.where(const_y, np.where(inf_y, math.nan, init_y), intercept)
    return slope, intercept


def f_deriv(w: Window) -> tuple[F64, B]:
    slope, _ = _linear_regression(w, _safe_t(w.ts, w.lo))
    return slope, w.n >= 2


def f_predict_linear(w: Window) -> tuple[F64, B]:
    slope, intercept = _linear_regression(w, w.outer)
    with np.errstate(all="ignore"):
        return slope * w.args[0] + intercept, w.n >= 2


def f_holt_winters(w: Window) -> tuple[F64, B]:
    """Prometheus 2.x ``holt_winters`` (double exponential smoothing), window by window in step."""
    sf, tf = w.args
    n = w.n
    s1 = _safe(w.vs, w.lo)
    b = _safe(w.vs, w.lo + 1) - s1
    s0 = np.zeros(len(n))
    with np.errstate(all="ignore"):
        for i in range(1, int(n.max()) if len(n) else 0):
            active = n > i
            x = sf * _safe(w.vs, w.lo + i)
            if i > 1:
                b = np.where(active, tf * (s1 - s0) + (1 - tf) * b, b)
            y = (1 - sf) * (s1 + b)
            s0, s1 = np.where(active, s1, s0), np.where(active, x + y, s1)
    return s1, n >= 2


RANGE_FUNCTIONS: dict[str, Callable[[Window], tuple[F64, B]]] = {
    "rate": f_rate,
    "increase": f_increase,
    "delta": f_delta,
    "irate": f_irate,
    "idelta": f_idelta,
    "count_over_time": f_count_over_time,
    "present_over_time": f_present_over_time,
    "last_over_time": f_last_over_time,
    "sum_over_time": f_sum_over_time,
    "avg_over_time": f_avg_over_time,
    "max_over_time": f_max_over_time,
    "min_over_time": f_min_over_time,
    "stddev_over_time": f_stddev_over_time,
    "stdvar_over_time": f_stdvar_over_time,
    "quantile_over_time": f_quantile_over_time,
    "changes": f_changes,
    "resets": f_resets,
    "deriv": f_deriv,
    "predict_linear": f_predict_linear,
    "holt_winters": f_holt_winters,
}
