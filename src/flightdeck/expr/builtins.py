"""expr v1.15.5's non-predicate builtins: compile-time signature rules and runtime behaviour.

Each builtin has either a ``validate`` rule (expr's ``Validate`` func: argument types → result type
or an error message) or a list of Go signatures tried in order (expr's ``Types``), plus its Python
implementation. Predicate builtins (``all``, ``map``, ``reduce`` …) live in the checker/compiler.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flightdeck.expr import types as ty
from flightdeck.expr.errors import ExprError
from flightdeck.expr.numbers import atoi, float_to_int, parse_float
from flightdeck.expr.runtime import (
    INTS,
    MAX_STRING,
    NUMBERS,
    SLICES,
    as_str,
    fetch,
    length,
    less,
    more,
    to_int,
)
from flightdeck.expr.values import (
    AnyMap,
    Float64Slice,
    GoFunc,
    IntSlice,
    StringSlice,
    go_format,
    go_type_name,
)

Validate = Callable[[list[ty.T]], ty.T]


class SignatureError(Exception):
    """A builtin's compile-time argument check failed (message is expr's)."""


@dataclass(frozen=True)
class Builtin:
    name: str
    impl: Callable[..., Any] | None
    validate: Validate | None = None
    overloads: tuple[ty.GoType, ...] = ()
    unsupported: bool = False


_NUMERIC_KINDS = {ty.Kind.INT, ty.Kind.INT64, ty.Kind.UINT8, ty.Kind.FLOAT64}


def _one(args: list[ty.T]) -> ty.T:
    if len(args) != 1:
        raise SignatureError(f"invalid number of arguments (expected 1, got {len(args)})")
    return args[0]


def _kind(t: ty.T) -> ty.Kind | None:
    return ty.kind(t)


def _v_len(args: list[ty.T]) -> ty.T:
    t = _one(args)
    if _kind(t) in (ty.Kind.SLICE, ty.Kind.MAP, ty.Kind.STRING, ty.Kind.INTERFACE):
        return ty.INT
    raise SignatureError(f"invalid argument for len (type {ty.type_name(t)})")


def _v_numeric(name: str, result: ty.T | None, label: str | None = None) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        t = _one(args)
        if _kind(t) in _NUMERIC_KINDS or ty.is_any(t):
            return t if result is None else result
        raise SignatureError(f"invalid argument for {label or name} (type {ty.type_name(t)})")

    return validate


def _v_conv(name: str, result: ty.GoType) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        t = _one(args)
        if _kind(t) in _NUMERIC_KINDS or ty.is_any(t) or ty.is_string(t):
            return result
        raise SignatureError(f"invalid argument for {name} (type {ty.type_name(t)})")

    return validate


def _v_minmax(name: str) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        if not args:
            raise SignatureError(f"not enough arguments to call {name}")
        for t in args:
            if ty.is_any(t):
                return ty.ANY
            if _kind(t) not in _NUMERIC_KINDS:
                raise SignatureError(f"invalid argument for {name} (type {ty.type_name(t)})")
        return args[0]

    return validate


def _v_aggregate(label: str, result: ty.GoType) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        t = _one(args)
        if _kind(t) in (ty.Kind.INTERFACE, ty.Kind.SLICE):
            return result
        raise SignatureError(f"cannot {label} {ty.type_name(t)}")

    return validate


def _v_first_last(word: str) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        t = _one(args)
        if ty.is_any(t):
            return ty.ANY
        if ty.is_array(t):
            assert t is not None
            return t.elem
        raise SignatureError(f"cannot get {word} element from {ty.type_name(t)}")

    return validate


def _v_take(args: list[ty.T]) -> ty.T:
    if len(args) != 2:
        raise SignatureError(f"invalid number of arguments (expected 2, got {len(args)})")
    if _kind(args[0]) not in (ty.Kind.INTERFACE, ty.Kind.SLICE):
        raise SignatureError(f"cannot take from {ty.type_name(args[0])}")
    if _kind(args[1]) not in (ty.Kind.INTERFACE, ty.Kind.INT, ty.Kind.INT64):
        raise SignatureError(f"cannot take {ty.type_name(args[1])} elements")
    return args[0]


def _v_keys_values(word: str) -> Validate:
    def validate(args: list[ty.T]) -> ty.T:
        t = _one(args)
        if _kind(t) in (ty.Kind.INTERFACE, ty.Kind.MAP):
            return ty.ARRAY
        raise SignatureError(f"cannot get {word} from {ty.type_name(t)}")

    return validate


def _v_to_pairs(args: list[ty.T]) -> ty.T:
    t = _one(args)
    if _kind(t) in (ty.Kind.INTERFACE, ty.Kind.MAP):
        return ty.ARRAY
    raise SignatureError(f"cannot transform {ty.type_name(t)} to pairs")


def _v_from_pairs(args: list[ty.T]) -> ty.T:
    t = _one(args)
    if _kind(t) in (ty.Kind.INTERFACE, ty.Kind.SLICE):
        return ty.map_of(ty.ANY, ty.ANY)
    raise SignatureError(f"cannot transform {ty.type_name(t)} from pairs")


def _v_sort(args: list[ty.T]) -> ty.T:
    if len(args) not in (1, 2):
        raise SignatureError(f"invalid number of arguments (expected 1 or 2, got {len(args)})")
    if _kind(args[0]) not in (ty.Kind.INTERFACE, ty.Kind.SLICE):
        raise SignatureError(f"cannot sort {ty.type_name(args[0])}")
    if len(args) == 2 and _kind(args[1]) not in (ty.Kind.STRING, ty.Kind.INTERFACE):
        raise SignatureError(f"invalid argument for sort (expected string, got {ty.type_name(args[1])})")
    return ty.ARRAY


def _v_sort_by(args: list[ty.T]) -> ty.T:
    if len(args) not in (2, 3):
        raise SignatureError(f"invalid number of arguments (expected 2 or 3, got {len(args)})")
    if _kind(args[0]) not in (ty.Kind.INTERFACE, ty.Kind.SLICE):
        raise SignatureError(f"cannot sort {ty.type_name(args[0])}")
    for t in args[1:]:
        if _kind(t) not in (ty.Kind.STRING, ty.Kind.INTERFACE):
            raise SignatureError(f"invalid argument for sort (expected string, got {ty.type_name(args[1])})")
    return ty.ARRAY


# -- runtime implementations


def _abs(x: Any) -> Any:
    t = type(x)
    if t is float:
        return -x if x < 0 else x
    if t in INTS:
        return -x if x < 0 else x
    raise ExprError(f"invalid argument for abs (type {go_type_name(x)})")


def _rounding(name: str, fn: Callable[[float], float]) -> Callable[[Any], float]:
    def impl(x: Any) -> float:
        t = type(x)
        if t is float:
            return fn(x) if math.isfinite(x) else x
        if t in INTS:
            return float(x)
        raise ExprError(f"invalid argument for {name} (type {go_type_name(x)})")

    return impl


def _go_round(x: float) -> float:
    # Go's math.Round rounds half away from zero (Python's round() is banker's rounding)
    r = math.floor(abs(x) + 0.5)
    return math.copysign(r, x)


def _int(x: Any) -> int:
    t = type(x)
    if t in INTS:
        return int(x)
    if t is float:
        return float_to_int(x)
    if t is str:
        v = atoi(x)
        if v is None:
            raise ExprError(f"invalid operation: int({x})")
        return v
    raise ExprError(f"invalid operation: int({go_type_name(x)})")


def _float(x: Any) -> float:
    t = type(x)
    if t is float:
        return x  # type: ignore[no-any-return]
    if t in INTS:
        return float(x)
    if t is str:
        try:
            return parse_float(x)
        except ExprError:
            raise ExprError(f"invalid operation: float({x})") from None
    raise ExprError(f"invalid operation: float({go_type_name(x)})")


def _type(x: Any) -> str:
    if x is None:
        return "nil"
    t = type(x)
    if t is bool:
        return "bool"
    if t in INTS:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "string"
    if isinstance(x, list):
        return "array"
    if isinstance(x, dict):
        return "map"
    if isinstance(x, GoFunc):
        return "func"
    return "unknown"


def _go_trim_space(s: str) -> str:
    return s.strip("\t\n\v\f\r \x85\xa0")


def _trim(*args: Any) -> str:
    if len(args) == 1:
        return _go_trim_space(as_str(args[0]))
    return as_str(args[0]).strip(as_str(args[1]))


def _trim_prefix(s: Any, prefix: Any = " ") -> str:
    text, pre = as_str(s), as_str(prefix)
    return text[len(pre) :] if pre and text.startswith(pre) else text


def _trim_suffix(s: Any, suffix: Any = " ") -> str:
    text, suf = as_str(s), as_str(suffix)
    return text[: -len(suf)] if suf and text.endswith(suf) else text


def _go_split(s: str, sep: str, n: int, *, after: bool) -> StringSlice:
    if n == 0:
        return StringSlice()
    if sep == "":
        chars = list(s)
        if n > 0 and len(chars) > n:
            chars = [*chars[: n - 1], "".join(chars[n - 1 :])]
        return StringSlice(chars)
    parts = s.split(sep) if n < 0 else s.split(sep, n - 1)
    if after:
        parts = [p + sep for p in parts[:-1]] + parts[-1:]
    return StringSlice(parts)


def _split(s: Any, sep: Any, n: Any = -1) -> StringSlice:
    return _go_split(as_str(s), as_str(sep), to_int(n), after=False)


def _split_after(s: Any, sep: Any, n: Any = -1) -> StringSlice:
    return _go_split(as_str(s), as_str(sep), to_int(n), after=True)


def _replace(s: Any, old: Any, new: Any, n: Any = -1) -> str:
    text, old_s, new_s = as_str(s), as_str(old), as_str(new)
    count = to_int(n)
    if old_s == "" and text:
        raise ExprError("replacing an empty string is not supported by flightdeck")
    result = text.replace(old_s, new_s) if count < 0 else text.replace(old_s, new_s, count)
    if len(result) > MAX_STRING:
        raise ExprError("memory budget exceeded")
    return result


def _repeat(s: Any, n: Any) -> str:
    count = to_int(n)
    if count > 1_000_000 or len(as_str(s)) * max(count, 0) > MAX_STRING:
        raise ExprError("memory budget exceeded")
    if count < 0:
        raise ExprError("strings: negative Repeat count")
    return as_str(s) * count


def _join(items: Any, glue: Any = "") -> str:
    sep = as_str(glue)
    if type(items) is StringSlice:
        return sep.join(items)
    if type(items) is list:
        return sep.join(as_str(x) for x in items)
    raise ExprError(f"invalid argument for join (type {go_type_name(items)})")


def _index_of(s: Any, sub: Any) -> int:
    raw, needle = as_str(s).encode(), as_str(sub).encode()
    return raw.find(needle)


def _last_index_of(s: Any, sub: Any) -> int:
    raw, needle = as_str(s).encode(), as_str(sub).encode()
    return raw.rfind(needle)


def _max(*args: Any) -> Any:
    best: Any = None
    for arg in args:
        if best is None or less(best, arg):
            best = arg
    return best


def _min(*args: Any) -> Any:
    best: Any = None
    for arg in args:
        if best is None or more(best, arg):
            best = arg
    return best


def _elements(value: Any, verb: str) -> list[Any]:
    if not isinstance(value, list):
        kind = "ptr" if value is None else _reflect_kind(value)
        raise ExprError(f"cannot {verb} {kind}")
    return value


def _reflect_kind(value: Any) -> str:
    if value is None:
        return "invalid"
    t = type(value)
    if t is bool:
        return "bool"
    if t in INTS:
        return "int64" if t is not int else "int"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if isinstance(value, list):
        return "slice"
    if isinstance(value, dict):
        return "map"
    return "func"


def _sum(value: Any) -> Any:
    items = _elements(value, "sum")
    total_int = 0
    for i, x in enumerate(items):
        t = type(x)
        if t in INTS:
            total_int += x
        elif t is float:
            total = float(total_int)
            for y in items[i:]:
                if type(y) not in NUMBERS:
                    raise ExprError(f"cannot sum {_reflect_kind(y)}")
                total += float(y)
            return total
        else:
            raise ExprError(f"cannot sum {_reflect_kind(x)}")
    return total_int


def _floats(value: Any, verb: str) -> list[float]:
    items = _elements(value, verb)
    if type(items) is Float64Slice:
        return items
    out = []
    for x in items:
        if type(x) not in NUMBERS:
            raise ExprError(f"cannot {verb} {_reflect_kind(x)}")
        out.append(float(x))
    return out


def _mean(value: Any) -> float:
    xs = _floats(value, "mean")
    return math.fsum(xs) / len(xs) if xs else 0.0


def _median(value: Any) -> float:
    xs = sorted(_floats(value, "median"))
    if not xs:
        return 0.0
    mid = len(xs) // 2
    return (xs[mid - 1] + xs[mid]) / 2 if len(xs) % 2 == 0 else xs[mid]


def _first(value: Any) -> Any:
    try:
        return fetch(value, 0)
    except ExprError:
        return None  # expr's first() swallows the panic and yields nil


def _last(value: Any) -> Any:
    try:
        return fetch(value, -1)
    except ExprError:
        return None


def _get(value: Any, key: Any) -> Any:
    try:
        return fetch(value, key)
    except ExprError:
        return None


def _take(value: Any, n: Any) -> Any:
    if not isinstance(value, list):
        raise ExprError(f"cannot take from {_reflect_kind(value)}")
    if type(n) not in INTS:
        raise ExprError(f"cannot take {_reflect_kind(n)} elements")
    if n > len(value):
        return value
    if n < 0:
        raise ExprError("reflect: slice index out of range")
    return type(value)(value[:n])


def _keys(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot get keys from {_reflect_kind(value)}")
    return list(value.keys())


def _values(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot get values from {_reflect_kind(value)}")
    return list(value.values())


def _to_pairs(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot transform {_reflect_kind(value)} to pairs")
    return [[k, v] for k, v in value.items()]


def _from_pairs(value: Any) -> AnyMap:
    if not isinstance(value, list):
        raise ExprError(f"cannot transform {go_format(value)} from pairs")
    out = AnyMap()
    for pair in value:
        if not isinstance(pair, list):
            raise ExprError(f"invalid pair {go_format(pair)}")
        if len(pair) != 2:
            raise ExprError(f"invalid pair length {go_format(pair)}")
        try:
            out[pair[0]] = pair[1]
        except TypeError:
            raise ExprError(f"runtime error: hash of unhashable type {go_type_name(pair[0])}") from None
    return out


def _direction(arg: Any) -> bool:
    if type(arg) is not str:
        raise ExprError(f"invalid argument for sort (expected string, got {go_type_name(arg)})")
    if arg == "desc":
        return True
    if arg == "asc":
        return False
    raise ExprError(f'invalid argument for sort (expected "asc" or "desc", got {json.dumps(arg)})')


def _sort_key_kind(v: Any) -> str:
    t = type(v)
    if t in INTS:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "string"
    raise ExprError(f"sort: unsupported type {_reflect_kind(v)}")


def _sorted(items: list[Any], keys: list[Any], desc: bool) -> list[Any]:
    if not items:
        return []
    first_type = go_type_name(keys[0])
    for k in keys[1:]:
        if go_type_name(k) != first_type:
            raise ExprError(f"cannot sort array of different types ({go_type_name(k)} and {first_type})")
    if len(items) > 1:
        _sort_key_kind(keys[0])
    order = sorted(range(len(items)), key=lambda i: keys[i], reverse=desc)
    return [items[i] for i in order]


def _sort(value: Any, direction: Any = "asc") -> list[Any]:
    if not isinstance(value, list):
        raise ExprError(f"cannot sort {_reflect_kind(value)}")
    desc = _direction(direction)
    return _sorted(list(value), list(value), desc)


def _sort_by(value: Any, field: Any, direction: Any = "asc") -> list[Any]:
    if not isinstance(value, list):
        raise ExprError(f"cannot sort {_reflect_kind(value)}")
    if type(field) is not str:
        raise ExprError(f"invalid argument for sort (expected string, got {go_type_name(field)})")
    desc = _direction(direction)
    keys = [x.get(field) if isinstance(x, dict) else x for x in value]
    return _sorted(list(value), keys, desc)


def _to_json(value: Any) -> str:
    try:
        return json.dumps(_jsonable(value), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError as exc:
        raise ExprError(f"json: unsupported value: {exc}") from None


def _jsonable(value: Any) -> Any:
    if type(value) is float and not math.isfinite(value):
        raise ValueError(go_format(value))
    if isinstance(value, list):
        return [_jsonable(x) for x in value]
    if isinstance(value, dict):
        return {go_format(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, GoFunc):
        raise ValueError(value.signature)
    return value


def _from_json(text: Any) -> Any:
    try:
        return _from_jsonable(json.loads(as_str(text)))
    except (json.JSONDecodeError, RecursionError):
        raise ExprError("invalid JSON (fromJSON)") from None


def _from_jsonable(value: Any) -> Any:
    # encoding/json decodes every number as float64
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_from_jsonable(x) for x in value]
    return {k: _from_jsonable(v) for k, v in value.items()}


def _to_base64(s: Any) -> str:
    return base64.b64encode(as_str(s).encode()).decode()


def _from_base64(s: Any) -> str:
    try:
        return base64.b64decode(as_str(s).encode(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise ExprError("illegal base64 data at input byte 0") from None


def _string(x: Any) -> str:
    return go_format(x)


def _len(x: Any) -> int:
    return length(x)


_S = ty.STRING
_STR_FN = ty.func_of((_S,), (_S,))
_STR2_FN = ty.func_of((_S, _S), (_S,))

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("len", _len, validate=_v_len),
        Builtin("type", _type, overloads=(ty.func_of((ty.ANY,), (_S,)),)),
        Builtin("abs", _abs, validate=_v_numeric("abs", None)),
        Builtin("ceil", _rounding("ceil", math.ceil), validate=_v_numeric("ceil", ty.FLOAT)),
        Builtin("floor", _rounding("floor", math.floor), validate=_v_numeric("floor", ty.FLOAT)),
        Builtin("round", _rounding("round", _go_round), validate=_v_numeric("round", ty.FLOAT, "floor")),
        Builtin("int", _int, validate=_v_conv("int", ty.INT)),
        Builtin("float", _float, validate=_v_conv("float", ty.FLOAT)),
        Builtin("string", _string, overloads=(ty.func_of((ty.ANY,), (_S,)),)),
        Builtin("trim", _trim, overloads=(_STR_FN, _STR2_FN)),
        Builtin("trimPrefix", _trim_prefix, overloads=(_STR2_FN, _STR_FN)),
        Builtin("trimSuffix", _trim_suffix, overloads=(_STR2_FN, _STR_FN)),
        Builtin("upper", lambda s: as_str(s).upper(), overloads=(_STR_FN,)),
        Builtin("lower", lambda s: as_str(s).lower(), overloads=(_STR_FN,)),
        Builtin(
            "split",
            _split,
            overloads=(
                ty.func_of((_S, _S), (ty.STRING_SLICE,)),
                ty.func_of((_S, _S, ty.INT), (ty.STRING_SLICE,)),
            ),
        ),
        Builtin(
            "splitAfter",
            _split_after,
            overloads=(
                ty.func_of((_S, _S), (ty.STRING_SLICE,)),
                ty.func_of((_S, _S, ty.INT), (ty.STRING_SLICE,)),
            ),
        ),
        Builtin(
            "replace",
            _replace,
            overloads=(ty.func_of((_S, _S, _S, ty.INT), (_S,)), ty.func_of((_S, _S, _S), (_S,))),
        ),
        Builtin("repeat", _repeat, overloads=(ty.func_of((_S, ty.INT), (_S,)),)),
        Builtin(
            "join",
            _join,
            overloads=(
                ty.func_of((ty.STRING_SLICE, _S), (_S,)),
                ty.func_of((ty.ARRAY, _S), (_S,)),
                ty.func_of((ty.ARRAY,), (_S,)),
                ty.func_of((ty.STRING_SLICE, _S), (_S,)),
                ty.func_of((ty.STRING_SLICE,), (_S,)),
            ),
        ),
        Builtin("indexOf", _index_of, overloads=(ty.func_of((_S, _S), (ty.INT,)),)),
        Builtin("lastIndexOf", _last_index_of, overloads=(ty.func_of((_S, _S), (ty.INT,)),)),
        Builtin(
            "hasPrefix",
            lambda s, p: as_str(s).startswith(as_str(p)),
            overloads=(ty.func_of((_S, _S), (ty.BOOL,)),),
        ),
        Builtin(
            "hasSuffix",
            lambda s, p: as_str(s).endswith(as_str(p)),
            overloads=(ty.func_of((_S, _S), (ty.BOOL,)),),
        ),
        Builtin("max", _max, validate=_v_minmax("max")),
        Builtin("min", _min, validate=_v_minmax("min")),
        Builtin("sum", _sum, validate=_v_aggregate("sum", ty.ANY)),
        Builtin("mean", _mean, validate=_v_aggregate("avg", ty.FLOAT)),
        Builtin("median", _median, validate=_v_aggregate("median", ty.FLOAT)),
        Builtin("toJSON", _to_json, overloads=(ty.func_of((ty.ANY,), (_S,)),)),
        Builtin("fromJSON", _from_json, overloads=(ty.func_of((_S,), (ty.ANY,)),)),
        Builtin("toBase64", _to_base64, overloads=(_STR_FN,)),
        Builtin("fromBase64", _from_base64, overloads=(_STR_FN,)),
        Builtin("now", None, unsupported=True),
        Builtin("duration", None, unsupported=True),
        Builtin("date", None, unsupported=True),
        Builtin("first", _first, validate=_v_first_last("first")),
        Builtin("last", _last, validate=_v_first_last("last")),
        Builtin("get", _get),  # checked specially (expr's checkBuiltinGet)
        Builtin("take", _take, validate=_v_take),
        Builtin("keys", _keys, validate=_v_keys_values("keys")),
        Builtin("values", _values, validate=_v_keys_values("values")),
        Builtin("toPairs", _to_pairs, validate=_v_to_pairs),
        Builtin("fromPairs", _from_pairs, validate=_v_from_pairs),
        Builtin("sort", _sort, validate=_v_sort),
        Builtin("sortBy", _sort_by, validate=_v_sort_by),
    )
}


def elements_of(value: Any) -> Sequence[Any]:
    """The collection a predicate iterates (expr's ``OpBegin`` needs a slice)."""
    if isinstance(value, list):
        return value
    raise ExprError(f"reflect: call of reflect.Value.Len on {_reflect_kind(value)} Value")


__all__ = ["BUILTINS", "SLICES", "Builtin", "IntSlice", "SignatureError", "elements_of"]
