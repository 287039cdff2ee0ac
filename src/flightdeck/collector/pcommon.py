"""pdata's string forms of OTLP values, IDs and timestamps (``pdata/pcommon``): the one place the
collector turns an ``AnyValue`` into text (spanmetrics, the prometheus exporter, the debug exporter).

Go's ``encoding/json`` output comes from :mod:`flightdeck.traces.gojson` (shared with the trace store's
query API), so there is one implementation of it in flightdeck."""

from __future__ import annotations

import base64
import math
import time
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from flightdeck.traces import gojson

VALUE_TYPE_NAMES = {
    None: "Empty",
    "string_value": "Str",
    "bool_value": "Bool",
    "int_value": "Int",
    "double_value": "Double",
    "array_value": "Slice",
    "kvlist_value": "Map",
    "bytes_value": "Bytes",
}


def float64_as_string(value: float) -> str:
    """pdata ``float64AsString``: ES6 number text (Go's JSON float encoding); NaN/Inf as Go's error text."""
    try:
        return gojson.number(value)
    except gojson.UnsupportedValue as exc:
        return str(exc)


def as_raw(value: AnyValue) -> Any:
    """pdata ``Value.AsRaw``: Python stand-ins for Go's ``any`` (bytes stay bytes; a repeated map key keeps
    the last value, like ``Map.AsRaw`` filling a Go map)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bytes_value":
        return value.bytes_value
    if which == "array_value":
        return [as_raw(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: as_raw(kv.value) for kv in value.kvlist_value.values}
    return None


def as_string(value: AnyValue) -> str:
    """pdata ``Value.AsString``: strings verbatim, ints in decimal, ``true``/``false``, doubles as
    :func:`float64_as_string`, bytes as standard base64, maps and arrays as Go ``json.Marshal`` of
    ``AsRaw`` (sorted keys, HTML-safe escapes, ``\\b``/``\\f``), and ``""`` when that fails (a NaN or
    infinity nested inside). spanmetrics keys, prometheus label values and debug output all use it."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which is None:
        return ""
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return float64_as_string(value.double_value)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    try:
        return gojson.value(as_raw(value))
    except gojson.UnsupportedValue:
        return ""


def type_name(v: AnyValue) -> str:
    return VALUE_TYPE_NAMES[v.WhichOneof("value")]


def id_hex(raw: bytes) -> str:
    """TraceID/SpanID ``String()``: lower hex, empty for the all-zero (or missing) ID."""
    if not raw or not any(raw):
        return ""
    return raw.hex()


def timestamp(ns: int) -> str:
    """``pcommon.Timestamp.String()`` = Go ``time.Time.String()`` in UTC."""
    secs, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + " +0000 UTC"


def go_f6(f: float) -> str:
    """Go ``%f``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return f"{f:.6f}"


def attr_items(attrs: Any) -> list[tuple[str, AnyValue]]:
    return [(kv.key, kv.value) for kv in attrs]
