"""Kubernetes' time format (metav1.Time: RFC 3339, UTC, second precision)."""

from __future__ import annotations

import datetime as _dt


def rfc3339(ts: float) -> str:
    return _dt.datetime.fromtimestamp(int(ts), tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_rfc3339_or_none(value: object) -> float | None:
    """An optional metav1.Time field as epoch seconds: None when absent, empty or unreadable."""
    if not value:
        return None
    try:
        return parse_rfc3339(str(value))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """apimachinery ``duration.HumanDuration`` (kubectl's AGE): ~2-3 significant figures (``7d``, ``3h59m``)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"
