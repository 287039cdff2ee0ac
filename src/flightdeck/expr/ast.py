"""Syntax tree of an expr program (node kinds as in expr v1.15.5's ``ast`` package).

Nodes are immutable after parsing: a parsed tree is shared by every type-specialised program, so
per-specialisation facts (types, folded constants) live in side tables keyed by node identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    __slots__ = ()


@dataclass(eq=False, slots=True)
class NilNode(Node):
    """The ``nil`` literal."""


@dataclass(eq=False, slots=True)
class IdentifierNode(Node):
    value: str


@dataclass(eq=False, slots=True)
class IntegerNode(Node):
    value: int


@dataclass(eq=False, slots=True)
class FloatNode(Node):
    value: float


@dataclass(eq=False, slots=True)
class BoolNode(Node):
    value: bool


@dataclass(eq=False, slots=True)
class StringNode(Node):
    value: str


@dataclass(eq=False, slots=True)
class ConstantNode(Node):
    """A value computed by the optimizer (a literal array or a literal range)."""

    value: Any


@dataclass(eq=False, slots=True)
class UnaryNode(Node):
    operator: str
    node: Node


@dataclass(eq=False, slots=True)
class BinaryNode(Node):
    operator: str
    left: Node
    right: Node


@dataclass(eq=False, slots=True)
class ChainNode(Node):
    """Delimits an optional chain ``a?.b.c``: a nil anywhere in it makes the whole chain nil."""

    node: Node


@dataclass(eq=False, slots=True)
class MemberNode(Node):
    node: Node
    property: Node
    optional: bool = False


@dataclass(eq=False, slots=True)
class SliceNode(Node):
    node: Node
    from_: Node | None
    to: Node | None


@dataclass(eq=False, slots=True)
class CallNode(Node):
    callee: Node
    arguments: list[Node]


@dataclass(eq=False, slots=True)
class BuiltinNode(Node):
    name: str
    arguments: list[Node]
    throws: bool = False


@dataclass(eq=False, slots=True)
class ClosureNode(Node):
    node: Node


@dataclass(eq=False, slots=True)
class PointerNode(Node):
    """``#`` (current element), ``#index`` or ``#acc`` inside a predicate."""

    name: str


@dataclass(eq=False, slots=True)
class VariableDeclaratorNode(Node):
    """``let name = value; expr``."""

    name: str
    value: Node
    expr: Node


@dataclass(eq=False, slots=True)
class ConditionalNode(Node):
    cond: Node
    exp1: Node
    exp2: Node


@dataclass(eq=False, slots=True)
class ArrayNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class PairNode(Node):
    key: Node
    value: Node


@dataclass(eq=False, slots=True)
class MapNode(Node):
    pairs: list[PairNode] = field(default_factory=list)


def children(node: Node) -> list[Node]:
    """Direct sub-nodes, in evaluation order."""
    if isinstance(node, UnaryNode | ChainNode | ClosureNode):
        return [node.node]
    if isinstance(node, BinaryNode):
        return [node.left, node.right]
    if isinstance(node, MemberNode):
        return [node.node, node.property]
    if isinstance(node, SliceNode):
        return [n for n in (node.node, node.from_, node.to) if n is not None]
    if isinstance(node, CallNode):
        return [node.callee, *node.arguments]
    if isinstance(node, BuiltinNode):
        return list(node.arguments)
    if isinstance(node, VariableDeclaratorNode):
        return [node.value, node.expr]
    if isinstance(node, ConditionalNode):
        return [node.cond, node.exp1, node.exp2]
    if isinstance(node, ArrayNode):
        return list(node.nodes)
    if isinstance(node, MapNode):
        return list(node.pairs)
    if isinstance(node, PairNode):
        return [node.key, node.value]
    return []


def depth(root: Node) -> int:
    """Height of the tree, computed without recursion (the tree may be arbitrarily deep)."""
    best = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(node))
    return best
