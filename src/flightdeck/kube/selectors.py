"""Label selectors: ``metav1.LabelSelector`` (matchLabels + matchExpressions) and the string form of
``kubectl -l`` (apimachinery ``labels.Parse``), with Kubernetes' error texts.

Matching is on the hot path of every controller (ReplicaSets select pods, Services select endpoints), so a
parsed :class:`Selector` is a tuple of small requirements and matching does no allocation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flightdeck.kube.validation import go_value, label_value_errors, qualified_name_errors

# Operators as apimachinery's ``selection.Operator`` spells them.
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_EXPRESSION_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


class SelectorError(ValueError):
    """An invalid selector; ``str()`` is apimachinery's message."""


def _aggregate(errors: list[str]) -> str:
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op in (NOT_IN, NOT_EQUALS):
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            value = labels.get(self.key)
            if value is None or len(self.values) != 1:
                return False
            try:
                have, want = int(value), int(self.values[0])
            except ValueError:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


def new_requirement(key: str, operator: str, values: list[str] | tuple[str, ...]) -> Requirement:
    """``labels.NewRequirement``: validates key, operator and values."""
    errors: list[str] = []
    key_errors = qualified_name_errors(key)
    if key_errors:
        errors.append(f"key: Invalid value: {go_value(key)}: {'; '.join(key_errors)}")
    vals = list(values)
    if operator in (IN, NOT_IN):
        if not vals:
            errors.append(
                f"values: Invalid value: {go_value(vals)}: for 'in', 'notin' operators, values set can't be empty"
            )
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errors.append(
                f"values: Invalid value: {go_value(vals)}: exact-match compatibility requires one single value"
            )
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errors.append(
                f"values: Invalid value: {go_value(vals)}: values set must be empty for exists and does not exist"
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errors.append(
                f"values: Invalid value: {go_value(vals)}: for 'Gt', 'Lt' operators, exactly one value is required"
            )
        for i, v in enumerate(vals):
            try:
                int(v)
            except ValueError:
                errors.append(
                    f"values[{i}]: Invalid value: {go_value(v)}: for 'Gt', 'Lt' operators, the value must be an integer"
                )
    else:
        supported = ", ".join(f'"{o}"' for o in ("!", "!=", "=", "==", "exists", "gt", "in", "lt", "notin"))
        errors.append(f'operator: Unsupported value: "{operator}": supported values: {supported}')
    for i, v in enumerate(vals):
        value_errors = label_value_errors(v)
        if value_errors:
            errors.append(f"values[{i}][{key}]: Invalid value: {go_value(v)}: {'; '.join(value_errors)}")
    if errors:
        raise SelectorError(_aggregate(errors))
    return Requirement(key, operator, tuple(vals))


@dataclasses.dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; ``nothing`` selects no object (a nil LabelSelector)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        if not self.requirements:
            return True
        have = labels or {}
        return all(requirement.matches(have) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def from_match_labels(match_labels: Mapping[str, Any]) -> Selector:
    """``labels.SelectorFromSet``: every label must equal its value."""
    reqs = [Requirement(str(k), EQUALS, (str(v),)) for k, v in match_labels.items()]
    reqs.sort(key=lambda r: r.key)
    return Selector(tuple(reqs))


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """``metav1.LabelSelectorAsSelector``: a nil selector matches nothing, an empty one everything."""
    if selector is None:
        return NOTHING
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    reqs: list[Requirement] = []
    for key, value in dict(match_labels).items():
        reqs.append(new_requirement(str(key), EQUALS, [str(value)]))
    for expression in expressions:
        if not isinstance(expression, Mapping):
            raise SelectorError(f"a matchExpressions item must be an object, got {go_value(expression)}")
        raw_op = str(expression.get("operator") or "")
        op = _EXPRESSION_OPERATORS.get(raw_op)
        if op is None:
            raise SelectorError(f"{go_value(raw_op)} is not a valid label selector operator")
        values = [str(v) for v in expression.get("values") or []]
        reqs.append(new_requirement(str(expression.get("key") or ""), op, values))
    reqs.sort(key=lambda r: r.key)
    return Selector(tuple(reqs))


def as_selector(spec: Selector | Mapping[str, Any] | str | None) -> Selector:
    """Accept a parsed selector, a LabelSelector dict, a plain matchLabels dict, or the string form."""
    if spec is None:
        return EVERYTHING
    if isinstance(spec, Selector):
        return spec
    if isinstance(spec, str):
        return parse(spec)
    if (
        spec
        and set(spec) <= {"matchLabels", "matchExpressions"}
        and all(isinstance(v, Mapping | list) or v is None for v in spec.values())
    ):
        return from_label_selector(spec)
    return from_match_labels(spec)


# --- the string form (labels.Parse) -----------------------------------------------------------------------

_SPECIAL = frozenset("=!(),<>")
_WHITESPACE = frozenset(" \t\r\n")
_SYMBOL_TOKENS = {
    ")": ")",
    ",": ",",
    "!": "!",
    "==": "==",
    "=": "=",
    ">": ">",
    "<": "<",
    "!=": "!=",
    "(": "(",
}
_KEYWORDS = {"in": IN, "notin": NOT_IN}
_ID = "identifier"
_END = "end"
_ERR = "error"


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal): kind is a symbol, ``in``/``notin``, identifier, end or error."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            out.append((_END, ""))
            return out
        ch = text[pos]
        if ch in _SPECIAL:
            # Longest run of special symbols that still forms a token, as the Go lexer does.
            buffer = ""
            last: tuple[str, str] | None = None
            while pos < n and text[pos] in _SPECIAL:
                buffer += text[pos]
                if buffer in _SYMBOL_TOKENS:
                    last = (_SYMBOL_TOKENS[buffer], buffer)
                    pos += 1
                elif last is not None:
                    break
                else:
                    pos += 1
            if last is None:
                out.append((_ERR, f"error expected: keyword found '{buffer}'"))
            else:
                out.append(last)
        else:
            start = pos
            while pos < n and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            kind = _KEYWORDS.get(word)
            out.append((kind, word) if kind else (_ID, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.items[self.pos]
        if values and kind in (IN, NOT_IN):
            kind = _ID
        return kind, lit

    def consume(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.lookahead(values)
        self.pos += 1
        return kind, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.lookahead()
            if kind in (_ID, "!"):
                try:
                    reqs.append(self.requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc}") from None
                kind, lit = self.consume()
                if kind == _END:
                    return reqs
                if kind == ",":
                    kind2, lit2 = self.lookahead()
                    if kind2 not in (_ID, "!"):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            elif kind == _END:
                return reqs
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        operator = ""
        kind, key = self.consume()
        if kind == "!":
            operator = DOES_NOT_EXIST
            kind, key = self.consume()
        if kind != _ID:
            raise SelectorError(f"found '{key}', expected: identifier")
        key_errors = qualified_name_errors(key)
        if key_errors:
            raise SelectorError(f"<nil>: Invalid value: {go_value(key)}: {'; '.join(key_errors)}")
        if operator == DOES_NOT_EXIST or self.lookahead()[0] in (_END, ","):
            # "!key" takes no operator: whatever follows is the caller's problem (a ',' or the end).
            return new_requirement(key, operator or EXISTS, [])
        kind, lit = self.consume(values=False)
        ops = {
            IN: IN,
            NOT_IN: NOT_IN,
            "=": EQUALS,
            "==": DOUBLE_EQUALS,
            "!=": NOT_EQUALS,
            ">": GREATER_THAN,
            "<": LESS_THAN,
        }
        op = ops.get(kind)
        if op is None:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        values = self.set_values() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(values))

    def set_values(self) -> set[str]:
        kind, lit = self.consume()
        if kind != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        kind, lit = self.lookahead()
        if kind in (_ID, ","):
            values = self.identifiers()
            if self.consume()[0] != ")":
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if kind == ")":
            self.consume()
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            kind, lit = self.consume()
            if kind == _ID:
                values.add(lit)
                kind2, lit2 = self.lookahead()
                if kind2 == ",":
                    continue
                if kind2 == ")":
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if kind == ",":
                if not values:
                    values.add("")
                kind2, _ = self.lookahead()
                if kind2 == ")":
                    values.add("")
                    return values
                if kind2 == ",":
                    values.add("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        kind, _ = self.lookahead()
        if kind in (_END, ","):
            return {""}
        kind, lit = self.consume()
        if kind == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse(text: str) -> Selector:
    """``labels.Parse``: ``a=b,c!=d,e in (x,y),!f,g``; requirements come out sorted by key."""
    reqs = _Parser(text).parse()
    reqs.sort(key=lambda r: r.key)
    return Selector(tuple(reqs))


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """The string form of a LabelSelector dict (what ``kubectl describe`` shows as ``Selector:``)."""
    return str(from_label_selector(spec))
