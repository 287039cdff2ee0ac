"""Kubernetes' time format (metav1.Time: RFC 3339, UTC, second precision)."""

from __future__ import annotations

import datetime as _dt


def rfc3339(ts: float) -> str:
    return _dt.datetime.fromtimestamp(int(ts), tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
