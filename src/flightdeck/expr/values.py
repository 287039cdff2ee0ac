"""Python stand-ins for the Go values expr sees, and Go's ``%T`` / ``%v`` renderings of them.

Mapping: ``None`` → nil, ``bool`` → bool, ``int`` → int, :class:`Int64` → int64, ``float`` → float64,
``str`` → string, ``list`` → ``[]interface {}``, :class:`Float64Slice` → ``[]float64``,
:class:`IntSlice` → ``[]int``, :class:`StringSlice` → ``[]string``, ``dict`` →
``map[string]interface {}``, :class:`AnyMap` → ``map[interface {}][]interface {}`` (groupBy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, SupportsFloat

from flightdeck.util.gofmt import format_float_v
from flightdeck.util.gofmt import go_quote as _go_quote


class Float64Slice(list[float]):
    """A Go ``[]float64`` (what the Prometheus provider hands to conditions).

    Elements are coerced to ``float`` on construction because the compiler relies on that to
    specialise ``result[0] < 0.05`` into a bare float comparison.
    """

    __slots__ = ()

    def __init__(self, items: Iterable[SupportsFloat] = ()) -> None:
        super().__init__(float(x) for x in items)


class IntSlice(list[int]):
    """A Go ``[]int`` (the value of a range ``1..3``)."""

    __slots__ = ()


class StringSlice(list[str]):
    """A Go ``[]string`` (the value of ``split``)."""

    __slots__ = ()


class AnyMap(dict[Any, Any]):
    """A Go ``map[interface {}][]interface {}`` (the value of ``groupBy``)."""

    __slots__ = ()


class Int64(int):
    """A Go ``int64`` (what Argo's ``asInt`` returns); arithmetic on it yields plain ``int``."""

    __slots__ = ()


class GoFunc:
    """A function value in the environment (``isNaN``, ``asInt`` …) or a builtin used as a value."""

    __slots__ = ("fn", "name", "signature")

    def __init__(self, name: str, signature: str, fn: Callable[..., Any] | None) -> None:
        self.name = name
        self.signature = signature
        self.fn = fn

    def __repr__(self) -> str:
        return f"GoFunc({self.name})"


_SLICE_NAMES: dict[type, str] = {
    Float64Slice: "[]float64",
    IntSlice: "[]int",
    StringSlice: "[]string",
    list: "[]interface {}",
}

_SCALAR_NAMES: dict[type, str] = {
    type(None): "<nil>",
    bool: "bool",
    int: "int",
    Int64: "int64",
    float: "float64",
    str: "string",
    dict: "map[string]interface {}",
    AnyMap: "map[interface {}][]interface {}",
}


def go_type_name(value: object) -> str:
    """Go's ``%T`` of the value flightdeck uses to stand for a Go value."""
    t = type(value)
    name = _SCALAR_NAMES.get(t) or _SLICE_NAMES.get(t)
    if name is not None:
        return name
    if isinstance(value, GoFunc):
        return value.signature
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def go_format_float(v: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)`` – what ``fmt`` prints for ``%v`` of a float64."""
    return format_float_v(v)


def go_format(value: object) -> str:
    """Go's ``fmt.Sprintf("%v", value)`` for the values flightdeck represents."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_format_float(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(go_format(x) for x in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _map_sort_key(kv[0]))
        return "map[" + " ".join(f"{go_format(k)}:{go_format(v)}" for k, v in items) + "]"
    if isinstance(value, GoFunc):
        return "0x0"
    return str(value)


def _map_sort_key(key: object) -> tuple[int, Any]:
    # fmt sorts map keys; mixed key types (only possible for groupBy maps) are grouped by kind
    if isinstance(key, bool):
        return (0, key)
    if isinstance(key, int | float):
        return (1, key)
    if isinstance(key, str):
        return (2, key)
    return (3, go_format(key))


def go_quote(s: str) -> str:
    """``strconv.Quote`` (and ``%#v`` of a string): a double-quoted Go string literal."""
    return _go_quote(s)
