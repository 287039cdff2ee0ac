"""The public API other packages code against."""

from __future__ import annotations

import math
from typing import Any

import pytest

from flightdeck.expr import ExprError, Float64Slice, check_condition, compile_condition, go_type_name


def test_compile_keeps_source_and_evaluates() -> None:
    cond = compile_condition("result[0] < 0.05")
    assert cond.source == "result[0] < 0.05"
    assert cond.evaluate(Float64Slice([0.01])) is True
    assert cond.evaluate(Float64Slice([0.2])) is False


def test_syntax_error_raised_at_compile_time() -> None:
    with pytest.raises(ExprError) as info:
        compile_condition("result[0] <")
    assert str(info.value) == "unexpected token EOF"
    assert isinstance(info.value, Exception)


def test_type_errors_surface_at_evaluate() -> None:
    cond = compile_condition("result[0] < 0.05")  # valid syntax, typed per result
    assert cond.evaluate(Float64Slice([0.0])) is True
    with pytest.raises(ExprError, match=r"^type float64\[int\] is undefined$"):
        cond.evaluate(0.5)
    # the specialisation for lists still works after a failing one
    assert cond.evaluate(Float64Slice([1.0])) is False


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (Float64Slice([1.0]), "[]float64"),
        (1.5, "float64"),
        (1, "int"),
        ("s", "string"),
        (True, "bool"),
        (None, "<nil>"),
        ([1.0, "a"], "[]interface {}"),
        ({"a": 1.0}, "map[string]interface {}"),
    ],
)
def test_go_type_name(value: Any, name: str) -> None:
    assert go_type_name(value) == name


def test_float64_slice_coerces_elements() -> None:
    values = Float64Slice([1, 2.5])
    assert values == [1.0, 2.5]
    assert all(type(v) is float for v in values)
    assert isinstance(values, list)


@pytest.mark.parametrize(
    ("source", "sample", "expected"),
    [
        ("result[0] < 0.05", Float64Slice(), None),
        ("result[0] < 0.05", 0.5, "type float64[int] is undefined"),
        ("isNaN(result)", Float64Slice(), "cannot use []float64 as argument (type float64) to call isNaN "),
        ("max(result) < 1", Float64Slice(), "invalid argument for max (type []float64)"),
        ("result <", 0.5, "unexpected token EOF"),
        ("result[0]", Float64Slice(), "expected bool, but got float64"),
        ("len(result)", Float64Slice(), "expected bool, but got int"),
        ("default(result, 0) < 1", None, None),
        ("result.a > 1", {"a": 1.0}, None),
        ("1 % 0 == 0", 1.0, "integer divide by zero"),
    ],
)
def test_check_condition(source: str, sample: Any, expected: str | None) -> None:
    assert check_condition(source, sample) == expected


def test_check_condition_does_not_evaluate() -> None:
    # evaluating would fail on an empty list; a static check must not
    assert check_condition("result[0] < 0.05", Float64Slice()) is None


def test_unsupported_result_type_is_an_expr_error() -> None:
    with pytest.raises(ExprError, match="not supported by flightdeck"):
        compile_condition("true").evaluate(object())


def test_web_provider_values() -> None:
    value = {"data": {"ok": True, "rate": 0.01, "items": [1.0, 2.0]}}
    assert compile_condition("result.data.ok && result.data.rate < 0.05").evaluate(value)
    assert compile_condition("len(result.data.items) == 2").evaluate(value)
    assert compile_condition("result.missing == nil").evaluate(value)
    assert compile_condition("result?.missing?.x == nil").evaluate(value)
    assert compile_condition('result["data"]["rate"] > 0').evaluate(value)


def test_nan_compares_false_and_inf_normally() -> None:
    assert compile_condition("result == result").evaluate(math.nan) is False
    assert compile_condition("result != result").evaluate(math.nan) is True
    assert compile_condition("result > 1e308").evaluate(math.inf) is True
    assert compile_condition("result < 0").evaluate(-math.inf) is True
