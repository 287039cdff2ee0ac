"""Instant-vector functions: math, clamping, dates, labels, sorting and ``histogram_quantile``."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable

import numpy as np

from flightdeck.tsdb.labels import LABEL_NAME_RE, METRIC_NAME, Labels, drop_metric_name, get
from flightdeck.tsdb.promql.errors import ExecutionError
from flightdeck.tsdb.promql.values import F64, Vector, merge_rows
from flightdeck.tsdb.regex import RegexError, compile_anchored, expand_template

SIMPLE: dict[str, Callable[[F64], F64]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "sgn": lambda v: np.where(v < 0, -1.0, np.where(v > 0, 1.0, v)),
    "acos": np.arccos,
    "acosh": np.arccosh,
    "asin": np.arcsin,
    "asinh": np.arcsinh,
    "atan": np.arctan,
    "atanh": np.arctanh,
    "cos": np.cos,
    "cosh": np.cosh,
    "sin": np.sin,
    "sinh": np.sinh,
    "tan": np.tan,
    "tanh": np.tanh,
    "deg": lambda v: v * 180 / math.pi,
    "rad": lambda v: v * math.pi / 180,
}
# Prometheus 2.42's functions (its parser knows no others).
PROMETHEUS_2_FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "cos",
        "cosh",
        "count_over_time",
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "deg",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_count",
        "histogram_sum",
        "histogram_fraction",
        "histogram_quantile",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_replace",
        "label_join",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "pi",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rad",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sin",
        "sinh",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "tan",
        "tanh",
        "time",
        "timestamp",
        "vector",
        "year",
    ]
)
DATE_FUNCTIONS = (
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def apply_simple(name: str, vec: Vector) -> Vector:
    with np.errstate(all="ignore"):
        values = SIMPLE[name](vec.values)
    return merge_rows(Vector([drop_metric_name(x) for x in vec.labels], values, vec.present))


def round_to(vec: Vector, to_nearest: F64) -> Vector:
    with np.errstate(all="ignore"):
        inv = 1.0 / to_nearest[None, :]
        values = np.floor(vec.values * inv + 0.5) / inv
    return merge_rows(Vector([drop_metric_name(x) for x in vec.labels], values, vec.present))


def clamp(vec: Vector, lo: F64 | None, hi: F64 | None) -> Vector:
    v = vec.values
    ok = np.ones(v.shape[1], dtype=bool)
    with np.errstate(all="ignore"):
        if lo is not None and hi is not None:
            ok = ~(hi < lo)
        if hi is not None:
            v = np.where(np.isnan(hi[None, :]) | np.isnan(v), math.nan, np.minimum(hi[None, :], v))
        if lo is not None:
            v = np.where(np.isnan(lo[None, :]) | np.isnan(v), math.nan, np.maximum(lo[None, :], v))
    return merge_rows(Vector([drop_metric_name(x) for x in vec.labels], v, vec.present & ok[None, :]))


def date_part(name: str, seconds: F64) -> F64:
    """Go's ``time.Unix(int64(v), 0).UTC()`` fields, vectorised through numpy's datetime64."""
    out = np.full(seconds.shape, math.nan)
    ok = np.isfinite(seconds)
    if not ok.any():
        return out
    secs = np.trunc(seconds[ok]).astype(np.int64)
    days = np.floor_divide(secs, 86400)
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]")
    month = d.astype("datetime64[M]")
    if name == "year":
        res = year.astype(np.int64) + 1970
    elif name == "month":
        res = (month - year).astype(np.int64) + 1
    elif name == "day_of_month":
        res = (d - month).astype(np.int64) + 1
    elif name == "day_of_year":
        res = (d - year).astype(np.int64) + 1
    elif name == "day_of_week":
        res = (days + 4) % 7  # 1970-01-01 was a Thursday
    elif name == "days_in_month":
        res = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
    elif name == "hour":
        res = np.floor_divide(np.mod(secs, 86400), 3600)
    else:
        res = np.floor_divide(np.mod(secs, 3600), 60)
    out[ok] = res.astype(np.float64)
    return out


def label_replace(vec: Vector, dst: str, repl: str, src: str, regex: str) -> Vector:
    try:
        pattern = compile_anchored(regex)
    except RegexError as exc:
        raise ExecutionError(f"invalid regular expression in label_replace(): {regex}") from exc
    if not LABEL_NAME_RE.match(dst):
        raise ExecutionError(f"invalid destination label name in label_replace(): {dst}")
    labels: list[Labels] = []
    for lset in vec.labels:
        m = pattern.fullmatch(get(lset, src))
        if m is not None:
            res = expand_template(repl, m)
            lb = {k: v for k, v in lset if k != dst}
            if res:
                lb[dst] = res
            lset = tuple(sorted(lb.items()))
        labels.append(lset)
    return merge_rows(Vector(labels, vec.values, vec.present))


def label_join(vec: Vector, dst: str, sep: str, srcs: list[str]) -> Vector:
    for src in srcs:
        if not LABEL_NAME_RE.match(src):
            raise ExecutionError(f"invalid source label name in label_join(): {src}")
    if not LABEL_NAME_RE.match(dst):
        raise ExecutionError(f"invalid destination label name in label_join(): {dst}")
    labels: list[Labels] = []
    for lset in vec.labels:
        joined = sep.join(get(lset, src) for src in srcs)
        lb = {k: v for k, v in lset if k != dst}
        if joined:
            lb[dst] = joined
        labels.append(tuple(sorted(lb.items())))
    return merge_rows(Vector(labels, vec.values, vec.present))


def sort_vector(vec: Vector, descending: bool) -> Vector:
    """Only meaningful for instant queries (one step): NaN sorts last either way."""
    if vec.values.shape[1] != 1:
        return vec
    rows = np.flatnonzero(vec.present[:, 0])
    v = vec.values[rows, 0]
    nan = np.isnan(v)
    order = np.lexsort((np.where(nan, 0.0, -v if descending else v), nan))
    return vec.take(rows[order])


def parse_go_float(text: str) -> float | None:
    """``strconv.ParseFloat(s, 64)`` for the forms bucket bounds take."""
    if not text or "_" in text or text.strip() != text:
        return None
    lowered = text.lower().lstrip("+-")
    if lowered in ("inf", "infinity", "nan"):
        return float(text)
    try:
        if lowered.startswith("0x"):
            return float.fromhex(text)
        return float(text)
    except ValueError:
        return None


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' ``bucketQuantile`` over classic (upper bound, cumulative count) buckets."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    merged: list[list[float]] = []
    for ub, count in buckets:
        if merged and merged[-1][0] == ub:
            merged[-1][1] += count
        else:
            merged.append([ub, count])
    top = merged[0][1]
    for bucket in merged[1:]:
        if bucket[1] > top:
            top = bucket[1]
        elif bucket[1] < top:
            bucket[1] = top
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = len(merged) - 1
    for i in range(len(merged) - 1):
        if merged[i][1] >= rank:
            b = i
            break
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start = 0.0
    end = merged[b][0]
    count = merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * _go_div(rank, count)


def _go_div(a: float, b: float) -> float:
    """IEEE division like Go's (no exception on a zero divisor)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _bucket_quantile_steps(q: F64, ubs: F64, counts: F64) -> F64:
    """``bucket_quantile`` for every step at once; ``ubs`` sorted, distinct, ending in +Inf, and
    every bucket present at every step. ``counts`` is (buckets, steps)."""
    if len(ubs) < 2:
        res = np.full(counts.shape[1], math.nan)
        return np.where(np.isnan(q), math.nan, np.where(q < 0, -math.inf, np.where(q > 1, math.inf, res)))
    with np.errstate(all="ignore"):
        # ensureMonotonic, bucket by bucket like Prometheus (a NaN leaves things as they are).
        c = counts.copy()
        top = c[0].copy()
        for i in range(1, len(c)):
            x = counts[i]
            c[i] = np.where(x < top, top, x)
            top = np.where(x > top, x, top)
        nb, steps = c.shape
        observations = c[-1]
        rank = q * observations
        below = c[:-1] >= rank[None, :]
        b = np.where(below.any(axis=0), np.argmax(below, axis=0), nb - 1)
        cols = np.arange(steps)
        end = ubs[np.minimum(b, nb - 1)]
        start = np.where(b > 0, ubs[np.maximum(b - 1, 0)], 0.0)
        count = c[np.minimum(b, nb - 1), cols] - np.where(b > 0, c[np.maximum(b - 1, 0), cols], 0.0)
        r = rank - np.where(b > 0, c[np.maximum(b - 1, 0), cols], 0.0)
        res = start + (end - start) * (r / count)
        res = np.where((b == 0) & (ubs[0] <= 0), ubs[0], res)
        res = np.where(b == nb - 1, ubs[nb - 2] if nb >= 2 else math.nan, res)
        res = np.where(observations == 0, math.nan, res)
        res = np.where(q > 1, math.inf, res)
        res = np.where(q < 0, -math.inf, res)
        res = np.where(np.isnan(q), math.nan, res)
    return res


def histogram_quantile(q: F64, vec: Vector) -> Vector:
    steps = vec.values.shape[1]
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, lset in enumerate(vec.labels):
        ub = parse_go_float(get(lset, "le"))
        if ub is None:
            continue
        key = tuple(p for p in lset if p[0] not in ("le", METRIC_NAME))
        groups.setdefault(key, []).append((ub, i))
    labels: list[Labels] = []
    values = np.full((len(groups), steps), math.nan)
    present = np.zeros((len(groups), steps), dtype=bool)
    for gi, (key, members) in enumerate(groups.items()):
        labels.append(key)
        members.sort(key=lambda m: m[0])
        rows = np.array([i for _, i in members], dtype=np.int64)
        ubs = np.array([u for u, _ in members])
        pres = vec.present[rows]
        any_present = pres.any(axis=0)
        present[gi] = any_present
        full = pres.all(axis=0)
        fast = len(np.unique(ubs)) == len(ubs) and math.isinf(ubs[-1]) and ubs[-1] > 0 and bool(full.any())
        if fast:
            cols = np.flatnonzero(full)
            values[gi, cols] = _bucket_quantile_steps(q[cols], ubs, vec.values[rows][:, cols])
        for step in np.flatnonzero(any_present & ~full if fast else any_present).tolist():
            buckets = [(u, float(vec.values[i, step])) for u, i in members if vec.present[i, step]]
            values[gi, step] = bucket_quantile(float(q[step]), buckets)
    return merge_rows(Vector(labels, values, present))


def absent_labels(vs_node: object) -> Labels:
    """Labels ``absent()`` gives: the selector's equality matchers (each name once)."""
    result: dict[str, str] = {}
    has: set[str] = set()
    matchers = getattr(getattr(vs_node, "matchers", None), "matchers", [])
    for m in matchers:
        if m.name == METRIC_NAME:
            continue
        if str(m.op).rsplit(".", 1)[-1] == "Equal" and m.name not in has:
            if m.value:
                result[m.name] = m.value
            else:
                result.pop(m.name, None)
            has.add(m.name)
        else:
            result.pop(m.name, None)
    return tuple(sorted(result.items()))


def epoch_seconds(dt: _dt.datetime) -> float:
    return (dt - _EPOCH).total_seconds()
