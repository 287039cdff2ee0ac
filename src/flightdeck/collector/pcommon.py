"""pdata's string forms of OTLP values, IDs and timestamps (``pdata/pcommon``), for text outputs."""

from __future__ import annotations

import base64
import math
import time
from decimal import Decimal
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from flightdeck.util.gofmt import format_float

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


def es6_float(f: float) -> str:
    """``float64AsString``: ES6 number formatting (``0.5``, ``1e-7``, ``1e+21``)."""
    if math.isinf(f) or math.isnan(f):
        return "json: unsupported value: " + ("NaN" if math.isnan(f) else ("+Inf" if f > 0 else "-Inf"))
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        d = Decimal(repr(f))
        exp = d.adjusted()
        sign, digits, _ = d.normalize().as_tuple()
        mant = str(digits[0]) + ("." + "".join(str(x) for x in digits[1:]) if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp)}"
    return format_float(f)


def _json_string(s: str) -> str:
    # Go's encoding/json: HTML-safe escaping and \u2028/\u2029 escaped.
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _raw_json(v: AnyValue) -> str:
    which = v.WhichOneof("value")
    if which is None:
        return "null"
    if which == "string_value":
        return _json_string(v.string_value)
    if which == "bool_value":
        return "true" if v.bool_value else "false"
    if which == "int_value":
        return str(v.int_value)
    if which == "double_value":
        return es6_float(v.double_value)
    if which == "bytes_value":
        return _json_string(base64.b64encode(v.bytes_value).decode())
    if which == "array_value":
        return "[" + ",".join(_raw_json(x) for x in v.array_value.values) + "]"
    items = {kv.key: kv.value for kv in v.kvlist_value.values}
    return "{" + ",".join(f"{_json_string(k)}:{_raw_json(items[k])}" for k in sorted(items)) + "}"


def as_string(v: AnyValue) -> str:
    """``Value.AsString()``."""
    which = v.WhichOneof("value")
    if which is None:
        return ""
    if which == "string_value":
        return str(v.string_value)
    if which == "bool_value":
        return "true" if v.bool_value else "false"
    if which == "int_value":
        return str(v.int_value)
    if which == "double_value":
        return es6_float(v.double_value)
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return _raw_json(v)


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


def go_v_float(f: float) -> str:
    """Go ``%v`` of a float64 (``%g`` shortest, exponent when < -4 or ≥ 21)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    d = Decimal(repr(f))
    exp = d.adjusted()
    if exp < -4 or exp >= 21:
        sign, digits, _ = d.normalize().as_tuple()
        mant = str(digits[0]) + ("." + "".join(str(x) for x in digits[1:]) if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return format_float(f)


def go_f6(f: float) -> str:
    """Go ``%f``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return f"{f:.6f}"


def attr_items(attrs: Any) -> list[tuple[str, AnyValue]]:
    return [(kv.key, kv.value) for kv in attrs]
