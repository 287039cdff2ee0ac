"""The Prometheus exposition formats and the HTTP negotiation in front of them, as ``prometheus/common``
v0.67.4 ``expfmt`` and ``client_golang`` v1.23.2 ``promhttp`` do it: what every ``/metrics`` endpoint of the
collector serves (the ``prometheus`` exporter's :8889 and the collector's own telemetry on :8888).

* Text 0.0.4 (default): ``# HELP``/``# TYPE`` then one line per sample; floats as Go's
  ``strconv.FormatFloat(v, 'g', -1, 64)`` with ``1``/``0``/``-1``/``NaN``/``+Inf``/``-Inf`` special-cased.
* OpenMetrics 1.0.0/0.0.1 (only when enabled): counter HELP/TYPE without ``_total``, ``.0`` appended to
  integral floats, integer counts, exemplars, ``# EOF``; no ``_created`` lines.
* Protobuf delimited (``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
  encoding=delimited``): length-prefixed ``io.prometheus.client.MetricFamily`` messages.
* The ``escaping`` parameter (default ``underscores``) rewrites names that are not legacy-valid.
* gzip when ``Accept-Encoding`` prefers it (promhttp's default compression).

The input is a list of :class:`Family` (sorted as the registry's ``Gather`` sorts them). Each series caches
its rendered bytes per (format, escaping), so an unchanged series costs one dict lookup per scrape.
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.httpserver import Response
from flightdeck.collector.pbwire import (
    WIRE_I64,
    WIRE_LEN,
    WIRE_VARINT,
    double_field,
    len_field,
    tag,
    varint,
    varint_field,
    zigzag,
)
from flightdeck.util.gofmt import format_float_v

COUNTER = "counter"
GAUGE_T = "gauge"
HISTOGRAM_T = "histogram"
SUMMARY_T = "summary"
UNTYPED_T = "untyped"

# (trace_id, span_id, value, time_unix_nano)
Exemplar = tuple[bytes, bytes, float, int]


@dataclass(slots=True)
class Series:
    """One exposed series: labels sorted by name and the value payload for the encoders."""

    labels: tuple[tuple[str, str], ...]
    value: float = 0.0
    count: int = 0
    sum: float = 0.0
    buckets: tuple[tuple[float, int], ...] = ()
    quantiles: tuple[tuple[float, float], ...] = ()
    timestamp_ms: int | None = None
    created_ns: int | None = None
    exemplars: tuple[Exemplar, ...] = ()
    # native histogram (schema is None for classic histograms)
    schema: int | None = None
    zero_threshold: float = 0.0
    zero_count: int = 0
    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)
    # encoder caches: rendered bytes of this value per format, and label-level pieces shared by every
    # value version of the same accumulated series
    rendered: dict[Any, bytes] = field(default_factory=dict)
    label_cache: dict[Any, Any] = field(default_factory=dict)
    sort_key: tuple[Any, ...] = ()


@dataclass(slots=True)
class Family:
    name: str
    help: str
    type: str
    series: list[Series] = field(default_factory=list)


TEXT = "text"
OPENMETRICS = "openmetrics"
PROTO_DELIMITED = "delimited"
PROTO_TEXT = "proto-text"
PROTO_COMPACT = "proto-compact"

NO_ESCAPING = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"
_ESCAPINGS = (NO_ESCAPING, UNDERSCORES, DOTS, VALUES)

_FMT_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_FMT_OM_1 = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_FMT_OM_0 = "application/openmetrics-text; version=0.0.1; charset=utf-8"
_PROTO = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;"


@dataclass(frozen=True, slots=True)
class Format:
    kind: str
    content_type: str
    escaping: str


@dataclass(slots=True)
class _Accept:
    type: str
    subtype: str
    q: float
    params: dict[str, str]


def _parse_accept(header: str) -> list[_Accept]:
    """goautoneg.ParseAccept, including its (insertion) sort by q and wildcard specificity."""
    out: list[_Accept] = []
    for part in header.split(","):
        part = part.strip(" ")
        pieces = part.split(";")
        media = pieces[0].split("/")
        mtype = media[0].strip(" ")
        if len(media) == 1 and mtype == "*":
            subtype = "*"
        elif len(media) == 2:
            subtype = media[1].strip(" ")
        else:
            continue
        acc = _Accept(mtype, subtype, 1.0, {})
        for param in pieces[1:]:
            kv = param.split("=", 1)
            if len(kv) != 2:
                continue
            token = kv[0].strip(" ")
            if token == "q":
                try:
                    acc.q = float(kv[1])
                except ValueError:
                    acc.q = 0.0
            else:
                acc.params[token] = kv[1].strip(" ")
        out.append(acc)

    def less(a: _Accept, b: _Accept) -> bool:
        return a.q > b.q or (a.type != "*" and b.type == "*") or (a.subtype != "*" and b.subtype == "*")

    # Go's sort.Sort uses insertion sort for slices this short.
    for i in range(1, len(out)):
        j = i
        while j > 0 and less(out[j], out[j - 1]):
            out[j], out[j - 1] = out[j - 1], out[j]
            j -= 1
    return out


def negotiate(accept: str, enable_open_metrics: bool) -> Format:
    """expfmt.Negotiate / NegotiateIncludingOpenMetrics."""
    escaping = UNDERSCORES
    for ac in _parse_accept(accept):
        param = ac.params.get("escaping", "")
        if param in _ESCAPINGS:
            escaping = param
        ver = ac.params.get("version", "")
        if f"{ac.type}/{ac.subtype}" == "application/vnd.google.protobuf" and (
            ac.params.get("proto") == "io.prometheus.client.MetricFamily"
        ):
            encoding = ac.params.get("encoding")
            if encoding == "delimited":
                return Format(PROTO_DELIMITED, f"{_PROTO} encoding=delimited; escaping={escaping}", escaping)
            if encoding == "text":
                return Format(PROTO_TEXT, f"{_PROTO} encoding=text; escaping={escaping}", escaping)
            if encoding == "compact-text":
                return Format(PROTO_COMPACT, f"{_PROTO} encoding=compact-text; escaping={escaping}", escaping)
        if ac.type == "text" and ac.subtype == "plain" and ver in ("0.0.4", ""):
            return Format(TEXT, f"{_FMT_TEXT}; escaping={escaping}", escaping)
        if (
            enable_open_metrics
            and f"{ac.type}/{ac.subtype}" == "application/openmetrics-text"
            and ver in ("0.0.1", "1.0.0", "")
        ):
            base = _FMT_OM_1 if ver == "1.0.0" else _FMT_OM_0
            return Format(OPENMETRICS, f"{base}; escaping={escaping}", escaping)
    return Format(TEXT, f"{_FMT_TEXT}; escaping={escaping}", escaping)


# ---------------------------------------------------------------------------- names and numbers
def _legacy_rune(ch: str, i: int) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_" or ch == ":" or ("0" <= ch <= "9" and i > 0)


_LEGACY_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_legacy_cache: dict[str, bool] = {}


def is_legacy_name(name: str) -> bool:
    """``model.LegacyValidation.IsValidMetricName`` (cached: the same few names recur on every scrape)."""
    ok = _legacy_cache.get(name)
    if ok is None:
        ok = _LEGACY_NAME.fullmatch(name) is not None
        if len(_legacy_cache) < 100_000:
            _legacy_cache[name] = ok
    return ok


def escape_name(name: str, scheme: str) -> str:
    """model.EscapeName, applied (like EscapeMetricFamily) only to names that are not legacy-valid."""
    if not name or scheme == NO_ESCAPING or is_legacy_name(name):
        return name
    if scheme == UNDERSCORES:
        return "".join(ch if _legacy_rune(ch, i) else "_" for i, ch in enumerate(name))
    if scheme == DOTS:
        out = []
        for i, ch in enumerate(name):
            if ch == "_":
                out.append("__")
            elif ch == ".":
                out.append("_dot_")
            elif _legacy_rune(ch, i):
                out.append(ch)
            else:
                out.append("__")
        return "".join(out)
    out = ["U__"]
    for i, ch in enumerate(name):
        if ch == "_":
            out.append("__")
        elif _legacy_rune(ch, i):
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("_FFFD_")
        else:
            out.append(f"_{ord(ch):x}_")
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def write_name(name: str) -> str:
    """expfmt writeName: as-is when legacy-valid, else a quoted string."""
    return name if is_legacy_name(name) else _quote(name)


def go_float(value: float) -> str:
    """expfmt writeFloat: ``strconv.FormatFloat(v, 'g', -1, 64)`` with a few special cases."""
    if value == 1:
        return "1"
    if value == 0:
        return "0"
    if value == -1:
        return "-1"
    if value != value:
        return "NaN"
    if 1e-4 <= abs(value) < 1e6:
        # Python's repr has Go's shortest digits and is positional in this range.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format_float_v(value)


def om_float(value: float) -> str:
    """expfmt writeOpenMetricsFloat: like writeFloat but ``.0`` when there is neither ``.`` nor ``e``."""
    if value == 1:
        return "1.0"
    if value == 0:
        return "0.0"
    if value == -1:
        return "-1.0"
    text = go_float(value)
    if text in ("NaN", "+Inf", "-Inf") or "e" in text or "." in text:
        return text
    return text + ".0"


def _count_text(count: int) -> str:
    """A count written through writeFloat(float64(count))."""
    if count < 1_000_000:
        return str(count)
    return go_float(float(count))


def _escape_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _help_text(text: str, quote: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if quote else text


# ---------------------------------------------------------------------------- text formats
_INF_LE = 'le="+Inf"'


def _lbl(name: str, value: str) -> str:
    return name + '="' + value + '"'


def _sample(name: str, labels: str, extra: str = "") -> str:
    """``name{labels,extra}`` like writeNameAndLabelPairs (the name goes inside the braces, quoted, when
    it is not legacy-valid)."""
    inner = labels
    if extra:
        inner = inner + "," + extra if inner else extra
    if is_legacy_name(name):
        return f"{name}{{{inner}}}" if inner else name
    quoted = _quote(name)
    return f"{{{quoted},{inner}}}" if inner else f"{{{quoted}}}"


def _labels_str(series: Series, escaping: str) -> str:
    key = ("labels", escaping)
    cached = series.label_cache.get(key)
    if cached is None:
        cached = ",".join(
            f'{write_name(escape_name(k, escaping))}="{_escape_value(v)}"' for k, v in series.labels
        )
        series.label_cache[key] = cached
    return str(cached)


def _prefixes(name: str, ptype: str, s: Series, escaping: str, om: bool) -> tuple[str, ...]:
    """The text before each sample value of a series, cached with its labels (they outlive value updates)."""
    bounds = tuple(b for b, _ in s.buckets) if ptype == HISTOGRAM_T else tuple(q for q, _ in s.quantiles)
    key = (om, escaping, name, ptype, bounds)
    cached = s.label_cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    labels = _labels_str(s, escaping)
    fmt = om_float if om else go_float
    out: tuple[str, ...]
    if ptype in (COUNTER, GAUGE_T, UNTYPED_T):
        out = (_sample(name, labels) + " ",)
    elif ptype == SUMMARY_T:
        out = tuple(_sample(name, labels, _lbl("quantile", fmt(q))) + " " for q in bounds)
        out += (_sample(name + "_sum", labels) + " ", _sample(name + "_count", labels) + " ")
    else:
        bucket_name = name + "_bucket"
        out = tuple(_sample(bucket_name, labels, _lbl("le", fmt(b))) + " " for b in bounds)
        if not any(math.isinf(b) and b > 0 for b in bounds):
            out += (_sample(bucket_name, labels, _INF_LE) + " ",)
        out += (_sample(name + "_sum", labels) + " ", _sample(name + "_count", labels) + " ")
    s.label_cache[key] = out
    return out


def _text_series(name: str, ptype: str, s: Series, escaping: str) -> str:
    pre = _prefixes(name, ptype, s, escaping, False)
    tail = f" {s.timestamp_ms}\n" if s.timestamp_ms is not None else "\n"
    if ptype in (COUNTER, GAUGE_T, UNTYPED_T):
        return pre[0] + go_float(s.value) + tail
    count = str(s.count) if s.count < 1_000_000 else _count_text(s.count)
    if ptype == SUMMARY_T:
        values = [go_float(v) for _, v in s.quantiles]
    else:
        # Cumulative counts never exceed the total, so below 1e6 all of them print as plain integers.
        to_text = str if s.count < 1_000_000 else _count_text
        values = [to_text(c) for _, c in s.buckets]
        if len(pre) > len(values) + 2:
            values.append(count)
    values.append(go_float(s.sum))
    values.append(count)
    return tail.join([p + v for p, v in zip(pre, values, strict=True)]) + tail


def _exemplar_labels(ex: Exemplar) -> list[tuple[str, str]]:
    labels = []
    trace_id, span_id = ex[0], ex[1]
    if span_id and any(span_id):
        labels.append(("span_id", span_id.hex()))
    if trace_id and any(trace_id):
        labels.append(("trace_id", trace_id.hex()))
    return labels


def _om_exemplar(ex: Exemplar | None) -> str:
    if ex is None:
        return ""
    labels = _exemplar_labels(ex)
    if not labels:
        return ""
    body = ",".join(f'{write_name(k)}="{_escape_value(v)}"' for k, v in labels)
    return f" # {{{body}}} {om_float(ex[2])} {om_float(ex[3] / 1e9)}"


def _bucket_exemplars(s: Series) -> tuple[list[tuple[float, int]], list[Exemplar | None]]:
    """withExemplarsMetric: the last applicable exemplar per bucket; past every bound an explicit +Inf."""
    buckets = list(s.buckets)
    assigned: list[Exemplar | None] = [None] * len(buckets)
    for ex in s.exemplars:
        idx = next((i for i, (b, _) in enumerate(buckets) if b >= ex[2]), len(buckets))
        if idx < len(buckets):
            assigned[idx] = ex
        else:
            buckets.append((math.inf, s.count))
            assigned.append(ex)
    return buckets, assigned


def _om_series(name: str, ptype: str, s: Series, escaping: str) -> str:
    tail = f" {om_float(s.timestamp_ms / 1000)}" if s.timestamp_ms is not None else ""
    if not s.exemplars or ptype not in (COUNTER, HISTOGRAM_T):
        pre = _prefixes(name, ptype, s, escaping, True)
        if ptype in (COUNTER, GAUGE_T, UNTYPED_T):
            return pre[0] + om_float(s.value) + tail + "\n"
        if ptype == SUMMARY_T:
            values = [om_float(v) for _, v in s.quantiles]
        else:
            values = [str(c) for _, c in s.buckets]
            if len(pre) > len(values) + 2:
                values.append(str(s.count))
        values.append(om_float(s.sum))
        values.append(str(s.count))
        return "".join([p + v + tail + "\n" for p, v in zip(pre, values, strict=True)])
    labels = _labels_str(s, escaping)
    if ptype == COUNTER:
        return f"{_sample(name, labels)} {om_float(s.value)}{tail}{_om_exemplar(s.exemplars[-1])}\n"
    lines = []
    buckets, bucket_ex = _bucket_exemplars(s)
    inf_seen = False
    bucket_name = name + "_bucket"
    for (bound, cumulative), ex in zip(buckets, bucket_ex, strict=True):
        lines.append(
            f"{_sample(bucket_name, labels, _lbl('le', om_float(bound)))} {cumulative}{tail}{_om_exemplar(ex)}\n"
        )
        if math.isinf(bound) and bound > 0:
            inf_seen = True
    if not inf_seen:
        lines.append(f"{_sample(bucket_name, labels, _INF_LE)} {s.count}{tail}\n")
    lines.append(f"{_sample(name + '_sum', labels)} {om_float(s.sum)}{tail}\n")
    lines.append(f"{_sample(name + '_count', labels)} {s.count}{tail}\n")
    return "".join(lines)


def _text_family(fam: Family, escaping: str, open_metrics: bool) -> bytes:
    name = escape_name(fam.name, escaping)
    key = (OPENMETRICS if open_metrics else TEXT, escaping, name)
    parts = []
    if open_metrics:
        compliant = name[:-6] if fam.type == COUNTER and name.endswith("_total") else name
        om_type = {
            COUNTER: "counter" if name.endswith("_total") else "unknown",
            GAUGE_T: "gauge",
            UNTYPED_T: "unknown",
            HISTOGRAM_T: "histogram",
            SUMMARY_T: "summary",
        }[fam.type]
        parts.append(f"# HELP {write_name(compliant)} {_help_text(fam.help, True)}\n".encode())
        parts.append(f"# TYPE {write_name(compliant)} {om_type}\n".encode())
        sample_name = compliant + "_total" if fam.type == COUNTER and name.endswith("_total") else compliant
        render = _om_series
    else:
        parts.append(f"# HELP {write_name(name)} {_help_text(fam.help, False)}\n".encode())
        parts.append(f"# TYPE {write_name(name)} {fam.type}\n".encode())
        sample_name = name
        render = _text_series
    for s in fam.series:
        cached = s.rendered.get(key)
        if cached is None:
            cached = s.rendered[key] = render(sample_name, fam.type, s, escaping).encode()
        parts.append(cached)
    return b"".join(parts)


# ---------------------------------------------------------------------------- protobuf
# io.prometheus.client messages are written by field number through the shared wire helpers.
def _pb_len(number: int, payload: bytes) -> bytes:
    return len_field(tag(number, WIRE_LEN), payload)


def _pb_double(number: int, value: float) -> bytes:
    return double_field(tag(number, WIRE_I64), value)


def _pb_varint(number: int, value: int) -> bytes:
    return varint_field(tag(number, WIRE_VARINT), value)


def _pb_sint(number: int, value: int) -> bytes:
    return varint_field(tag(number, WIRE_VARINT), zigzag(value))


def _pb_timestamp(ns: int) -> bytes:
    seconds, nanos = divmod(ns, 1_000_000_000)
    body = b""
    if seconds:
        body += _pb_varint(1, seconds)
    if nanos:
        body += _pb_varint(2, nanos)
    return body


def _pb_label(name: str, value: str) -> bytes:
    return _pb_len(1, name.encode()) + _pb_len(2, value.encode())


def _pb_exemplar(ex: Exemplar) -> bytes:
    body = b"".join(_pb_len(1, _pb_label(k, v)) for k, v in _exemplar_labels(ex))
    return body + _pb_double(2, ex[2]) + _pb_len(3, _pb_timestamp(ex[3]))


def _pb_spans(buckets: dict[int, int]) -> tuple[bytes, bytes]:
    """client_golang makeBucketsFromMap: spans (gaps of ≤2 filled) and delta-encoded counts."""
    if not buckets:
        return b"", b""
    spans: list[list[int]] = []
    deltas: list[int] = []
    prev = 0
    next_i = 0
    for n, i in enumerate(sorted(buckets)):
        gap = i - next_i
        if n == 0 or gap > 2:
            spans.append([gap, 0])
        else:
            for _ in range(gap):
                spans[-1][1] += 1
                deltas.append(0 - prev)
                prev = 0
        spans[-1][1] += 1
        deltas.append(buckets[i] - prev)
        prev = buckets[i]
        next_i = i + 1
    span_bytes = b"".join(_pb_sint(1, o) + _pb_varint(2, length) for o, length in spans)
    delta_bytes = b"".join(varint(zigzag(d)) for d in deltas)
    return span_bytes, delta_bytes


def _pb_metric(fam: Family, s: Series, escaping: str) -> bytes:
    body = b"".join(_pb_len(1, _pb_label(escape_name(k, escaping), v)) for k, v in s.labels)
    if fam.type == COUNTER:
        counter = _pb_double(1, s.value)
        if s.exemplars:
            counter += _pb_len(2, _pb_exemplar(s.exemplars[-1]))
        if s.created_ns is not None:
            counter += _pb_len(3, _pb_timestamp(s.created_ns))
        body += _pb_len(3, counter)
    elif fam.type == GAUGE_T:
        body += _pb_len(2, _pb_double(1, s.value))
    elif fam.type == UNTYPED_T:
        body += _pb_len(5, _pb_double(1, s.value))
    elif fam.type == SUMMARY_T:
        summ = _pb_varint(1, s.count) + _pb_double(2, s.sum)
        summ += b"".join(_pb_len(3, _pb_double(1, q) + _pb_double(2, v)) for q, v in s.quantiles)
        if s.created_ns is not None:
            summ += _pb_len(4, _pb_timestamp(s.created_ns))
        body += _pb_len(4, summ)
    else:
        hist = _pb_varint(1, s.count) + _pb_double(2, s.sum)
        if s.schema is None:
            buckets, bucket_ex = _bucket_exemplars(s)
            for (bound, cumulative), bex in zip(buckets, bucket_ex, strict=True):
                bucket = _pb_varint(1, cumulative) + _pb_double(2, bound)
                if bex is not None:
                    bucket += _pb_len(3, _pb_exemplar(bex))
                hist += _pb_len(3, bucket)
        else:
            hist += _pb_sint(5, s.schema) + _pb_double(6, s.zero_threshold) + _pb_varint(7, s.zero_count)
            neg_spans, neg_deltas = _pb_spans(s.negative)
            pos_spans, pos_deltas = _pb_spans(s.positive)
            if not neg_spans and not pos_spans and s.zero_threshold == 0 and s.zero_count == 0:
                pos_spans = _pb_sint(1, 0) + _pb_varint(2, 0)
            if neg_spans:
                hist += _pb_len(9, neg_spans) + (_pb_len(10, neg_deltas) if neg_deltas else b"")
            if pos_spans:
                hist += _pb_len(12, pos_spans) + (_pb_len(13, pos_deltas) if pos_deltas else b"")
        if s.created_ns is not None:
            hist += _pb_len(15, _pb_timestamp(s.created_ns))
        body += _pb_len(7, hist)
    if s.timestamp_ms is not None:
        body += _pb_varint(6, s.timestamp_ms)
    return body


_PB_TYPES = {COUNTER: 0, GAUGE_T: 1, SUMMARY_T: 2, UNTYPED_T: 3, HISTOGRAM_T: 4}


def _pb_family(fam: Family, escaping: str) -> bytes:
    body = _pb_len(1, escape_name(fam.name, escaping).encode()) + _pb_len(2, fam.help.encode())
    body += _pb_varint(3, _PB_TYPES[fam.type])
    for s in fam.series:
        key = (PROTO_DELIMITED, escaping)
        cached = s.rendered.get(key)
        if cached is None:
            cached = s.rendered[key] = _pb_len(4, _pb_metric(fam, s, escaping))
        body += cached
    return varint(len(body)) + body


def encode(families: list[Family], fmt: Format) -> bytes:
    """The response body for ``fmt``."""
    if fmt.kind == PROTO_DELIMITED:
        return b"".join(_pb_family(f, fmt.escaping) for f in families)
    if fmt.kind in (PROTO_TEXT, PROTO_COMPACT):
        raise NotImplementedError(
            "not supported: protobuf text exposition formats (encoding=text/compact-text)"
        )
    open_metrics = fmt.kind == OPENMETRICS
    body = b"".join(_text_family(f, fmt.escaping, open_metrics) for f in families)
    if open_metrics:
        body += b"# EOF\n"
    return body


# ---------------------------------------------------------------------------- HTTP
def accept_encoding(header: str) -> str:
    """gddo ``NegotiateContentEncoding`` over promhttp's offers, identity and gzip ("" = none acceptable)."""
    specs: list[tuple[str, float]] = []
    for part in header.split(","):
        value, _, params = part.strip().partition(";")
        value = value.strip().lower()
        if not value:
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v.strip())
                except ValueError:
                    q = 0.0
        specs.append((value, q))
    best, best_q = "identity", -1.0
    for offer in ("identity", "gzip"):
        for value, q in specs:
            if q > best_q and value in ("*", offer):
                best_q, best = q, offer
    return "" if best_q == 0 else best


def response(
    body: bytes, fmt: Format, accept_encoding_header: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """promhttp's 200 answer: the encoded body, gzip-compressed when the client prefers it."""
    out = list(headers or ())
    if accept_encoding(accept_encoding_header) == "gzip":
        body = gzip.compress(body, compresslevel=6, mtime=0)
        out.append(("Content-Encoding", "gzip"))
    return Response(200, body, out, fmt.content_type)


def serve(families: list[Family], accept: str, accept_encoding_header: str) -> Response:
    """A whole scrape of ``families`` (text, OpenMetrics off, or protobuf) for a promhttp-style handler."""
    fmt = negotiate(accept, enable_open_metrics=False)
    if fmt.kind in (PROTO_TEXT, PROTO_COMPACT):
        # promhttp would answer these; flightdeck does not encode them (see encode()).
        fmt = negotiate("", enable_open_metrics=False)
    return response(encode(families, fmt), fmt, accept_encoding_header)
