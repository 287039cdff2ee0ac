"""Go-faithful dynamic operations of expr's VM (``vm/runtime``), used wherever the compiler cannot
prove the Python types of the operands.

Every failure raises :class:`ExprError` with the text the Go panic would carry, e.g.
``invalid operation: string + int`` or ``reflect: slice index out of range``.
"""

from __future__ import annotations

import math
from typing import Any

from flightdeck.expr.errors import ExprError
from flightdeck.expr.numbers import float_to_int, wrap_int
from flightdeck.expr.values import Float64Slice, Int64, IntSlice, StringSlice, go_format, go_type_name

NUMBERS = frozenset({int, float, Int64})
INTS = frozenset({int, Int64})
SLICES = frozenset({list, Float64Slice, IntSlice, StringSlice})

# expr's VM allows 1e6 "memory units" (array/map/range elements) per run
MEMORY_BUDGET = 1_000_000
# Not in expr: a bound on predicate iterations so that nested loops cannot hang a controller.
STEP_BUDGET = 5_000_000


def type_assert(value: object, want: type, want_name: str) -> Any:
    """Go's ``value.(T)`` on an ``interface {}``; panics with the runtime's message."""
    if type(value) is want:
        return value
    got = "nil" if value is None else go_type_name(value)
    raise ExprError(f"interface conversion: interface {{}} is {got}, not {want_name}")


def as_bool(value: object) -> bool:
    if value is True or value is False:
        return value
    return type_assert(value, bool, "bool")  # type: ignore[no-any-return]


def as_str(value: object) -> str:
    if type(value) is str:
        return value
    return type_assert(value, str, "string")  # type: ignore[no-any-return]


def as_float64(value: object) -> float:
    if type(value) is float:
        return value
    return type_assert(value, float, "float64")  # type: ignore[no-any-return]


def is_nil(value: object) -> bool:
    return value is None


def equal(a: object, b: object) -> bool:
    ta = type(a)
    tb = type(b)
    if ta in NUMBERS and tb in NUMBERS:
        if ta is float or tb is float:
            return float(a) == float(b)  # type: ignore[arg-type]
        return a == b
    if ta is str and tb is str:
        return a == b
    if a is None and b is None:
        return True
    return deep_equal(a, b)


def deep_equal(a: object, b: object) -> bool:
    """``reflect.DeepEqual``: identical dynamic types and recursively equal contents."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        if len(a) != len(b):
            return False
        return all(k in b and deep_equal(v, b[k]) for k, v in a.items())
    if a is None:
        return True
    if isinstance(a, bool | int | float | str):
        return a == b
    return False


def _compare(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    ta = type(a)
    tb = type(b)
    if ta in NUMBERS and tb in NUMBERS:
        if ta is float or tb is float:
            return float(a), float(b)
        return a, b
    if ta is str and tb is str:
        return a, b
    raise ExprError(f"invalid operation: {go_type_name(a)} {op} {go_type_name(b)}")


def less(a: Any, b: Any) -> bool:
    x, y = _compare(a, b, "<")
    return bool(x < y)


def more(a: Any, b: Any) -> bool:
    x, y = _compare(a, b, ">")
    return bool(x > y)


def less_or_equal(a: Any, b: Any) -> bool:
    x, y = _compare(a, b, "<=")
    return bool(x <= y)


def more_or_equal(a: Any, b: Any) -> bool:
    x, y = _compare(a, b, ">=")
    return bool(x >= y)


# Bound on string growth: expr has none, but `reduce(1..50, #acc + #acc, "x")` must not eat the machine.
MAX_STRING = 10_000_000


def add(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta in NUMBERS and tb in NUMBERS:
        if ta is float or tb is float:
            return float(a) + float(b)
        return wrap_int(int(a) + int(b))
    if ta is str and tb is str:
        if len(a) + len(b) > MAX_STRING:
            raise ExprError("memory budget exceeded")
        return a + b
    raise ExprError(f"invalid operation: {go_type_name(a)} + {go_type_name(b)}")


def subtract(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta in NUMBERS and tb in NUMBERS:
        if ta is float or tb is float:
            return float(a) - float(b)
        return wrap_int(int(a) - int(b))
    raise ExprError(f"invalid operation: {go_type_name(a)} - {go_type_name(b)}")


def multiply(a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta in NUMBERS and tb in NUMBERS:
        if ta is float or tb is float:
            return float_mul(float(a), float(b))
        return wrap_int(int(a) * int(b))
    raise ExprError(f"invalid operation: {go_type_name(a)} * {go_type_name(b)}")


def float_mul(x: float, y: float) -> float:
    return x * y  # Python float multiplication already follows IEEE (inf, nan) without raising


def float_div(x: float, y: float) -> float:
    """IEEE division as Go does it: x/0 is ±Inf (or NaN for 0/0) instead of an exception."""
    try:
        return x / y
    except ZeroDivisionError:
        if x == 0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def divide(a: Any, b: Any) -> float:
    if type(a) in NUMBERS and type(b) in NUMBERS:
        return float_div(float(a), float(b))
    raise ExprError(f"invalid operation: {go_type_name(a)} / {go_type_name(b)}")


def int_mod(x: int, y: int) -> int:
    """Go's ``%``: truncated division, the result takes the sign of the dividend."""
    if y == 0:
        raise ExprError("runtime error: integer divide by zero")
    r = abs(x) % abs(y)
    return wrap_int(-r if x < 0 else r)


def modulo(a: Any, b: Any) -> int:
    if type(a) in INTS and type(b) in INTS:
        return int_mod(int(a), int(b))
    raise ExprError(f"invalid operation: {go_type_name(a)} % {go_type_name(b)}")


def go_pow(x: float, y: float) -> float:
    """``math.Pow`` with Go's answers where Python's ``math.pow`` raises."""
    try:
        return math.pow(x, y)
    except OverflowError:
        if x < 0 and y == math.floor(y) and int(y) % 2 == 1:
            return -math.inf
        return math.inf
    except ValueError:
        if x == 0:  # 0 ** negative
            odd = y == math.floor(y) and int(y) % 2 == 1
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan  # negative base, fractional exponent


def exponent(a: Any, b: Any) -> float:
    return go_pow(to_float64(a), to_float64(b))


def negate(a: Any) -> Any:
    t = type(a)
    if t is float:
        return -a
    if t in INTS:
        return wrap_int(-int(a))
    raise ExprError(f"invalid operation: - {go_type_name(a)}")


def to_int(a: Any) -> int:
    t = type(a)
    if t in INTS:
        return int(a)
    if t is float:
        return float_to_int(a)
    raise ExprError(f"invalid operation: int({go_type_name(a)})")


def to_float64(a: Any) -> float:
    t = type(a)
    if t is float:
        return a  # type: ignore[no-any-return]
    if t in INTS:
        return float(a)
    raise ExprError(f"invalid operation: float({go_type_name(a)})")


def utf8_len(s: str) -> int:
    # Go strings are byte sequences: len("é") is 2
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def length(a: Any) -> int:
    t = type(a)
    if t in SLICES or isinstance(a, list | dict):
        return len(a)
    if t is str:
        return utf8_len(a)
    raise ExprError(f"invalid argument for len (type {go_type_name(a)})")


def fetch(base: Any, index: Any) -> Any:
    """``runtime.Fetch``: ``base[index]`` / ``base.index`` on a slice, string or map."""
    if isinstance(base, list):
        i = to_int(index)
        n = len(base)
        if i < 0:
            i += n
        if 0 <= i < n:
            return base[i]
        raise ExprError("reflect: slice index out of range")
    if isinstance(base, dict):
        if index is None:
            index = ""
        elif type(index) is not str and type(base) is dict:
            raise ExprError(
                f"reflect.Value.MapIndex: value of type {go_type_name(index)} is not assignable to type string"
            )
        try:
            return base.get(index)
        except TypeError:  # unhashable key (a list or map) in a groupBy map
            raise ExprError(f"runtime error: hash of unhashable type {go_type_name(index)}") from None
    if type(base) is str:
        raw = base.encode("utf-8", "surrogatepass")
        i = to_int(index)
        if i < 0:
            i += len(raw)
        if 0 <= i < len(raw):
            return raw[i]
        raise ExprError("reflect: string index out of range")
    raise ExprError(f"cannot fetch {go_format(index)} from {go_type_name(base)}")


def slice_value(base: Any, from_: Any, to: Any) -> Any:
    """``runtime.Slice``: Go slicing with expr's clamping of out-of-range bounds."""
    if isinstance(base, list) or type(base) is str:
        seq: Any = base if isinstance(base, list) else base.encode("utf-8", "surrogatepass")
        n = len(seq)
        a = to_int(from_)
        b = to_int(to)
        if a < 0:
            a += n
        a = max(a, 0)
        if b < 0:
            b += n
        b = min(max(b, 0), n)
        a = min(a, b)
        if isinstance(base, list):
            return type(base)(base[a:b]) if type(base) is not Float64Slice else Float64Slice(base[a:b])
        return bytes(seq[a:b]).decode("utf-8", "replace")
    raise ExprError(f"cannot slice {go_format(from_)}")


def in_(needle: Any, haystack: Any) -> bool:
    """``runtime.In``: membership in a slice (by expr equality) or among a map's keys."""
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(equal(x, needle) for x in haystack)
    if isinstance(haystack, dict):
        if needle is None:
            needle = ""
        elif type(needle) is not str and type(haystack) is dict:
            raise ExprError(
                f"reflect.Value.MapIndex: value of type {go_type_name(needle)} is not assignable to type string"
            )
        try:
            return needle in haystack
        except TypeError:
            raise ExprError(f"runtime error: hash of unhashable type {go_type_name(needle)}") from None
    raise ExprError(f'operator "in" not defined on {go_type_name(haystack)}')


def make_range(a: Any, b: Any, budget: list[int] | None) -> IntSlice:
    lo = to_int(a)
    hi = to_int(b)
    size = max(hi - lo + 1, 0)
    charge(budget, size)
    return IntSlice(range(lo, hi + 1))


def charge(budget: list[int] | None, size: int) -> None:
    """Account ``size`` memory units against the run's budget (expr's ``memGrow``)."""
    if budget is None:
        if size >= MEMORY_BUDGET:
            raise ExprError("memory budget exceeded")
        return
    budget[0] += size
    if budget[0] >= MEMORY_BUDGET:
        raise ExprError("memory budget exceeded")
