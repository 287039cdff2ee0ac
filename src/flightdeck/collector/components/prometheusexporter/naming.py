"""OTLP metric and attribute names → Prometheus names (``prometheus/otlptranslator`` v1.0.0 as the
prometheus exporter of contrib v0.142 wires it).

Metric names: split on characters outside ``[A-Za-z0-9:]``, add the unit suffix (``ms`` →
``milliseconds``, ``By/s`` → ``bytes_per_second``, ``{request}`` → nothing), ``total`` for monotonic
sums, ``ratio`` for unit-``1`` gauges, prefix the namespace, ``_`` before a leading digit.

Label names: every character outside ``[A-Za-z0-9]`` becomes ``_``; in v0.142 runs of underscores are
kept and a leading ``_`` is not prefixed (``PreserveMultipleUnderscores`` wired on, see the spec §2.4);
a leading digit gets ``key_``; empty or all-underscore results are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flightdeck.util.gofmt import go_quote as _q

UNIT_MAP = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
PER_UNIT_MAP = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}

# otlptranslator metric types
GAUGE = "gauge"
MONOTONIC_COUNTER = "monotonic_counter"
NON_MONOTONIC_COUNTER = "non_monotonic_counter"
HISTOGRAM = "histogram"
EXPONENTIAL_HISTOGRAM = "exponential_histogram"
SUMMARY = "summary"


class NamingError(ValueError):
    """A name that cannot be translated; ``str()`` is otlptranslator's message."""


def _metric_char(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9") or ch == ":"


def _label_char(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9")


def _fields(text: str, keep_underscore: bool = False) -> list[str]:
    """Go ``strings.FieldsFunc`` splitting on characters that are not metric-name characters."""
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        if _metric_char(ch) or (keep_underscore and ch == "_"):
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _collapse_underscores(text: str) -> str:
    out: list[str] = []
    prev = False
    for ch in text:
        if ch == "_":
            if not prev:
                out.append(ch)
            prev = True
        else:
            out.append(ch)
            prev = False
    return "".join(out)


def _clean_unit(unit: str) -> str:
    mapped = "".join(ch if _metric_char(ch) else "_" for ch in unit)
    collapsed = _collapse_underscores(mapped)
    return collapsed[1:] if collapsed.startswith("_") else collapsed


def unit_suffixes(unit: str) -> tuple[str, str]:
    """(main, per) suffixes of an OTLP unit, before character clean-up."""
    main = ""
    per = ""
    parts = unit.split("/", 1)
    main_otel = parts[0].strip()
    if main_otel and "{" not in main_otel and "}" not in main_otel:
        main = UNIT_MAP.get(main_otel, main_otel)
    if len(parts) > 1 and parts[1] != "":
        per_otel = parts[1].strip()
        if per_otel and "{" not in per_otel and "}" not in per_otel:
            per = PER_UNIT_MAP.get(per_otel, per_otel)
        if per:
            per = "per_" + per
    return main, per


def _add_unit_tokens(tokens: list[str], main: str, per: str) -> list[str]:
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    if main:
        tokens.append(main)
    if per:
        tokens.append(per)
    return tokens


def _trim_suffix_and_delimiter(name: str, suffix: str) -> str:
    if name.endswith(suffix) and len(name) > len(suffix) + 1:
        return name[: len(name) - (len(suffix) + 1)]
    return name


@dataclass(frozen=True)
class MetricNamer:
    namespace: str = ""
    with_suffixes: bool = True
    utf8_allowed: bool = False
    _cache: dict[tuple[str, str, str], str] = field(default_factory=dict, compare=False, repr=False)

    def build(self, name: str, unit: str, mtype: str) -> str:
        key = (name, unit, mtype)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = (
            self._build_utf8(name, unit, mtype)
            if self.utf8_allowed
            else self._build_compliant(name, unit, mtype)
        )
        if len(self._cache) < 65536:
            self._cache[key] = result
        return result

    def _build_compliant(self, name: str, unit: str, mtype: str) -> str:
        if self.with_suffixes:
            tokens = _fields(name)
            main, per = unit_suffixes(unit)
            tokens = _add_unit_tokens(tokens, _clean_unit(main), _clean_unit(per))
            if mtype == MONOTONIC_COUNTER:
                tokens = [t for t in tokens if t != "total"] + ["total"]
            if unit == "1" and mtype == GAUGE:
                tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
            if self.namespace:
                tokens = [self.namespace, *tokens]
            normalized = "_".join(tokens)
            if normalized and normalized[0].isascii() and normalized[0].isdigit():
                normalized = "_" + normalized
        else:
            metric_name = "_".join(_fields(name, keep_underscore=True))
            if self.namespace:
                normalized = "_".join(_fields(self.namespace, keep_underscore=True)) + "_" + metric_name
            else:
                if metric_name and metric_name[0].isascii() and metric_name[0].isdigit():
                    metric_name = "_" + metric_name
                normalized = metric_name
        if not normalized:
            raise NamingError(f"normalization for metric {_q(name)} resulted in empty name")
        if normalized != name and set(normalized) == {"_"}:
            raise NamingError(
                f"normalization for metric {_q(name)} resulted in invalid name {_q(normalized)}"
            )
        return normalized

    def _build_utf8(self, name: str, unit: str, mtype: str) -> str:
        result = f"{self.namespace}_{name}" if self.namespace else name
        if not self.with_suffixes:
            return result
        tail = ""
        if unit == "1" and mtype == GAUGE:
            result = _trim_suffix_and_delimiter(result, "ratio")
            tail = "_ratio" + tail
        if mtype == MONOTONIC_COUNTER:
            result = _trim_suffix_and_delimiter(result, "total")
            tail = "_total" + tail
        main, per = unit_suffixes(unit)
        if per:
            result = _trim_suffix_and_delimiter(result, per)
            tail = "_" + per + tail
        if main and not result.endswith(main):
            result = result + "_" + main
        return result + tail


@dataclass(frozen=True)
class LabelNamer:
    utf8_allowed: bool = False
    preserve_multiple_underscores: bool = True
    underscore_label_sanitization: bool = False
    _cache: dict[str, str | NamingError] = field(default_factory=dict, compare=False, repr=False)

    def build(self, label: str) -> str:
        cached = self._cache.get(label)
        if cached is None:
            try:
                cached = self._build(label)
            except NamingError as exc:
                cached = exc
            if len(self._cache) < 65536:
                self._cache[label] = cached
        if isinstance(cached, NamingError):
            raise cached
        return cached

    def _build(self, label: str) -> str:
        if not label:
            raise NamingError("label name is empty")
        if self.utf8_allowed:
            if set(label) == {"_"}:
                raise NamingError(f"label name {_q(label)} contains only underscores")
            return label
        normalized = sanitize_label_name(label, self.preserve_multiple_underscores)
        if normalized[0].isascii() and normalized[0].isdigit():
            normalized = "key_" + normalized
        elif (
            self.underscore_label_sanitization
            and normalized.startswith("_")
            and not normalized.startswith("__")
        ):
            normalized = "key" + normalized
        if set(normalized) == {"_"}:
            raise NamingError(
                f"normalization for label name {_q(label)} resulted in invalid name {_q(normalized)}"
            )
        return normalized


def sanitize_label_name(name: str, preserve_multiple_underscores: bool) -> str:
    if preserve_multiple_underscores:
        return "".join(ch if _label_char(ch) else "_" for ch in name)
    reserved = len(name) >= 4 and name.startswith("__") and name.endswith("__")
    if reserved:
        name = name[2:-2]
    out: list[str] = []
    prev = False
    for ch in name:
        if _label_char(ch):
            out.append(ch)
            prev = False
        elif not prev:
            out.append("_")
            prev = True
    text = "".join(out)
    return f"__{text}__" if reserved else text
