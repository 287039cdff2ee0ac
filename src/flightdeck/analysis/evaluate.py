"""Argo's ``EvaluateResult``: a provider value and a metric's conditions → a measurement phase."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flightdeck.analysis.types import Metric, Phase
from flightdeck.expr import ExprError, compile_condition


class ConditionError(Exception):
    """A condition failed to compile or evaluate; ``str()`` is expr's bare message."""


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return compile_condition(source)


def eval_condition(source: str, result: Any) -> bool:
    try:
        return bool(_compiled(source).evaluate(result))
    except ExprError as exc:
        raise ConditionError(str(exc)) from None


def evaluate_result(result: Any, metric: Metric) -> Phase:
    """Success is evaluated first, then failure; any error propagates as :class:`ConditionError`.

    With neither condition the measurement is Successful (the docs' "Inconclusive" is not what the
    code does), with both a true failure wins and neither true is Inconclusive.
    """
    success_src = metric.success_condition
    failure_src = metric.failure_condition
    success = eval_condition(success_src, result) if success_src else False
    failure = eval_condition(failure_src, result) if failure_src else False
    if not success_src and not failure_src:
        return Phase.SUCCESSFUL
    if success_src and failure_src:
        if failure:
            return Phase.FAILED
        return Phase.SUCCESSFUL if success else Phase.INCONCLUSIVE
    if success_src:
        return Phase.SUCCESSFUL if success else Phase.FAILED
    return Phase.FAILED if failure else Phase.SUCCESSFUL
