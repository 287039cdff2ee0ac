"""Argo's ``EvaluateResult``: a provider value and a metric's conditions → a measurement phase."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flightdeck.analysis.types import Metric, Phase
from flightdeck.expr import ExprError, compile_condition


class ConditionError(Exception):
    """A condition failed to compile or evaluate; ``str()`` is expr's bare message."""


# Enum members looked up through their class cost a lookup each time; these run per measurement.
_FAILED = Phase.FAILED
_INCONCLUSIVE = Phase.INCONCLUSIVE
_SUCCESSFUL = Phase.SUCCESSFUL

Judge = Callable[[Any], Phase]
"""A metric's conditions compiled into one function: result → phase (raises :class:`ConditionError`)."""


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return compile_condition(source)


def eval_condition(source: str, result: Any) -> bool:
    try:
        return bool(_compiled(source).evaluate(result))
    except ExprError as exc:
        raise ConditionError(str(exc)) from None


def _evaluator(source: str) -> Callable[[Any], bool]:
    """``eval_condition(source, ·)`` with the condition looked up once."""
    try:
        condition = _compiled(source)
    except ExprError as exc:
        message = str(exc)

        def failing(result: Any) -> bool:
            raise ConditionError(message)

        return failing
    evaluate = condition.evaluate

    def evaluator(result: Any) -> bool:
        try:
            return bool(evaluate(result))
        except ExprError as exc:
            raise ConditionError(str(exc)) from None

    return evaluator


@lru_cache(maxsize=4096)
def _judge(success_src: str, failure_src: str) -> Judge:
    # Success is evaluated first, then failure, and either's error propagates, whatever the other
    # gave; with neither condition the measurement is Successful (the docs' "Inconclusive" is not
    # what the code does), with both a true failure wins and neither true is Inconclusive.
    if success_src and failure_src:
        success_of, failure_of = _evaluator(success_src), _evaluator(failure_src)

        def both(result: Any) -> Phase:
            success = success_of(result)
            if failure_of(result):
                return _FAILED
            return _SUCCESSFUL if success else _INCONCLUSIVE

        return both
    if success_src or failure_src:
        # One condition: its evaluation inlined, as this is the common case.
        source = success_src or failure_src
        when_true, when_false = (_SUCCESSFUL, _FAILED) if success_src else (_FAILED, _SUCCESSFUL)
        try:
            evaluate = _compiled(source).evaluate
        except ExprError:
            failing = _evaluator(source)  # raises the compile error's ConditionError
            return lambda result: when_true if failing(result) else when_false

        def one(result: Any) -> Phase:
            try:
                true = evaluate(result)
            except ExprError as exc:
                raise ConditionError(str(exc)) from None
            return when_true if true else when_false

        return one

    def neither(result: Any) -> Phase:
        return _SUCCESSFUL

    return neither


def judge(metric: Metric) -> Judge:
    """``evaluate_result(·, metric)`` as one function, for evaluating a batch of results."""
    # The two properties, inlined (this runs once per measurement); a str is its own str().
    raw = metric.raw
    success = raw.get("successCondition")
    failure = raw.get("failureCondition")
    return _judge(
        success if type(success) is str else str(success or ""),
        failure if type(failure) is str else str(failure or ""),
    )


def evaluate_result(result: Any, metric: Metric) -> Phase:
    """Success is evaluated first, then failure; any error propagates as :class:`ConditionError`."""
    return judge(metric)(result)
