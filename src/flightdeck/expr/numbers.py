"""Go's integer semantics and ``strconv`` number parsing, with Go's error texts."""

from __future__ import annotations

import math
import re

from flightdeck.expr.errors import ExprError
from flightdeck.expr.values import go_quote

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_DECIMAL_INT = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")
_SPECIAL_FLOATS = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}


def wrap_int(v: int) -> int:
    """Two's-complement wrap to int64, as Go's ``int`` arithmetic does on 64-bit machines."""
    if INT64_MIN <= v <= INT64_MAX:
        return v
    return ((v - INT64_MIN) & 0xFFFFFFFFFFFFFFFF) + INT64_MIN


def float_to_int(f: float) -> int:
    """Go's ``int(f)`` conversion; NaN, ±Inf and out-of-range give amd64's 0x8000000000000000."""
    if math.isnan(f) or math.isinf(f):
        return INT64_MIN
    v = int(f)
    return v if INT64_MIN <= v <= INT64_MAX else INT64_MIN


def _num_error(func: str, text: str, reason: str) -> str:
    return f"strconv.{func}: parsing {go_quote(text)}: {reason}"


def parse_int(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``; raises ExprError with the NumError text."""
    if not _DECIMAL_INT.match(text):
        raise ExprError(_num_error("ParseInt", text, "invalid syntax"))
    v = int(text)
    if not INT64_MIN <= v <= INT64_MAX:
        raise ExprError(_num_error("ParseInt", text, "value out of range"))
    return v


def atoi(text: str) -> int | None:
    """``strconv.Atoi``: the value, or None on any error (callers word their own message)."""
    if not _DECIMAL_INT.match(text):
        return None
    v = int(text)
    return v if INT64_MIN <= v <= INT64_MAX else None


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``; raises ExprError with the NumError text."""
    lowered = text.lower().lstrip("+-")
    if lowered in _SPECIAL_FLOATS and len(text) - len(lowered) <= 1:
        v = _SPECIAL_FLOATS[lowered]
        return -v if text.startswith("-") else v
    if _DECIMAL_FLOAT.match(text):
        v = float(text)
    elif _HEX_FLOAT.match(text):
        try:
            v = float.fromhex(text)
        except OverflowError:
            raise ExprError(_num_error("ParseFloat", text, "value out of range")) from None
    else:
        raise ExprError(_num_error("ParseFloat", text, "invalid syntax"))
    if math.isinf(v):
        raise ExprError(_num_error("ParseFloat", text, "value out of range"))
    return v


def parse_int_literal(text: str, *, hex_: bool) -> int:
    """An integer literal as expr's parser reads it (``ParseInt(text, 0|10, 64)``)."""
    if hex_:
        body = text[2:] if text[:2] in ("0x", "0X") else None
        if not body or not all(c in "0123456789abcdefABCDEF" for c in body):
            raise ExprError("invalid hex literal: " + _num_error("ParseInt", text, "invalid syntax"))
        v = int(body, 16)
        if v > INT64_MAX:
            raise ExprError("invalid hex literal: " + _num_error("ParseInt", text, "value out of range"))
        return v
    if not text.isdigit() or not text.isascii():
        raise ExprError("invalid integer literal: " + _num_error("ParseInt", text, "invalid syntax"))
    v = int(text)
    if v > INT64_MAX:
        raise ExprError("invalid integer literal: " + _num_error("ParseInt", text, "value out of range"))
    return v


def parse_float_literal(text: str) -> float:
    try:
        return parse_float(text)
    except ExprError as exc:
        raise ExprError(f"invalid float literal: {exc}") from None
