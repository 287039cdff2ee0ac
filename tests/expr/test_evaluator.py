"""Evaluation semantics per feature, and expr's compile-time and run-time error texts."""

from __future__ import annotations

import math
from typing import Any

import pytest

from flightdeck.expr import ExprError, Float64Slice, compile_condition

F = Float64Slice
R = F([1.0, 2.0, 3.0])


def run(source: str, result: Any = R) -> bool | str:
    try:
        return compile_condition(source).evaluate(result)
    except ExprError as exc:
        return f"E:{exc}"


TRUE_CASES: dict[str, list[str]] = {
    "literals": [
        "1e3 == 1000",
        ".5 == 0.5",
        "0x1F == 31",
        "1_000 == 1000",
        "\"a\" == 'a'",
        '"a\\tb" != "ab"',
        "nil == nil",
        "true != false",
        "[1, 2] == [1, 2]",
        "{a: 1}.a == 1",
        "{'k': 'v'}['k'] == 'v'",
    ],
    "arithmetic": [
        "1 + 2 * 3 == 7",
        "(1 + 2) * 3 == 9",
        "7 / 2 == 3.5",
        "1 / 2 == 0.5",
        "10 % 3 == 1",
        "-7 % 3 == -1",
        "2 ** 10 == 1024",
        "2 ^ 3 ^ 2 == 512",
        "-2 ** 2 == -4",
        "1 / 0 > 1e308",
        "9223372036854775807 + 1 < 0",
        "result[0] + 1 == 2",
        "result[2] * result[1] == 6",
        "result[0] / 0 > 0",
        "-result[0] == -1",
        "+result[0] == 1",
    ],
    "comparison and numbers": [
        "result[0] == 1",
        "1 == 1.0",
        "result[1] >= 2",
        "result[1] <= 2",
        '"a" < "b"',
        "2 > 1.5",
        "1 != 2",
    ],
    "logic": [
        "true && true",
        "false || true",
        "!false",
        "not false",
        "true and not false",
        "false or true",
        "len(result) == 0 || result[0] == 1",
        "!(1 > 2)",
    ],
    "membership": [
        "1 in result",
        "4 not in result",
        '"a" in ["a", "b"]',
        '"c" not in ["a", "b"]',
        '"a" in {a: 1}',
        "2 in 1..3",
        "5 not in 1..3",
        "result[0] in 1..3",
    ],
    "strings": [
        '"abc" contains "b"',
        '"abc" startsWith "ab"',
        '"abc" endsWith "bc"',
        '"abc" not contains "x"',
        '"abc" matches "^a.c$"',
        '"ABC" matches "(?i)abc"',
        '"a1" matches "[[:digit:]]"',
        '"x" not matches "y"',
        '"a" + "b" == "ab"',
        'len("héllo") == 6',
    ],
    "nil coalescing and ternary": [
        "(nil ?? 1) == 1",
        "(result[0] ?? 2) == 1",
        "(first([]) ?? 7) == 7",
        "(true ? 1 : 2) == 1",
        "(false ? 1 : 2) == 2",
        "(result[0] > 5 ? 'hi' : 'lo') == 'lo'",
        "(false ?: true)",
        "{a: 1}.a || true",  # expr's folder: `x || true` is true without evaluating x
    ],
    "ranges, indexes and slices": [
        "len(1..5) == 5",
        "(1..3)[2] == 3",
        "len(3..1) == 0",
        "result[-1] == 3",
        "result[-3] == 1",
        "len(result[1:]) == 2",
        "result[:1][0] == 1",
        "len(result[:]) == 3",
        "len(result[5:]) == 0",
        "result[1:2][0] == 2",
        "[1, 2, 3][-2] == 2",
    ],
    "member access": [
        "{a: {b: 1}}.a.b == 1",
        "{a: 1}?.a == 1",
        "{a: nil}.a?.b == nil",
        "{a: 1}.zz == nil",
        "$env.result[0] == 1",
        "get($env, 'result')[0] == 1",
    ],
    "closures": [
        "all(result, # > 0)",
        "all(result, {# > 0})",
        "any(result, # == 2)",
        "none(result, # > 3)",
        "one(result, # == 2)",
        "!one(result, # > 1)",
        "count(result, # > 1) == 2",
        "len(filter(result, # > 1)) == 2",
        "map(result, # * 2)[2] == 6",
        "map(result, #index)[2] == 2",
        "map([{a: 1}], .a)[0] == 1",
        "find(result, # > 1) == 2",
        "findIndex(result, # > 1) == 1",
        "findLast(result, # < 3) == 2",
        "findLastIndex(result, # < 3) == 1",
        "find(result, # > 9) == nil",
        "reduce(result, #acc + #) == 6",
        "reduce(result, #acc + #, 10) == 16",
        "len(groupBy(result, # > 1)[true]) == 2",
        "all(result, any(result, # > 2))",
        "all([], false)",
        "!any([], true)",
        "result | all(# > 0)",
        "result | map(# + 1) | sum() == 9",
    ],
    "builtins": [
        "len(result) == 3",
        "len({a: 1}) == 1",
        "len('ab') == 2",
        "sum(result) == 6",
        "sum([1, 2]) == 3",
        "mean(result) == 2",
        "mean([]) == 0",
        "median([3, 1, 2, 10]) == 2.5",
        "min(3, 1, 2) == 1",
        "max(1, 2.5) == 2.5",
        "abs(-2) == 2",
        "abs(-2.5) == 2.5",
        "ceil(1.2) == 2",
        "floor(1.8) == 1",
        "round(2.5) == 3",
        "round(-2.5) == -3",
        "int(2.9) == 2",
        "int('42') == 42",
        "float('1.5') == 1.5",
        "float(2) == 2.0",
        "string(1.5) == '1.5'",
        "string(1e6) == '1e+06'",
        "string(result) == '[1 2 3]'",
        "string(nil) == '<nil>'",
        "trim('  x ') == 'x'",
        "trim('xxyxx', 'x') == 'y'",
        "upper('a') == 'A'",
        "lower('A') == 'a'",
        "split('a,b,c', ',')[1] == 'b'",
        "len(split('a,b,c', ',', 2)) == 2",
        "join(['a', 'b'], '-') == 'a-b'",
        "join(split('a,b', ','), '+') == 'a+b'",
        "first(result) == 1",
        "last(result) == 3",
        "first([]) == nil",
        "get(result, 1) == 2",
        "get(result, 9) == nil",
        "get({a: 1}, 'a') == 1",
        "keys({a: 1})[0] == 'a'",
        "values({a: 1})[0] == 1",
        "sort([3, 1, 2])[0] == 1",
        "sort([3, 1, 2], 'desc')[0] == 3",
        "sort(['b', 'a'])[0] == 'a'",
        "sortBy([{a: 2}, {a: 1}], 'a')[0].a == 1",
        "take(result, 2)[1] == 2",
        "type(1) == 'int'",
        "type(1.5) == 'float'",
        "type(nil) == 'nil'",
        "type(result) == 'array'",
        "replace('aaa', 'a', 'b') == 'bbb'",
        "repeat('ab', 2) == 'abab'",
        "indexOf('abc', 'c') == 2",
        "lastIndexOf('abca', 'a') == 3",
        "hasPrefix('abc', 'a')",
        "hasSuffix('abc', 'c')",
        "trimPrefix('abc', 'a') == 'bc'",
        "trimSuffix('abc', 'c') == 'ab'",
        "fromJSON('{\"a\": [1]}').a[0] == 1",
        "toJSON({a: 1}) contains '\"a\": 1'",
        "toBase64('hi') == 'aGk='",
        "fromBase64('aGk=') == 'hi'",
        "toPairs({a: 1})[0][0] == 'a'",
        "fromPairs([['a', 1]]).a == 1",
    ],
    "argo environment": [
        "isNaN(0 / 0)",
        "!isNaN(1)",
        "isInf(1 / 0)",
        "!isNil(result)",
        "asInt('12') == 12",
        "asInt(1.9) == 1",
        "asFloat('1.5') == 1.5",
        "asFloat(2) == 2",
        "default(result, 0)[0] == 1",
        "isNil(nil) == false",
    ],
    "let": ["let x = 2; x * x == 4", "let x = result[0]; let y = x + 1; y == 2"],
}


@pytest.mark.parametrize(
    "source", [pytest.param(s, id=f"{group}:{s}") for group, items in TRUE_CASES.items() for s in items]
)
def test_true(source: str) -> None:
    assert run(source) is True


ERRORS: list[tuple[str, Any, str]] = [
    # compile time (checker)
    ("foo", R, "unknown name foo"),
    ("result.a", R, "array elements can only be selected using an integer (got string)"),
    ("result[0] < 'a'", R, "invalid operation: < (mismatched types float64 and string)"),
    ("1 == 'a'", R, "invalid operation: == (mismatched types int and string)"),
    ("-'a'", R, "invalid operation: - (mismatched type string)"),
    ("!1", R, "invalid operation: ! (mismatched type int)"),
    ("'a' in result", R, "cannot use string as type float64 in array"),
    ("'a' in [1, 2]", R, "cannot use string as type int in array"),
    ("1 in {a: 1}", R, "cannot use int as type string in map key"),
    ("1 ? 2 : 3", R, "non-bool expression (type int) used as condition"),
    ("all(1, true)", R, "builtin all takes only array (got int)"),
    ("all(result, 1)", R, "predicate should return boolean (got int)"),
    ("all(result, #index > 0)", R, "unknown pointer #index"),
    ("map(result, nil)", R, "closure cannot be nil"),
    ("len(1)", R, "invalid argument for len (type int)"),
    ("len(1, 2)", R, "invalid number of arguments (expected 1, got 2)"),
    ("abs('a')", R, "invalid argument for abs (type string)"),
    ("round('a')", R, "invalid argument for floor (type string)"),
    ("mean(1)", R, "cannot avg int"),
    ("upper(1)", R, "cannot use int as argument (type string) to call upper "),
    ("trim(1)", R, "not enough arguments to call trim"),
    ("isNaN(result)", R, "cannot use []float64 as argument (type float64) to call isNaN "),
    ("isNaN(1, 2)", R, "too many arguments to call isNaN"),
    ("default(result)", R, "not enough arguments to call default"),
    ("result()", R, "[]float64 is not callable"),
    ("result()", None, "result is nil; cannot call nil as function"),
    ("result.a", None, "type <nil> has no field a"),
    ("result[1:2]", 1.0, "cannot slice float64"),
    ("result['a':]", R, "non-integer slice index string"),
    ("1..'a'", R, "invalid operation: .. (mismatched types int and string)"),
    ("let result = 1; true", R, "cannot redeclare result"),
    ("let len = 1; true", R, "cannot redeclare builtin len"),
    ("let x = 1; let x = 2; true", R, "cannot redeclare variable x"),
    ("get(1, 2)", R, "type int does not support indexing"),
    ("'a' matches '('", R, "error parsing regexp: missing closing ): `(`"),
    ("'a' matches 'a**'", R, "error parsing regexp: invalid nested repetition operator: `**`"),
    ("'a' matches '\\\\1'", R, "error parsing regexp: invalid escape sequence: `\\1`"),
    ("1 % 0 == 0", R, "integer divide by zero"),
    ("now()", R, "the builtin now() is not supported by flightdeck"),
    # run time (VM)
    ("result[3] > 0", R, "reflect: slice index out of range"),
    ("result[-4] > 0", R, "reflect: slice index out of range"),
    ("[][0]", R, "reflect: slice index out of range"),
    ("result[0]", R, "expected bool, but got float64"),
    ("result", R, "expected bool, but got []float64"),
    ("result", [1.0], "expected bool, but got []interface {}"),
    ("result", {"a": 1.0}, "expected bool, but got map[string]interface {}"),
    ("result", None, "expected bool, but got <nil>"),
    ("len(result)", R, "expected bool, but got int"),
    ("result", "x", "expected bool, but got string"),
    ("asInt(result[0])", R, "expected bool, but got int64"),
    ("result.a < 1", {"a": "x"}, "invalid operation: string < int"),
    ("result.a + 1", {"a": "x"}, "invalid operation: string + int"),
    ("result.a && true", {"a": 1.0}, "expected bool, but got float64"),
    ("result.a || result.b", {"a": 1.0}, "interface conversion: interface {} is float64, not bool"),
    ("result.a || false", {"a": 1.0}, "expected bool, but got float64"),  # folded to `result.a`
    ("!result.a", {"a": None}, "interface conversion: interface {} is nil, not bool"),
    ("result.a.b", {"a": 1.0}, "cannot fetch b from float64"),
    ("result.a.b", {"a": None}, "cannot fetch b from <nil>"),
    ("upper(result.a) == ''", {"a": 1.0}, "interface conversion: interface {} is float64, not string"),
    ("isNaN(len(result))", R, "interface conversion: interface {} is int, not float64"),
    ("let z = 0; 1 % z == 0", R, "runtime error: integer divide by zero"),
    ("asInt('1.1') == 1", R, 'strconv.ParseInt: parsing "1.1": invalid syntax'),
    ("asFloat('abc') == 1", R, 'strconv.ParseFloat: parsing "abc": invalid syntax'),
    ("asInt(result) == 1", R, "asInt() not supported on []float64 [1 2 3]"),
    ("int('x') == 1", R, "invalid operation: int(x)"),
    ("1 in result.a", {"a": 1.0}, 'operator "in" not defined on float64'),
    ("result.a in 1", {"a": 1.0}, "invalid operation: in (mismatched types interface {} and int)"),
    ("reduce([], #acc)", R, "reflect: slice index out of range"),
    ("1..1000000000", R, "memory budget exceeded"),
    ("len(map(1..600000, #)) + len(map(1..600000, #)) > 0", R, "memory budget exceeded"),
    ("repeat('a', 2000000) == ''", R, "memory budget exceeded"),
]


@pytest.mark.parametrize(("source", "result", "message"), ERRORS)
def test_error_messages(source: str, result: Any, message: str) -> None:
    assert run(source, result) == f"E:{message}"


def test_and_or_return_operands_like_expr() -> None:
    # `x && y` yields y unchanged when x is true: the bool check happens on the final value only
    assert run("result.a && result.b", {"a": True, "b": True}) is True
    assert run("result.a || result.b", {"a": False, "b": False}) is False


def test_short_circuit_skips_errors() -> None:
    assert run("false && result[9] > 0") is False
    assert run("true || result[9] > 0") is True
    assert run("len(result) > 5 && result[9] > 0") is False


def test_nan_semantics() -> None:
    nan = F([math.nan])
    assert run("result[0] > 0.05", nan) is False
    assert run("result[0] < 0.05", nan) is False
    assert run("result[0] == result[0]", nan) is False
    assert run("result[0] != 0", nan) is True
    assert run("!(result[0] >= 0.9)", nan) is True
    assert run("isNaN(result[0])", nan) is True
    assert run("result[0] in result", nan) is False  # Go compares NaN unequal even to itself


def test_int_float_compare_numerically() -> None:
    assert run("result == 10", 10.0) is True
    assert run("result == 10.0", 10) is True
    assert run("result[0] == 1", R) is True
    assert run("result > 9", 10) is True
    assert run("10 in result", F([10.0, 11.0])) is True


def test_web_provider_json_shapes() -> None:
    doc = {"status": "ok", "values": [0.1, 0.2], "nested": {"flag": True}}
    assert run("result.status == 'ok'", doc) is True
    assert run("all(result.values, # < 0.5)", doc) is True
    assert run("result.nested.flag", doc) is True
    assert run("result.values[5] == nil", doc) == "E:reflect: slice index out of range"
    assert run("result[0] > 0 && result[1] == 'x'", [1.0, "x"]) is True
    assert run("result == 'ok'", "ok") is True
    assert run("result", True) is True


def test_specialisation_per_result_type() -> None:
    cond = compile_condition("result == 1")
    assert cond.evaluate(1.0) is True
    assert cond.evaluate(1) is True
    with pytest.raises(ExprError, match=r"mismatched types string and int"):
        cond.evaluate("1")
    with pytest.raises(ExprError, match=r"mismatched types \[\]float64 and int"):
        cond.evaluate(F([1.0]))
    assert cond.evaluate(None) is False  # nil == 1 is false, not an error
