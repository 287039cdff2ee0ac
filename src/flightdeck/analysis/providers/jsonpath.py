"""Kubernetes JSONPath (``k8s.io/client-go/util/jsonpath``), as the ``web`` provider uses it.

Supported: text outside braces, ``$``/``@``, ``.field`` (backslash escapes a dot), ``['key']``,
``[n]`` with negative indexes, slices ``[a:b:c]``, ``[*]`` and ``.*``, unions ``[0,2]``,
recursive descent ``..field``, filters ``[?(@.x == "a")]`` / ``[?(@.x)]``, and number, string and
bool literals. Not supported: ``{range}``/``{end}`` blocks (a clear error says so).

Behaviour and error texts follow client-go, quirks included, because Argo users meet them:

* ``["key"]`` (double quotes) is an ``invalid array index``; only ``['key']`` is a key;
* ``['a.b']`` is read as the two fields ``a`` and ``b``;
* a filter literal ``1`` is an ``int`` and JSON numbers are ``float64``, so ``[?(@.x > 1)]`` fails
  with ``incompatible types for comparison`` while ``[?(@.x > 1.0)]`` works;
* a missing key is an error (``x is not found``), not an empty result.

Values are decoded JSON: ``dict``, ``list``, ``str``, ``float`` (every JSON number), ``bool``,
``None``. Integers (``int``) only come from literals in the path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flightdeck.util.gofmt import format_float_v


class JSONPathError(Exception):
    """``str()`` is client-go's error text."""


class GoUint8(int):
    """A byte of a string, as ``[*]``/``.*`` over a Go string yields."""


# -- nodes -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ListNode:
    nodes: list[Node]


@dataclass(frozen=True, slots=True)
class TextNode:
    text: str


@dataclass(frozen=True, slots=True)
class FieldNode:
    name: str


@dataclass(frozen=True, slots=True)
class WildcardNode:
    """``*``: every element or value."""


@dataclass(frozen=True, slots=True)
class RecursiveNode:
    """``..``: the node and all its descendants."""


@dataclass(frozen=True, slots=True)
class Param:
    value: int = 0
    known: bool = False
    derived: bool = False


@dataclass(frozen=True, slots=True)
class ArrayNode:
    params: tuple[Param, Param, Param]


@dataclass(frozen=True, slots=True)
class UnionNode:
    lists: tuple[ListNode, ...]


@dataclass(frozen=True, slots=True)
class FilterNode:
    left: ListNode
    right: ListNode
    operator: str


@dataclass(frozen=True, slots=True)
class LiteralNode:
    value: int | float | bool


@dataclass(frozen=True, slots=True)
class IdentifierNode:
    name: str


Node = (
    ListNode
    | TextNode
    | FieldNode
    | WildcardNode
    | RecursiveNode
    | ArrayNode
    | UnionNode
    | FilterNode
    | LiteralNode
    | IdentifierNode
)

_EOF = ""
_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$")


def _is_terminator(char: str) -> bool:
    return char in (_EOF, " ", "\t", "\r", "\n", ".", ",", "[", "]", "$", "@", "{", "}")


def _is_alnum(char: str) -> bool:
    return char == "_" or (char != _EOF and (char.isalpha() or unicodedata.category(char) == "Nd"))


def _go_rune(char: str) -> str:
    """Go's ``%#U``: ``U+0023 '#'`` (no quoted form for unprintable runes)."""
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if char.isprintable() else code


class _Parser:
    """A recursive-descent reading of the template, in client-go's order of checks."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.start = 0
        self.root = ListNode([])

    # -- cursor
    def next(self) -> str:
        if self.pos >= len(self.text):
            return _EOF
        char = self.text[self.pos]
        self.pos += 1
        return char

    def backup(self, char: str) -> None:
        if char != _EOF:
            self.pos -= 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def consume(self) -> str:
        value = self.text[self.start : self.pos]
        self.start = self.pos
        return value

    # -- grammar
    def parse(self) -> ListNode:
        self._text(self.root)
        return self.root

    def _text(self, cur: ListNode) -> None:
        while True:
            if self.text.startswith("{", self.pos):
                if self.pos > self.start:
                    cur.nodes.append(TextNode(self.consume()))
                self.pos += 1
                self.consume()
                action = ListNode([])
                cur.nodes.append(action)
                self._inside(action)
                return
            if self.next() == _EOF:
                break
        if self.pos > self.start:
            cur.nodes.append(TextNode(self.consume()))

    def _inside(self, cur: ListNode) -> None:
        while True:
            rest = self.text[self.pos :]
            if rest.startswith("}"):
                self.pos += 1
                self.consume()
                self._text(self.root)
                return
            if rest.startswith("[?("):
                self._filter(cur)
                continue
            if rest.startswith(".."):
                if cur.nodes and isinstance(cur.nodes[-1], RecursiveNode):
                    raise JSONPathError("invalid multiple recursive descent")
                self.pos += 2
                self.consume()
                cur.nodes.append(RecursiveNode())
                if _is_alnum(self.peek()):
                    self._field(cur)
                continue
            char = self.next()
            if char in (_EOF, "\r", "\n"):
                raise JSONPathError("unclosed action")
            if char in (" ", "@", "$"):
                self.consume()
            elif char == "[":
                self._array(cur)
            elif char in ("'", '"'):
                self._quote(cur, char)
            elif char == ".":
                self._field(cur)
            elif char in "+-" or unicodedata.category(char) == "Nd":
                self.backup(char)
                self._number(cur)
            elif _is_alnum(char):
                self.backup(char)
                self._identifier(cur)
            else:
                raise JSONPathError(f"unrecognized character in action: {_go_rune(char)}")

    def _identifier(self, cur: ListNode) -> None:
        while not _is_terminator(char := self.next()):
            pass
        self.backup(char)
        value = self.consume()
        if value in ("true", "false"):
            cur.nodes.append(LiteralNode(value == "true"))
        else:
            cur.nodes.append(IdentifierNode(value))

    def _number(self, cur: ListNode) -> None:
        if self.peek() in ("+", "-"):
            self.next()
        while True:
            char = self.next()
            if char == _EOF or (char != "." and unicodedata.category(char) != "Nd"):
                self.backup(char)
                break
        value = self.consume()
        if re.fullmatch(r"[+-]?[0-9]+", value):
            cur.nodes.append(LiteralNode(int(value)))
            return
        if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", value):
            cur.nodes.append(LiteralNode(float(value)))
            return
        raise JSONPathError(f"cannot parse number {value}")

    def _array(self, cur: ListNode) -> None:
        while True:
            char = self.next()
            if char in (_EOF, "\n"):
                raise JSONPathError("unterminated array")
            if char == "]":
                break
        text = self.consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            lists = tuple(_parse_action(f"[{part.strip(' ')}]") for part in parts)
            cur.nodes.append(UnionNode(lists))
            return
        key = _DICT_KEY.match(text)
        if key:
            cur.nodes.extend(_parse_action(f".{key.group(1)}").nodes)
            return
        match = _SLICE.match(text)
        if not match:
            raise JSONPathError(f"invalid array index {text}")
        groups = [match.group(1) or "", match.group(2) or "", match.group(3) or ""]
        params: list[Param] = []
        for i, raw in enumerate(groups):
            if raw:
                body = raw[1:] if i > 0 else raw
                if i > 0 and body == "":
                    params.append(Param())
                else:
                    if not re.fullmatch(r"[+-]?[0-9]+", body):
                        raise JSONPathError(f"array index {body} is not a number")
                    params.append(Param(int(body), known=True))
            elif i == 1:
                params.append(Param(params[0].value + 1, known=True, derived=True))
            else:
                params.append(Param())
        cur.nodes.append(ArrayNode((params[0], params[1], params[2])))

    def _filter(self, cur: ListNode) -> None:
        self.pos += 3
        self.consume()
        begin = end = False
        pair = ""
        while True:
            char = self.next()
            if char in (_EOF, "\n"):
                raise JSONPathError("unterminated filter")
            if char in ('"', "'"):
                if not begin:
                    begin, pair = True, char
                    continue
                if self.text[self.pos - 2] != "\\" and char == pair:
                    end = True
            elif char == ")" and begin == end:
                break
        if self.next() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self.consume()[:-2]
        match = _FILTER.match(text)
        if match is None:
            cur.nodes.append(FilterNode(_parse_action(text), ListNode([]), "exists"))
        else:
            left, operator, right = match.groups()
            cur.nodes.append(FilterNode(_parse_action(left), _parse_action(right), operator))

    def _quote(self, cur: ListNode, quote: str) -> None:
        while True:
            char = self.next()
            if char in (_EOF, "\n"):
                raise JSONPathError("unterminated quoted string")
            if char == quote and self.text[self.pos - 2] != "\\":
                break
        value = self.consume()
        cur.nodes.append(TextNode(_unquote(value)))

    def _field(self, cur: ListNode) -> None:
        self.consume()
        while True:
            char = self.next()
            if char == "\\":
                self.next()
            elif _is_terminator(char):
                self.backup(char)
                break
        value = self.consume()
        cur.nodes.append(WildcardNode() if value == "*" else FieldNode(value.replace("\\", "")))


def _parse_action(text: str) -> ListNode:
    root = _Parser("{" + text + "}").parse()
    first = root.nodes[0]
    assert isinstance(first, ListNode)
    return first


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unquote(value: str) -> str:
    """client-go's ``UnquoteExtend``: ``strconv.Unquote`` that also accepts single quotes."""
    quote = value[0]
    body = value[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == quote:
            raise JSONPathError(f"unquote string {value} error invalid syntax")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ESCAPES or nxt == quote:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise JSONPathError(f"unquote string {value} error invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise JSONPathError(f"unquote string {value} error invalid syntax")
    return "".join(out)


# -- evaluation ------------------------------------------------------------------------------------


def go_type(value: object) -> str:
    """The Go type a decoded JSON value would have (``map[string]interface {}``, ``float64`` …)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoUint8):
        return "uint8"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def go_value(value: object) -> str:
    """Go's ``%v`` of a decoded JSON value (``map[a:1 b:[x y]]``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float_v(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _children(value: object) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [GoUint8(b) for b in value.encode("utf-8")]
    return []


def _eval_list(values: list[Any], node: ListNode) -> list[Any]:
    current = values
    for child in node.nodes:
        current = _walk(current, child)
    return current


def _walk(values: list[Any], node: Node) -> list[Any]:
    if isinstance(node, ListNode):
        return _eval_list(values, node)
    if isinstance(node, TextNode):
        return [node.text]
    if isinstance(node, FieldNode):
        return _eval_field(values, node)
    if isinstance(node, ArrayNode):
        return _eval_array(values, node)
    if isinstance(node, FilterNode):
        return _eval_filter(values, node)
    if isinstance(node, LiteralNode):
        return [node.value for _ in values]
    if isinstance(node, WildcardNode):
        return [child for value in values if value is not None for child in _children(value)]
    if isinstance(node, RecursiveNode):
        return _eval_recursive(values)
    if isinstance(node, UnionNode):
        return [item for lst in node.lists for item in _eval_list(values, lst)]
    if node.name in ("range", "end"):
        raise JSONPathError(f"flightdeck: JSONPath {{{node.name}}} blocks are not supported")
    raise JSONPathError(f"unrecognized identifier {node.name}")


def _eval_field(values: list[Any], node: FieldNode) -> list[Any]:
    if not values:
        return []
    results = [v[node.name] for v in values if isinstance(v, dict) and node.name in v]
    if not results:
        raise JSONPathError(f"{node.name} is not found")
    return results


def _eval_array(values: list[Any], node: ArrayNode) -> list[Any]:
    results: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise JSONPathError(f"{go_type(value)} is not array or slice")
        length = len(value)
        p0, p1, p2 = node.params
        start = p0.value if p0.known else 0
        if start < 0:
            start += length
        stop = p1.value if p1.known else length
        if stop < 0 or (stop == 0 and p1.derived):
            stop += length
        if stop == start:
            return results
        if start >= length or start < 0:
            raise JSONPathError(f"array index out of bounds: index {start}, length {length}")
        if stop > length or stop < 0:
            raise JSONPathError(f"array index out of bounds: index {stop - 1}, length {length}")
        if start > stop:
            raise JSONPathError(f"starting index {start} is greater than ending index {stop}")
        step = 1
        if p2.known:
            if p2.value <= 0:
                raise JSONPathError("step must be > 0")
            step = p2.value
        results.extend(value[start:stop:step])
    return results


def _eval_recursive(values: list[Any]) -> list[Any]:
    results: list[Any] = []
    for value in values:
        if value is None:
            continue
        children = _children(value)
        if children:
            results.append(value)
            results.extend(_eval_recursive(children))
    return results


def _eval_filter(values: list[Any], node: FilterNode) -> list[Any]:
    results: list[Any] = []
    for value in values:
        if not isinstance(value, list):
            raise JSONPathError(f"{go_value(value)} is not array or slice and cannot be filtered")
        for item in value:
            if node.operator == "exists":
                try:
                    found = _eval_list([item], node.left)
                except JSONPathError:
                    found = []
                if found:
                    results.append(item)
                continue
            lefts = _eval_list([item], node.left)
            if not lefts:
                continue
            if len(lefts) > 1:
                raise JSONPathError("can only compare one element at a time")
            rights = _eval_list([item], node.right)
            if not rights:
                continue
            if len(rights) > 1:
                raise JSONPathError("can only compare one element at a time")
            compare = _OPERATORS.get(node.operator)
            if compare is None:
                raise JSONPathError(f"unrecognized filter operator {node.operator}")
            if compare(lefts[0], rights[0]):
                results.append(item)
    return results


# Go text/template's comparison functions: kinds must match (int/uint aside), else an error.


def _basic_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoUint8):
        return "uint"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise JSONPathError("invalid type for comparison")


def _equal(a: object, b: object) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka != kb and {ka, kb} != {"int", "uint"}:
        raise JSONPathError("incompatible types for comparison")
    return a == b


def _less(a: Any, b: Any) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka != kb and {ka, kb} != {"int", "uint"}:
        raise JSONPathError("incompatible types for comparison")
    if ka == "bool":
        raise JSONPathError("invalid type for comparison")
    return bool(a < b)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _less,
    "<=": lambda a, b: _less(a, b) or _equal(a, b),
    ">": lambda a, b: not (_less(a, b) or _equal(a, b)),
    ">=": lambda a, b: not _less(a, b),
}


# -- public API ------------------------------------------------------------------------------------


class JSONPath:
    """A parsed template; ``find_results`` is client-go's ``FindResults``."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.root = _Parser(template).parse()

    def find_results(self, data: Any) -> list[list[Any]]:
        return [_walk([data], node) for node in self.root.nodes]

    def first(self, data: Any) -> tuple[bool, Any]:
        """The first value of the first non-empty result list (how Argo's web provider reads it)."""
        for results in self.find_results(data):
            if results:
                return True, results[0]
        return False, None


def parse(template: str) -> JSONPath:
    """Parse ``template``; raises :class:`JSONPathError` with client-go's parse error texts."""
    return JSONPath(template)
