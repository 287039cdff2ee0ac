"""Static checks of successCondition/failureCondition with the expr parser and type checker."""

from __future__ import annotations

from typing import Any

from flightdeck.expr import ExprError, Float64Slice, check_condition, compile_condition
from flightdeck.expr import ast as expr_ast
from flightdeck.expr.parser import parse as parse_expr

# Built-ins that cope with an empty result (or test for it) before anything indexes into it.
_GUARDS = frozenset(
    {"len", "all", "any", "none", "one", "filter", "count", "first", "last", "isNil", "default"}
)


def sample_result(result_type: str) -> Any:
    """A value of the Go type the Prometheus provider hands to the condition for this query type."""
    return 0.0 if result_type == "scalar" else Float64Slice([0.0])


def problem(source: str, result_type: str) -> str | None:
    """expr's compile/type error for ``source`` when ``result`` has the provider's type, or None."""
    try:
        return check_condition(source, sample_result(result_type))
    except ExprError as exc:  # check_condition reports, but never let lint crash on a bad condition
        return str(exc)


def parse_problem(source: str) -> str | None:
    """expr's syntax error for ``source``, or None."""
    try:
        compile_condition(source)
    except ExprError as exc:
        return str(exc)
    return None


def _walk(node: expr_ast.Node) -> list[expr_ast.Node]:
    out: list[expr_ast.Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(expr_ast.children(current))
    return out


def _is_result(node: expr_ast.Node) -> bool:
    return isinstance(node, expr_ast.IdentifierNode) and node.value == "result"


def indexes_result_unguarded(source: str) -> bool:
    """True when the condition reads ``result[i]`` and nothing in it handles an empty result."""
    try:
        root = parse_expr(source)
    except ExprError:
        return False
    nodes = _walk(root)
    indexes = any(
        isinstance(n, expr_ast.MemberNode)
        and _is_result(n.node)
        and not isinstance(n.property, expr_ast.StringNode)
        for n in nodes
    )
    if not indexes:
        return False
    for n in nodes:
        if isinstance(n, expr_ast.BuiltinNode | expr_ast.CallNode):
            name = n.name if isinstance(n, expr_ast.BuiltinNode) else getattr(n.callee, "value", "")
            if name in _GUARDS:
                return False
        if isinstance(n, expr_ast.BinaryNode) and n.operator == "??":
            return False
        if isinstance(n, expr_ast.MemberNode) and n.optional:
            return False
    return True


def mentions_nan_check(source: str) -> bool:
    try:
        root = parse_expr(source)
    except ExprError:
        return False
    for n in _walk(root):
        if isinstance(n, expr_ast.BuiltinNode | expr_ast.CallNode):
            name = n.name if isinstance(n, expr_ast.BuiltinNode) else getattr(n.callee, "value", "")
            if name == "isNaN":
                return True
    return False


def minimum_check_threshold(source: str) -> float | None:
    """For ``result[0] >= 0.05`` style conditions: the positive lower bound the result must reach."""
    try:
        root = parse_expr(source)
    except ExprError:
        return None
    for n in _walk(root):
        if isinstance(n, expr_ast.BinaryNode) and n.operator in (">", ">="):
            bound = n.right
            if isinstance(bound, expr_ast.IntegerNode | expr_ast.FloatNode) and bound.value > 0:
                return float(bound.value)
        if isinstance(n, expr_ast.BinaryNode) and n.operator in ("<", "<="):
            bound = n.left
            if isinstance(bound, expr_ast.IntegerNode | expr_ast.FloatNode) and bound.value > 0:
                return float(bound.value)
    return None
