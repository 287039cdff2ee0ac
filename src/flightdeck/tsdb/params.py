"""Parameters of Prometheus' HTTP API: times, durations, series selectors — with its error texts."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import promql_parser

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.regex import RegexError

_MIN_TIME_MS = -9223372036854775808 // 1000 // 1000 * 1000  # math.MinInt64 / 1000 seconds
_MAX_TIME_MS = 9223372036854775807 // 1000 // 1000 * 1000
_MIN_TIME_FORMATTED = "-292273086-05-16T16:47:06Z"
_MAX_TIME_FORMATTED = "292277025-08-18T07:12:54.999999999Z"

_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class ApiError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(s, 64)`` (enough of it for API parameters)."""
    if not text or text != text.strip() or "_" in text:
        return None
    body = text.lstrip("+-")
    if body.lower() in ("inf", "infinity", "nan"):
        return float(text)
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F.]+[pP][+-]?\d+", body):
        return None
    try:
        return float.fromhex(text) if body[:2].lower() == "0x" else float(text)
    except (ValueError, OverflowError):
        return None


def parse_time(text: str) -> int:
    """Prometheus' ``parseTime``: float seconds or RFC 3339; returns ms."""
    value = _go_parse_float(text)
    if value is not None:
        if math.isnan(value) or math.isinf(value) or abs(value) > 9.2e15:
            # Go converts these to the edges of int64; we reject instead of returning nonsense.
            raise ValueError(f'cannot parse "{text}" to a valid timestamp')
        seconds = math.trunc(value)
        frac = round((value - seconds) * 1000) / 1000
        return int(seconds) * 1000 + round(frac * 1000)
    m = _RFC3339.match(text)
    if m:
        try:
            year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
            frac_text = (m.group(7) or ".")[1:]
            tz = m.group(8)
            offset = _dt.timedelta(0)
            if tz not in ("Z", "z"):
                sign = 1 if tz[0] == "+" else -1
                offset = sign * _dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
            moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.UTC) - offset
            ms = int(frac_text[:3].ljust(3, "0")) if frac_text else 0
            return int(moment.timestamp()) * 1000 + ms
        except (ValueError, OverflowError):
            pass
    if text == _MIN_TIME_FORMATTED:
        return _MIN_TIME_MS
    if text == _MAX_TIME_FORMATTED:
        return _MAX_TIME_MS
    raise ValueError(f'cannot parse "{text}" to a valid timestamp')


def parse_duration(text: str) -> int:
    """Prometheus' API ``parseDuration``: float seconds or a Prometheus duration; returns ms."""
    value = _go_parse_float(text)
    if value is not None:
        ns = value * 1e9
        if math.isnan(ns) or ns > 9.223372036854775807e18 or ns < -9.223372036854775808e18:
            raise ValueError(f'cannot parse "{text}" to a valid duration. It overflows int64')
        return int(ns) // 1_000_000
    m = _PROM_DURATION.match(text)
    if m and text not in ("", "0") and any(m.groups()):
        mult = [365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1]
        return sum(int(g) * k for g, k in zip(m.groups(), mult, strict=True) if g)
    if text == "0":
        return 0
    raise ValueError(f'cannot parse "{text}" to a valid duration')


def parse_selector(text: str) -> list[LabelMatcher]:
    try:
        node: Any = promql_parser.parse(text)
    except ValueError as exc:
        raise ValueError(f"parse error: {exc}") from exc
    if type(node).__name__ != "VectorSelector":
        raise ValueError("parse error: expected vector selector")
    out: list[LabelMatcher] = []
    if node.name:
        out.append(LabelMatcher("__name__", "=", node.name))
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    for m in node.matchers.matchers:
        try:
            out.append(LabelMatcher(m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value))
        except RegexError as exc:
            raise ValueError(str(exc)) from exc
    return out
