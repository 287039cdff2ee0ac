"""Argo Rollouts' condition environment (``utils/evaluate/evaluate.go`` ``EvalCondition``).

Besides ``result`` it holds six functions. ``isNil`` and ``default`` ignore their first argument
and look at the whole ``result`` (a quirk users depend on); ``isNaN``/``isInf`` are typed
``func(float64) bool``, so passing a list is a compile-time error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flightdeck.expr import types as ty
from flightdeck.expr.errors import ExprError
from flightdeck.expr.numbers import float_to_int, parse_float, parse_int
from flightdeck.expr.runtime import INTS, as_float64
from flightdeck.expr.values import GoFunc, Int64, go_format, go_type_name


@dataclass(frozen=True)
class EnvFunc:
    name: str
    type: ty.GoType
    # (result, *args) -> value; the result is passed because isNil/default look at it
    impl: Callable[..., Any]

    def as_value(self) -> GoFunc:
        return GoFunc(self.name, self.type.name, self.impl)


def _as_int(_result: Any, x: Any) -> Int64:
    t = type(x)
    if t is float:
        return Int64(float_to_int(x))
    if t in INTS:
        return Int64(x)
    if t is str:
        return Int64(parse_int(x))
    raise ExprError(f"asInt() not supported on {go_type_name(x)} {go_format(x)}")


def _as_float(_result: Any, x: Any) -> float:
    t = type(x)
    if t is float:
        return x  # type: ignore[no-any-return]
    if t in INTS:
        return float(x)
    if t is str:
        return parse_float(x)
    raise ExprError(f"asFloat() not supported on {go_type_name(x)} {go_format(x)}")


def _is_nan(_result: Any, x: Any) -> bool:
    return math.isnan(as_float64(x))


def _is_inf(_result: Any, x: Any) -> bool:
    return math.isinf(as_float64(x))


def _is_nil(result: Any, _x: Any) -> bool:
    return result is None


def _default(result: Any, _x: Any, fallback: Any) -> Any:
    return fallback if result is None else result


_ANY_TO_BOOL = ty.func_of((ty.ANY,), (ty.BOOL,))
_FLOAT_TO_BOOL = ty.func_of((ty.FLOAT,), (ty.BOOL,))

ENV_FUNCS: dict[str, EnvFunc] = {
    f.name: f
    for f in (
        EnvFunc("asInt", ty.func_of((ty.ANY,), (ty.INT64,)), _as_int),
        EnvFunc("asFloat", ty.func_of((ty.ANY,), (ty.FLOAT,)), _as_float),
        EnvFunc("isNaN", _FLOAT_TO_BOOL, _is_nan),
        EnvFunc("isInf", _FLOAT_TO_BOOL, _is_inf),
        EnvFunc("isNil", _ANY_TO_BOOL, _is_nil),
        EnvFunc("default", ty.func_of((ty.ANY, ty.ANY), (ty.ANY,)), _default),
    )
}
RESULT = "result"
