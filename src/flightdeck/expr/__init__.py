"""The expr condition language of successCondition/failureCondition.

A lexer, parser, type checker and closure compiler for antonmedv/expr v1.15.5 (the version
Argo Rollouts ≤ v1.9 embeds), reproducing its results and bare error messages. Python's
``eval``/``exec``/``compile`` are never used.

    cond = compile_condition("result[0] < 0.05")
    cond.evaluate(Float64Slice([0.01]))  # True
"""

from __future__ import annotations

from flightdeck.expr.errors import ExprError
from flightdeck.expr.program import Condition, check_condition, compile_condition
from flightdeck.expr.values import Float64Slice, IntSlice, StringSlice, go_type_name

__all__ = [
    "Condition",
    "ExprError",
    "Float64Slice",
    "IntSlice",
    "StringSlice",
    "check_condition",
    "compile_condition",
    "go_type_name",
]
