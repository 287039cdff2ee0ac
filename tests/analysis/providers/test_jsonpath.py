"""Kubernetes JSONPath as client-go evaluates it (the subset the web provider needs)."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.analysis.providers.jsonpath import JSONPath, JSONPathError

DATA: dict[str, Any] = {
    "data": {"ok": True, "rate": 0.01, "name": "x"},
    "items": [
        {"name": "a", "value": 1.0, "tags": ["t1"]},
        {"name": "b", "value": 2.0},
        {"name": "c", "value": 3.0, "meta": {"name": "inner"}},
    ],
    "a.b": "dotted",
    "list": [10.0, 20.0, 30.0, 40.0],
    "nothing": None,
    "s": "hi",
}


def first(template: str, data: Any = DATA) -> Any:
    found, value = JSONPath(template).first(data)
    assert found
    return value


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{$}", DATA),
        ("{$.data.ok}", True),
        ("{.data.rate}", 0.01),
        ("{ $.data.name }", "x"),
        ("{$.items[0].name}", "a"),
        ("{.items[-1].name}", "c"),
        ("{$.items[*].name}", "a"),
        ("{$.items[1:].name}", "b"),
        ("{$.list[1:3]}", 20.0),
        ("{$.list[::2]}", 10.0),
        ("{$.list[2,0]}", 30.0),
        ("{$['data']['rate']}", 0.01),
        ("{$.a\\.b}", "dotted"),
        ("{$.items[?(@.name == 'b')].value}", 2.0),
        ("{$.items[?(@.value > 2.5)].name}", "c"),
        ("{$.items[?(@.tags)].name}", "a"),
        ("{..meta.name}", "inner"),
        ("{$.nothing}", None),
        ("{$.data.*}", True),
        ("{$.s.*}", ord("h")),
        ("text{$.data.ok}", "text"),
        ("{'lit'}", "lit"),
        ("{$.list[4:4]}{$.data.name}", "x"),
    ],
)
def test_selections(template: str, expected: Any) -> None:
    assert first(template) == expected


def test_all_results_of_a_wildcard() -> None:
    assert JSONPath("{$.items[*].value}").find_results(DATA) == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{$.missing}", "missing is not found"),
        ("{$.data.ok.x}", "x is not found"),
        ("{$.nothing.x}", "x is not found"),
        ("{$.list[4]}", "array index out of bounds: index 4, length 4"),
        ("{$.list[-5]}", "array index out of bounds: index -1, length 4"),
        ("{$.list[3:1]}", "starting index 3 is greater than ending index 1"),
        ("{$.list[0:2:0]}", "step must be > 0"),
        ("{$.data[0]}", "map[string]interface {} is not array or slice"),
        ("{$.s[0]}", "string is not array or slice"),
        ("{$.data[?(@.x)]}", "map[name:x ok:true rate:0.01] is not array or slice and cannot be filtered"),
        ("{$.items[?(@.value > 2)]}", "incompatible types for comparison"),
        ("{$.items[?(@.meta.name == 'inner')]}", "meta is not found"),
        ("{$.items[?(@.tags == 'x')]}", "invalid type for comparison"),
        ("{$.s[*]}", "string is not array or slice"),
        ("{foo}", "unrecognized identifier foo"),
        ("{range .items[*]}{.name}{end}", "flightdeck: JSONPath {range} blocks are not supported"),
    ],
)
def test_evaluation_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        JSONPath(template).find_results(DATA)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{$.a", "unclosed action"),
        ("{$.a[0}", "unterminated array"),
        ('{$["data"]}', 'invalid array index "data"'),
        ("{$.a[x]}", "invalid array index x"),
        ("{$.a[-]}", "array index - is not a number"),
        ("{$#}", "unrecognized character in action: U+0023 '#'"),
        ("{....a}", "invalid multiple recursive descent"),
        ("{1.2.3}", "cannot parse number 1.2.3"),
        ("{'abc}", "unterminated quoted string"),
        ("{$.a[?(@.x == 'a']}", "unterminated filter"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        JSONPath(template)
    assert str(info.value) == message


def test_no_value() -> None:
    assert JSONPath("{$.list[1:1]}").first(DATA) == (False, None)
