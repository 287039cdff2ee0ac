"""Compiled conditions: parse once, type-check and compile once per result type, evaluate fast."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flightdeck.expr import ast
from flightdeck.expr import types as ty
from flightdeck.expr.checker import check
from flightdeck.expr.compiler import compile_tree
from flightdeck.expr.errors import ExprError
from flightdeck.expr.parser import DEPTH_MESSAGE, parse

Program = Callable[[Any], bool]


def _guard(exc: BaseException) -> ExprError:
    """Map an unexpected Python failure to an ExprError so that callers only ever see ExprError."""
    if isinstance(exc, ExprError):
        return exc
    if isinstance(exc, RecursionError):
        return ExprError(DEPTH_MESSAGE)
    if isinstance(exc, MemoryError):
        return ExprError("memory budget exceeded")
    return ExprError(f"internal error in flightdeck's expr evaluator: {type(exc).__name__}: {exc}")


def _failing(error: ExprError) -> Program:
    def program(result: Any) -> bool:
        raise error

    return program


class Condition:
    """A parsed ``successCondition``/``failureCondition`` (Argo's ``EvalCondition``)."""

    __slots__ = ("_programs", "_tree", "source")

    def __init__(self, source: str, tree: ast.Node) -> None:
        self.source = source
        self._tree = tree
        # one specialised program per Python type of `result` (expr types the env by its values)
        self._programs: dict[type, Program] = {}

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def evaluate(self, result: Any) -> bool:
        """Evaluate with ``result`` bound as Argo binds it; raises ExprError with expr's message."""
        program = self._programs.get(type(result))
        if program is None:
            program = self._specialise(result)
        try:
            return program(result)
        except ExprError:
            raise
        except BaseException as exc:  # defensive: nothing but ExprError may escape
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            raise _guard(exc) from None

    def _specialise(self, result: Any) -> Program:
        try:
            program = compile_tree(self._tree, check(self._tree, ty.static_type_of(result)), type(result))
        except ExprError as exc:
            program = _failing(exc)
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
            program = _failing(_guard(exc))
        if len(self._programs) < 64:
            self._programs[type(result)] = program
        return program

    def check(self, sample: Any) -> str | None:
        """The compile-time error expr gives for a result shaped like ``sample``, else None."""
        try:
            static = ty.static_type_of(sample)
            checked = check(self._tree, static)
            compile_tree(self._tree, checked, type(sample))
        except ExprError as exc:
            return str(exc)
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
            return str(_guard(exc))
        t = checked.result_type
        # Not an expr compile error, but Argo rejects it on every evaluation: report it to linters.
        if t is not None and t.kind in (ty.Kind.FLOAT64, ty.Kind.INT, ty.Kind.INT64, ty.Kind.STRING):
            return f"expected bool, but got {t}"
        return None


@lru_cache(maxsize=2048)
def _compile_cached(source: str) -> Condition:
    return Condition(source, parse(source))


def compile_condition(source: str) -> Condition:
    """Parse ``source``; raises :class:`ExprError` with expr's message on a syntax error."""
    if not isinstance(source, str):
        raise ExprError(f"a condition must be a string, not {type(source).__name__}")
    try:
        return _compile_cached(source)
    except ExprError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        raise _guard(exc) from None


def check_condition(source: str, sample_result: Any) -> str | None:
    """Statically compile and type-check ``source`` for a result like ``sample_result``.

    Returns the error text expr (or Argo, for a non-bool scalar) would give, or None.
    """
    try:
        cond = compile_condition(source)
    except ExprError as exc:
        return str(exc)
    return cond.check(sample_result)
