"""Tokenizer: token kinds and values as expr v1.15.5 produces them."""

from __future__ import annotations

import pytest

from flightdeck.expr import ExprError
from flightdeck.expr.lexer import tokenize


def kinds(text: str) -> list[str]:
    return [str(t) for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (
            "result[0] < 0.05",
            [
                'Identifier("result")',
                'Bracket("[")',
                'Number("0")',
                'Bracket("]")',
                'Operator("<")',
                'Number("0.05")',
                "EOF",
            ],
        ),
        ("1..3", ['Number("1")', 'Operator("..")', 'Number("3")', "EOF"]),
        (
            "1.5e3 .5 0x1F 1_000",
            ['Number("1.5e3")', 'Number(".5")', 'Number("0x1F")', 'Number("1_000")', "EOF"],
        ),
        ("a not in b", ['Identifier("a")', 'Operator("not")', 'Operator("in")', 'Identifier("b")', "EOF"]),
        ("not x", ['Operator("not")', 'Identifier("x")', "EOF"]),
        (
            "a ?? b ?. c ? d",
            [
                'Identifier("a")',
                'Operator("??")',
                'Identifier("b")',
                'Operator("?.")',
                'Identifier("c")',
                'Operator("?")',
                'Identifier("d")',
                "EOF",
            ],
        ),
        ("# #index", ['Operator("#")', 'Operator("#")', 'Identifier("index")', "EOF"]),
        (
            "a && b || !c",
            [
                'Identifier("a")',
                'Operator("&&")',
                'Identifier("b")',
                'Operator("||")',
                'Operator("!")',
                'Identifier("c")',
                "EOF",
            ],
        ),
        (
            "2 ** 3 ^ 4",
            ['Number("2")', 'Operator("**")', 'Number("3")', 'Operator("^")', 'Number("4")', "EOF"],
        ),
        (
            "a matches b contains c",
            [
                'Identifier("a")',
                'Operator("matches")',
                'Identifier("b")',
                'Operator("contains")',
                'Identifier("c")',
                "EOF",
            ],
        ),
        ("x // comment\n+ /* block */ y", ['Identifier("x")', 'Operator("+")', 'Identifier("y")', "EOF"]),
        ("$env", ['Identifier("$env")', "EOF"]),
    ],
)
def test_tokens(text: str, tokens: list[str]) -> None:
    assert kinds(text) == tokens


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"a\\nb"', "a\nb"),
        ("'it\\'s'", "it's"),
        ('"tab\\there"', "tab\there"),
        ('"\\x41\\u00e9\\U0001F600"', "Aé\U0001f600"),
        ('"\\101"', "A"),
        ("'double \" inside'", 'double " inside'),
    ],
)
def test_string_escapes(text: str, value: str) -> None:
    assert tokenize(text)[0].value == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"abc', "literal not terminated"),
        ('"a\\qb"', "invalid char escape"),
        ("1 @ 2", "unrecognized character: U+0040 '@'"),
        ("12abc", 'bad number syntax: "12a"'),
        ("/* open", "unclosed comment"),
    ],
)
def test_lexer_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        tokenize(text)
    assert str(info.value) == message
