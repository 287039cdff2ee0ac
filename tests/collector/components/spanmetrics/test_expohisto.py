from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.collector.components.spanmetrics.expohisto import ExpoHistogram, go_log, map_to_index


def test_exact_powers_of_two_are_upper_bounds() -> None:
    # Buckets are (base^i, base^(i+1)]: a power of two sits at the top of the bucket below it.
    for scale in (-3, 0, 1, 5, 20):
        for exp in (-10, 0, 1, 7, 30):
            index = map_to_index(scale, 2.0**exp)
            if scale > 0:
                assert index == (exp << scale) - 1
            else:
                assert index == (exp - 1) >> -scale


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e300), st.integers(min_value=-4, max_value=20))
def test_index_brackets_the_value(value: float, scale: int) -> None:
    index = map_to_index(scale, value)
    position = math.log2(value) * 2.0**scale  # ~ index + fraction
    assert index - 1e-6 <= position <= index + 1 + 1e-6


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e300))
def test_go_log_is_within_one_ulp_of_libm(value: float) -> None:
    assert abs(go_log(value) - math.log(value)) <= 2 * math.ulp(math.log(value))


def test_downscales_to_fit_max_size() -> None:
    hist = ExpoHistogram(4)
    for v in (1.0, 2.0, 4.0, 8.0, 1000.0, 0.0):
        hist.update(v)
    offset, counts = hist.positive.offset_and_counts()
    assert len(counts) <= 4 and sum(counts) == 5
    assert hist.zero_count == 1 and hist.count == 6 and hist.min == 0.0 and hist.max == 1000.0
    assert hist.reported_scale <= 0
    # Every value lies in its bucket at the final scale.
    for v in (1.0, 2.0, 4.0, 8.0, 1000.0):
        assert offset <= map_to_index(hist.scale, v) < offset + len(counts)
