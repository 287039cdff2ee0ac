"""Kubernetes resource quantities (``100m``, ``128Mi``, ``1.5G``, ``2e3``) as apimachinery parses them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
QUANTITY_ERROR = f"quantities must match the regular expression '{QUANTITY_PATTERN}'"

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


class QuantityError(ValueError):
    """A Kubernetes quantity that does not parse (apimachinery's message)."""


def parse_quantity(value: object) -> Decimal:
    """The exact value of a quantity; raises :class:`QuantityError` with apimachinery's message."""
    if isinstance(value, bool):
        raise QuantityError(QUANTITY_ERROR)
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = str(value).strip()
    match = _QUANTITY_RE.match(text)
    if not match:
        raise QuantityError(QUANTITY_ERROR)
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        raise QuantityError(QUANTITY_ERROR) from None
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix in _DECIMAL:
        return base * _DECIMAL[suffix]
    if suffix[:1] in ("e", "E"):
        try:
            return base * (Decimal(10) ** int(suffix[1:]))
        except ValueError:
            raise QuantityError(QUANTITY_ERROR) from None
    raise QuantityError(QUANTITY_ERROR)


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def quantity_value(value: object) -> int:
    """``Quantity.Value()``: rounded up to an integer (bytes, for memory)."""
    exact = parse_quantity(value)
    whole = int(exact)
    return whole + 1 if exact > whole else whole


def quantity_float(value: object) -> float:
    """``MilliValue()/1000`` as kube-state-metrics reports CPU (cores, millicore precision, rounded up)."""
    exact = parse_quantity(value) * 1000
    whole = int(exact)
    milli = whole + 1 if exact > whole else whole
    return milli / 1000
