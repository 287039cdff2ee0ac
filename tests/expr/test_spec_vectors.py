"""Spec §8.2: every expression vector, v1.15.5 (Argo ≤ v1.9) column, outcome and message."""

from __future__ import annotations

import math
from typing import Any

import pytest

from flightdeck.expr import ExprError, Float64Slice, compile_condition

F = Float64Slice
NAN = math.nan
INF = math.inf


def measure(result: Any, success: str | None, failure: str | None) -> str:
    """Argo's EvaluateResult on top of EvalCondition: S, F, I, or E(<bare message>)."""
    try:
        ok = compile_condition(success).evaluate(result) if success else False
        bad = compile_condition(failure).evaluate(result) if failure else False
    except ExprError as exc:
        return f"E({exc})"
    if not success and not failure:
        return "S"
    if success and not failure:
        return "S" if ok else "F"
    if failure and not success:
        return "F" if bad else "S"
    if bad:
        return "F"
    return "S" if ok else "I"


ROWS: list[tuple[Any, str | None, str | None, str]] = [
    (F([]), "result[0] < 0.05", None, "E(reflect: slice index out of range)"),
    (F([]), "len(result) == 0 || result[0] < 0.05", None, "S"),
    (F([]), "len(result) > 0 && result[0] < 0.05", None, "F"),
    (F([]), "all(result, # < 0.05)", None, "S"),
    (F([]), "any(result, # < 0.05)", None, "F"),
    (F([]), "(first(result) ?? 0) < 0.05", None, "S"),
    (F([]), "default(result, 0) == 0", None, "F"),
    (F([]), None, "result[0] > 0.05", "E(reflect: slice index out of range)"),
    (F([0.5]), "result[1] < 0.05", None, "E(reflect: slice index out of range)"),
    (F([0.01]), "result[0] < 0.05", None, "S"),
    (F([0.2]), "result[0] < 0.05", None, "F"),
    (F([0.2, 0.01]), "result[-1] < 0.05", None, "S"),
    (F([0.2]), "result < 0.05", None, "E(invalid operation: < (mismatched types []float64 and float64))"),
    (F([1]), "result > 1", None, "E(invalid operation: > (mismatched types []float64 and int))"),
    (0.2, "result[0] < 0.05", None, "E(type float64[int] is undefined)"),
    (10.0, "result == 10", "result != 10", "S"),
    (NAN, "result >= 0.9", "result < 0.9", "I"),
    (NAN, "result >= 0.9", None, "F"),
    (F([NAN]), None, "result[0] > 0.05", "S"),
    (NAN, "result >= 0.9 || isNaN(result)", None, "S"),
    (F([NAN]), "isNaN(result)", None, "E(cannot use []float64 as argument (type float64) to call isNaN )"),
    (INF, "result >= 0.9", None, "S"),
    (INF, None, "isInf(result)", "F"),
    (F([1]), "result[0]", None, "E(expected bool, but got float64)"),
    (F([1]), "true", "true", "F"),
    (F([10, 11]), "10 in result", "len(result) != 2", "S"),
    (F([0.01, 0.2]), "max(result) < 0.05", None, "E(invalid argument for max (type []float64))"),
    (F([1]), "result[0] <", None, "E(unexpected token EOF)"),
    (F([1]), "foo(result)", None, "E(unknown name foo)"),
    (F([0.7]), "result[0] >= 0.9", "result[0] < 0.5", "I"),
    (None, "default(result, 0) < 0.05", None, "S"),
    (None, "result < 0.05", None, "E(invalid operation: < (mismatched types <nil> and float64))"),
]


@pytest.mark.parametrize(("result", "success", "failure", "expected"), ROWS)
def test_spec_8_2_v1_15_5(result: Any, success: str | None, failure: str | None, expected: str) -> None:
    assert measure(result, success, failure) == expected


# §8.3 rows that exercise conditions on provider-shaped values
@pytest.mark.parametrize(
    ("result", "success", "failure", "expected"),
    [
        (F([0.0123]), "result[0] < 0.05", None, "S"),
        (10.0, "result == 10", None, "S"),
        (F([11, 12, 13, 14]), "all(result, # > 10)", "all(result, # < 10)", "S"),
        (NAN, "result >= 0.9", "result < 0.9", "I"),
        (INF, None, "isInf(result)", "F"),
        (F([]), None, None, "S"),
    ],
)
def test_spec_8_3_conditions(result: Any, success: str | None, failure: str | None, expected: str) -> None:
    assert measure(result, success, failure) == expected
