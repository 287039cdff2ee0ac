"""The Go library behaviour the Jaeger query API exposes in its answers.

Jaeger's handlers pass Go errors through to users (``unable to parse param 'start':
strconv.ParseInt: parsing "x": invalid syntax``), read parameters with ``net/http``'s
``FormValue`` (first value; ``+`` is a space; a pair with a bad escape or a ``;`` is dropped) and
route with gorilla/mux on the escaped path. These helpers reproduce exactly that.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re

from flightdeck.util.gofmt import go_quote
from flightdeck.util.gojson import json_kind

_HEX = frozenset("0123456789abcdefABCDEF")


class GoError(ValueError):
    """``str()`` is the Go error text."""


def _syntax(fn: str, text: str) -> GoError:
    return GoError(f"strconv.{fn}: parsing {go_quote(text)}: invalid syntax")


def _range(fn: str, text: str) -> GoError:
    return GoError(f"strconv.{fn}: parsing {go_quote(text)}: value out of range")


def parse_int(text: str, bits: int = 64) -> int:
    """``strconv.ParseInt(text, 10, bits)``."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        raise _syntax("ParseInt", text)
    value = int(text)
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if value < low or value > high:
        raise _range("ParseInt", text)
    return value


def parse_uint_hex(text: str) -> int:
    """``strconv.ParseUint(text, 16, 64)``."""
    if not text or any(ch not in _HEX for ch in text):
        raise _syntax("ParseUint", text)
    value = int(text, 16)
    if value >> 64:
        raise _range("ParseUint", text)
    return value


_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)"
)
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN]")


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``."""
    if _SPECIAL_FLOAT.fullmatch(text):
        return float(text)
    if not _FLOAT.fullmatch(text):
        raise _syntax("ParseFloat", text)
    value = float.fromhex(text) if "x" in text.lower() else float(text)
    if math.isinf(value):
        raise _range("ParseFloat", text)
    return value


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _syntax("ParseBool", text)


def trace_id_from_string(text: str) -> int:
    """jaeger-idl ``TraceIDFromString``: up to 32 hex digits, as (high, low) halves."""
    if len(text) > 32:
        raise GoError(f"TraceID cannot be longer than 32 hex characters: {text}")
    if len(text) > 16:
        split = len(text) - 16
        return (parse_uint_hex(text[:split]) << 64) | parse_uint_hex(text[split:])
    return parse_uint_hex(text)


# -- net/url -----------------------------------------------------------------------------------------


def query_unescape(text: str) -> str:
    """``url.QueryUnescape``; raises :class:`GoError` (``invalid URL escape "%zz"``)."""
    if "%" not in text and "+" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    n = len(raw)
    while i < n:
        byte = raw[i]
        if byte == 0x25:  # %
            chunk = raw[i : i + 3]
            if len(chunk) < 3 or chr(chunk[1]) not in _HEX or chr(chunk[2]) not in _HEX:
                bad = chunk.decode("utf-8", "replace")
                raise GoError(f"invalid URL escape {go_quote(bad)}")
            out.append(int(chunk[1:3], 16))
            i += 3
        elif byte == 0x2B:  # +
            out.append(0x20)
            i += 1
        else:
            out.append(byte)
            i += 1
    return out.decode("utf-8", "replace")


def path_unescape(text: str) -> str:
    """``url.PathUnescape`` (``+`` stays a plus)."""
    return query_unescape(text.replace("+", "%2B"))


def parse_query(raw: str) -> dict[str, list[str]]:
    """``url.ParseQuery`` keeping what Go keeps: pairs with a ``;`` or a bad escape are dropped."""
    values: dict[str, list[str]] = {}
    for part in raw.split("&"):
        if not part or ";" in part:
            continue
        key, _, val = part.partition("=")
        try:
            key = query_unescape(key)
            val = query_unescape(val)
        except GoError:
            continue
        values.setdefault(key, []).append(val)
    return values


def clean_path(path: str) -> str:
    """gorilla/mux ``cleanPath``: ``path.Clean`` that keeps a trailing slash."""
    if path == "":
        return "/"
    if path[0] != "/":
        path = "/" + path
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


# -- time ---------------------------------------------------------------------------------------------


def time_string(unix_nanos: int) -> str:
    """Go ``time.Time.String()`` of a UTC time: ``2024-01-31 05:28:29.209712 +0000 UTC``."""
    seconds, nanos = divmod(unix_nanos, 1_000_000_000)
    moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + " +0000 UTC"


def duration_string(nanos: int) -> str:
    """Go ``time.Duration.String()`` for any nanosecond count (``1.5s``, ``2m3.0001s``, ``750µs``)."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = abs(nanos)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return sign + _frac(u, 3) + "µs"
        return sign + _frac(u, 6) + "ms"
    hours, rem = divmod(u, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + _frac(rem, 9) + "s"


def _frac(value: int, digits: int) -> str:
    whole, part = divmod(value, 10**digits)
    if not part:
        return str(whole)
    return f"{whole}." + f"{part:0{digits}d}".rstrip("0")


# -- encoding/json into map[string]string ---------------------------------------------------------------

_WS = b" \t\r\n"


def _quote_char(c: int) -> str:
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


def check_json(data: bytes) -> None:
    """``encoding/json``'s ``checkValid``: raises :class:`GoError` with the scanner's message."""
    stack: list[str] = []  # "key" | "value" (object) | "array"
    state = "begin_value"
    i = 0
    n = len(data)

    def fail(c: int, context: str) -> GoError:
        return GoError(f"invalid character {_quote_char(c)} {context}")

    def end_value(c: int) -> str:
        if not stack:
            if c in _WS:
                return "end_top"
            raise fail(c, "after top-level value")
        if c in _WS:
            return "end_value"
        top = stack[-1]
        if top == "key":
            if c == 0x3A:
                stack[-1] = "value"
                return "begin_value"
            raise fail(c, "after object key")
        if top == "value":
            if c == 0x2C:
                stack[-1] = "key"
                return "begin_string"
            if c == 0x7D:
                stack.pop()
                return "end_value" if stack else "end_top"
            raise fail(c, "after object key:value pair")
        if c == 0x2C:
            return "begin_value"
        if c == 0x5D:
            stack.pop()
            return "end_value" if stack else "end_top"
        raise fail(c, "after array element")

    literal_rest = {"t": b"rue", "f": b"alse", "n": b"ull"}
    literal_name = {"t": "true", "f": "false", "n": "null"}
    lit_kind = ""
    lit_pos = 0
    while i < n:
        c = data[i]
        i += 1
        if state in ("begin_value", "begin_value_or_empty"):
            if c in _WS:
                continue
            if state == "begin_value_or_empty" and c == 0x5D:
                state = end_value(c)
                continue
            if c == 0x7B:
                stack.append("key")
                state = "begin_string_or_empty"
            elif c == 0x5B:
                stack.append("array")
                state = "begin_value_or_empty"
            elif c == 0x22:
                state = "string"
            elif c == 0x2D:
                state = "neg"
            elif c == 0x30:
                state = "zero"
            elif 0x31 <= c <= 0x39:
                state = "int"
            elif chr(c) in literal_rest:
                lit_kind, lit_pos, state = chr(c), 0, "literal"
            else:
                raise fail(c, "looking for beginning of value")
        elif state in ("begin_string_or_empty", "begin_string"):
            if c in _WS:
                continue
            if state == "begin_string_or_empty" and c == 0x7D:
                stack[-1] = "value"
                state = end_value(c)
            elif c == 0x22:
                state = "string"
            else:
                raise fail(c, "looking for beginning of object key string")
        elif state in ("end_value", "end_top"):
            if state == "end_top":
                if c not in _WS:
                    raise fail(c, "after top-level value")
                continue
            state = end_value(c)
        elif state == "string":
            if c == 0x22:
                state = "end_value"
            elif c == 0x5C:
                state = "escape"
            elif c < 0x20:
                raise fail(c, "in string literal")
        elif state == "escape":
            if c in b'bfnrt\\/"':
                state = "string"
            elif c == 0x75:
                state = "u0"
            else:
                raise fail(c, "in string escape code")
        elif state in ("u0", "u1", "u2", "u3"):
            if chr(c) not in _HEX:
                raise fail(c, "in \\u hexadecimal character escape")
            state = {"u0": "u1", "u1": "u2", "u2": "u3", "u3": "string"}[state]
        elif state == "neg":
            if c == 0x30:
                state = "zero"
            elif 0x31 <= c <= 0x39:
                state = "int"
            else:
                raise fail(c, "in numeric literal")
        elif state in ("int", "zero"):
            if state == "int" and 0x30 <= c <= 0x39:
                continue
            if c == 0x2E:
                state = "dot"
            elif c in (0x65, 0x45):
                state = "exp"
            else:
                state = end_value(c)
        elif state == "dot":
            if 0x30 <= c <= 0x39:
                state = "dot0"
            else:
                raise fail(c, "after decimal point in numeric literal")
        elif state == "dot0":
            if 0x30 <= c <= 0x39:
                continue
            state = "exp" if c in (101, 69) else end_value(c)
        elif state in ("exp", "exp_sign"):
            if state == "exp" and c in (0x2B, 0x2D):
                state = "exp_sign"
            elif 0x30 <= c <= 0x39:
                state = "exp0"
            else:
                raise fail(c, "in exponent of numeric literal")
        elif state == "exp0":
            if 0x30 <= c <= 0x39:
                continue
            state = end_value(c)
        elif state == "literal":
            expected = literal_rest[lit_kind][lit_pos]
            if c != expected:
                raise fail(c, f"in literal {literal_name[lit_kind]} (expecting {_quote_char(expected)})")
            lit_pos += 1
            if lit_pos == len(literal_rest[lit_kind]):
                state = "end_value"
    # A number at the very end completes like Go's eof() stepping one more space.
    if state in ("int", "zero", "dot0", "exp0"):
        state = "end_value" if stack else "end_top"
    if state == "end_value" and not stack:
        state = "end_top"
    if state != "end_top":
        raise GoError("unexpected end of JSON input")


def unmarshal_string_map(data: bytes) -> dict[str, str]:
    """``json.Unmarshal(data, &map[string]string{})`` with Go's error texts."""
    check_json(data)
    value = json.loads(data.decode("utf-8", "replace"))
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GoError(f"json: cannot unmarshal {json_kind(value)} into Go value of type map[string]string")
    out: dict[str, str] = {}
    first_error: GoError | None = None
    for key, item in value.items():
        if item is None:
            out[key] = ""
        elif isinstance(item, str):
            out[key] = item
        elif first_error is None:
            first_error = GoError(f"json: cannot unmarshal {json_kind(item)} into Go value of type string")
    if first_error is not None:
        raise first_error
    return out


__all__ = [
    "GoError",
    "check_json",
    "clean_path",
    "duration_string",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_query",
    "parse_uint_hex",
    "path_unescape",
    "query_unescape",
    "time_string",
    "trace_id_from_string",
    "unmarshal_string_map",
]
