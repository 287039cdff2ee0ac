"""EvaluateResult: every combination of conditions, outcomes and errors."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.analysis.evaluate import ConditionError, eval_condition, evaluate_result, judge
from flightdeck.analysis.types import Metric, Phase
from flightdeck.expr import Float64Slice

CONDITIONS = ["", "result[0] < 0.05", "result[0] >= 0.9", "len(result) == 0", "result[0] <", "result.x > 1"]
RESULTS: list[Any] = [Float64Slice([0.01]), Float64Slice([0.95]), Float64Slice([]), Float64Slice([0.5])]


def reference(result: Any, success_src: str, failure_src: str) -> Phase | str:
    """Argo's EvaluateResult, written out plainly: success is evaluated, then failure."""
    try:
        success = eval_condition(success_src, result) if success_src else False
        failure = eval_condition(failure_src, result) if failure_src else False
    except ConditionError as exc:
        return f"error: {exc}"
    if not success_src and not failure_src:
        return Phase.SUCCESSFUL
    if success_src and failure_src:
        if failure:
            return Phase.FAILED
        return Phase.SUCCESSFUL if success else Phase.INCONCLUSIVE
    if success_src:
        return Phase.SUCCESSFUL if success else Phase.FAILED
    return Phase.FAILED if failure else Phase.SUCCESSFUL


@pytest.mark.parametrize("success", CONDITIONS)
@pytest.mark.parametrize("failure", CONDITIONS)
def test_judge_is_evaluate_result(success: str, failure: str) -> None:
    metric = Metric.from_dict({"name": "m", "successCondition": success, "failureCondition": failure})
    for result in RESULTS:
        expected = reference(result, success, failure)
        for evaluate in (lambda r: evaluate_result(r, metric), judge(metric)):
            try:
                got: Phase | str = evaluate(result)
            except ConditionError as exc:
                got = f"error: {exc}"
            assert got == expected, (success, failure, result)


def test_expr_messages_come_through() -> None:
    metric = Metric.from_dict({"name": "m", "successCondition": "result[0] < 0.05"})
    with pytest.raises(ConditionError, match=r"^reflect: slice index out of range$"):
        judge(metric)(Float64Slice([]))


def test_non_string_conditions_are_taken_as_text() -> None:
    metric = Metric.from_dict({"name": "m", "successCondition": True, "failureCondition": None})
    assert judge(metric) is judge(Metric.from_dict({"name": "m", "successCondition": "True"}))
