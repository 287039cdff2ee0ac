"""The PromQL evaluator.

Like Prometheus' engine, every node is evaluated for all steps at once: an instant vector is a list of
series, each with a value and a presence flag per step (numpy arrays), a scalar is one array of values.
Grouping keys and match signatures depend only on labels, so aggregations and vector matching work per
series and are vectorised across steps; Prometheus' per-step rules (duplicate checks, set operations)
are applied with the presence masks.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import promql_parser

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.labels import (
    LABEL_NAME_RE,
    METRIC_NAME,
    Labels,
    drop_metric_name,
    get,
    labels_string,
)
from flightdeck.tsdb.promql import rangefuncs
from flightdeck.tsdb.promql.errors import (
    ExecutionError,
    QueryParseError,
    QueryTimeoutError,
    UnsupportedError,
)
from flightdeck.tsdb.regex import RegexError, compile_anchored, expand_template
from flightdeck.tsdb.storage import Storage, stale_mask
from flightdeck.util.gofmt import format_float

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MS = _dt.timedelta(milliseconds=1)


# -- values -----------------------------------------------------------------------------------------
@dataclass
class Series:
    labels: Labels
    values: F64
    present: B


@dataclass
class Vector:
    series: list[Series]


@dataclass
class Scalar:
    values: F64


@dataclass
class String:
    value: str


@dataclass
class RangeSeries:
    labels: Labels
    ts: I64
    vs: F64


@dataclass
class RangeVector:
    """The samples behind a matrix selector or subquery, and how to window them per step."""

    series: list[RangeSeries]
    range_ms: int
    eff: I64  # effective evaluation time per step
    selector: Any = None  # the VectorSelector, for absent_over_time's labels


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


# -- helpers ----------------------------------------------------------------------------------------
def _td_ms(td: _dt.timedelta | None) -> int:
    if td is None:
        return 0
    return td // _MS


def _enum_name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


def _unwrap(node: Any) -> Any:
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def _merge(series: list[Series], strict: bool = False) -> list[Series]:
    """Merge series with the same label set (as Prometheus assembles a matrix); two of them present
    at the same step (or at all, when ``strict``) is Prometheus' duplicate-labelset error."""
    out: list[Series] = []
    where: dict[Labels, int] = {}
    for s in series:
        if not s.present.any():
            continue
        i = where.get(s.labels)
        if i is None:
            where[s.labels] = len(out)
            out.append(s)
            continue
        prev = out[i]
        if strict or (prev.present & s.present).any():
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        out[i] = Series(s.labels, np.where(s.present, s.values, prev.values), prev.present | s.present)
    return out


_ARITH = {"+", "-", "*", "/", "%", "^", "atan2"}
_COMPARISON = {"==", "!=", ">", "<", ">=", "<="}
_SET = {"and", "or", "unless"}


def _arith(op: str, lv: F64, rv: F64) -> F64:
    with np.errstate(all="ignore"):
        if op == "+":
            return lv + rv
        if op == "-":
            return lv - rv
        if op == "*":
            return lv * rv
        if op == "/":
            return np.true_divide(lv, rv)
        if op == "%":
            return np.fmod(lv, rv)
        if op == "^":
            return np.power(lv, rv)
        if op == "atan2":
            return np.arctan2(lv, rv)
    raise UnsupportedError(f"binary operator {op!r} is not supported")


def _compare(op: str, lv: F64, rv: F64) -> B:
    result: B
    with np.errstate(all="ignore"):
        if op == "==":
            result = lv == rv
        elif op == "!=":
            result = lv != rv
        elif op == ">":
            result = lv > rv
        elif op == "<":
            result = lv < rv
        elif op == ">=":
            result = lv >= rv
        elif op == "<=":
            result = lv <= rv
        else:
            raise UnsupportedError(f"comparison operator {op!r} is not supported")
    return result


def _parse_go_float(text: str) -> float | None:
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


_SUPPORTED_FUNCTIONS = {
    "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "exp", "ln", "log2", "log10",
    "sqrt", "sgn", "time", "timestamp", "vector", "scalar", "absent", "absent_over_time", "label_replace",
    "label_join", "sort", "sort_desc", "histogram_quantile", "day_of_month", "day_of_week", "day_of_year",
    "days_in_month", "hour", "minute", "month", "year",
} | set(rangefuncs.RANGE_FUNCTIONS)  # fmt: skip

_SIMPLE: dict[str, Callable[[F64], F64]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "sgn": lambda v: np.where(v < 0, -1.0, np.where(v > 0, 1.0, v)),
}


def _date_part(name: str, seconds: float) -> float:
    if math.isnan(seconds) or math.isinf(seconds):
        return math.nan
    t = _EPOCH + _dt.timedelta(seconds=int(seconds))
    if name == "day_of_month":
        return float(t.day)
    if name == "day_of_week":
        return float((t.weekday() + 1) % 7)
    if name == "day_of_year":
        return float(t.timetuple().tm_yday)
    if name == "days_in_month":
        nxt = (t.replace(day=1) + _dt.timedelta(days=32)).replace(day=1)
        return float((nxt - t.replace(day=1)).days)
    if name == "hour":
        return float(t.hour)
    if name == "minute":
        return float(t.minute)
    if name == "month":
        return float(t.month)
    return float(t.year)


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
    # sort.Search over all but the last bucket
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
    return start + (end - start) * (rank / count)


def _nan_last_desc_key(v: float) -> tuple[int, float]:
    return (1, 0.0) if math.isnan(v) else (0, -v)


def _nan_last_asc_key(v: float) -> tuple[int, float]:
    return (1, 0.0) if math.isnan(v) else (0, v)


# -- the engine -------------------------------------------------------------------------------------
class Engine:
    """Evaluates PromQL against a :class:`Storage`."""

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_delta_ms: int = DEFAULT_LOOKBACK_MS,
        no_step_subquery_interval_ms: int = 60_000,
    ) -> None:
        self.storage = storage
        self.lookback_ms = lookback_delta_ms
        self.subquery_interval_ms = no_step_subquery_interval_ms

    # public API
    @staticmethod
    def parse(query: str) -> Any:
        try:
            return promql_parser.parse(query)
        except ValueError as exc:
            raise QueryParseError(f"parse error: {exc}") from exc

    def instant_query(self, query: str, t_ms: int, timeout_s: float | None = None) -> QueryResult:
        node = self.parse(query)
        ev = _Evaluator(self, t_ms, t_ms, timeout_s)
        steps = np.array([t_ms], dtype=np.int64)
        value = ev.eval(node, steps)
        if isinstance(value, Scalar):
            return QueryResult("scalar", (t_ms, float(value.values[0])))
        if isinstance(value, String):
            return QueryResult("string", (t_ms, value.value))
        if isinstance(value, RangeVector):
            out = []
            for rs in value.series:
                lo = int(np.searchsorted(rs.ts, value.eff[0] - value.range_ms, side="left"))
                hi = int(np.searchsorted(rs.ts, value.eff[0], side="right"))
                if hi > lo:
                    out.append((rs.labels, rs.ts[lo:hi].tolist(), rs.vs[lo:hi].tolist()))
            return QueryResult("matrix", out)
        return QueryResult(
            "vector", [(s.labels, t_ms, float(s.values[0])) for s in value.series if s.present[0]]
        )

    def range_query(
        self, query: str, start_ms: int, end_ms: int, step_ms: int, timeout_s: float | None = None
    ) -> QueryResult:
        node = self.parse(query)
        if step_ms <= 0:
            raise QueryParseError("zero or negative query resolution step widths are not accepted")
        kind = self.static_type(node)
        if kind not in ("scalar", "vector"):
            doc = {"matrix": "range vector", "string": "string"}[kind]
            raise QueryParseError(
                f'invalid expression type "{doc}" for range query, must be Scalar or instant Vector'
            )
        ev = _Evaluator(self, start_ms, end_ms, timeout_s)
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        value = ev.eval(node, steps)
        if isinstance(value, Scalar):
            return QueryResult("matrix", [((), steps.tolist(), value.values.tolist())])
        assert isinstance(value, Vector)
        out = []
        for s in sorted(value.series, key=lambda s: s.labels):
            if s.present.any():
                out.append((s.labels, steps[s.present].tolist(), s.values[s.present].tolist()))
        return QueryResult("matrix", out)

    @classmethod
    def static_type(cls, node: Any) -> str:
        kind = type(node).__name__
        if kind == "ParenExpr":
            return cls.static_type(node.expr)
        if kind in ("MatrixSelector", "SubqueryExpr"):
            return "matrix"
        if kind == "StringLiteral":
            return "string"
        if kind == "NumberLiteral":
            return "scalar"
        if kind == "UnaryExpr":
            return cls.static_type(node.expr)
        if kind == "BinaryExpr":
            if cls.static_type(node.lhs) == "scalar" and cls.static_type(node.rhs) == "scalar":
                return "scalar"
            return "vector"
        if kind == "Call":
            rt = _enum_name(node.func.return_type).lower()
            return rt
        return "vector"


class _Evaluator:
    def __init__(self, engine: Engine, start_ms: int, end_ms: int, timeout_s: float | None) -> None:
        self.engine = engine
        self.storage = engine.storage
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QueryTimeoutError()

    # -- dispatch ---------------------------------------------------------------------------------
    def eval(self, node: Any, ts: I64) -> Value:
        self.check_deadline()
        kind = type(node).__name__
        method = getattr(self, f"_eval_{kind}", None)
        if method is None:
            raise UnsupportedError(f"PromQL expression of type {kind} is not supported by flightdeck")
        result: Value = method(node, ts)
        return result

    def eval_vector(self, node: Any, ts: I64) -> Vector:
        value = self.eval(node, ts)
        if not isinstance(value, Vector):
            raise ExecutionError(f"expected instant vector, got {type(value).__name__.lower()}")
        return value

    def eval_scalar(self, node: Any, ts: I64) -> F64:
        value = self.eval(node, ts)
        if not isinstance(value, Scalar):
            raise ExecutionError(f"expected scalar, got {type(value).__name__.lower()}")
        return value.values

    def _eval_ParenExpr(self, node: Any, ts: I64) -> Value:
        return self.eval(node.expr, ts)

    def _eval_NumberLiteral(self, node: Any, ts: I64) -> Value:
        return Scalar(np.full(len(ts), float(node.val)))

    def _eval_StringLiteral(self, node: Any, ts: I64) -> Value:
        return String(str(node.val))

    def _eval_UnaryExpr(self, node: Any, ts: I64) -> Value:
        value = self.eval(node.expr, ts)
        if isinstance(value, Scalar):
            return Scalar(-value.values)
        if isinstance(value, Vector):
            out = [Series(drop_metric_name(s.labels), -s.values, s.present) for s in value.series]
            labels = [s.labels for s in out if s.present.any()]
            if len(set(labels)) != len(labels):
                raise ExecutionError("vector cannot contain metrics with the same labelset")
            return Vector(out)
        raise UnsupportedError("unary minus on a range vector is not supported")

    # -- selectors --------------------------------------------------------------------------------
    def _matchers(self, vs: Any) -> list[LabelMatcher]:
        if vs.matchers.or_matchers:
            raise UnsupportedError("'or' inside label matchers is not supported by Prometheus 2.x")
        out: list[LabelMatcher] = []
        if vs.name:
            out.append(LabelMatcher(METRIC_NAME, "=", vs.name))
        ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
        for m in vs.matchers.matchers:
            op = ops[_enum_name(m.op)]
            try:
                out.append(LabelMatcher(m.name, op, m.value))
            except RegexError as exc:
                raise QueryParseError(str(exc)) from exc
        return out

    def _effective_times(self, at: Any, offset: Any, ts: I64) -> I64:
        off = _td_ms(offset)
        if at is None:
            return ts - off
        kind = _enum_name(at.type)
        if kind == "Start":
            base = self.start_ms
        elif kind == "End":
            base = self.end_ms
        else:
            base = (at.at - _EPOCH) // _MS
        return np.full(len(ts), base - off, dtype=np.int64)

    def _select_instant(self, vs: Any, ts: I64) -> tuple[list[Series], list[I64]]:
        eff = self._effective_times(vs.at, vs.offset, ts)
        lookback = self.engine.lookback_ms
        data = self.storage.select(
            self._matchers(vs),
            int(eff.min()) - lookback if len(eff) else None,
            int(eff.max()) if len(eff) else None,
        )
        out: list[Series] = []
        sample_ts: list[I64] = []
        for sd in data:
            if len(sd.timestamps) == 0:
                continue
            idx = np.searchsorted(sd.timestamps, eff, side="right") - 1
            safe = np.clip(idx, 0, None)
            found_t = sd.timestamps[safe]
            vals = sd.values[safe]
            present = (idx >= 0) & (found_t >= eff - lookback) & ~stale_mask(vals)
            if present.any():
                out.append(Series(sd.labels, vals.copy(), present))
                sample_ts.append(found_t)
        return out, sample_ts

    def _eval_VectorSelector(self, node: Any, ts: I64) -> Value:
        series, _ = self._select_instant(node, ts)
        return Vector(series)

    def _eval_MatrixSelector(self, node: Any, ts: I64) -> Value:
        vs = node.vector_selector
        range_ms = _td_ms(node.range)
        eff = self._effective_times(vs.at, vs.offset, ts)
        data = self.storage.select(self._matchers(vs), int(eff.min()) - range_ms, int(eff.max()))
        series = []
        for sd in data:
            keep = ~stale_mask(sd.values)
            if keep.any():
                series.append(RangeSeries(sd.labels, sd.timestamps[keep], sd.values[keep]))
        return RangeVector(series, range_ms, eff, vs)

    def _eval_SubqueryExpr(self, node: Any, ts: I64) -> Value:
        range_ms = _td_ms(node.range)
        step_ms = _td_ms(node.step) if node.step is not None else self.engine.subquery_interval_ms
        if step_ms <= 0:
            raise ExecutionError("zero or negative subquery step")
        eff = self._effective_times(node.at, node.offset, ts)
        first = int(eff.min()) - range_ms
        inner_start = step_ms * (first // step_ms)
        if inner_start < first:
            inner_start += step_ms
        inner_end = int(eff.max())
        inner_ts = np.arange(inner_start, inner_end + 1, step_ms, dtype=np.int64)
        if len(inner_ts) > 11_000 * 100:
            raise ExecutionError("subquery has too many steps")
        value = self.eval(node.expr, inner_ts) if len(inner_ts) else Vector([])
        series: list[RangeSeries] = []
        if isinstance(value, Scalar):
            raise UnsupportedError("subqueries over scalar expressions are not supported")
        if not isinstance(value, Vector):
            raise ExecutionError("subquery expression must be an instant vector")
        for s in value.series:
            if s.present.any():
                series.append(RangeSeries(s.labels, inner_ts[s.present], s.values[s.present]))
        return RangeVector(series, range_ms, eff, None)

    # -- aggregation ------------------------------------------------------------------------------
    def _eval_AggregateExpr(self, node: Any, ts: I64) -> Value:
        op = str(node.op)
        vec = self.eval_vector(node.expr, ts)
        without = False
        grouping: list[str] = []
        if node.modifier is not None:
            without = _enum_name(node.modifier.type) == "Without"
            grouping = list(node.modifier.labels)
        n = len(ts)
        if op in ("topk", "bottomk", "quantile"):
            param = self.eval_scalar(node.param, ts)
            return self._aggregate_select(op, param, vec, grouping, without, n)
        if op == "count_values":
            label = self.eval(node.param, ts)
            assert isinstance(label, String)
            return self._count_values(label.value, vec, grouping, without, n)
        if op not in ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"):
            raise UnsupportedError(f"aggregation {op!r} is not supported by flightdeck")
        groups = self._group(vec.series, grouping, without)
        out: list[Series] = []
        with np.errstate(all="ignore"):
            for key, members in groups.items():
                value = np.full(n, math.nan)
                mean = np.zeros(n)
                count = np.zeros(n)
                started = np.zeros(n, dtype=bool)
                for s in members:
                    m = s.present
                    v = s.values
                    first = m & ~started
                    rest = m & started
                    count = count + m
                    if op in ("sum", "min", "max"):
                        value = np.where(first, v, value)
                    if op == "sum":
                        value = np.where(rest, value + v, value)
                    elif op == "max":
                        value = np.where(rest & ((value < v) | np.isnan(value)), v, value)
                    elif op == "min":
                        value = np.where(rest & ((value > v) | np.isnan(value)), v, value)
                    elif op == "avg":
                        mean = np.where(first, v, mean)
                        mean_inf = np.isinf(mean)
                        v_inf = np.isinf(v)
                        skip = mean_inf & ((v_inf & ((mean > 0) == (v > 0))) | (~v_inf & ~np.isnan(v)))
                        upd = rest & ~skip
                        mean = np.where(upd, mean + v / count - mean / count, mean)
                    elif op in ("stddev", "stdvar"):
                        mean = np.where(first, v, mean)
                        value = np.where(first, 0.0, value)
                        delta = v - mean
                        new_mean = mean + delta / count
                        value = np.where(rest, value + delta * (v - new_mean), value)
                        mean = np.where(rest, new_mean, mean)
                    started |= m
                if op == "avg":
                    value = mean
                elif op == "count":
                    value = count.astype(np.float64)
                elif op == "group":
                    value = np.ones(n)
                elif op == "stdvar":
                    value = value / count
                elif op == "stddev":
                    value = np.sqrt(value / count)
                out.append(Series(key, value, started))
        return Vector(_merge(out))

    @staticmethod
    def _group_key(lset: Labels, grouping: list[str], without: bool) -> Labels:
        if without:
            drop = set(grouping) | {METRIC_NAME}
            return tuple(p for p in lset if p[0] not in drop)
        keep = set(grouping)
        return tuple(p for p in lset if p[0] in keep)

    def _group(self, series: list[Series], grouping: list[str], without: bool) -> dict[Labels, list[Series]]:
        groups: dict[Labels, list[Series]] = {}
        for s in series:
            groups.setdefault(self._group_key(s.labels, grouping, without), []).append(s)
        return groups

    def _aggregate_select(
        self, op: str, param: F64, vec: Vector, grouping: list[str], without: bool, n: int
    ) -> Vector:
        groups = self._group(vec.series, grouping, without)
        if op == "quantile":
            out = []
            for key, members in groups.items():
                vals = np.full(n, math.nan)
                present = np.zeros(n, dtype=bool)
                for step in range(n):
                    got = np.array([s.values[step] for s in members if s.present[step]], dtype=np.float64)
                    if len(got):
                        vals[step] = rangefuncs.quantile(float(param[step]), got)
                        present[step] = True
                out.append(Series(key, vals, present))
            return Vector(_merge(out))
        # topk / bottomk: per step, keep the k best of each group (NaN ranks last).
        picked: dict[int, Series] = {}
        order: list[int] = []
        index = {id(s): i for i, s in enumerate(vec.series)}
        for step in range(n):
            k_f = float(param[step])
            if math.isnan(k_f) or abs(k_f) >= 2**63:
                raise ExecutionError(f"Scalar value {format_float(k_f)} overflows int64")
            k = int(k_f)
            if k < 1:
                continue
            for members in groups.values():
                candidates = [s for s in members if s.present[step]]
                key_fn = _nan_last_desc_key if op == "topk" else _nan_last_asc_key
                chosen = sorted(candidates, key=lambda s: key_fn(float(s.values[step])))[:k]
                for s in chosen:
                    i = index[id(s)]
                    if i not in picked:
                        picked[i] = Series(s.labels, s.values.copy(), np.zeros(n, dtype=bool))
                        order.append(i)
                    picked[i].present[step] = True
        return Vector([picked[i] for i in order])

    def _count_values(self, label: str, vec: Vector, grouping: list[str], without: bool, n: int) -> Vector:
        if not LABEL_NAME_RE.match(label):
            raise ExecutionError(f'invalid label name "{label}"')
        counts: dict[Labels, F64] = {}
        order: list[Labels] = []
        group_names = grouping if without else [*grouping, label]
        for s in vec.series:
            for step in np.nonzero(s.present)[0].tolist():
                text = format_float(float(s.values[step]))
                lset = tuple(sorted([p for p in s.labels if p[0] != label] + [(label, text)]))
                key = self._group_key(lset, group_names, without)
                if without:
                    key = (*tuple(p for p in key if p[0] != label), (label, text))
                    key = tuple(sorted(key))
                if key not in counts:
                    counts[key] = np.zeros(n)
                    order.append(key)
                counts[key][step] += 1
        return Vector([Series(k, counts[k], counts[k] > 0) for k in order])

    # -- binary operators -------------------------------------------------------------------------
    def _eval_BinaryExpr(self, node: Any, ts: I64) -> Value:
        op = str(node.op)
        lhs = self.eval(node.lhs, ts)
        rhs = self.eval(node.rhs, ts)
        mod = node.modifier
        return_bool = bool(mod is not None and mod.return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            if op in _COMPARISON:
                return Scalar(_compare(op, lhs.values, rhs.values).astype(np.float64))
            return Scalar(_arith(op, lhs.values, rhs.values))
        if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
            return self._vector_scalar(op, lhs, rhs.values, False, return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
            return self._vector_scalar(op, rhs, lhs.values, True, return_bool)
        if not (isinstance(lhs, Vector) and isinstance(rhs, Vector)):
            raise ExecutionError("binary expression must contain only scalar and instant vector types")
        on = False
        names: list[str] = []
        card = "ManyToMany" if op in _SET else "OneToOne"
        include: list[str] = []
        if mod is not None:
            if mod.matching is not None:
                on = _enum_name(mod.matching.type) == "Include"
                names = list(mod.matching.labels)
            if mod.card is not None:
                card = _enum_name(mod.card)
            if mod.card is not None and card in ("ManyToOne", "OneToMany"):
                include = list(getattr(mod, "group_labels", None) or [])
                if not include and hasattr(mod.card, "labels"):
                    include = list(mod.card.labels)
            if getattr(mod, "fill_values", None) is not None and (
                getattr(mod.fill_values, "lhs", None) is not None
                or getattr(mod.fill_values, "rhs", None) is not None
            ):
                raise UnsupportedError("fill modifiers are not supported by Prometheus 2.x")
        if op in _SET:
            return self._set_op(op, lhs, rhs, on, names)
        return self._vector_binop(op, lhs, rhs, on, names, card, include, return_bool, len(ts))

    def _vector_scalar(self, op: str, vec: Vector, scalar: F64, swap: bool, return_bool: bool) -> Vector:
        out = []
        for s in vec.series:
            lv, rv = (scalar, s.values) if swap else (s.values, scalar)
            if op in _COMPARISON:
                keep = _compare(op, lv, rv)
                if return_bool:
                    out.append(Series(drop_metric_name(s.labels), keep.astype(np.float64), s.present))
                else:
                    out.append(Series(s.labels, s.values, s.present & keep))
            else:
                value = _arith(op, lv, rv)
                out.append(Series(drop_metric_name(s.labels), value, s.present))
        return Vector(_merge(out))

    @staticmethod
    def _signature(on: bool, names: list[str]) -> Callable[[Labels], Labels]:
        if on:
            keep = set(names)
            return lambda lset: tuple(p for p in lset if p[0] in keep)
        drop = set(names) | {METRIC_NAME}
        return lambda lset: tuple(p for p in lset if p[0] not in drop)

    def _set_op(self, op: str, lhs: Vector, rhs: Vector, on: bool, names: list[str]) -> Vector:
        sig = self._signature(on, names)
        n = len(lhs.series[0].present) if lhs.series else (len(rhs.series[0].present) if rhs.series else 0)

        def presence(series: list[Series]) -> dict[Labels, B]:
            acc: dict[Labels, B] = {}
            for s in series:
                key = sig(s.labels)
                acc[key] = acc[key] | s.present if key in acc else s.present.copy()
            return acc

        none = np.zeros(n, dtype=bool)
        out: list[Series] = []
        if op == "and":
            right = presence(rhs.series)
            out = [Series(s.labels, s.values, s.present & right.get(sig(s.labels), none)) for s in lhs.series]
        elif op == "unless":
            right = presence(rhs.series)
            out = [
                Series(s.labels, s.values, s.present & ~right.get(sig(s.labels), none)) for s in lhs.series
            ]
        else:
            left = presence(lhs.series)
            out = list(lhs.series)
            out += [
                Series(s.labels, s.values, s.present & ~left.get(sig(s.labels), none)) for s in rhs.series
            ]
        return Vector(_merge(out))

    def _vector_binop(
        self,
        op: str,
        lhs: Vector,
        rhs: Vector,
        on: bool,
        names: list[str],
        card: str,
        include: list[str],
        return_bool: bool,
        n: int,
    ) -> Vector:
        if card == "ManyToMany":
            raise ExecutionError("many-to-many only allowed for set operators")
        sig = self._signature(on, names)
        left, right = lhs.series, rhs.series
        if card == "OneToMany":
            left, right = right, left
        any_left = np.zeros(n, dtype=bool)
        for s in left:
            any_left |= s.present
        groups: dict[Labels, list[Series]] = {}
        for s in right:
            groups.setdefault(sig(s.labels), []).append(s)
        for members in groups.values():
            if len(members) < 2:
                continue
            counts = np.zeros(n, dtype=np.int64)
            for s in members:
                counts += s.present
            bad = np.nonzero((counts > 1) & any_left)[0]
            if len(bad):
                step = int(bad[0])
                present = [s for s in members if s.present[step]]
                dupl, rs = present[0], present[1]
                side = "left" if card == "OneToMany" else "right"
                matched = self._match_labels(rs.labels, on, names)
                raise ExecutionError(
                    f"found duplicate series for the match group {labels_string(matched)} on the {side} "
                    f"hand-side of the operation: [{labels_string(rs.labels)}, {labels_string(dupl.labels)}]"
                    ";many-to-many matching not allowed: matching labels must be unique on one side"
                )
        is_cmp = op in _COMPARISON
        drop_name = op in ("+", "-", "*", "/", "%", "^")
        outputs: list[tuple[Labels, Series]] = []
        for ls in left:
            key = sig(ls.labels)
            for rs in groups.get(key, ()):
                both = ls.present & rs.present
                if not both.any():
                    continue
                vl, vr = (rs.values, ls.values) if card == "OneToMany" else (ls.values, rs.values)
                if is_cmp:
                    keep = _compare(op, vl, vr)
                    if return_bool:
                        value, mask = keep.astype(np.float64), both
                    else:
                        value, mask = vl, both & keep
                else:
                    value, mask = _arith(op, vl, vr), both
                metric = self._result_metric(ls.labels, rs.labels, drop_name, card, on, names, include)
                if return_bool:
                    metric = drop_metric_name(metric)
                outputs.append((key, Series(metric, value, mask)))
        # Prometheus' per-step uniqueness checks within a match group.
        if card == "OneToOne":
            seen: dict[Labels, B] = {}
            for key, s in outputs:
                prev = seen.get(key)
                if prev is not None and (prev & s.present).any():
                    raise ExecutionError(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                    )
                seen[key] = s.present if prev is None else prev | s.present
        else:
            seen2: dict[tuple[Labels, Labels], B] = {}
            for key, s in outputs:
                pair = (key, s.labels)
                prev = seen2.get(pair)
                if prev is not None and (prev & s.present).any():
                    raise ExecutionError(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                    )
                seen2[pair] = s.present if prev is None else prev | s.present
        return Vector(_merge([s for _, s in outputs]))

    @staticmethod
    def _match_labels(lset: Labels, on: bool, names: list[str]) -> Labels:
        if on:
            keep = set(names)
            return tuple(p for p in lset if p[0] in keep)
        drop = set(names) | {METRIC_NAME}
        return tuple(p for p in lset if p[0] not in drop)

    @staticmethod
    def _result_metric(
        lhs: Labels, rhs: Labels, drop_name: bool, card: str, on: bool, names: list[str], include: list[str]
    ) -> Labels:
        lb = dict(lhs)
        if drop_name:
            lb.pop(METRIC_NAME, None)
        if card == "OneToOne":
            if on:
                keep = set(names)
                lb = {k: v for k, v in lb.items() if k in keep}
            else:
                for name in names:
                    lb.pop(name, None)
        for name in include:
            value = get(rhs, name)
            if value:
                lb[name] = value
            else:
                lb.pop(name, None)
        return tuple(sorted(lb.items()))

    # -- functions --------------------------------------------------------------------------------
    def _eval_Call(self, node: Any, ts: I64) -> Value:
        name = node.func.name
        if name not in _SUPPORTED_FUNCTIONS:
            raise UnsupportedError(f"function {name}() is not supported by flightdeck's PromQL engine")
        args = [_unwrap(a) for a in node.args]
        if name in rangefuncs.RANGE_FUNCTIONS or name == "absent_over_time":
            return self._call_range(name, args, ts)
        return self._call_instant(name, args, ts)

    def _call_range(self, name: str, args: list[Any], ts: I64) -> Value:
        matrix_i = next(
            i for i, a in enumerate(args) if type(a).__name__ in ("MatrixSelector", "SubqueryExpr")
        )
        scalars = [self.eval_scalar(a, ts) for i, a in enumerate(args) if i != matrix_i]
        rv = self.eval(args[matrix_i], ts)
        assert isinstance(rv, RangeVector)
        outer = ts
        arg = args[matrix_i]
        at = arg.vector_selector.at if type(arg).__name__ == "MatrixSelector" else arg.at
        if name == "predict_linear" and at is not None:
            # Prometheus 2.x evaluates predict_linear per step (an "@-unsafe" function) with the @
            # turned into an offset relative to the query start, so its window slides with the step.
            rv.eff = rv.eff + (ts - self.start_ms)
        lo_edge = rv.eff - rv.range_ms
        if name == "absent_over_time":
            found = np.zeros(len(ts), dtype=bool)
            for rs in rv.series:
                lo = np.searchsorted(rs.ts, lo_edge, side="left")
                hi = np.searchsorted(rs.ts, rv.eff, side="right")
                has = hi > lo
                if has.all():
                    return Vector([])
                found |= has
            labels = self._absent_labels(args[matrix_i])
            return Vector([Series(labels, np.ones(len(ts)), ~found)] if (~found).any() else [])
        fn = rangefuncs.RANGE_FUNCTIONS[name]
        out: list[Series] = []
        for rs in rv.series:
            self.check_deadline()
            lo = np.searchsorted(rs.ts, lo_edge, side="left").astype(np.int64)
            hi = np.searchsorted(rs.ts, rv.eff, side="right").astype(np.int64)
            if not (hi > lo).any():
                continue
            w = rangefuncs.Window(rs.ts, rs.vs, lo, hi, rv.eff, outer, rv.range_ms, scalars)
            values, present = fn(w)
            present = present & (hi > lo)
            if present.any():
                labels = rs.labels if name == "last_over_time" else drop_metric_name(rs.labels)
                out.append(Series(labels, values, present))
        return Vector(_merge(out, strict=True))

    def _absent_labels(self, node: Any) -> Labels:
        kind = type(node).__name__
        if kind == "MatrixSelector":
            vs = node.vector_selector
        elif kind == "VectorSelector":
            vs = node
        else:
            return ()
        result: dict[str, str] = {}
        has: set[str] = set()
        for m in vs.matchers.matchers:
            if m.name == METRIC_NAME:
                continue
            if _enum_name(m.op) == "Equal" and m.name not in has:
                if m.value:
                    result[m.name] = m.value
                else:
                    result.pop(m.name, None)
                has.add(m.name)
            else:
                result.pop(m.name, None)
        return tuple(sorted(result.items()))

    def _call_instant(self, name: str, args: list[Any], ts: I64) -> Value:
        n = len(ts)
        if name == "time":
            return Scalar(ts / 1000.0)
        if name == "vector":
            return Vector([Series((), self.eval_scalar(args[0], ts), np.ones(n, dtype=bool))])
        if name == "scalar":
            vec = self.eval_vector(args[0], ts)
            counts = np.zeros(n, dtype=np.int64)
            value = np.full(n, math.nan)
            for s in vec.series:
                counts += s.present
                value = np.where(s.present, s.values, value)
            return Scalar(np.where(counts == 1, value, math.nan))
        if name in (
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "days_in_month",
            "hour",
            "minute",
            "month",
            "year",
        ):
            if not args:
                vals = np.array([_date_part(name, float(t)) for t in (ts // 1000).tolist()])
                return Vector(_merge([Series((), vals, np.ones(n, dtype=bool))]))
            vec = self.eval_vector(args[0], ts)
            out = []
            for s in vec.series:
                vals = np.array([_date_part(name, float(v)) for v in s.values.tolist()])
                out.append(Series(drop_metric_name(s.labels), vals, s.present))
            return Vector(_merge(out))
        if name == "timestamp":
            if type(args[0]).__name__ == "VectorSelector":
                series, sample_ts = self._select_instant(args[0], ts)
                out = [
                    Series(drop_metric_name(s.labels), t / 1000.0, s.present)
                    for s, t in zip(series, sample_ts, strict=True)
                ]
                return Vector(_merge(out))
            vec = self.eval_vector(args[0], ts)
            return Vector(
                _merge([Series(drop_metric_name(s.labels), ts / 1000.0, s.present) for s in vec.series])
            )
        if name == "absent":
            vec = self.eval_vector(args[0], ts)
            found = np.zeros(n, dtype=bool)
            for s in vec.series:
                found |= s.present
            if found.all():
                return Vector([])
            return Vector([Series(self._absent_labels(args[0]), np.ones(n), ~found)])
        if name == "histogram_quantile":
            q = self.eval_scalar(args[0], ts)
            return self._histogram_quantile(q, self.eval_vector(args[1], ts), n)
        if name == "label_replace":
            return self._label_replace(args, ts)
        if name == "label_join":
            return self._label_join(args, ts)
        vec = self.eval_vector(args[0], ts)
        if name in ("sort", "sort_desc"):
            if n == 1:
                key_fn = _nan_last_asc_key if name == "sort" else _nan_last_desc_key
                present = [s for s in vec.series if s.present[0]]
                return Vector(sorted(present, key=lambda s: key_fn(float(s.values[0]))))
            return vec
        if name in _SIMPLE:
            fn = _SIMPLE[name]
            with np.errstate(all="ignore"):
                return Vector(
                    _merge([Series(drop_metric_name(s.labels), fn(s.values), s.present) for s in vec.series])
                )
        with np.errstate(all="ignore"):
            if name == "round":
                to_nearest = self.eval_scalar(args[1], ts) if len(args) > 1 else np.ones(n)
                inv = 1.0 / to_nearest
                return Vector(
                    _merge(
                        [
                            Series(
                                drop_metric_name(s.labels), np.floor(s.values * inv + 0.5) / inv, s.present
                            )
                            for s in vec.series
                        ]
                    )
                )
            if name in ("clamp", "clamp_min", "clamp_max"):
                lo = self.eval_scalar(args[1], ts) if name != "clamp_max" else None
                hi = (
                    self.eval_scalar(args[2], ts)
                    if name == "clamp"
                    else (self.eval_scalar(args[1], ts) if name == "clamp_max" else None)
                )
                ok = np.ones(n, dtype=bool)
                if lo is not None and hi is not None:
                    ok = ~(hi < lo)
                out = []
                for s in vec.series:
                    v = s.values
                    if hi is not None:
                        v = np.where(np.isnan(hi) | np.isnan(v), math.nan, np.minimum(hi, v))
                    if lo is not None:
                        v = np.where(np.isnan(lo) | np.isnan(v), math.nan, np.maximum(lo, v))
                    out.append(Series(drop_metric_name(s.labels), v, s.present & ok))
                return Vector(_merge(out))
        raise UnsupportedError(f"function {name}() is not supported by flightdeck's PromQL engine")

    def _string_arg(self, node: Any, ts: I64) -> str:
        value = self.eval(node, ts)
        if not isinstance(value, String):
            raise ExecutionError("expected string argument")
        return value.value

    def _label_replace(self, args: list[Any], ts: I64) -> Value:
        vec = self.eval_vector(args[0], ts)
        dst, repl, src, regex = (self._string_arg(a, ts) for a in args[1:5])
        try:
            pattern = compile_anchored(regex)
        except RegexError as exc:
            raise ExecutionError(f"invalid regular expression in label_replace(): {regex}") from exc
        if not LABEL_NAME_RE.match(dst):
            raise ExecutionError(f"invalid destination label name in label_replace(): {dst}")
        out = []
        for s in vec.series:
            m = pattern.fullmatch(get(s.labels, src))
            lset = s.labels
            if m is not None:
                res = expand_template(repl, m)
                lb = {k: v for k, v in s.labels if k != dst}
                if res:
                    lb[dst] = res
                lset = tuple(sorted(lb.items()))
            out.append(Series(lset, s.values, s.present))
        return Vector(_merge(out))

    def _label_join(self, args: list[Any], ts: I64) -> Value:
        vec = self.eval_vector(args[0], ts)
        dst = self._string_arg(args[1], ts)
        sep = self._string_arg(args[2], ts)
        srcs = [self._string_arg(a, ts) for a in args[3:]]
        for src in srcs:
            if not LABEL_NAME_RE.match(src):
                raise ExecutionError(f"invalid source label name in label_join(): {src}")
        if not LABEL_NAME_RE.match(dst):
            raise ExecutionError(f"invalid destination label name in label_join(): {dst}")
        out = []
        for s in vec.series:
            joined = sep.join(get(s.labels, src) for src in srcs)
            lb = {k: v for k, v in s.labels if k != dst}
            if joined:
                lb[dst] = joined
            out.append(Series(tuple(sorted(lb.items())), s.values, s.present))
        return Vector(_merge(out))

    def _histogram_quantile(self, q: F64, vec: Vector, n: int) -> Value:
        groups: dict[Labels, list[tuple[float, Series]]] = {}
        for s in vec.series:
            ub = _parse_go_float(get(s.labels, "le"))
            if ub is None:
                continue
            key = tuple(p for p in s.labels if p[0] != "le")
            groups.setdefault(key, []).append((ub, s))
        out = []
        for key, members in groups.items():
            values = np.full(n, math.nan)
            present = np.zeros(n, dtype=bool)
            for step in range(n):
                buckets = [(ub, float(s.values[step])) for ub, s in members if s.present[step]]
                if buckets:
                    values[step] = bucket_quantile(float(q[step]), buckets)
                    present[step] = True
            out.append(Series(tuple(p for p in key if p[0] != METRIC_NAME), values, present))
        return Vector(_merge(out))
