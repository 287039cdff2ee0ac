"""Hostile input is bounded: depth, allocation, iteration and numeric blow-ups end in ExprError."""

from __future__ import annotations

import time

import pytest

from flightdeck.expr import ExprError, Float64Slice, check_condition, compile_condition


@pytest.mark.parametrize(
    "source",
    [
        "(" * 2000 + "1" + ")" * 2000,
        "!" * 3000 + "true",
        "1" + " + 1" * 5000,
        "[" * 1000,
        "{a: " * 800,
        "all(result, " * 400,
    ],
)
def test_deep_input_is_rejected_cleanly(source: str) -> None:
    with pytest.raises(ExprError):
        compile_condition(source).evaluate(Float64Slice([1.0]))
    assert check_condition(source, Float64Slice()) is not None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("len(1..1000000000) > 0", "memory budget exceeded"),
        ("len(0..1000000) > 0", "memory budget exceeded"),
        ("all(1..999999, all(1..999999, true))", "predicate iterations"),
        ("reduce(1..64, #acc + #acc, 'ab') == ''", "memory budget exceeded"),
        ("repeat('x', 100000000) == ''", "memory budget exceeded"),
    ],
)
def test_blowups_are_bounded(source: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExprError, match=message):
        compile_condition(source).evaluate(Float64Slice([1.0]))
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "source",
    [
        "10 ** 400 > 0",  # float overflow is +Inf, as math.Pow gives
        "(-8) ** (1/3) != (-8) ** (1/3)",  # NaN
        "0 ** -1 > 0",  # +Inf
        "reduce(1..200, #acc * 1000000007) != 0",  # int64 wrap-around instead of bignum growth
        "9223372036854775807 * 9223372036854775807 == 1",
    ],
)
def test_numeric_edges_follow_go(source: str) -> None:
    assert compile_condition(source).evaluate(Float64Slice([1.0])) is True


def test_literal_range_up_to_a_million_is_allowed() -> None:
    # expr precomputes literal ranges of up to 1e6 elements; they cost nothing at run time
    assert compile_condition("len(1..1000000) == 1000000").evaluate(Float64Slice()) is True
