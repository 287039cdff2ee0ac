"""Parser for the Prometheus text exposition format 0.0.4 (what ``promparse.go`` accepts)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LINE = re.compile(rf"^[ \t]*({_NAME})[ \t]*(\{{.*\}})?[ \t]*([^ \t{{}}]+)(?:[ \t]+([^ \t]+))?[ \t]*$")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*(,|\})')
_FLOAT = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])$"
)
_INT = re.compile(r"^-?\d+$")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ExpositionError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedSample:
    name: str
    labels: tuple[tuple[str, str], ...]  # without __name__, in exposition order
    value: float
    timestamp_ms: int | None


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_float(text: str) -> float:
    if not _FLOAT.match(text):
        raise ExpositionError(f"strconv.ParseFloat: parsing {text!r}: invalid syntax")
    return float(text)


def parse_labels(body: str, lineno: int) -> tuple[tuple[str, str], ...]:
    inner = body[1:-1].strip()
    if not inner:
        return ()
    pos = 0
    text = body[1:]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while pos < len(text):
        if text[pos:].strip() == "}":
            break
        m = _LABEL.match(text, pos)
        if m is None:
            raise ExpositionError(f"line {lineno}: invalid label set {body!r}")
        name, raw, sep = m.groups()
        if name in seen:
            raise ExpositionError(f"line {lineno}: duplicate label name {name!r}")
        seen.add(name)
        out.append((name, _unescape(raw)))
        pos = m.end()
        if sep == "}":
            if text[pos:].strip():
                raise ExpositionError(f"line {lineno}: unexpected text after label set")
            break
        # a trailing comma before the closing brace is allowed
        rest = text[pos:].lstrip(" \t")
        if rest.startswith("}"):
            break
    return tuple(out)


def parse_text(text: str) -> tuple[list[ParsedSample], dict[str, str]]:
    """Parse a whole exposition body; returns samples and the ``# TYPE`` of each family.
    Raises :class:`ExpositionError` on the first malformed line (Prometheus fails the scrape)."""
    samples: list[ParsedSample] = []
    types: dict[str, str] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip(" \t\r")
        if not stripped:
            continue
        if stripped[0] == "#":
            parts = stripped[1:].split(None, 3)
            if len(parts) >= 2 and parts[0] == "TYPE":
                if len(parts) < 3 or parts[2].lower() not in _TYPES:
                    raise ExpositionError(f"line {lineno}: invalid metric type in {stripped!r}")
                if not re.fullmatch(_NAME, parts[1]):
                    raise ExpositionError(f"line {lineno}: invalid metric name in TYPE line")
                types[parts[1]] = parts[2].lower()
            elif len(parts) >= 2 and parts[0] == "HELP" and not re.fullmatch(_NAME, parts[1]):
                raise ExpositionError(f"line {lineno}: invalid metric name in HELP line")
            continue
        m = _LINE.match(stripped)
        if m is None:
            raise ExpositionError(f"line {lineno}: invalid sample line {stripped[:80]!r}")
        name, body, value_text, ts_text = m.groups()
        labels = parse_labels(body, lineno) if body else ()
        value = parse_float(value_text)
        ts: int | None = None
        if ts_text is not None:
            if not _INT.match(ts_text):
                raise ExpositionError(f"line {lineno}: invalid timestamp {ts_text!r}")
            ts = int(ts_text)
            if abs(ts) >= 1 << 63:
                raise ExpositionError(f"line {lineno}: timestamp out of range")
        if math.isnan(value):
            value = math.nan  # normalise: a scraped NaN must never be the stale-marker bit pattern
        samples.append(ParsedSample(name, labels, value, ts))
    return samples, types
