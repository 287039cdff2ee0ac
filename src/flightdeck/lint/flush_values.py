"""What a PromQL query returns while a canary's span metrics are still young.

The spanmetrics connector flushes cumulative series every ``metrics_flush_interval``: a new canary's
series do not exist before the first flush after its traffic starts, and have a single value (so
``rate()`` & co. read 0) until the second. :func:`young_value` evaluates a query's AST abstractly for
those two stages: every ``rate``/``irate``/``increase``/``delta``/``idelta``/``deriv`` over a
connector's series is "no series" (first stage) or 0 (second stage), and the value is carried through
the operators and functions whose result it determines (aggregations, ``histogram_quantile`` → NaN,
arithmetic — ``0/0`` is NaN —, comparisons, ``or``/``and``/``unless``, ``scalar``, ``vector``, a few
element-wise functions). Anything else — another metric, a function not modelled, two vectors
grouped differently — makes the value unknown (None), and lint then says nothing rather than guess.

Assumed: the series a query selects exist once flushed (the canary serves the requests it selects;
a selector for error spans of a healthy canary matches nothing, which is another problem).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
import promql_parser

from flightdeck.lint.promql import result_type
from flightdeck.tsdb.promql.binop import arith, compare
from flightdeck.tsdb.promql.errors import UnsupportedError

RATE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})

# Aggregations whose result over equal inputs is that input.
_SAME_AGGREGATIONS = frozenset({"avg", "min", "max", "topk", "bottomk", "quantile", "limitk", "limit_ratio"})
# Functions that return their (first) vector argument's samples unchanged.
_IDENTITY_FUNCTIONS = frozenset(
    {"sort", "sort_desc", "sort_by_label", "sort_by_label_desc", "label_replace", "label_join"}
)
# ``<agg>_over_time`` of a subquery whose every point is the same value is that value.
_SAME_OVER_TIME = frozenset(
    {
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "last_over_time",
        "quantile_over_time",
    }
)


def _round(v: float) -> float:
    # Prometheus' round(): floor(v + 0.5) (to the nearest, ties up).
    return math.floor(v + 0.5)


def _sgn(v: float) -> float:
    return 0.0 if v == 0 else math.copysign(1.0, v)


_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "round": _round,
    "sgn": _sgn,
}


class Empty:
    """No series at all (an empty instant vector)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty()

Value = float | Empty | None
"""A float every sample of the result has, :data:`EMPTY`, or None (unknown)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RateCall:
    """One rate-like call over a connector's series, for the message."""

    function: str
    metric: str


class Series(Protocol):
    """The series a connector produces (:class:`flightdeck.lint.spanmetrics.SpanMetricsSource`)."""

    def produces(self, name: str) -> bool:
        """``name`` is one of them."""
        ...

    def matches(self, pattern: str) -> bool:
        """A ``__name__=~pattern`` matcher selects one of them."""
        ...


def rate_calls(node: object, produced: Series) -> list[RateCall]:
    """The rate-like calls over the connector's series in the query, in source order, deduplicated."""
    found: list[RateCall] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, promql_parser.Call):
            if current.func.name in RATE_FUNCTIONS and current.args:
                for name in _selected_names(current.args[0], produced):
                    call = RateCall(current.func.name, name)
                    if call not in found:
                        found.append(call)
            stack.extend(reversed(list(current.args)))
        else:
            stack.extend(reversed(_children(current)))
    return found


def young_value(node: object, produced: Series, rate_value: float | Empty) -> Value:
    """The query's value when every rate-like call over the connector's series gives ``rate_value``
    (``EMPTY`` before the first flush, ``0.0`` between the first and the second)."""
    return _Evaluator(produced, rate_value).value(node)


def _children(node: object) -> list[object]:
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.AggregateExpr):
        param = node.param
        return [node.expr] if param is None else [param, node.expr]
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        return [node.expr]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    return []


def _selector_of(arg: object) -> promql_parser.VectorSelector | None:
    if isinstance(arg, promql_parser.MatrixSelector):
        return arg.vector_selector
    if isinstance(arg, promql_parser.SubqueryExpr):
        inner = arg.expr
        while isinstance(inner, promql_parser.ParenExpr):
            inner = inner.expr
        if isinstance(inner, promql_parser.VectorSelector):
            return inner
    return None


def _selected_names(arg: object, produced: Series) -> list[str]:
    """The connector's metric names a range argument selects: by name, or by ``__name__`` matchers
    (``=``, or ``=~`` when the pattern matches one of the connector's names)."""
    selector = _selector_of(arg)
    if selector is None:
        return []
    names: list[str] = []
    if selector.name and produced.produces(selector.name):
        names.append(selector.name)
    groups = [list(selector.matchers.matchers), *[list(g) for g in selector.matchers.or_matchers]]
    for group in groups:
        for matcher in group:
            if matcher.name != "__name__":
                continue
            op = str(matcher.op).rsplit(".", 1)[-1]
            if op == "Equal" and produced.produces(matcher.value):
                names.append(matcher.value)
            elif op == "Re" and produced.matches(matcher.value):
                names.append(f'{{__name__=~"{matcher.value}"}}')
    return names


class _Evaluator:
    def __init__(self, produced: Series, rate_value: float | Empty) -> None:
        self.produced = produced
        self.rate_value = rate_value

    def value(self, node: object) -> Value:
        if isinstance(node, promql_parser.NumberLiteral):
            return float(node.val)
        if isinstance(node, promql_parser.ParenExpr):
            return self.value(node.expr)
        if isinstance(node, promql_parser.UnaryExpr):
            inner = self.value(node.expr)
            return -inner if isinstance(inner, float) else inner
        if isinstance(node, promql_parser.Call):
            return self._call(node)
        if isinstance(node, promql_parser.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, promql_parser.BinaryExpr):
            return self._binary(node)
        return None

    def _call(self, node: promql_parser.Call) -> Value:
        name = node.func.name
        args = list(node.args)
        if name in RATE_FUNCTIONS:
            return self.rate_value if args and _selected_names(args[0], self.produced) else None
        if name == "histogram_quantile" and len(args) == 2:
            buckets = self.value(args[1])
            # Every bucket's rate 0 (or NaN) leaves no observation to rank: NaN.
            return math.nan if isinstance(buckets, float) else buckets
        if name in _IDENTITY_FUNCTIONS and args:
            return self.value(args[0])
        if name in _ELEMENTWISE and len(args) == 1:
            v = self.value(args[0])
            if not isinstance(v, float) or math.isnan(v):
                return v
            if math.isinf(v):
                return math.copysign(1.0, v) if name == "sgn" else abs(v) if name == "abs" else v
            return float(_ELEMENTWISE[name](v))
        if name in ("clamp_min", "clamp_max") and len(args) == 2:
            v, bound = self.value(args[0]), self.value(args[1])
            if not isinstance(v, float) or not isinstance(bound, float):
                return v if isinstance(v, Empty) else None
            if math.isnan(v):
                return v
            return max(v, bound) if name == "clamp_min" else min(v, bound)
        if name == "scalar" and args:
            v = self.value(args[0])
            if isinstance(v, Empty):
                return math.nan
            # One series gives its value; several give NaN, and lint cannot tell how many.
            return v if grouping(args[0]) == frozenset() else None
        if name == "vector" and args:
            return self.value(args[0])
        if name == "absent" and args:
            v = self.value(args[0])
            if isinstance(v, Empty):
                return 1.0
            return EMPTY if isinstance(v, float) else None
        if name in _SAME_OVER_TIME and args and isinstance(args[-1], promql_parser.SubqueryExpr):
            inner = args[-1].expr
            latest = self.value(inner)
            if isinstance(self.rate_value, Empty):
                return _over_time(name, latest, latest)
            # The subquery's earlier steps may still be before the first flush.
            return _over_time(name, latest, _Evaluator(self.produced, EMPTY).value(inner))
        return None

    def _aggregate(self, node: promql_parser.AggregateExpr) -> Value:
        op = str(node.op)
        v = self.value(node.expr)
        if isinstance(v, Empty) or v is None:
            return v
        if op == "sum":
            # k equal values sum to k times one; only 0 and NaN do not depend on k.
            return v if v == 0 or math.isnan(v) else None
        if op in _SAME_AGGREGATIONS:
            if math.isinf(v) and op in ("avg", "quantile"):
                return None  # Prometheus' running mean of several ±Inf is NaN (Inf - Inf)
            return v
        if op == "group":
            return 1.0
        if op in ("stddev", "stdvar") and v == 0:
            return 0.0  # (a NaN input is not NaN out: Prometheus starts the deviation at 0)
        return None

    def _binary(self, node: promql_parser.BinaryExpr) -> Value:
        op = str(node.op)
        lhs, rhs = self.value(node.lhs), self.value(node.rhs)
        # Vector against vector: the value carries over only when both sides have the same grouping
        # (each series finds its partner); another metric or grouping could match nothing.
        matched = _one_to_one(node)
        if op == "or":
            if isinstance(lhs, Empty):
                return rhs
            if isinstance(lhs, float) and (isinstance(rhs, Empty) or (matched and rhs is not None)):
                return lhs
            return None
        if op == "and":
            if isinstance(lhs, Empty) or isinstance(rhs, Empty):
                return EMPTY
            return lhs if matched and isinstance(rhs, float) else None
        if op == "unless":
            if isinstance(lhs, Empty):
                return EMPTY
            if isinstance(rhs, Empty):
                return lhs
            return EMPTY if matched and isinstance(rhs, float) and lhs is not None else None
        if isinstance(lhs, Empty) or isinstance(rhs, Empty):
            # No series on one side: nothing to match, so nothing comes out.
            return EMPTY
        if lhs is None or rhs is None or not matched:
            return None
        if op in ("==", "!=", ">", "<", ">=", "<="):
            holds = _compare(op, lhs, rhs)
            modifier = node.modifier
            if modifier is not None and modifier.return_bool:
                return 1.0 if holds else 0.0
            if not holds:
                return EMPTY
            # A filter keeps the vector side's samples.
            return rhs if result_type(node.lhs) == "scalar" else lhs
        return _arith(op, lhs, rhs)


def _one_to_one(node: promql_parser.BinaryExpr) -> bool:
    """Every series on one side has its partner on the other: a side is a scalar, or both are
    grouped alike (and no on()/ignoring() regroups them, unless each side is a single series)."""
    if result_type(node.lhs) == "scalar" or result_type(node.rhs) == "scalar":
        return True
    left, right = grouping(node.lhs), grouping(node.rhs)
    if left is None or left != right:
        return False
    modifier = node.modifier
    return modifier is None or modifier.matching is None or not left


def grouping(node: object) -> frozenset[str] | None:
    """The labels every series of a vector expression has, when they are known to be exactly those
    (``sum by (a) (…)`` → {a}; ``sum(…)`` → {}, a single series); None when they are not known."""
    while isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        node = node.expr
    if isinstance(node, promql_parser.AggregateExpr):
        op = str(node.op)
        if op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return grouping(node.expr)  # these keep the input series
        if op == "count_values":
            return None
        modifier = node.modifier
        if modifier is None:
            return frozenset()
        if str(modifier.type).rsplit(".", 1)[-1] == "By":
            # Grouping by a label the input is known not to have gives series without it.
            inner = grouping(node.expr)
            labels = frozenset(modifier.labels)
            return labels if inner is None else labels & inner
        return None
    if isinstance(node, promql_parser.Call):
        name = node.func.name
        args = list(node.args)
        if name == "vector":
            return frozenset()
        if name == "histogram_quantile" and len(args) == 2:
            inner = grouping(args[1])
            return None if inner is None else inner - {"le"}
        if name in _ELEMENTWISE or name in ("sort", "sort_desc", "clamp_min", "clamp_max"):
            return grouping(args[0]) if args else None
        if name in _SAME_OVER_TIME and args and isinstance(args[-1], promql_parser.SubqueryExpr):
            return grouping(args[-1].expr)
        return None
    if isinstance(node, promql_parser.BinaryExpr):
        if result_type(node.lhs) == "scalar":
            return grouping(node.rhs)
        if result_type(node.rhs) == "scalar" or str(node.op) in ("and", "unless"):
            return grouping(node.lhs)
        left = grouping(node.lhs)
        return left if left == grouping(node.rhs) else None
    return None


def _over_time(name: str, latest: Value, earlier: Value) -> Value:
    """``<agg>_over_time`` of subquery points that are ``latest`` at the last steps and maybe
    ``earlier`` at the first ones: determined only when both cases give the same result."""
    if latest is None or earlier is None:
        return None
    if isinstance(latest, Empty):
        return EMPTY if isinstance(earlier, Empty) else None
    if not isinstance(earlier, Empty) and not (
        earlier == latest or (math.isnan(earlier) and math.isnan(latest))
    ):
        return None
    if name == "sum_over_time" and not (latest == 0 or math.isnan(latest)):
        return None  # the sum depends on how many points there are
    if math.isinf(latest) and name in ("avg_over_time", "quantile_over_time"):
        return None  # Inf - Inf along the way is NaN
    return latest


def _compare(op: str, a: float, b: float) -> bool:
    return bool(compare(op, np.array([a]), np.array([b]))[0])


def _arith(op: str, a: float, b: float) -> float | None:
    """The store's own float64 arithmetic (IEEE: x/0 is ±Inf, 0/0 NaN); None for an operator it lacks."""
    try:
        return float(arith(op, np.array([a]), np.array([b]))[0])
    except UnsupportedError:
        return None
