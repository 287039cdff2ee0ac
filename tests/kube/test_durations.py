from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.kube.durations import (
    DurationError,
    format_go_duration,
    parse_duration_seconds,
    parse_go_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("1h30m", 5400.0),
        ("300ms", 0.3),
        ("1.5h", 5400.0),
        ("0", 0.0),
        ("-1m", -60.0),
        ("+10s", 10.0),
        (".5s", 0.5),
        ("1us", 1e-6),
        ("1µs", 1e-6),
        ("2h45m30.5s", 9930.5),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("60", 'time: missing unit in duration "60"'),
        ("10", 'time: missing unit in duration "10"'),
        ("", 'time: invalid duration ""'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("s", 'time: invalid duration "s"'),
        ("1m30", 'time: missing unit in duration "1m30"'),
        ("-", 'time: invalid duration "-"'),
    ],
)
def test_errors_carry_go_text(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_go_duration(text)
    assert str(info.value) == message


def test_pause_durations_accept_seconds() -> None:
    assert parse_duration_seconds(30) == 30.0
    assert parse_duration_seconds("30") == 30.0
    assert parse_duration_seconds("1m") == 60.0


def test_format() -> None:
    assert format_go_duration(90) == "1m30s"
    assert format_go_duration(5400) == "1h30m0s"
    assert format_go_duration(0.3) == "300ms"
    assert format_go_duration(0) == "0s"


@given(st.text(max_size=30))
def test_never_crashes(text: str) -> None:
    with contextlib.suppress(DurationError):
        parse_go_duration(text)
