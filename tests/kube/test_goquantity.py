"""resource.Quantity after a JSON round trip: the text Argo Rollouts hashes for requests and limits.

Expected values are the output of apimachinery v0.34.1 (json.Unmarshal into a corev1 container, json.Marshal back).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.kube.goquantity import go_quantity_text, parse_go_quantity
from flightdeck.kube.quantity import QuantityError, parse_quantity

GO_ROUND_TRIP = [
    # Canonical text is kept as written, even with a sign, leading zeros or a bare trailing point.
    ("0", "0"),
    ("1", "1"),
    ("+1", "+1"),
    ("01", "01"),
    ("-1", "-1"),
    ("1.", "1."),
    ("5m", "5m"),
    ("100m", "100m"),
    ("1500m", "1500m"),
    ("1k", "1k"),
    ("100M", "100M"),
    ("1E", "1E"),
    ("1e3", "1e3"),
    ("1E3", "1E3"),
    ("1e-3", "1e-3"),
    ("1e+21", "1e+21"),
    ("1Gi", "1Gi"),
    ("1023Ki", "1023Ki"),
    ("1025Ki", "1025Ki"),
    ("123456789012345678901", "123456789012345678901"),
    # Otherwise the value is printed canonically: an SI exponent that is a multiple of 3 ...
    ("1000m", "1"),
    ("1000k", "1M"),
    ("1000P", "1E"),
    ("0.5", "500m"),
    (".5", "500m"),
    ("1.5", "1500m"),
    ("1.0", "1"),
    ("12345.6789", "12345678900u"),
    ("1500u", "1500u"),
    # ... past E there is no letter and Go prints the mantissa alone ...
    ("1000E", "1"),
    # ... anything finer than a nanounit rounds up ...
    ("0.1n", "1n"),
    ("0.000000001", "1n"),
    ("1.0000000001", "1000000001n"),
    ("2e-12", "1e-9"),
    # ... binary values take the largest exact power of 1024 (a multiple of 8 is not kept as written) ...
    ("32Mi", "32Mi"),
    ("8Gi", "8Gi"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("1.5Mi", "1536Ki"),
    ("-1.5Gi", "-1536Mi"),
    ("-2048Ki", "-2Mi"),
    # ... and fall back to decimal below 1024 or when not whole, capped at the int64 maximum.
    ("0.5Ki", "512"),
    ("0.0001Ki", "102400u"),
    ("9Ei", "9223372036854775807"),
    # Surrounding spaces are trimmed; a suffix with no number is zero.
    (" 5m ", "5m"),
    ("Gi", "0"),
]


@pytest.mark.parametrize(("text", "expected"), GO_ROUND_TRIP)
def test_round_trip_matches_apimachinery(text: str, expected: str) -> None:
    assert go_quantity_text(text) == expected


@pytest.mark.parametrize("text", ["", "1K", "1mi", "1e", "1kk", "1.5.5", "abc", "1e1x", "5m\\t", "1 m"])
def test_invalid_quantities_raise(text: str) -> None:
    with pytest.raises(QuantityError):
        go_quantity_text(text)


def test_go_error_messages() -> None:
    with pytest.raises(QuantityError, match=r"^quantities must match the regular expression"):
        go_quantity_text("1.5.5")
    with pytest.raises(QuantityError, match=r"^unable to parse quantity's suffix$"):
        go_quantity_text("1K")


_suffixes = st.sampled_from(
    ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "e3", "e-6", "E2"]
)
_quantities = st.builds(
    lambda sign, whole, frac, suffix: f"{sign}{whole}{'.' + frac if frac is not None else ''}{suffix}",
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.none() | st.from_regex(r"[0-9]{0,8}", fullmatch=True),
    _suffixes,
)


@given(_quantities)
def test_canonical_text_is_a_fixed_point(text: str) -> None:
    once = go_quantity_text(text)
    assert go_quantity_text(once) == once


@given(_quantities)
def test_value_is_kept_up_to_nanounit_rounding(text: str) -> None:
    exact = parse_quantity(text)
    printed = parse_quantity(go_quantity_text(text))
    if "i" in text:
        # Binary quantities over the int64 maximum are capped.
        cap = Decimal(2**63 - 1)
        exact = max(min(exact, cap), -cap)
    assert abs(printed - exact) < Decimal("1e-9")
    assert parse_go_quantity(text).fmt in ("DecimalSI", "BinarySI", "DecimalExponent")
