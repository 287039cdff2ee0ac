"""Go's static types as expr's checker sees them (a small subset of ``reflect.Type``).

``None`` plays the role of Go's nil ``reflect.Type`` (the type of a nil value); it prints ``<nil>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from flightdeck.expr.errors import ExprError
from flightdeck.expr.values import AnyMap, Float64Slice, GoFunc, Int64, IntSlice, StringSlice


class Kind(Enum):
    INTERFACE = "interface"
    BOOL = "bool"
    INT = "int"
    INT64 = "int64"
    UINT8 = "uint8"
    FLOAT64 = "float64"
    STRING = "string"
    SLICE = "slice"
    MAP = "map"
    FUNC = "func"
    STRUCT = "struct"  # time.Time / time.Duration stand-ins (only their names matter)


@dataclass(frozen=True, slots=True)
class GoType:
    kind: Kind
    name: str
    elem: GoType | None = None
    key: GoType | None = None
    params: tuple[GoType, ...] = ()
    variadic: bool = False
    out: tuple[GoType, ...] = ()

    def __str__(self) -> str:
        return self.name


T = GoType | None

ANY = GoType(Kind.INTERFACE, "interface {}")
BOOL = GoType(Kind.BOOL, "bool")
INT = GoType(Kind.INT, "int")
INT64 = GoType(Kind.INT64, "int64")
UINT8 = GoType(Kind.UINT8, "uint8")
FLOAT = GoType(Kind.FLOAT64, "float64")
STRING = GoType(Kind.STRING, "string")
TIME = GoType(Kind.STRUCT, "time.Time")
DURATION = GoType(Kind.INT64, "time.Duration")


def slice_of(elem: T) -> GoType:
    return GoType(Kind.SLICE, f"[]{'<nil>' if elem is None else elem.name}", elem=elem)


def map_of(key: GoType, elem: GoType) -> GoType:
    return GoType(Kind.MAP, f"map[{key}]{elem}", elem=elem, key=key)


def func_of(params: tuple[GoType, ...], out: tuple[GoType, ...], *, variadic: bool = False) -> GoType:
    shown = [str(p) for p in params]
    if variadic and shown:
        shown[-1] = "..." + str(params[-1].elem)
    ret = ""
    if len(out) == 1:
        ret = f" {out[0]}"
    elif out:
        ret = " (" + ", ".join(map(str, out)) + ")"
    return GoType(Kind.FUNC, f"func({', '.join(shown)}){ret}", params=params, variadic=variadic, out=out)


ARRAY = slice_of(ANY)
FLOAT_SLICE = slice_of(FLOAT)
INT_SLICE = slice_of(INT)
STRING_SLICE = slice_of(STRING)
MAP = map_of(STRING, ANY)
GROUP_MAP = map_of(ANY, ARRAY)
# the type expr gives a builtin or registered function referenced as a value
FUNCTION = func_of((ARRAY,), (ANY, GoType(Kind.INTERFACE, "error")), variadic=True)


def type_name(t: T) -> str:
    return "<nil>" if t is None else t.name


def kind(t: T) -> Kind | None:
    return None if t is None else t.kind


def is_any(t: T) -> bool:
    return t is not None and t.kind is Kind.INTERFACE


def is_integer(t: T) -> bool:
    return t is not None and t.kind in (Kind.INT, Kind.INT64, Kind.UINT8)


def is_float(t: T) -> bool:
    return t is not None and t.kind is Kind.FLOAT64


def is_number(t: T) -> bool:
    return is_integer(t) or is_float(t)


def is_bool(t: T) -> bool:
    return t is not None and t.kind is Kind.BOOL


def is_string(t: T) -> bool:
    return t is not None and t.kind is Kind.STRING


def is_array(t: T) -> bool:
    return t is not None and t.kind is Kind.SLICE


def is_map(t: T) -> bool:
    return t is not None and t.kind is Kind.MAP


def is_func(t: T) -> bool:
    return t is not None and t.kind is Kind.FUNC


def is_time(t: T) -> bool:
    return t == TIME


def is_duration(t: T) -> bool:
    return t == DURATION


def assignable(t: GoType, to: GoType) -> bool:
    """``t.AssignableTo(to)`` for the types flightdeck models."""
    return t == to or to.kind is Kind.INTERFACE


def comparable(left: T, right: T) -> bool:
    """expr's ``isComparable``: may ``==`` be applied to these static types?"""
    if left is None or right is None:
        return True
    return left.kind is right.kind or (is_number(left) and is_number(right)) or is_any(left) or is_any(right)


_PY_TYPES: dict[type, T] = {
    type(None): None,
    bool: BOOL,
    int: INT,
    Int64: INT64,
    float: FLOAT,
    str: STRING,
    list: ARRAY,
    Float64Slice: FLOAT_SLICE,
    IntSlice: INT_SLICE,
    StringSlice: STRING_SLICE,
    dict: MAP,
    AnyMap: GROUP_MAP,
}


def static_type_of(value: object) -> T:
    """The Go type expr's checker would see for an environment value (``reflect.TypeOf``)."""
    t = type(value)
    if t in _PY_TYPES:
        return _PY_TYPES[t]
    if isinstance(value, GoFunc):
        return FUNCTION
    raise ExprError(f"a result of Python type {t.__name__} is not supported by flightdeck")
