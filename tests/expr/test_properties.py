"""Robustness: arbitrary text and token soups never crash, hang or leak non-ExprError exceptions."""

from __future__ import annotations

import math
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.expr import ExprError, Float64Slice, check_condition, compile_condition

RESULTS: list[Any] = [
    Float64Slice([]),
    Float64Slice([0.01, math.nan, math.inf]),
    0.5,
    math.nan,
    None,
    [1.0, "a", None, {"a": 1.0}],
    {"a": [1.0], "b": "x"},
    "text",
    True,
]

TOKENS = [
    "result",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "0",
    "1",
    "-1",
    "0.05",
    "1e3",
    "0x1F",
    '"a"',
    "'b'",
    "#",
    "#index",
    "#acc",
    ".",
    "?.",
    "?",
    "??",
    ":",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "^",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "&&",
    "||",
    "!",
    "not",
    "and",
    "or",
    "in",
    "not in",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    "..",
    "|",
    "let",
    "x",
    "=",
    ";",
    "true",
    "false",
    "nil",
    "len",
    "all",
    "any",
    "none",
    "one",
    "map",
    "filter",
    "count",
    "reduce",
    "sum",
    "mean",
    "max",
    "min",
    "first",
    "last",
    "get",
    "sort",
    "keys",
    "values",
    "isNaN",
    "isInf",
    "isNil",
    "default",
    "asInt",
    "asFloat",
    "foo",
    "$env",
    "upper",
    "split",
    "join",
    "int",
    "float",
    "string",
    "abs",
    "round",
    "groupBy",
    "find",
    "take",
    '"("',
    '"\\\\d+"',
    "a",
    "1..3",
    "999999999",
]

# a small grammar, to reach the checker and evaluator and not only the parser
ATOMS = ["result", "0", "1", "-1", "2.5", '"a"', "true", "nil", "[1, 2]", "[]", "{a: 1}", "1..3", "result[0]"]
BINARY = [
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "in",
    "not in",
    "matches",
    "contains",
    "..",
    "??",
]
CALLS = [
    "len",
    "sum",
    "mean",
    "max",
    "first",
    "last",
    "keys",
    "sort",
    "upper",
    "isNaN",
    "isNil",
    "asInt",
    "string",
    "int",
    "abs",
]
PREDICATES = ["all", "any", "none", "one", "filter", "map", "count", "find", "reduce", "groupBy"]


def expressions() -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(CALLS), children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(PREDICATES), children, children).map(
                lambda t: f"{t[0]}({t[1]}, #{t[2]})"
            ),
            st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.tuples(st.sampled_from(["!", "-", "not "]), children).map("".join),
            st.tuples(children, children).map(lambda t: f"let v = {t[0]}; {t[1]}"),
            children.map(lambda c: f"{c}?.a"),
        )

    return st.recursive(st.sampled_from(ATOMS), extend, max_leaves=12)


def exercise(source: str) -> None:
    started = time.perf_counter()
    for result in RESULTS:
        try:
            outcome = compile_condition(source).evaluate(result)
            assert outcome is True or outcome is False
        except ExprError as exc:
            assert "internal error" not in str(exc), str(exc)
        message = check_condition(source, result)
        assert message is None or "internal error" not in message, message
    assert time.perf_counter() - started < 2.0, f"too slow: {source!r}"


PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=500, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@PROPERTY_SETTINGS
@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(source: str) -> None:
    exercise(source)


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14))
def test_token_sequences_never_crash(tokens: list[str]) -> None:
    exercise(" ".join(tokens))


@PROPERTY_SETTINGS
@given(expressions())
def test_grammar_expressions_never_crash(source: str) -> None:
    exercise(source)


@PROPERTY_SETTINGS
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5), st.floats(allow_nan=False))
def test_comparisons_follow_ieee(values: list[float], threshold: float) -> None:
    result = Float64Slice(values)
    cond = compile_condition(f"all(result, # < {threshold!r})") if math.isfinite(threshold) else None
    if cond is not None:
        assert cond.evaluate(result) is all(v < threshold for v in values)
    if values:
        assert compile_condition("result[0] < result[-1]").evaluate(result) is (values[0] < values[-1])
        assert compile_condition("result[-1] == result[-1]").evaluate(result) is (values[-1] == values[-1])
