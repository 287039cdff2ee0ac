"""Go library behaviour reproduced for the query API: JSON output, strconv/url parsing, JSON checking."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.traces import gojson
from flightdeck.traces.goparse import (
    GoError,
    check_json,
    clean_path,
    duration_string,
    parse_float,
    parse_int,
    parse_query,
    trace_id_from_string,
    unmarshal_string_map,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (2.5e-10, "2.5e-10"),
        (1e-6, "0.000001"),
        (123.456, "123.456"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (5e-324, "5e-324"),
    ],
)
def test_go_json_floats(value: float, text: str) -> None:
    assert gojson.number(value) == text


def test_go_json_refuses_nan() -> None:
    with pytest.raises(gojson.UnsupportedValue, match="json: unsupported value: NaN"):
        gojson.number(float("nan"))


def test_go_json_strings_are_html_safe() -> None:
    assert gojson.string("<a&b>\u2028\n\x01é") == '"\\u003ca\\u0026b\\u003e\\u2028\\n\\u0001é"'


def test_indent_like_go() -> None:
    compact = '{"a":[],"b":{},"c":[1,{"d":"x,y:z"}]}'
    assert gojson.indent(compact) == (
        '{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        {\n            "d": "x,y:z"\n        }\n    ]\n}'
    )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_indent_round_trips(value: object) -> None:
    compact = gojson.value(value)
    assert json.loads(gojson.indent(compact)) == json.loads(compact)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
        ("1_000", 'strconv.ParseInt: parsing "1_000": invalid syntax'),
    ],
)
def test_parse_int_errors(text: str, error: str) -> None:
    with pytest.raises(GoError) as info:
        parse_int(text)
    assert str(info.value) == error


def test_parse_int_accepts_signs() -> None:
    assert parse_int("+5") == 5 and parse_int("-5") == -5
    with pytest.raises(GoError, match="value out of range"):
        parse_int("2147483648", 32)


def test_parse_float() -> None:
    assert parse_float("1.5e3") == 1500.0 and parse_float("-Inf") == float("-inf")
    assert parse_float("0x1p-2") == 0.25
    for bad in ("", "1_0", "abc", "+nan"):
        with pytest.raises(GoError, match="invalid syntax"):
            parse_float(bad)
    with pytest.raises(GoError, match="value out of range"):
        parse_float("1e400")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("abcdef0123456789", 0xABCDEF0123456789),
        ("1" + "0" * 16, 1 << 64),
        ("f" * 32, (1 << 128) - 1),
    ],
)
def test_trace_id_from_string(text: str, value: int) -> None:
    assert trace_id_from_string(text) == value


def test_trace_id_errors() -> None:
    with pytest.raises(GoError, match="TraceID cannot be longer than 32 hex characters: " + "a" * 33):
        trace_id_from_string("a" * 33)
    with pytest.raises(GoError, match=re.escape('strconv.ParseUint: parsing "xyz": invalid syntax')):
        trace_id_from_string("xyz")


def test_parse_query_like_go() -> None:
    got = parse_query("service=a+b&x=%zz&tag=k%3Av&tag=k2:v2&semi=1;2&&empty=&noeq")
    assert got == {"service": ["a b"], "tag": ["k:v", "k2:v2"], "empty": [""], "noeq": [""]}


def test_clean_path() -> None:
    assert clean_path("/api//services") == "/api/services"
    assert clean_path("/api/./traces/../services/") == "/api/services/"
    assert clean_path("") == "/"


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (5, "5ns"),
        (5000, "5µs"),
        (1_500_000, "1.5ms"),
        (90 * 10**9, "1m30s"),
        (-2_000_000_001, "-2.000000001s"),
    ],
)
def test_duration_string(nanos: int, text: str) -> None:
    assert duration_string(nanos) == text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "unexpected end of JSON input"),
        ("{", "unexpected end of JSON input"),
        ("{bad", "invalid character 'b' looking for beginning of object key string"),
        ('{"a" 1}', "invalid character '1' after object key"),
        ('{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
        ("[1 2]", "invalid character '2' after array element"),
        ("tru", "unexpected end of JSON input"),
        ("trux", "invalid character 'x' in literal true (expecting 'e')"),
        ("01", "invalid character '1' after top-level value"),
        ("1.", "unexpected end of JSON input"),
        ("1.x", "invalid character 'x' after decimal point in numeric literal"),
        ('"\\x"', "invalid character 'x' in string escape code"),
        ("'a'", "invalid character '\\'' looking for beginning of value"),
    ],
)
def test_check_json_messages(text: str, error: str) -> None:
    with pytest.raises(GoError) as info:
        check_json(text.encode())
    assert str(info.value) == error


@settings(max_examples=300)
@given(st.text(alphabet='{}[]":,0123456789.eE+-tfrulnas \\/\t', max_size=20))
def test_check_json_agrees_with_a_real_json_parser(text: str) -> None:
    try:
        json.loads(text)
        valid = True
    except ValueError:
        valid = False
    try:
        check_json(text.encode())
        checked = True
    except GoError:
        checked = False
    assert checked == valid


def test_unmarshal_string_map() -> None:
    assert unmarshal_string_map(b'{"a":"1","b":null}') == {"a": "1", "b": ""}
    assert unmarshal_string_map(b"null") == {}
    with pytest.raises(GoError, match="json: cannot unmarshal number into Go value of type string"):
        unmarshal_string_map(b'{"a":1}')
    with pytest.raises(
        GoError, match=r"json: cannot unmarshal array into Go value of type map\[string\]string"
    ):
        unmarshal_string_map(b"[]")
