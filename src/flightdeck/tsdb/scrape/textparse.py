"""Scrape body parsing: the Prometheus text format 0.0.4 and OpenMetrics 1.0, chosen by Content-Type
like Prometheus 2.42 (``application/openmetrics-text`` → OpenMetrics, anything else → text format).

A line in the shape exporters write (``name{a="b",c="d"} 1.5 [ts]``) is taken by one regular
expression and keyed by its series text, so the scrape loop's cache can skip label parsing and
relabeling for series it has seen. Every other line goes through the character-exact emulation of
Prometheus' parsers in :mod:`flightdeck.tsdb.scrape.lexers`, which also gives the error texts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from flightdeck.tsdb.scrape.lexers import (
    Entry,
    ExpositionError,
    OpenMetricsParser,
    PromParser,
    go_parse_float,
    go_parse_int,
)

__all__ = ["ExpositionError", "ParsedSample", "ScrapeResult", "is_openmetrics", "parse", "parse_text"]

_LABEL_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n\x00\udc80-\udcff]|\\[\\"n])*"'
_PROM_LINE = re.compile(
    rf"([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{{(?:{_LABEL_PAIR},?)*\}})?) ([^ \t{{\n\x00]+)(?: ([0-9]{{1,18}}))?"
)
_OM_LINE = re.compile(
    rf"([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{{(?:{_LABEL_PAIR}(?:,{_LABEL_PAIR})*)?\}})?) ([^ \n\x00#][^ \n\x00]*)(?: ([^ \n\x00#][^ \n\x00]*))?"
)
_PAIRS = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_SIMPLE_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")


def is_openmetrics(content_type: str) -> bool:
    """``mime.ParseMediaType`` + Prometheus' switch: only this media type selects OpenMetrics."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/openmetrics-text"


@dataclass
class ScrapeResult:
    """Samples in order (series text, value, explicit timestamp), metadata by family, and the first
    error: Prometheus keeps counting what was parsed before it, then discards the scrape."""

    series: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    timestamps: list[int | None] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    slow_labels: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    openmetrics: bool = False


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    return re.sub(r'\\([\\"n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)


def series_labels(result: ScrapeResult, series: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Metric name and labels (in exposition order) of a series text from :func:`parse`."""
    slow = result.slow_labels.get(series)
    brace = series.find("{")
    if slow is not None:
        name = series[:brace] if brace != -1 else series
        return name.strip(" \t"), slow
    if brace == -1:
        return series, ()
    return series[:brace], tuple((k, _unescape(v)) for k, v in _PAIRS.findall(series, brace))


def _apply(result: ScrapeResult, entry: Entry) -> None:
    if entry.kind == "series":
        result.series.append(entry.series)
        result.values.append(entry.value)
        result.timestamps.append(entry.timestamp)
        result.slow_labels[entry.series] = entry.labels
    elif entry.kind == "type":
        result.types[entry.name] = entry.text
    elif entry.kind == "help":
        result.helps[entry.name] = entry.text
    elif entry.kind == "unit":
        result.units[entry.name] = entry.text


def _fast_value(text: str) -> float | None:
    if _SIMPLE_FLOAT.fullmatch(text):
        v = float(text)
        if v - v == 0.0:  # finite; overflow to Inf is an error in Go
            return v
    try:
        v = go_parse_float(text)
    except ExpositionError:
        return None
    return math.nan if math.isnan(v) else v


def _parse_prom(text: str, result: ScrapeResult, fast: bool) -> None:
    body = text + "\n"
    n = len(text)
    pos = 0
    match = _PROM_LINE.fullmatch
    series_out, values_out, ts_out = result.series, result.values, result.timestamps
    while pos < n:
        nl = body.find("\n", pos)
        line = body[pos:nl]
        m = match(line) if fast and line and line[0] != "#" else None
        if m is not None:
            value = _fast_value(m.group(2))
            if value is not None:
                ts_text = m.group(3)
                series_out.append(m.group(1))
                values_out.append(value)
                ts_out.append(None if ts_text is None else int(ts_text))
                pos = nl + 1
                continue
        # Anything unusual: Prometheus' own parser decides, from this line on, one entry.
        parser = PromParser(body, pos)
        entry = parser.next()
        if entry is None:
            return
        _apply(result, entry)
        pos = parser.pos


def _parse_om(text: str, result: ScrapeResult, fast: bool) -> None:
    n = len(text)
    pos = 0
    match = _OM_LINE.fullmatch
    series_out, values_out, ts_out = result.series, result.values, result.timestamps
    while pos < n:
        nl = text.find("\n", pos)
        if nl != -1:
            line = text[pos:nl]
            m = match(line) if fast and line and line[0] != "#" else None
            if m is not None:
                value = _fast_value(m.group(2))
                ts: int | None = None
                ok = value is not None
                if ok and m.group(3) is not None:
                    try:
                        seconds = go_parse_float(m.group(3))
                    except ExpositionError:
                        ok = False
                    else:
                        ok = not (math.isnan(seconds) or math.isinf(seconds))
                        if ok:
                            ts = int(seconds * 1000)
                if ok and value is not None:
                    series_out.append(m.group(1))
                    values_out.append(value)
                    ts_out.append(ts)
                    pos = nl + 1
                    continue
        parser = OpenMetricsParser(text, pos)
        entry = parser.next()
        if entry is None:
            return
        _apply(result, entry)
        pos = parser.pos
    # Ran out of input without "# EOF".
    parser = OpenMetricsParser(text, pos)
    parser.next()


def parse(body: str | bytes, content_type: str = "", *, fast: bool = True) -> ScrapeResult:
    """Parse a scrape body. Errors do not raise: ``error`` holds the first one. ``fast=False``
    sends every line through the exact parser (tests compare both)."""
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    result = ScrapeResult(openmetrics=is_openmetrics(content_type))
    try:
        if result.openmetrics:
            _parse_om(text, result, fast)
        else:
            _parse_prom(text, result, fast)
    except ExpositionError as exc:
        result.error = str(exc)
    except ValueError as exc:  # int() of an oversized timestamp and the like
        result.error = str(exc)
    return result


@dataclass(frozen=True)
class ParsedSample:
    name: str
    labels: tuple[tuple[str, str], ...]  # without __name__, in exposition order
    value: float
    timestamp_ms: int | None


def parse_text(text: str, content_type: str = "") -> tuple[list[ParsedSample], dict[str, str]]:
    """Whole-body convenience: samples and ``# TYPE`` of each family; raises :class:`ExpositionError`."""
    result = parse(text, content_type)
    if result.error is not None:
        raise ExpositionError(result.error)
    out = []
    for series, value, ts in zip(result.series, result.values, result.timestamps, strict=True):
        name, labels = series_labels(result, series)
        out.append(ParsedSample(name, labels, value, ts))
    return out, dict(result.types)


__all__ += ["go_parse_float", "go_parse_int", "series_labels"]
