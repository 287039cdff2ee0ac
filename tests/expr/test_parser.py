"""Parser: tree shapes (precedence, associativity, postfix forms) and expr's parse errors."""

from __future__ import annotations

import pytest

from flightdeck.expr import ExprError, ast
from flightdeck.expr.parser import MAX_DEPTH, parse


def show(node: ast.Node) -> str:
    """A compact s-expression of the tree, to compare shapes."""
    if isinstance(node, ast.BinaryNode):
        return f"({node.operator} {show(node.left)} {show(node.right)})"
    if isinstance(node, ast.UnaryNode):
        return f"({node.operator} {show(node.node)})"
    if isinstance(node, ast.IdentifierNode):
        return node.value
    if isinstance(node, ast.IntegerNode | ast.FloatNode):
        return repr(node.value)
    if isinstance(node, ast.StringNode):
        return repr(node.value)
    if isinstance(node, ast.BoolNode):
        return str(node.value).lower()
    if isinstance(node, ast.NilNode):
        return "nil"
    if isinstance(node, ast.MemberNode):
        return f"(. {show(node.node)} {show(node.property)}{' ?' if node.optional else ''})"
    if isinstance(node, ast.ChainNode):
        return f"(chain {show(node.node)})"
    if isinstance(node, ast.ConditionalNode):
        return f"(?: {show(node.cond)} {show(node.exp1)} {show(node.exp2)})"
    if isinstance(node, ast.BuiltinNode | ast.CallNode):
        name = node.name if isinstance(node, ast.BuiltinNode) else show(node.callee)
        return f"({name} {' '.join(show(a) for a in node.arguments)})"
    if isinstance(node, ast.ClosureNode):
        return f"{{{show(node.node)}}}"
    if isinstance(node, ast.PointerNode):
        return "#" + node.name
    if isinstance(node, ast.SliceNode):
        parts = [show(n) if n is not None else "_" for n in (node.from_, node.to)]
        return f"(slice {show(node.node)} {' '.join(parts)})"
    if isinstance(node, ast.ArrayNode):
        return "[" + " ".join(show(n) for n in node.nodes) + "]"
    if isinstance(node, ast.MapNode):
        return "{" + " ".join(f"{show(p.key)}:{show(p.value)}" for p in node.pairs) + "}"
    if isinstance(node, ast.VariableDeclaratorNode):
        return f"(let {node.name} {show(node.value)} {show(node.expr)})"
    raise AssertionError(node)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("2 ** 3 ** 2", "(** 2 (** 3 2))"),
        ("-2 ** 2", "(- (** 2 2))"),
        ("!a && b", "(&& (! a) b)"),
        ("a || b && c", "(|| a (&& b c))"),
        ("a or b and c", "(or a (and b c))"),
        ("a == b && c < d", "(&& (== a b) (< c d))"),
        ("1..2 + 3", "(.. 1 (+ 2 3))"),
        ("a not in b", "(not (in a b))"),
        ("not a in b", "(in (not a) b)"),
        ("a ?? b ?? c", "(?? (?? a b) c)"),
        ("a ? b : c ? d : e", "(?: a b (?: c d e))"),
        ("a ?: b", "(?: a a b)"),
        ("result[-1]", "(. result (- 1))"),
        ("result[1:2]", "(slice result 1 2)"),
        ("result[:2]", "(slice result _ 2)"),
        ("result[1:]", "(slice result 1 _)"),
        ("m.a.b", "(. (. m 'a') 'b')"),
        ("m?.a.b", "(chain (. (. m 'a' ?) 'b'))"),
        ("all(xs, # > 1)", "(all xs {(> # 1)})"),
        ("all(xs, {# > 1})", "(all xs {(> # 1)})"),
        ("map(xs, .a)", "(map xs {(. # 'a')})"),
        ("reduce(xs, #acc + #, 0)", "(reduce xs {(+ #acc #)} 0)"),
        ("xs | filter(# > 1) | len()", "(len (filter xs {(> # 1)}))"),
        ("{a: 1, 'b': 2, 3: 4}", "{'a':1 'b':2 '3':4}"),
        ("[1, 2,]", "[1 2]"),
        ("let x = 1; x + 1", "(let x 1 (+ x 1))"),
        ("foo(1, 2)", "(foo 1 2)"),
        ("true and nil == nil", "(and true (== nil nil))"),
    ],
)
def test_tree_shape(source: str, tree: str) -> None:
    assert show(parse(source)) == tree


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "unexpected token EOF"),
        ("1 +", "unexpected token EOF"),
        ("(1", "unexpected token EOF"),
        ("1 2", 'unexpected token Number("2")'),
        ("a)", 'unexpected token Bracket(")")'),
        ("a.", "unexpected end of expression"),
        ("a.1", 'unexpected token Number(".1")'),
        ("a.+", "expected name"),
        ("#", "cannot use pointer accessor outside closure"),
        (".a", "cannot use pointer accessor outside closure"),
        (
            "a ?? b + c",
            "Operator (+) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses.",
        ),
        (
            "{[1]: 2}",
            "a map key must be a quoted string, a number, a identifier, or an expression enclosed in "
            'parentheses (unexpected token Bracket("["))',
        ),
        ("0x", 'invalid hex literal: strconv.ParseInt: parsing "0x": invalid syntax'),
        ("1e", 'invalid float literal: strconv.ParseFloat: parsing "1e": invalid syntax'),
        (
            "9223372036854775808",
            'invalid integer literal: strconv.ParseInt: parsing "9223372036854775808": value out of range',
        ),
        ('"abc"[0]', 'unexpected token Bracket("[")'),
        ("all(xs)", 'unexpected token Bracket(")")'),
    ],
)
def test_parse_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(source)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "source", ["(" * 500 + "1" + ")" * 500, "-" * 5000 + "1", "1" + " + 1" * 3000, "[" * 300]
)
def test_deep_nesting_is_a_clear_error(source: str) -> None:
    with pytest.raises(ExprError, match="nested too deeply"):
        parse(source)


def test_reasonable_nesting_is_fine() -> None:
    depth = MAX_DEPTH // 4
    parse("(" * depth + "1" + ")" * depth)
