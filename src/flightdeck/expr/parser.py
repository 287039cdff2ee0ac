"""Recursive-descent / precedence-climbing parser, mirroring expr v1.15.5's parser.

The control flow follows expr's so that the *first* error it reports is the same one (expr records
the first error and carries on; raising at that point is equivalent). On top of expr, flightdeck
caps nesting depth so that hostile input cannot exhaust the Python stack.
"""

from __future__ import annotations

from flightdeck.expr import ast
from flightdeck.expr.builtins_names import BUILTIN_NAMES
from flightdeck.expr.errors import ExprError
from flightdeck.expr.lexer import BRACKET, EOF, IDENTIFIER, NUMBER, OPERATOR, STRING, Token, tokenize
from flightdeck.expr.lexer import is_valid_identifier as _is_valid_identifier
from flightdeck.expr.numbers import parse_float_literal, parse_int_literal

# Deep enough for any real condition, shallow enough for the Python stack in every later pass.
MAX_DEPTH = 100
DEPTH_MESSAGE = f"expression is nested too deeply (more than {MAX_DEPTH} levels; not supported by flightdeck)"

UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
BINARY: dict[str, tuple[int, bool]] = {  # precedence, right-associative
    "|": (0, False),
    "or": (10, False),
    "||": (10, False),
    "and": (15, False),
    "&&": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    ">=": (20, False),
    "<=": (20, False),
    "in": (20, False),
    "matches": (20, False),
    "contains": (20, False),
    "startsWith": (20, False),
    "endsWith": (20, False),
    "..": (25, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "**": (100, True),
    "^": (100, True),
    "??": (500, False),
}
# builtins whose second argument is a closure (the predicate), with their arity
PREDICATES = {
    "all": 2,
    "none": 2,
    "any": 2,
    "one": 2,
    "filter": 2,
    "map": 2,
    "count": 2,
    "find": 2,
    "findIndex": 2,
    "findLast": 2,
    "findLastIndex": 2,
    "groupBy": 2,
    "reduce": 3,
}


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.current = tokens[0]
        self.closure_depth = 0
        self.nesting = 0

    def error(self, message: str) -> ExprError:
        return ExprError(message)

    def next(self) -> None:
        self.pos += 1
        if self.pos >= len(self.tokens):
            raise ExprError("unexpected end of expression")
        self.current = self.tokens[self.pos]

    def expect(self, kind: str, *values: str) -> None:
        if self.current.is_(kind, *values):
            self.next()
            return
        raise ExprError(f"unexpected token {self.current}")

    # -- expressions
    def parse_expression(self, precedence: int) -> ast.Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExprError(DEPTH_MESSAGE)
        try:
            return self._parse_expression(precedence)
        finally:
            self.nesting -= 1

    def _parse_expression(self, precedence: int) -> ast.Node:
        if precedence == 0 and self.current.is_(OPERATOR, "let"):
            return self.parse_variable_declaration()
        node_left = self.parse_primary()
        prev_operator = ""
        op_token = self.current
        while op_token.kind == OPERATOR:
            negate = False
            if op_token.value == "not":
                self.next()
                negate = True
                op_token = self.current
            op = BINARY.get(op_token.value)
            if op is None or op[0] < precedence:
                break
            self.next()
            if op_token.value == "|":
                node_left = self.parse_pipe(node_left)
            else:
                if prev_operator == "??" and op_token.value != "??":
                    raise ExprError(
                        f"Operator ({op_token.value}) and coalesce expressions (??) cannot be mixed. "
                        "Wrap either by parentheses."
                    )
                right_assoc = op[1]
                node_right = self.parse_expression(op[0] if right_assoc else op[0] + 1)
                node_left = ast.BinaryNode(op_token.value, node_left, node_right)
                if negate:
                    node_left = ast.UnaryNode("not", node_left)
            prev_operator = op_token.value
            op_token = self.current
        if precedence == 0:
            node_left = self.parse_conditional(node_left)
        return node_left

    def parse_variable_declaration(self) -> ast.Node:
        self.expect(OPERATOR, "let")
        name = self.current
        self.expect(IDENTIFIER)
        self.expect(OPERATOR, "=")
        value = self.parse_expression(0)
        self.expect(OPERATOR, ";")
        body = self.parse_expression(0)
        return ast.VariableDeclaratorNode(name.value, value, body)

    def parse_conditional(self, node: ast.Node) -> ast.Node:
        while self.current.is_(OPERATOR, "?"):
            self.next()
            if not self.current.is_(OPERATOR, ":"):
                exp1 = self.parse_expression(0)
                self.expect(OPERATOR, ":")
                exp2 = self.parse_expression(0)
            else:
                self.next()
                exp1 = node
                exp2 = self.parse_expression(0)
            node = ast.ConditionalNode(node, exp1, exp2)
        return node

    def parse_primary(self) -> ast.Node:
        token = self.current
        if token.kind == OPERATOR and token.value in UNARY:
            self.next()
            expr = self.parse_expression(UNARY[token.value])
            return self.parse_postfix(ast.UnaryNode(token.value, expr))
        if token.is_(BRACKET, "("):
            self.next()
            expr = self.parse_expression(0)
            self.expect(BRACKET, ")")
            return self.parse_postfix(expr)
        if token.is_(OPERATOR, "#", "."):
            if self.closure_depth == 0:
                raise ExprError("cannot use pointer accessor outside closure")
            name = ""
            if token.value == "#":
                self.next()
                if self.current.kind == IDENTIFIER:
                    name = self.current.value
                    self.next()
            # `.field` stays on the `.` token so the postfix loop reads it as `#.field`
            return self.parse_postfix(ast.PointerNode(name))
        return self.parse_secondary()

    def parse_secondary(self) -> ast.Node:
        token = self.current
        node: ast.Node
        if token.kind == IDENTIFIER:
            self.next()
            if token.value == "true":
                return ast.BoolNode(True)
            if token.value == "false":
                return ast.BoolNode(False)
            if token.value == "nil":
                return ast.NilNode()
            node = self.parse_call(token)
        elif token.kind == NUMBER:
            self.next()
            return _number_node(token.value)
        elif token.kind == STRING:
            self.next()
            return ast.StringNode(token.value)
        elif token.is_(BRACKET, "["):
            node = self.parse_array()
        elif token.is_(BRACKET, "{"):
            node = self.parse_map()
        else:
            raise ExprError(f"unexpected token {token}")
        return self.parse_postfix(node)

    def parse_call(self, token: Token) -> ast.Node:
        if not self.current.is_(BRACKET, "("):
            return ast.IdentifierNode(token.value)
        name = token.value
        if name in PREDICATES:
            self.expect(BRACKET, "(")
            first = self.parse_expression(0)
            self.expect(OPERATOR, ",")
            args: list[ast.Node] = [first, self.parse_closure()]
            if name == "reduce" and self.current.is_(OPERATOR, ","):
                self.next()
                args.append(self.parse_expression(0))
            self.expect(BRACKET, ")")
            return ast.BuiltinNode(name, args)
        if name in BUILTIN_NAMES:
            return ast.BuiltinNode(name, self.parse_arguments())
        return ast.CallNode(ast.IdentifierNode(name), self.parse_arguments())

    def parse_closure(self) -> ast.Node:
        braces = self.current.is_(BRACKET, "{")
        if braces:
            self.next()
        self.closure_depth += 1
        node = self.parse_expression(0)
        self.closure_depth -= 1
        if braces:
            self.expect(BRACKET, "}")
        return ast.ClosureNode(node)

    def parse_array(self) -> ast.Node:
        nodes: list[ast.Node] = []
        self.expect(BRACKET, "[")
        while not self.current.is_(BRACKET, "]"):
            if nodes:
                self.expect(OPERATOR, ",")
                if self.current.is_(BRACKET, "]"):
                    break
            nodes.append(self.parse_expression(0))
        self.expect(BRACKET, "]")
        return ast.ArrayNode(nodes)

    def parse_map(self) -> ast.Node:
        self.expect(BRACKET, "{")
        pairs: list[ast.PairNode] = []
        while not self.current.is_(BRACKET, "}"):
            if pairs:
                self.expect(OPERATOR, ",")
                if self.current.is_(BRACKET, "}"):
                    break
                if self.current.is_(OPERATOR, ","):
                    raise ExprError(f"unexpected token {self.current}")
            key: ast.Node
            if self.current.kind in (NUMBER, STRING, IDENTIFIER):
                key = ast.StringNode(self.current.value)
                self.next()
            elif self.current.is_(BRACKET, "("):
                key = self.parse_expression(0)
            else:
                raise ExprError(
                    "a map key must be a quoted string, a number, a identifier, or an expression "
                    f"enclosed in parentheses (unexpected token {self.current})"
                )
            self.expect(OPERATOR, ":")
            pairs.append(ast.PairNode(key, self.parse_expression(0)))
        self.expect(BRACKET, "}")
        return ast.MapNode(pairs)

    def parse_postfix(self, node: ast.Node) -> ast.Node:
        token = self.current
        while token.kind in (OPERATOR, BRACKET):
            if token.value in (".", "?."):
                self.next()
                prop_token = self.current
                self.next()
                if prop_token.kind != IDENTIFIER and not (
                    prop_token.kind == OPERATOR and _is_valid_identifier(prop_token.value)
                ):
                    raise ExprError("expected name")
                optional = token.value == "?."
                is_chain = isinstance(node, ast.ChainNode)
                if isinstance(node, ast.ChainNode):
                    node = node.node
                member = ast.MemberNode(node, ast.StringNode(prop_token.value), optional)
                if self.current.is_(BRACKET, "("):
                    node = ast.CallNode(member, self.parse_arguments())
                else:
                    node = member
                if is_chain or optional:
                    node = ast.ChainNode(node)
            elif token.value == "[":
                self.next()
                if self.current.is_(OPERATOR, ":"):
                    self.next()
                    to = None if self.current.is_(BRACKET, "]") else self.parse_expression(0)
                    node = ast.SliceNode(node, None, to)
                    self.expect(BRACKET, "]")
                else:
                    from_ = self.parse_expression(0)
                    if self.current.is_(OPERATOR, ":"):
                        self.next()
                        to = None if self.current.is_(BRACKET, "]") else self.parse_expression(0)
                        node = ast.SliceNode(node, from_, to)
                    else:
                        node = ast.MemberNode(node, from_)
                    self.expect(BRACKET, "]")
            else:
                break
            token = self.current
        return node

    def parse_pipe(self, node: ast.Node) -> ast.Node:
        ident = self.current
        self.expect(IDENTIFIER)
        args: list[ast.Node] = [node]
        name = ident.value
        if name in PREDICATES:
            self.expect(BRACKET, "(")
            args.append(self.parse_closure())
            if name == "reduce" and self.current.is_(OPERATOR, ","):
                self.next()
                args.append(self.parse_expression(0))
            self.expect(BRACKET, ")")
            return ast.BuiltinNode(name, args)
        if name in BUILTIN_NAMES:
            return ast.BuiltinNode(name, args + self.parse_arguments())
        return ast.CallNode(ast.IdentifierNode(name), args + self.parse_arguments())

    def parse_arguments(self) -> list[ast.Node]:
        self.expect(BRACKET, "(")
        nodes: list[ast.Node] = []
        while not self.current.is_(BRACKET, ")"):
            if nodes:
                self.expect(OPERATOR, ",")
            nodes.append(self.parse_expression(0))
        self.expect(BRACKET, ")")
        return nodes


def _number_node(text: str) -> ast.Node:
    value = text.replace("_", "")
    if "x" in value:
        return ast.IntegerNode(parse_int_literal(value, hex_=True))
    if any(c in value for c in ".eE"):
        return ast.FloatNode(parse_float_literal(value))
    return ast.IntegerNode(parse_int_literal(value, hex_=False))


def parse(source: str) -> ast.Node:
    """Parse ``source`` into a tree; raises :class:`ExprError` with expr's message on bad syntax."""
    parser = _Parser(tokenize(source))
    node = parser.parse_expression(0)
    if not parser.current.is_(EOF):
        raise ExprError(f"unexpected token {parser.current}")
    if ast.depth(node) > MAX_DEPTH:
        raise ExprError(DEPTH_MESSAGE)
    return node
