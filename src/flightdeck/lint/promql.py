"""What lint needs to know about a PromQL query: does it parse, what type it returns, is it a ratio."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import promql_parser

_TAG = re.compile(r"\{\{\s*args\.([^}\s]+)\s*\}\}")

# When an arg has no declared value we try a few stand-ins: inside a label matcher any string
# works, inside a range (``[{{args.window}}]``) only a duration, elsewhere maybe a number.
_PLACEHOLDERS = ("placeholder", "5m", "1")


@dataclasses.dataclass(frozen=True, slots=True)
class QueryShape:
    result_type: str
    """``scalar``, ``vector``, ``matrix`` or ``string``."""
    is_ratio: bool
    """The outermost operation is a division (an error rate, say), NaN when the divisor is 0."""


def substitute(query: str, values: Mapping[str, str], placeholder: str) -> str:
    return _TAG.sub(lambda m: values.get(m.group(1), placeholder), query)


def result_type(node: object) -> str:
    if isinstance(node, promql_parser.NumberLiteral):
        return "scalar"
    if isinstance(node, promql_parser.StringLiteral):
        return "string"
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return result_type(node.expr)
    if isinstance(node, promql_parser.Call):
        name = str(node.func.return_type).rsplit(".", 1)[-1].lower()
        return name
    if isinstance(node, promql_parser.BinaryExpr):
        left, right = result_type(node.lhs), result_type(node.rhs)
        return "scalar" if left == right == "scalar" else "vector"
    if isinstance(node, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return "matrix"
    return "vector"


def _is_ratio(node: object) -> bool:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "/"


def parse(query: str, values: Mapping[str, str]) -> object | str:
    """The query's AST (args replaced by declared values or the first stand-in that parses), or the
    parser's error text when none does."""
    first_error = ""
    for placeholder in _PLACEHOLDERS:
        text = substitute(query, values, placeholder)
        try:
            return promql_parser.parse(text)
        except (ValueError, TypeError) as exc:
            first_error = first_error or str(exc)
            if not _TAG.search(query):
                break
    return first_error or "invalid query"


def analyse(query: str, values: Mapping[str, str]) -> QueryShape | str:
    """The query's shape, or the parser's error text when no stand-in for its args parses."""
    node = parse(query, values)
    if isinstance(node, str):
        return node
    return QueryShape(result_type(node), _is_ratio(node))
