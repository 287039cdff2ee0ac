"""The PromQL evaluator (Prometheus 2.x semantics) over the typed AST of ``promql-parser``.

Like Prometheus' engine, every node is evaluated for all steps at once; unlike a per-series loop,
it is also evaluated for all series at once: selectors gather the samples of every matching series
in one CSR array (:meth:`Storage.select_set`), range functions work on the (series × steps) windows
flattened, aggregations reduce row blocks, binary operators compute on (pairs × steps) matrices.
Prometheus' per-step rules (duplicate label sets, one-to-one matching) are applied with the
presence masks, so the answers are Prometheus' own — the differential tests compare them.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from typing import Any

import numpy as np
import promql_parser

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.labels import METRIC_NAME, Labels, drop_metric_name
from flightdeck.tsdb.promql import aggregate, binop, functions, rangefuncs
from flightdeck.tsdb.promql.errors import (
    ExecutionError,
    QueryParseError,
    QueryTimeoutError,
    UnsupportedError,
)
from flightdeck.tsdb.promql.values import (
    I64,
    QueryResult,
    RangeVector,
    Scalar,
    String,
    Value,
    Vector,
    merge_rows,
)
from flightdeck.tsdb.regex import RegexError
from flightdeck.tsdb.storage import Storage, stale_mask

__all__ = ["DEFAULT_LOOKBACK_MS", "Engine", "QueryResult", "bucket_quantile"]

DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MS = _dt.timedelta(milliseconds=1)
_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
bucket_quantile = functions.bucket_quantile

_SUPPORTED_FUNCTIONS = functions.PROMETHEUS_2_FUNCTIONS
# promql-parser follows Prometheus 3, which renamed holt_winters; the query text is adapted before
# parsing (outside string literals) and the function keeps its 2.x meaning.
_RENAMED = {"holt_winters": "double_exponential_smoothing"}
_HOLT_WINTERS_ALIAS = "double_exponential_smoothing"
# Words that may precede "(" without being a function call in Prometheus 2.42's grammar.
_NOT_CALLS = frozenset(
    [
        "and",
        "or",
        "unless",
        "atan2",
        "bool",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "start",
        "end",
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "count_values",
        "quantile",
    ]
)


def _position(query: str, index: int) -> str:
    line = query.count("\n", 0, index) + 1
    col = index - (query.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{col}"


def _adapt_query(query: str) -> str:
    """Rename 2.x functions the parser no longer knows; refuse 3.x-only function names with the
    error Prometheus 2.42 gives for them."""
    out: list[str] = []
    i = 0
    n = len(query)
    while i < n:
        ch = query[i]
        if ch in "\"'`":
            end = i + 1
            while end < n and query[end] != ch:
                end += 2 if query[end] == "\\" and ch != "`" else 1
            out.append(query[i : end + 1])
            i = end + 1
            continue
        if ch == "#":
            end = query.find("\n", i)
            end = n if end == -1 else end
            out.append(query[i:end])
            i = end
            continue
        if ch.isalpha() or ch in "_:":
            end = i
            while end < n and (query[end].isalnum() or query[end] in "_:"):
                end += 1
            word = query[i:end]
            rest = query[end:].lstrip(" \t\n")
            prev = query[:i].rstrip(" \t\n")
            is_call = (
                rest.startswith("(") and not prev.endswith(("{", ",")) and word.lower() not in _NOT_CALLS
            )
            if is_call and word not in functions.PROMETHEUS_2_FUNCTIONS:
                raise QueryParseError(
                    f'{_position(query, i)}: parse error: unknown function with name "{word}"'
                )
            out.append(_RENAMED.get(word, word) if is_call else word)
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _td_ms(td: _dt.timedelta | None) -> int:
    return 0 if td is None else td // _MS


def _enum_name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


def _unwrap(node: Any) -> Any:
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


class Engine:
    """Evaluates PromQL against a :class:`Storage`.

    ``max_samples``: like ``--query.max-samples``, the most samples one selector may hold at one step
    (and the most points a range query may return); beyond it the query fails with Prometheus'
    "query processing would load too many samples into memory in query execution".
    """

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_delta_ms: int = DEFAULT_LOOKBACK_MS,
        no_step_subquery_interval_ms: int = 60_000,
        max_samples: int = 50_000_000,
    ) -> None:
        self.storage = storage
        self.lookback_ms = lookback_delta_ms
        self.subquery_interval_ms = no_step_subquery_interval_ms
        self.max_samples = max_samples

    @staticmethod
    def parse(query: str) -> Any:
        text = _adapt_query(query)
        try:
            return promql_parser.parse(text)
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
            lo, hi = value.windows(value.eff - value.range_ms, value.eff)
            out = []
            for i, lset in enumerate(value.labels):
                a, b = int(lo[i]), int(hi[i])
                if b > a:
                    out.append((lset, value.ts[a:b].tolist(), value.vs[a:b].tolist()))
            return QueryResult("matrix", out)
        rows = np.flatnonzero(value.present[:, 0])
        vals = value.values[rows, 0].tolist()
        return QueryResult(
            "vector", [(value.labels[i], t_ms, v) for i, v in zip(rows.tolist(), vals, strict=True)]
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
        value = merge_rows(value)
        if int(value.present.sum()) > self.max_samples:
            raise ExecutionError(
                "query processing would load too many samples into memory in query execution"
            )
        out = []
        for i in sorted(range(len(value)), key=lambda i: value.labels[i]):
            p = value.present[i]
            if p.any():
                out.append((value.labels[i], steps[p].tolist(), value.values[i][p].tolist()))
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
            return _enum_name(node.func.return_type).lower()
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

    def check_samples(self, per_step: I64) -> None:
        if len(per_step) and int(per_step.max()) > self.engine.max_samples:
            raise ExecutionError(
                "query processing would load too many samples into memory in query execution"
            )

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

    def eval_scalar(self, node: Any, ts: I64) -> np.ndarray:
        value = self.eval(node, ts)
        if not isinstance(value, Scalar):
            raise ExecutionError(f"expected scalar, got {type(value).__name__.lower()}")
        return value.values

    def _string_arg(self, node: Any, ts: I64) -> str:
        value = self.eval(node, ts)
        if not isinstance(value, String):
            raise ExecutionError("expected string argument")
        return value.value

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
            out = Vector([drop_metric_name(x) for x in value.labels], -value.values, value.present)
            has_value = np.asarray(out.present.any(axis=1), dtype=bool).tolist()
            alive = [x for x, a in zip(out.labels, has_value, strict=True) if a]
            if len(set(alive)) != len(alive):
                raise ExecutionError("vector cannot contain metrics with the same labelset")
            return out
        raise UnsupportedError("unary minus on a range vector is not supported")

    # -- selectors --------------------------------------------------------------------------------
    def _matchers(self, vs: Any) -> list[LabelMatcher]:
        if vs.matchers.or_matchers:
            raise UnsupportedError("'or' inside label matchers is not supported by Prometheus 2.x")
        out: list[LabelMatcher] = []
        if vs.name:
            out.append(LabelMatcher(METRIC_NAME, "=", vs.name))
        for m in vs.matchers.matchers:
            try:
                out.append(LabelMatcher(m.name, _MATCH_OPS[_enum_name(m.op)], m.value))
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

    def _select_instant(self, vs: Any, ts: I64) -> tuple[Vector, I64]:
        """(the vector, the timestamp of the sample behind each value)."""
        eff = self._effective_times(vs.at, vs.offset, ts)
        lookback = self.engine.lookback_ms
        data = self.storage.select_set(self._matchers(vs), int(eff.min()) - lookback, int(eff.max()))
        s, t = len(data), len(ts)
        if s == 0:
            return Vector.empty(t), np.zeros((0, t), dtype=np.int64)
        if t == 1:
            idx = (data.offsets[1:] - 1)[:, None]
        else:
            base = int(eff.min()) - lookback
            span = int(eff.max()) - base + 2
            counts = np.diff(data.offsets)
            rows = np.arange(s, dtype=np.int64)
            key = np.repeat(rows * span, counts) + (data.ts - base)
            q = rows[:, None] * span + (eff - base)[None, :]
            idx = np.searchsorted(key, q.ravel(), side="right").reshape(s, t) - 1
            idx = np.where(idx >= data.offsets[:-1, None], idx, -1)
        valid = idx >= 0
        safe = np.where(valid, idx, 0)
        found_t = data.ts[safe]
        vals = data.vs[safe]
        present = valid & (found_t >= (eff - lookback)[None, :]) & ~stale_mask(vals)
        self.check_samples(present.sum(axis=0))
        alive = present.any(axis=1)
        if not alive.all():
            keep = np.flatnonzero(alive)
            return Vector([data.labels[i] for i in keep.tolist()], vals[keep], present[keep]), found_t[keep]
        return Vector(data.labels, vals, present), found_t

    def _eval_VectorSelector(self, node: Any, ts: I64) -> Value:
        vec, _ = self._select_instant(node, ts)
        return vec

    def _eval_MatrixSelector(self, node: Any, ts: I64) -> Value:
        vs = node.vector_selector
        range_ms = _td_ms(node.range)
        eff = self._effective_times(vs.at, vs.offset, ts)
        data = self.storage.select_set(self._matchers(vs), int(eff.min()) - range_ms, int(eff.max()))
        keep = ~stale_mask(data.vs)
        if keep.all():
            return RangeVector(data.labels, data.offsets, data.ts, data.vs, range_ms, eff, vs)
        rows = np.repeat(np.arange(len(data)), np.diff(data.offsets))
        counts = np.bincount(rows[keep], minlength=len(data)).astype(np.int64)
        alive = np.flatnonzero(counts)
        offsets = np.zeros(len(alive) + 1, dtype=np.int64)
        np.cumsum(counts[alive], out=offsets[1:])
        labels = [data.labels[i] for i in alive.tolist()]
        return RangeVector(labels, offsets, data.ts[keep], data.vs[keep], range_ms, eff, vs)

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
        inner_ts = np.arange(inner_start, int(eff.max()) + 1, step_ms, dtype=np.int64)
        if len(inner_ts) > 11_000 * 100:
            raise ExecutionError("subquery has too many steps")
        value = self.eval(node.expr, inner_ts) if len(inner_ts) else Vector.empty(0)
        if isinstance(value, Scalar):
            raise UnsupportedError("subqueries over scalar expressions are not supported by flightdeck")
        if not isinstance(value, Vector):
            raise ExecutionError("subquery expression must be an instant vector")
        counts = value.present.sum(axis=1).astype(np.int64)
        alive = np.flatnonzero(counts)
        present = value.present[alive]
        rows, cols = np.nonzero(present)
        offsets = np.zeros(len(alive) + 1, dtype=np.int64)
        np.cumsum(counts[alive], out=offsets[1:])
        labels = [value.labels[i] for i in alive.tolist()]
        return RangeVector(
            labels, offsets, inner_ts[cols], value.values[alive][rows, cols], range_ms, eff, None
        )

    # -- aggregation ------------------------------------------------------------------------------
    def _eval_AggregateExpr(self, node: Any, ts: I64) -> Value:
        op = str(node.op)
        vec = self.eval_vector(node.expr, ts)
        without = False
        grouping: list[str] = []
        if node.modifier is not None:
            without = _enum_name(node.modifier.type) == "Without"
            grouping = list(node.modifier.labels)
        if op in ("topk", "bottomk"):
            return aggregate.aggregate_topk(op, self.eval_scalar(node.param, ts), vec, grouping, without)
        if op == "quantile":
            return aggregate.aggregate_quantile(self.eval_scalar(node.param, ts), vec, grouping, without)
        if op == "count_values":
            label = self.eval(node.param, ts)
            assert isinstance(label, String)
            return aggregate.aggregate_count_values(label.value, vec, grouping, without)
        if op not in ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"):
            raise UnsupportedError(f"aggregation {op!r} is not supported by flightdeck")
        return aggregate.aggregate_simple(op, vec, grouping, without)

    # -- binary operators -------------------------------------------------------------------------
    def _eval_BinaryExpr(self, node: Any, ts: I64) -> Value:
        op = str(node.op)
        lhs = self.eval(node.lhs, ts)
        rhs = self.eval(node.rhs, ts)
        mod = node.modifier
        return_bool = bool(mod is not None and mod.return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            if op in binop.COMPARISON:
                return Scalar(binop.compare(op, lhs.values, rhs.values).astype(np.float64))
            return Scalar(binop.arith(op, lhs.values, rhs.values))
        if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
            return binop.vector_scalar(op, lhs, rhs.values, False, return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
            return binop.vector_scalar(op, rhs, lhs.values, True, return_bool)
        if not (isinstance(lhs, Vector) and isinstance(rhs, Vector)):
            raise ExecutionError("binary expression must contain only scalar and instant vector types")
        on = False
        names: list[str] = []
        card = "ManyToMany" if op in binop.SET_OPS else "OneToOne"
        include: list[str] = []
        if mod is not None:
            if mod.matching is not None:
                on = _enum_name(mod.matching.type) == "Include"
                names = list(mod.matching.labels)
            if mod.card is not None:
                card = _enum_name(mod.card)
            if card in ("ManyToOne", "OneToMany"):
                include = list(getattr(mod, "group_labels", None) or [])
            fill = getattr(mod, "fill_values", None)
            if fill is not None and (
                getattr(fill, "lhs", None) is not None or getattr(fill, "rhs", None) is not None
            ):
                raise UnsupportedError("fill modifiers are not supported by Prometheus 2.x")
        if op in binop.SET_OPS:
            return binop.set_op(op, lhs, rhs, on, names, len(ts))
        return binop.vector_vector(op, lhs, rhs, on, names, card, include, return_bool, len(ts))

    # -- functions --------------------------------------------------------------------------------
    def _eval_Call(self, node: Any, ts: I64) -> Value:
        name = node.func.name
        if name == _HOLT_WINTERS_ALIAS:
            name = "holt_winters"
        if name not in _SUPPORTED_FUNCTIONS:
            # A Prometheus 3 function: Prometheus 2.42's parser does not know it.
            raise QueryParseError(f'parse error: unknown function with name "{name}"')
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
        arg = args[matrix_i]
        at = arg.vector_selector.at if type(arg).__name__ == "MatrixSelector" else arg.at
        eff = rv.eff
        if name == "predict_linear" and at is not None:
            # Prometheus 2.x evaluates predict_linear per step with the @ turned into an offset
            # relative to the query start, so its window slides with the step.
            eff = eff + (ts - self.start_ms)
        s, t = len(rv), len(ts)
        lo, hi = rv.windows(eff - rv.range_ms, eff)
        has = (hi > lo).reshape(s, t)
        self.check_samples((hi - lo).reshape(s, t).sum(axis=0) if s else np.zeros(0, dtype=np.int64))
        if name == "absent_over_time":
            found = np.asarray(has.any(axis=0), dtype=bool)
            if found.all():
                return Vector.empty(t)
            absent: Labels = (
                functions.absent_labels(arg.vector_selector) if type(arg).__name__ == "MatrixSelector" else ()
            )
            return Vector([absent], np.ones((1, t)), (~found)[None, :])
        if s == 0:
            return Vector.empty(t)
        self.check_deadline()
        w = rangefuncs.Window(
            rv.ts,
            rv.vs,
            lo,
            hi,
            np.tile(eff, s),
            np.tile(ts, s),
            rv.range_ms,
            [np.tile(a, s) for a in scalars],
        )
        if name == "holt_winters":
            for label, factor in (("smoothing", scalars[0]), ("trend", scalars[1])):
                bad = (factor <= 0) | (factor >= 1) | np.isnan(factor)
                if bad.any():
                    got = float(factor[np.argmax(bad)])
                    shown = "NaN" if math.isnan(got) else f"{got:.6f}"
                    short = "sf" if label == "smoothing" else "tf"
                    raise ExecutionError(f"invalid {label} factor. Expected: 0 < {short} < 1, got: {shown}")
        values, present = rangefuncs.RANGE_FUNCTIONS[name](w)
        values = values.reshape(s, t)
        present = present.reshape(s, t) & has
        labels = rv.labels if name == "last_over_time" else [drop_metric_name(x) for x in rv.labels]
        return merge_rows(Vector(labels, values, present), strict=True)

    def _call_instant(self, name: str, args: list[Any], ts: I64) -> Value:
        n = len(ts)
        if name == "time":
            return Scalar(ts / 1000.0)
        if name == "pi":
            return Scalar(np.full(n, math.pi))
        if name in ("histogram_count", "histogram_sum", "histogram_fraction"):
            # Only native-histogram samples produce output, and this store holds floats only
            # (as Prometheus without the native-histograms feature): always empty.
            for a in args:
                self.eval(a, ts)
            return Vector.empty(n)
        if name == "vector":
            return Vector([()], self.eval_scalar(args[0], ts)[None, :], np.ones((1, n), dtype=bool))
        if name == "scalar":
            vec = self.eval_vector(args[0], ts)
            if len(vec) == 0:
                return Scalar(np.full(n, math.nan))
            counts = vec.present.sum(axis=0)
            pick = np.argmax(vec.present, axis=0)
            value = vec.values[pick, np.arange(n)]
            return Scalar(np.where(counts == 1, value, math.nan))
        if name in functions.DATE_FUNCTIONS:
            if not args:
                return Vector(
                    [()],
                    functions.date_part(name, (ts // 1000).astype(np.float64))[None, :],
                    np.ones((1, n), dtype=bool),
                )
            vec = self.eval_vector(args[0], ts)
            out = Vector(
                [drop_metric_name(x) for x in vec.labels], functions.date_part(name, vec.values), vec.present
            )
            return merge_rows(out)
        if name == "timestamp":
            if type(args[0]).__name__ == "VectorSelector":
                vec, sample_ts = self._select_instant(args[0], ts)
                out = Vector([drop_metric_name(x) for x in vec.labels], sample_ts / 1000.0, vec.present)
                return merge_rows(out)
            vec = self.eval_vector(args[0], ts)
            values = np.broadcast_to(ts / 1000.0, vec.values.shape).copy()
            return merge_rows(Vector([drop_metric_name(x) for x in vec.labels], values, vec.present))
        if name == "absent":
            vec = self.eval_vector(args[0], ts)
            found = np.asarray(vec.present.any(axis=0), dtype=bool) if len(vec) else np.zeros(n, dtype=bool)
            if found.all():
                return Vector.empty(n)
            labels: Labels = (
                functions.absent_labels(args[0]) if type(args[0]).__name__ == "VectorSelector" else ()
            )
            return Vector([labels], np.ones((1, n)), (~found)[None, :])
        if name == "histogram_quantile":
            q = self.eval_scalar(args[0], ts)
            return functions.histogram_quantile(q, self.eval_vector(args[1], ts))
        if name == "label_replace":
            vec = self.eval_vector(args[0], ts)
            dst, repl, src, regex = (self._string_arg(a, ts) for a in args[1:5])
            return functions.label_replace(vec, dst, repl, src, regex)
        if name == "label_join":
            vec = self.eval_vector(args[0], ts)
            dst = self._string_arg(args[1], ts)
            sep = self._string_arg(args[2], ts)
            return functions.label_join(vec, dst, sep, [self._string_arg(a, ts) for a in args[3:]])
        vec = self.eval_vector(args[0], ts)
        if name in ("sort", "sort_desc"):
            return functions.sort_vector(vec, name == "sort_desc")
        if name in functions.SIMPLE:
            return functions.apply_simple(name, vec)
        if name == "round":
            to_nearest = self.eval_scalar(args[1], ts) if len(args) > 1 else np.ones(n)
            return functions.round_to(vec, to_nearest)
        if name == "clamp":
            return functions.clamp(vec, self.eval_scalar(args[1], ts), self.eval_scalar(args[2], ts))
        if name == "clamp_min":
            return functions.clamp(vec, self.eval_scalar(args[1], ts), None)
        if name == "clamp_max":
            return functions.clamp(vec, None, self.eval_scalar(args[1], ts))
        raise UnsupportedError(f"function {name}() is not supported by flightdeck's PromQL engine")
