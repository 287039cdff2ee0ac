"""Accumulated OTLP points → Prometheus metric families, the way the exporter's collector and
``client_golang``'s registry do it at scrape time.

Per entry: the family name (otlptranslator), the family's first-seen help and type (a later type
conflict drops the series: ``instrument type conflict, using existing type definition…``), the labels
(point attributes, ``otel_scope_*``, ``job``/``instance``, ``const_labels``), and the desc checks of
``prometheus.NewDesc`` (valid names, no ``__`` prefix, no duplicates). Failures are logged as
``failed to convert metric <name>: <err>`` and the series is skipped; the scrape goes on. Then the
registry's ``Gather`` checks: suffix collisions between families, identical name+labels (the second is
dropped), families sorted by name and series by label count then label values.

A ``target_info`` gauge is added per distinct resource with both ``service.name`` and
``service.instance.id``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.components.prometheusexporter import naming
from flightdeck.collector.components.prometheusexporter.accumulator import (
    EXPONENTIAL_HISTOGRAM,
    GAUGE,
    HISTOGRAM,
    SUM,
    SUMMARY,
    Accumulated,
    ResourceView,
)
from flightdeck.collector.expfmt import (
    COUNTER,
    GAUGE_T,
    HISTOGRAM_T,
    SUMMARY_T,
    UNTYPED_T,
    Family,
    Series,
)
from flightdeck.util.gofmt import go_quote

_TYPE_NAMES = {
    COUNTER: "COUNTER",
    GAUGE_T: "GAUGE",
    HISTOGRAM_T: "HISTOGRAM",
    SUMMARY_T: "SUMMARY",
    UNTYPED_T: "UNTYPED",
}
TARGET_INFO = "target_info"
_NATIVE_SCHEMA_MIN = -4
_NATIVE_SCHEMA_MAX = 8


class ConvertError(Exception):
    """An OTLP metric the exporter cannot turn into Prometheus families (logged and dropped, as upstream)."""


@dataclass(slots=True)
class _KnownFamily:
    help: str
    type: str
    last_seen_ns: int


@dataclass
class GatherConfig:
    namespace: str = ""
    const_labels: Mapping[str, str] = field(default_factory=dict)
    send_timestamps: bool = False
    metric_expiration_ns: int = 300_000_000_000
    metric_namer: naming.MetricNamer = field(default_factory=naming.MetricNamer)
    label_namer: naming.LabelNamer = field(default_factory=naming.LabelNamer)


def check_label_name(name: str) -> bool:
    """client_golang ``checkLabelName`` under UTF-8 validation: non-empty and not ``__``-prefixed."""
    return bool(name) and not name.startswith("__")


class Gatherer:
    """Stateful across scrapes: the family help/type registry with its own expiration."""

    def __init__(
        self, cfg: GatherConfig, log_error: Callable[[str], None], log_info: Callable[..., None]
    ) -> None:
        self.cfg = cfg
        self._log_error = log_error
        self._log_info = log_info
        self._families: dict[str, _KnownFamily] = {}
        self.validated: list[str] = []  # family names validated by the last gather
        self.convert_errors: list[str] = []  # the "failed to convert metric" messages of the last gather
        try:
            self._target_name_ns = cfg.label_namer.build(cfg.namespace) if cfg.namespace else ""
        except naming.NamingError:
            self._target_name_ns = ""
        const = dict(cfg.const_labels)
        self._const_error: str | None = None
        for name in const:
            if not check_label_name(name):
                self._const_error = f"{go_quote(name)} is not a valid label name for metric %s"
        self._const = tuple(sorted(const.items()))

    # ---------------------------------------------------------------- conversion of one entry
    def _prom_type(self, entry: Accumulated) -> tuple[str, str]:
        """(exposition type, otlptranslator metric type)."""
        if entry.mtype == GAUGE:
            return (UNTYPED_T if entry.untyped else GAUGE_T), naming.GAUGE
        if entry.mtype == SUM:
            if entry.monotonic:
                return COUNTER, naming.MONOTONIC_COUNTER
            return GAUGE_T, naming.NON_MONOTONIC_COUNTER
        if entry.mtype == HISTOGRAM:
            return HISTOGRAM_T, naming.HISTOGRAM
        if entry.mtype == EXPONENTIAL_HISTOGRAM:
            return HISTOGRAM_T, naming.EXPONENTIAL_HISTOGRAM
        return SUMMARY_T, naming.SUMMARY

    def _validate_family(self, name: str, description: str, ptype: str, now_ns: int) -> str:
        known = self._families.get(name)
        if known is None:
            self._families[name] = _KnownFamily(description, ptype, now_ns)
            return description
        if known.type != ptype:
            raise ConvertError(
                "instrument type conflict, using existing type definition. instrument: "
                f"{name}, existing: {_TYPE_NAMES[known.type]}, dropped: {_TYPE_NAMES[ptype]}"
            )
        known.last_seen_ns = now_ns
        if known.help != description:
            self._log_info(
                "Instrument description conflict, using existing",
                instrument=name,
                existing=known.help,
                dropped=description,
            )
        return known.help

    def _labels(self, entry: Accumulated, family: str) -> tuple[tuple[str, str], ...]:
        cached = entry.cache.get("labels")
        if cached is not None:
            if isinstance(cached, ConvertError):
                raise cached
            return cached  # type: ignore[no-any-return]
        try:
            labels = self._build_labels(entry, family)
        except ConvertError as exc:
            entry.cache["labels"] = exc
            raise
        entry.cache["labels"] = labels
        return labels

    def _build_labels(self, entry: Accumulated, family: str) -> tuple[tuple[str, str], ...]:
        namer = self.cfg.label_namer
        pairs: list[tuple[str, str]] = []
        try:
            for k, v in entry.attrs:
                pairs.append((namer.build(k), v))
            for k, v in entry.scope_attrs:
                pairs.append((namer.build("otel_scope_" + k), v))
        except naming.NamingError as exc:
            raise ConvertError(str(exc)) from None
        pairs.append(("otel_scope_name", entry.scope_name))
        pairs.append(("otel_scope_version", entry.scope_version))
        pairs.append(("otel_scope_schema_url", entry.scope_schema_url))
        resource = entry.resource
        if resource.job is not None:
            pairs.append(("job", resource.job))
        if resource.instance is not None:
            pairs.append(("instance", resource.instance))
        return self._desc_labels(family, pairs)

    def _desc_labels(self, family: str, pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """prometheus.NewDesc + MakeLabelPairs: validity checks, then all labels sorted by name."""
        if not family:
            raise ConvertError(f"{go_quote(family)} is not a valid metric name")
        if self._const_error is not None:
            raise ConvertError(self._const_error % go_quote(family))
        names = {k for k, _ in self._const}
        for k, _ in pairs:
            if not check_label_name(k):
                raise ConvertError(f"{go_quote(k)} is not a valid label name for metric {go_quote(family)}")
            if k in names:
                raise ConvertError(
                    f"duplicate label names in constant and variable labels for metric {go_quote(family)}"
                )
            names.add(k)
        return tuple(sorted([*pairs, *self._const]))

    def convert(self, entry: Accumulated, now_ns: int) -> tuple[str, str, str, Series]:
        """(family name, help, type, series) of one accumulated entry; ConvertError when it fails."""
        ptype, ntype = self._prom_type(entry)
        try:
            family = self.cfg.metric_namer.build(entry.name, entry.unit, ntype)
        except naming.NamingError as exc:
            raise ConvertError(str(exc)) from None
        help_text = self._validate_family(family, entry.description, ptype, now_ns)
        labels = self._labels(entry, family)
        series = entry.cache.get("value")
        if series is None:
            series = self._series(entry, ptype, labels)
            series.label_cache = entry.cache.setdefault("render", {})
            sort_key = entry.cache.get("sort_key")
            if sort_key is None:
                sort_key = entry.cache["sort_key"] = _label_sort_key(labels)
            series.sort_key = sort_key + _timestamp_sort_key(series.timestamp_ms)
            entry.cache["value"] = series
        return family, help_text, ptype, series

    def _series(self, entry: Accumulated, ptype: str, labels: tuple[tuple[str, str], ...]) -> Series:
        p = entry.point
        ts_ms = _timestamp_ms(p.time_ns) if self.cfg.send_timestamps else None
        created = p.start_ns if p.start_ns // 1_000_000_000 > 0 else None
        if entry.mtype in (GAUGE, SUM):
            s = Series(labels, value=p.value, timestamp_ms=ts_ms)
            if ptype == COUNTER:
                s.created_ns = created
                s.exemplars = p.exemplars
            return s
        if entry.mtype == HISTOGRAM:
            plan = _bucket_plan(p.bounds)
            counts = p.bucket_counts
            n = len(counts)
            cumulative = itertools.accumulate(counts[i] if i < n else 0 for _, i in plan)
            buckets = tuple(zip((b for b, _ in plan), cumulative, strict=True))
            return Series(
                labels, count=p.count, sum=p.sum, buckets=buckets, timestamp_ms=ts_ms,
                created_ns=created, exemplars=p.exemplars,
            )  # fmt: skip
        if entry.mtype == SUMMARY:
            quantiles: dict[float, float] = {}
            for q, v in p.quantiles:
                quantiles[q] = v
            return Series(
                labels, count=p.count, sum=p.sum, quantiles=tuple(sorted(quantiles.items())), timestamp_ms=ts_ms,
                created_ns=created,
            )  # fmt: skip
        return self._native(entry, labels, ts_ms, created)

    def _native(
        self, entry: Accumulated, labels: tuple[tuple[str, str], ...], ts_ms: int | None, created: int | None
    ) -> Series:
        p = entry.point
        schema = p.scale
        if schema == -53:
            raise ConvertError("custom bucket native histograms (CBNH) are still not implemented")
        if schema < _NATIVE_SCHEMA_MIN:
            raise ConvertError(
                f"cannot convert exponential to native histogram: scale must be >= -4, was {schema}"
            )
        scale_down = 0
        if schema > _NATIVE_SCHEMA_MAX:
            scale_down = schema - _NATIVE_SCHEMA_MAX
            schema = _NATIVE_SCHEMA_MAX
        positive = _native_buckets(p.positive, scale_down)
        negative = _native_buckets(p.negative, scale_down)
        total = sum(positive.values()) + sum(negative.values()) + p.zero_count
        value_sum = p.sum if p.has_sum else 0.0
        if (math.isnan(value_sum) and total > p.count) or (not math.isnan(value_sum) and total != p.count):
            raise ConvertError("the sum of all bucket populations exceeds the count of observations")
        return Series(
            labels, count=p.count, sum=value_sum, timestamp_ms=ts_ms, created_ns=created, schema=schema,
            zero_threshold=p.zero_threshold or 1e-128, zero_count=p.zero_count, positive=positive,
            negative=negative,
        )  # fmt: skip

    # ---------------------------------------------------------------- target_info
    def _target_infos(self, resources: list[ResourceView]) -> list[tuple[str, Series]]:
        seen: set[str] = set()
        out: list[tuple[str, Series]] = []
        name = f"{self._target_name_ns}_{TARGET_INFO}" if self._target_name_ns else TARGET_INFO
        for res in resources:
            sig = res.target_signature
            if not sig or sig in seen:
                continue
            seen.add(sig)
            labels: dict[str, str] = {}
            try:
                for k, v in res.attrs:
                    if k in ("service.name", "service.namespace", "service.instance.id"):
                        continue
                    final = self.cfg.label_namer.build(k)
                    labels[final] = labels[final] + ";" + v if final in labels else v
            except naming.NamingError as exc:
                self._convert_error(f"failed to convert metric {TARGET_INFO}: {exc}")
                continue
            if res.job is not None:
                labels["job"] = res.job
            if res.instance is not None:
                labels["instance"] = res.instance
            bad = [k for k in labels if not check_label_name(k)]
            if bad:
                self._convert_error(
                    f"failed to convert metric {TARGET_INFO}: "
                    f"{go_quote(bad[0])} is not a valid label name for metric {go_quote(name)}"
                )
                continue
            out.append((name, Series(tuple(sorted(labels.items())), value=1.0)))
        return out

    # ---------------------------------------------------------------- gather
    def _convert_error(self, message: str) -> None:
        self.convert_errors.append(message)
        self._log_error(message)

    def touch(self, names: list[str], now_ns: int) -> None:
        """Mark families as seen at ``now_ns`` (a scrape that reused the previous conversion)."""
        for name in names:
            known = self._families.get(name)
            if known is not None:
                known.last_seen_ns = now_ns
        self._expire(now_ns)

    def _expire(self, now_ns: int) -> None:
        cutoff = now_ns - self.cfg.metric_expiration_ns
        for fname in [n for n, f in self._families.items() if cutoff > f.last_seen_ns]:
            del self._families[fname]

    def gather(self, entries: list[Accumulated], now_ns: int) -> tuple[list[Family], list[str]]:
        """The sorted families of this scrape and the registry's gathering errors (series dropped)."""
        families: dict[str, Family] = {}
        hashes: set[tuple[Any, ...]] = set()
        errors: list[str] = []
        self.convert_errors = []

        def add(name: str, help_text: str, ptype: str, series: Series) -> None:
            fam = families.get(name)
            if fam is None:
                collision = _suffix_collision(name, ptype, families)
                if collision is not None:
                    errors.append(collision)
                    return
                fam = families[name] = Family(name, help_text, ptype)
            elif fam.help != help_text:
                errors.append(
                    f"collected metric {name} has help {go_quote(help_text)} but should have {go_quote(fam.help)}"
                )
                return
            elif fam.type != ptype:
                errors.append(f"collected metric {name} should be a {fam.type.capitalize()}")
                return
            h = (name, series.labels, series.timestamp_ms)
            if h in hashes:
                errors.append(
                    f"collected metric {go_quote(name)} {{ {_labels_text(series)}}} "
                    "was collected before with the same name and label values"
                )
                return
            hashes.add(h)
            fam.series.append(series)

        for name, series in self._target_infos([e.resource for e in entries]):
            add(name, "Target metadata", GAUGE_T, series)
        for entry in entries:
            try:
                family, help_text, ptype, series = self.convert(entry, now_ns)
            except ConvertError as exc:
                self._convert_error(f"failed to convert metric {entry.name}: {exc}")
                continue
            add(family, help_text, ptype, series)
        self._expire(now_ns)
        self.validated = [name for name, known in self._families.items() if known.last_seen_ns == now_ns]
        out = [f for f in families.values() if f.series]
        out.sort(key=lambda f: f.name.encode("utf-8"))
        for fam in out:
            fam.series.sort(key=_series_sort_key)
        return out, errors


def multi_error_text(errors: list[str]) -> str:
    """client_golang ``MultiError.Error()``."""
    return f"{len(errors)} error(s) occurred:" + "".join("\n* " + e for e in errors)


def _labels_text(series: Series) -> str:
    return "".join(f"label:{{name:{go_quote(k)} value:{go_quote(v)}}} " for k, v in series.labels)


def _label_sort_key(labels: tuple[tuple[str, str], ...]) -> tuple[Any, ...]:
    """internal.MetricSorter: label count, then values compared positionally (byte order)."""
    return (len(labels), tuple(v.encode("utf-8") for _, v in labels))


def _timestamp_sort_key(ts: int | None) -> tuple[Any, ...]:
    # Equal label sets are ordered by timestamp, missing ("now") last.
    return (ts is None, ts or 0)


def _series_sort_key(s: Series) -> tuple[Any, ...]:
    if not s.sort_key:
        s.sort_key = _label_sort_key(s.labels) + _timestamp_sort_key(s.timestamp_ms)
    return s.sort_key


_plans: dict[tuple[float, ...], tuple[tuple[float, int], ...]] = {}


def _bucket_plan(bounds: tuple[float, ...]) -> tuple[tuple[float, int], ...]:
    """(bound, first index) of the distinct bounds in ascending order, as convertDoubleHistogram builds
    them; cached because every series of a metric shares its bounds."""
    plan = _plans.get(bounds)
    if plan is None:
        first_index: dict[float, int] = {}
        for i, b in enumerate(bounds):
            if b not in first_index:
                first_index[b] = i
        plan = tuple(sorted(first_index.items(), key=lambda item: _float_sort_key(item[0])))
        if len(_plans) < 1024:
            _plans[bounds] = plan
    return plan


def _float_sort_key(value: float) -> tuple[int, float]:
    # sort.Float64s puts NaN first.
    return (0, 0.0) if math.isnan(value) else (1, value)


def _timestamp_ms(ns: int) -> int:
    return ns // 1_000_000_000 * 1000 + (ns % 1_000_000_000) // 1_000_000


def _native_buckets(side: tuple[int, tuple[int, ...]], scale_down: int) -> dict[int, int]:
    offset, counts = side
    out: dict[int, int] = {}
    for i, c in enumerate(counts):
        idx = ((offset + i) >> scale_down) + 1
        out[idx] = out.get(idx, 0) + c
    return out


def _suffix_collision(name: str, ptype: str, families: Mapping[str, Family]) -> str | None:
    """client_golang ``checkSuffixCollisions`` against families gathered so far."""
    base = ""
    for suffix in ("_count", "_sum", "_bucket"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            break
    if base:
        existing = families.get(base)
        if existing is not None:
            if existing.type == SUMMARY_T and not name.endswith("_bucket"):
                return f"collected metric named {go_quote(name)} collides with previously collected summary named {go_quote(base)}"
            if existing.type == HISTOGRAM_T:
                return f"collected metric named {go_quote(name)} collides with previously collected histogram named {go_quote(base)}"
    if ptype in (SUMMARY_T, HISTOGRAM_T):
        for suffix in ("_count", "_sum"):
            if name + suffix in families:
                return f"collected histogram or summary named {go_quote(name)} collides with previously collected metric named {go_quote(name + suffix)}"
    if ptype == HISTOGRAM_T and name + "_bucket" in families:
        return f"collected histogram named {go_quote(name)} collides with previously collected metric named {go_quote(name + '_bucket')}"
    return None
