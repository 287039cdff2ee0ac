"""pdata ``Value.AsString`` (the text spanmetrics keys, prometheus labels and debug output are built from),
checked against Go's outputs, plus a round-trip property through a JSON parser."""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from flightdeck.collector.pcommon import as_raw, as_string, float64_as_string, type_name
from tests.collector.components.spanmetrics.helpers import any_value


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (None, ""),
        ("a\bb", "a\bb"),  # top-level strings verbatim
        (True, "true"),
        (-9223372036854775808, "-9223372036854775808"),
        (0.5, "0.5"),
        (100.0, "100"),
        (-0.0, "-0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (1e-6, "0.000001"),
        (math.nan, "json: unsupported value: NaN"),
        (math.inf, "json: unsupported value: +Inf"),
        (-math.inf, "json: unsupported value: -Inf"),
        (b"\x01\x02\xff", "AQL/"),
        ({"b": 1, "a": "x"}, '{"a":"x","b":1}'),
        ({"k": "a\bb\fc\n\x01"}, '{"k":"a\\bb\\fc\\n\\u0001"}'),  # Go ≥ 1.22 writes \b and \f
        ({"h": "<a&b>\u2028"}, '{"h":"\\u003ca\\u0026b\\u003e\\u2028"}'),
        ({"x": math.nan}, ""),  # json.Marshal fails on a nested NaN: AsString is empty
        ([1, [math.inf]], ""),
        ([None, b"\x01\x02", 2.5, False], '[null,"AQI=",2.5,false]'),
        ({}, "{}"),
        ([], "[]"),
        ({"n": {"z": [], "a": {}}}, '{"n":{"a":{},"z":[]}}'),
    ],
)
def test_as_string_matches_go(raw: Any, text: str) -> None:
    assert as_string(any_value(raw)) == text


def test_repeated_map_key_keeps_the_last_value() -> None:
    v = AnyValue(
        kvlist_value=KeyValueList(
            values=[KeyValue(key="k", value=any_value(1)), KeyValue(key="k", value=any_value(2))]
        )
    )
    assert as_string(v) == '{"k":2}'


def test_type_names_and_float_text() -> None:
    assert [type_name(any_value(x)) for x in (None, "s", True, 1, 1.0, b"", [], {})] == [
        "Empty", "Str", "Bool", "Int", "Double", "Bytes", "Slice", "Map",
    ]  # fmt: skip
    assert float64_as_string(123.456) == "123.456"


_leaves = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary()
_leaves |= st.floats(allow_nan=False, allow_infinity=False)
_values = st.recursive(_leaves, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4))


def _json_view(raw: Any) -> Any:
    """What a JSON parser sees of Go's encoding: bytes become their base64 text, numbers exact decimals."""
    if isinstance(raw, bool) or raw is None:
        return raw
    if isinstance(raw, int | float):
        return Decimal(repr(raw))
    if isinstance(raw, bytes):
        return base64.b64encode(raw).decode()
    if isinstance(raw, list):
        return [_json_view(x) for x in raw]
    if isinstance(raw, dict):
        return {k: _json_view(v) for k, v in raw.items()}
    return raw


@given(st.lists(_values, max_size=4) | st.dictionaries(st.text(), _values, max_size=4))
def test_maps_and_arrays_round_trip_through_json(raw: Any) -> None:
    v = any_value(raw)
    text = as_string(v)
    assert json.loads(text, parse_float=Decimal, parse_int=Decimal) == _json_view(as_raw(v))
    assert "<" not in text and ">" not in text and "&" not in text
