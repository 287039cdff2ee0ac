"""Go's ``time.ParseDuration`` and Kubernetes' duration conventions, with Go's error texts."""

from __future__ import annotations

import functools
import re

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_MAX_SECONDS = (1 << 63) / 1e9


class DurationError(ValueError):
    """``str()`` is Go's message, e.g. ``time: missing unit in duration "60"``."""


@functools.lru_cache(maxsize=1024)
def parse_go_duration(text: str) -> float:
    """Parse a Go duration string into seconds (``"1h30m"`` → 5400.0)."""
    quoted = '"' + text + '"'
    s = text
    negative = False
    if s and s[0] in "+-":
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise DurationError(f"time: invalid duration {quoted}")
    total = 0.0
    pos = 0
    while pos < len(s):
        number_match = re.match(r"[0-9]*(\.[0-9]*)?", s[pos:])
        number = number_match.group(0) if number_match else ""
        if not number or number == "." or not any(c.isdigit() for c in number):
            raise DurationError(f"time: invalid duration {quoted}")
        pos += len(number)
        unit_end = pos
        while unit_end < len(s) and s[unit_end] != "." and not s[unit_end].isdigit():
            unit_end += 1
        unit = s[pos:unit_end]
        if not unit:
            raise DurationError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise DurationError(f'time: unknown unit "{unit}" in duration {quoted}')
        total += float(number) * _UNITS[unit]
        pos = unit_end
    if total > _MAX_SECONDS:
        raise DurationError(f"time: invalid duration {quoted}")
    return -total if negative else total


def is_valid_go_duration(text: str) -> bool:
    try:
        parse_go_duration(text)
    except DurationError:
        return False
    return True


def format_go_duration(seconds: float) -> str:
    """Go's ``Duration.String()`` for whole-millisecond values (``90s`` → ``1m30s``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        ms = seconds * 1e3
        return f"{sign}{ms:g}ms" if ms >= 1 else f"{sign}{seconds * 1e6:g}µs"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = sign
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    out += f"{secs:g}s"
    return out


def parse_duration_seconds(value: object) -> float:
    """Argo's ``DurationString``/``DurationSeconds`` for pause steps: an int is seconds, a digits-only
    string is seconds, anything else a Go duration."""
    if isinstance(value, bool):
        raise DurationError(f'time: invalid duration "{value}"')
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    if text.isascii() and text.isdigit():
        return float(text)
    return parse_go_duration(text)
