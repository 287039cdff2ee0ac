"""Go's number formatting, so values read exactly as Argo Rollouts prints them."""

from __future__ import annotations

import math
from decimal import Decimal


def format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, positional notation."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_float_v(value: float) -> str:
    """Go's ``%v`` for a float64 (``%g`` at shortest precision): exponent form when exp < -4 or exp >= 6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    mantissa = Decimal(repr(value))
    exponent = mantissa.adjusted()
    if exponent < -4 or exponent >= 6:
        sign, ds, _ = mantissa.normalize().as_tuple()
        head = str(ds[0])
        tail = "".join(str(d) for d in ds[1:])
        body = head + ("." + tail if tail else "")
        return f"{'-' if sign else ''}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return format_float(value)
