"""OTLP ``AnyValue`` as text, the way the collector's pdata ``Value.AsString`` prints it.

Both spanmetrics (metric keys) and the prometheus exporter (label values) need the exact text: strings
verbatim, ints in decimal, bools ``true``/``false``, doubles like ES6 number-to-string (``0.5``, ``1e-7``,
``1e+21``), bytes as standard base64, maps and arrays as Go ``encoding/json`` output (sorted keys, HTML
characters escaped, ``""`` when a nested double is NaN/Inf because Go's marshaller fails then).
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValueList


class _Unsupported(Exception):
    """A NaN/Inf inside a map or array: Go's json.Marshal fails and AsString yields ``""``."""


def _digits(value: float) -> tuple[str, int, bool]:
    """Shortest round-trip decimal digits of ``abs(value)`` and its decimal exponent (``d.ddd × 10^exp``)."""
    dec = Decimal(repr(abs(value))).normalize()
    _, digits, _ = dec.as_tuple()
    return "".join(str(d) for d in digits), dec.adjusted(), value < 0


def _positional(value: float) -> str:
    digits, exp, neg = _digits(value)
    if exp >= len(digits) - 1:
        text = digits + "0" * (exp - len(digits) + 1)
    elif exp >= 0:
        text = digits[: exp + 1] + "." + digits[exp + 1 :]
    else:
        text = "0." + "0" * (-exp - 1) + digits
    return ("-" if neg else "") + text


def _exponent(value: float, min_exp_digits: int) -> str:
    digits, exp, neg = _digits(value)
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if neg else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):0{min_exp_digits}d}"


def es6_float(value: float) -> str:
    """pdata ``float64AsString``: ES6 number formatting (also Go's JSON float encoding)."""
    if math.isnan(value) or math.isinf(value):
        return "json: unsupported value: " + (
            "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        )
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if 1e-6 <= abs(value) < 1e21:
        return _positional(value)
    # strconv 'e' gives two exponent digits; the ES6 clean-up turns e-07 into e-7 (but keeps e+21).
    text = _exponent(value, 2)
    head, _, tail = text.partition("e")
    if tail.startswith("-0"):
        tail = "-" + tail[2:]
    return head + "e" + tail


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json_string(text: str) -> str:
    """Go ``encoding/json`` string literal with HTML escaping (the default of ``json.Marshal``)."""
    out = ['"']
    for ch in text:
        esc = _JSON_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u00{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _raw(value: AnyValue) -> Any:
    """pdata ``AsRaw``: Python stand-ins for Go's ``any`` values (bytes stay bytes, maps keep last key)."""
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
        return [_raw(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _raw(kv.value) for kv in value.kvlist_value.values}
    return None


def _json(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if math.isnan(raw) or math.isinf(raw):
            raise _Unsupported
        return es6_float(raw)
    if isinstance(raw, str):
        return go_json_string(raw)
    if isinstance(raw, bytes):
        return '"' + base64.b64encode(raw).decode("ascii") + '"'
    if isinstance(raw, list):
        return "[" + ",".join(_json(v) for v in raw) + "]"
    items = sorted(raw.items())
    return "{" + ",".join(go_json_string(k) + ":" + _json(v) for k, v in items) + "}"


def _json_or_empty(raw: Any) -> str:
    try:
        return _json(raw)
    except _Unsupported:
        return ""


def as_string(value: AnyValue) -> str:
    """pdata ``Value.AsString`` of an OTLP ``AnyValue``."""
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
        return es6_float(value.double_value)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "array_value":
        return _json_or_empty(_raw(value))
    return _json_or_empty(_raw(value))


def map_as_raw_json(values: KeyValueList | ArrayValue) -> str:
    """JSON text of a kvlist/array (exposed for tests)."""
    if isinstance(values, KeyValueList):
        return _json_or_empty({kv.key: _raw(kv.value) for kv in values.values})
    return _json_or_empty([_raw(v) for v in values.values])
