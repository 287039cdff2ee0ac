"""The text apimachinery's ``resource.Quantity`` marshals to after a JSON round trip (``UnmarshalJSON`` then
``MarshalJSON``), as the pod-template hash of Argo Rollouts sees it.

A parsed quantity keeps its input text when that text is already canonical (``5m``, ``100m``, ``1Gi``, ``1``) and
otherwise prints its value canonically: decimal values with an SI suffix whose exponent is a multiple of 3
(``0.5`` → ``500m``, ``1000m`` → ``1``, ``1.5`` → ``1500m``), binary values with the largest exact power-of-1024
suffix (``1024Mi`` → ``1Gi``, ``32Mi`` → ``32Mi``, ``1.5Gi`` → ``1536Mi``), exponent forms as ``<n>e<exp>``. Values
finer than a nanounit round up to one. The steps and their quirks (``+1`` and ``01`` are kept as written, a decimal
exponent past ``E`` prints with no suffix at all) follow apimachinery v0.34's ``ParseQuantity`` and
``CanonicalizeBytes``; the value is exact integer arithmetic (``unscaled × 10**exp``), never a float.
"""

from __future__ import annotations

from typing import NamedTuple

from flightdeck.kube.quantity import QUANTITY_ERROR, QuantityError

_DECIMAL_SI = "DecimalSI"
_BINARY_SI = "BinarySI"
_DECIMAL_EXPONENT = "DecimalExponent"

_INT64_MAX = (1 << 63) - 1
_INT64_MIN = -(1 << 63)
# Largest decimal exponent flightdeck follows exactly; beyond it Go would wrap int32 scales (nothing real gets there).
_MAX_EXPONENT = 10_000

_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_DECIMAL_SUFFIXES = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = {v // 10: k for k, v in _BINARY_SUFFIXES.items()}
# Go's unicode.IsSpace, which strings.TrimSpace strips (Python's str.strip() also strips \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"


class Quantity(NamedTuple):
    """A parsed quantity: value ``unscaled * 10**exp``, its format, and the input text when Go keeps it."""

    unscaled: int
    exp: int
    fmt: str
    text: str | None


def _split(text: str) -> tuple[bool, str, str, str, str]:
    """``parseQuantityString``: (positive, value prefix, numerator, denominator, suffix)."""
    positive = True
    pos = 0
    end = len(text)
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    if pos >= end:
        return positive, text, num, "", ""
    denom = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
        if pos >= end:
            return positive, text, num, denom, ""
    value = text[:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(QUANTITY_ERROR)
    return positive, value, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, or :class:`QuantityError`."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], _DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], _BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        body = suffix[1:]
        digits = body[1:] if body[:1] in "+-" else body
        if digits and all(c in _DIGITS for c in digits):
            exponent = int(body)
            if abs(exponent) > _MAX_EXPONENT:
                raise QuantityError(f"not supported: quantity exponent {exponent}")
            return 10, exponent, _DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def _decimal_value(text: str) -> tuple[int, int]:
    """``inf.Dec.SetString``: sign, digits and at most one point, at least one digit."""
    body = text[1:] if text[:1] in "+-" else text
    whole, dot, frac = body.partition(".")
    digits = whole + frac
    if not digits or not all(c in _DIGITS for c in digits) or "." in frac:
        raise QuantityError(ERR_NUMERIC)
    unscaled = int(digits)
    return (-unscaled if text[:1] == "-" else unscaled), -len(frac) if dot else 0


def parse_go_quantity(raw: str) -> Quantity:
    """``resource.ParseQuantity`` of the (space-trimmed) text; raises :class:`QuantityError` with Go's message."""
    text = raw.strip(_GO_SPACE)
    if not text:
        raise QuantityError(QUANTITY_ERROR)
    if text == "0":
        return Quantity(0, 0, _DECIMAL_SI, text)
    positive, value, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)

    precision = -1
    scale = 0
    mantissa = 1
    if fmt != _BINARY_SI:
        scale = exponent
        precision = 18 - (len(num) + len(denom))
    elif exponent >= 0 and not denom:
        mantissa = 1 << exponent
        precision = 15 - len(num) - (exponent * 3) // 10 - 1
    if precision >= 0:
        scale -= len(denom)
        if scale >= -9:
            shifted = num + denom
            n = int(shifted)
            result = n * mantissa
            if _INT64_MIN <= result <= _INT64_MAX:
                if not positive:
                    result = -result
                if fmt == _BINARY_SI:
                    keep = exponent % 10 == 0 and n & 7 != 0
                else:
                    keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
                return Quantity(result, scale, fmt, text if keep else None)

    unscaled, exp = _decimal_value(value)
    if base == 10:
        exp += exponent
    else:
        unscaled <<= exponent
    negative = unscaled < 0
    unscaled = abs(unscaled)
    if unscaled and exp < -9:
        # Round up (away from zero) to nanounits: anything asked for gets at least 1n.
        div = _pow10(-9 - exp)
        unscaled = -(-unscaled // div)
        exp = -9
    if fmt == _BINARY_SI:
        if _compare(unscaled, exp, _INT64_MAX) > 0:
            unscaled, exp = _INT64_MAX, 0
        if unscaled and _compare(unscaled, exp, 1) < 0:
            fmt = _DECIMAL_SI
    return Quantity(-unscaled if negative else unscaled, exp, fmt, None)


def _pow10(n: int) -> int:
    power: int = 10**n  # n >= 0 at every call
    return power


def _compare(unscaled: int, exp: int, other: int) -> int:
    """Sign of ``unscaled * 10**exp - other`` (exact)."""
    if exp >= 0:
        left, right = unscaled * _pow10(exp), other
    else:
        left, right = unscaled, other * _pow10(-exp)
    return (left > right) - (left < right)


def format_go_quantity(q: Quantity) -> str:
    """``Quantity.MarshalJSON`` without the quotes: the kept text, else ``CanonicalizeBytes``."""
    if q.text is not None:
        return q.text
    unscaled, exp, fmt = q.unscaled, q.exp, q.fmt
    if unscaled == 0:
        return "0"
    if fmt == _BINARY_SI:
        magnitude = abs(unscaled)
        if _compare(magnitude, exp, 1024) < 0:
            fmt = _DECIMAL_SI
        else:
            whole, exact = _round_up_to_integer(unscaled, exp)
            if exact:
                power = 0
                while whole % 1024 == 0:
                    whole //= 1024
                    power += 1
                return f"{whole}{_BINARY_BY_POWER.get(power, '')}"
            fmt = _DECIMAL_SI
    while unscaled % 10 == 0:
        unscaled //= 10
        exp += 1
    while exp % 3:
        unscaled *= 10
        exp -= 1
    if fmt == _DECIMAL_SI:
        # A decimal exponent without an SI letter (past E) prints bare, as Go ignores the failed suffix lookup.
        return f"{unscaled}{_DECIMAL_BY_EXPONENT.get(exp, '')}"
    return f"{unscaled}e{exp}" if exp else str(unscaled)


def _round_up_to_integer(unscaled: int, exp: int) -> tuple[int, bool]:
    """The value rounded away from zero to an integer, and whether that was exact."""
    if exp >= 0:
        return unscaled * _pow10(exp), True
    div = _pow10(-exp)
    magnitude, rest = divmod(abs(unscaled), div)
    if rest:
        magnitude += 1
    return (-magnitude if unscaled < 0 else magnitude), rest == 0


def go_quantity_text(raw: str) -> str:
    """What a quantity marshals back to, given the raw JSON text it was decoded from: a JSON string's content
    between the quotes exactly as Go encodes it (escapes left in), or a JSON number's text."""
    return format_go_quantity(parse_go_quantity(raw))
