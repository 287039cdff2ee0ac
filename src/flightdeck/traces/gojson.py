"""Go ``encoding/json`` output, byte for byte: what Jaeger's query service writes.

Python's :mod:`json` differs from Go in three visible ways: Go escapes ``<``, ``>``, ``&``, U+2028
and U+2029 (HTML-safe output), formats float64 with its own rules (``1e+21`` but
``100000000000000000000``, ``1e-7`` not ``1e-07``) and writes ``[]byte`` as base64. The
encoders here take care of those; :func:`indent` is ``json.Indent`` (what ``MarshalIndent`` does).
"""

from __future__ import annotations

import base64
import json
import math

from flightdeck.util.gofmt import format_float

_HTML_UNSAFE = ("<", ">", "&", "\u2028", "\u2029")
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class UnsupportedValue(ValueError):
    """``json: unsupported value: NaN`` — Go refuses NaN and infinities."""


def string(text: str) -> str:
    """A JSON string literal as Go writes it."""
    out = _ENCODE(text)
    if any(ch in out for ch in _HTML_UNSAFE):
        out = (
            out.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return out


def safe_text(text: str) -> str:
    """Replace lone surrogates (from ``\\ud800`` escapes) by U+FFFD, as Go's decoder does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def number(value: float) -> str:
    """A float64 as ``encoding/json`` writes it."""
    if math.isnan(value) or math.isinf(value):
        raise UnsupportedValue(f"json: unsupported value: {format_float(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")
        sign = exponent[0]
        digits = exponent[1:].lstrip("0") or "0"
        # Go's 'e' format keeps two exponent digits, then encoding/json trims "e-07" to "e-7".
        if sign == "-" and len(digits) == 1:
            return f"{mantissa}e-{digits}"
        return f"{mantissa}e{sign}{digits.rjust(2, '0')}"
    return format_float(value)


def binary(value: bytes) -> str:
    return '"' + base64.b64encode(value).decode("ascii") + '"'


def value(obj: object) -> str:
    """Marshal a decoded-JSON-like value (maps are written with sorted keys, like Go maps)."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return number(obj)
    if isinstance(obj, str):
        return string(obj)
    if isinstance(obj, bytes):
        return binary(obj)
    if isinstance(obj, list | tuple):
        return "[" + ",".join(value(item) for item in obj) + "]"
    if isinstance(obj, dict):
        items = sorted(obj.items())
        return "{" + ",".join(string(str(k)) + ":" + value(v) for k, v in items) + "}"
    raise TypeError(f"cannot marshal {type(obj).__name__}")


def indent(compact: str, prefix: str = "", step: str = "    ") -> str:
    """``json.Indent``: one element per line; empty arrays and objects stay ``[]`` / ``{}``."""
    out: list[str] = []
    depth = 0
    in_string = False
    escaped = False
    need_newline = False
    i = 0
    n = len(compact)
    while i < n:
        ch = compact[i]
        i += 1
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch in " \t\r\n":
            continue
        if ch in "]}":
            if need_newline:
                # Go delays the newline after an opener, so an empty container stays "[]" / "{}".
                need_newline = False
            else:
                depth -= 1
                out.append("\n" + prefix + step * depth)
            out.append(ch)
            continue
        if need_newline:
            need_newline = False
            depth += 1
            out.append("\n" + prefix + step * depth)
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "[{":
            out.append(ch)
            need_newline = True
        elif ch == ",":
            out.append(",\n" + prefix + step * depth)
        elif ch == ":":
            out.append(": ")
        else:
            out.append(ch)
    return "".join(out)
