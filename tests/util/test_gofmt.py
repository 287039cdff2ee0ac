from __future__ import annotations

import math

import pytest

from flightdeck.util.gofmt import format_float, format_float_v


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-10, "0.0000000001"),
        (1e21, "1000000000000000000000"),
        (100.0, "100"),
        (-0.0, "-0"),
        (2.5e-7, "0.00000025"),
        (0.0123, "0.0123"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_format_float_matches_go_f_minus_one(value: float, text: str) -> None:
    assert format_float(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(3.0, "3"), (1.5, "1.5"), (1e6, "1e+06"), (123456.0, "123456"), (1e-5, "1e-05"), (0.0001, "0.0001")],
)
def test_format_float_v_matches_go_percent_v(value: float, text: str) -> None:
    assert format_float_v(value) == text
