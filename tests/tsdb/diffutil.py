"""Compare query answers of real Prometheus and flightdeck over HTTP."""

from __future__ import annotations

import math
from typing import Any

import httpx


def fetch(client: httpx.Client, base: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
    resp = client.get(base + path, params=params)
    return resp.status_code, resp.json()


def _num(text: str) -> float:
    return float(text)


def _close(a: str, b: str, rel: float = 1e-9) -> bool:
    x, y = _num(a), _num(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= rel * max(abs(x), abs(y)) or abs(x - y) <= 1e-12


def diff(expected: tuple[int, Any], actual: tuple[int, Any], ordered: bool = False) -> str | None:
    """None when equivalent, else a description of the first difference."""
    (es, ej), (as_, aj) = expected, actual
    if ej["status"] != aj["status"]:
        return f"status differs: prometheus={es} {ej} flightdeck={as_} {aj}"
    if ej["status"] == "error":
        if ej["errorType"] != aj["errorType"] or es != as_:
            return f"error type differs: {es} {ej} vs {as_} {aj}"
        if ej["errorType"] == "execution" and ej["error"] != aj["error"]:
            return f"error text differs: {ej['error']!r} vs {aj['error']!r}"
        return None
    ed, ad = ej["data"], aj["data"]
    if ed["resultType"] != ad["resultType"]:
        return f"resultType {ed['resultType']} vs {ad['resultType']}"
    kind = ed["resultType"]
    if kind in ("scalar", "string"):
        if ed["result"][0] != ad["result"][0]:
            return f"timestamp {ed['result']} vs {ad['result']}"
        if kind == "string":
            return None if ed["result"][1] == ad["result"][1] else f"{ed['result']} vs {ad['result']}"
        return None if _close(ed["result"][1], ad["result"][1]) else f"{ed['result']} vs {ad['result']}"
    key = "value" if kind == "vector" else "values"

    def norm(result: list[dict[str, Any]]) -> list[tuple[tuple[tuple[str, str], ...], Any]]:
        out = [(tuple(sorted(r["metric"].items())), r[key]) for r in result]
        return out if ordered else sorted(out, key=lambda x: x[0])

    er, ar = norm(ed["result"]), norm(ad["result"])
    if [m for m, _ in er] != [m for m, _ in ar]:
        return f"series differ:\n  prometheus={[dict(m) for m, _ in er]}\n  flightdeck={[dict(m) for m, _ in ar]}"
    for (m, ev), (_, av) in zip(er, ar, strict=True):
        points_e = [ev] if kind == "vector" else ev
        points_a = [av] if kind == "vector" else av
        if len(points_e) != len(points_a):
            return f"{dict(m)}: {len(points_e)} points vs {len(points_a)}"
        for pe, pa in zip(points_e, points_a, strict=True):
            if pe[0] != pa[0] or not _close(pe[1], pa[1]):
                return f"{dict(m)}: prometheus {pe} vs flightdeck {pa}"
    return None
