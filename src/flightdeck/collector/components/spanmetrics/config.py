"""The ``spanmetrics`` connector's configuration: keys, defaults and validation texts of contrib v0.142
(``connector/spanmetricsconnector/config.go`` and ``factory.go``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.confdecode import DurationNs, decode, format_go_duration_ns, go_type_name
from flightdeck.util.gofmt import go_quote

DEFAULT_NAMESPACE = "traces.span.metrics"
DELTA = "AGGREGATION_TEMPORALITY_DELTA"
CUMULATIVE = "AGGREGATION_TEMPORALITY_CUMULATIVE"
DEFAULT_BUCKETS_MS: tuple[float, ...] = (
    2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000,
)  # fmt: skip
DEFAULT_DELTA_TIMESTAMP_CACHE_SIZE = 1000
DEFAULT_RESOURCE_METRICS_CACHE_SIZE = 1000
DEFAULT_MAX_PER_DATA_POINT = 5
DEFAULT_EXPONENTIAL_MAX_SIZE = 160

SERVICE_NAME_KEY = "service.name"
SPAN_NAME_KEY = "span.name"
SPAN_KIND_KEY = "span.kind"
STATUS_CODE_KEY = "status.code"
BUILTIN_DIMENSIONS = (SERVICE_NAME_KEY, SPAN_KIND_KEY, STATUS_CODE_KEY, SPAN_NAME_KEY)


def _decode_unit(raw: Any) -> str:
    """metrics.Unit.UnmarshalText: case-insensitive ``ms``/``s``."""
    if not isinstance(raw, str):
        raise ValueError(f"expected type 'metrics.Unit', got unconvertible type '{go_type_name(raw)}'")
    text = raw.lower()
    if text in ("ms", "s"):
        return text
    raise ValueError(f'unknown Unit {go_quote(text)}, allowed units are "ms" and "s"')


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str = ""
    default: str | None = None


@dataclass(frozen=True, slots=True)
class ExplicitHistogramConfig:
    # Go ``[]time.Duration``: nil (absent) means the default buckets, an empty list means no buckets.
    buckets: list[DurationNs] | None = None


@dataclass(frozen=True, slots=True)
class ExponentialHistogramConfig:
    max_size: int = 0


@dataclass(frozen=True, slots=True)
class HistogramConfig:
    disable: bool = False
    unit: str = field(default="ms", metadata={"decode": _decode_unit})
    exponential: ExponentialHistogramConfig | None = None
    explicit: ExplicitHistogramConfig | None = None
    dimensions: list[Dimension] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExemplarsConfig:
    enabled: bool = False
    # Go ``*int``: nil means "no limit".
    max_per_data_point: int | None = DEFAULT_MAX_PER_DATA_POINT


@dataclass(frozen=True, slots=True)
class EventsConfig:
    enabled: bool = False
    dimensions: list[Dimension] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Config:
    dimensions: list[Dimension] = field(default_factory=list)
    calls_dimensions: list[Dimension] = field(default_factory=list)
    exclude_dimensions: list[str] = field(default_factory=list)
    # Deprecated since v0.130 and without effect; a non-zero value only logs a warning.
    dimensions_cache_size: int = 0
    resource_metrics_cache_size: int = DEFAULT_RESOURCE_METRICS_CACHE_SIZE
    resource_metrics_key_attributes: list[str] = field(default_factory=list)
    aggregation_temporality: str = CUMULATIVE
    histogram: HistogramConfig = field(default_factory=HistogramConfig)
    metrics_flush_interval: DurationNs = 60_000_000_000
    metrics_expiration: DurationNs = 0
    metric_timestamp_cache_size: int | None = None
    namespace: str = DEFAULT_NAMESPACE
    exemplars: ExemplarsConfig = field(default_factory=ExemplarsConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    include_instrumentation_scope: list[str] = field(default_factory=list)
    aggregation_cardinality_limit: int = 0
    # Only meaningful with the (disabled) gate connector.spanmetrics.excludeResourceMetrics.
    add_resource_attributes: bool = False

    @property
    def is_delta(self) -> bool:
        """Anything but exactly the delta string means cumulative (upstream GetAggregationTemporality)."""
        return self.aggregation_temporality == DELTA

    @property
    def delta_timestamp_cache_size(self) -> int:
        if self.metric_timestamp_cache_size is None:
            return DEFAULT_DELTA_TIMESTAMP_CACHE_SIZE
        return self.metric_timestamp_cache_size

    @property
    def unit_divisor(self) -> int:
        return 1_000_000_000 if self.histogram.unit == "s" else 1_000_000

    @property
    def explicit_bounds(self) -> tuple[float, ...]:
        """The explicit bucket bounds in the histogram unit (upstream initHistogramMetrics)."""
        explicit = self.histogram.explicit
        if explicit is not None and explicit.buckets is not None:
            divisor = float(self.unit_divisor)
            return tuple(float(ns) / divisor for ns in explicit.buckets)
        if self.histogram.unit == "s":
            return tuple(b / 1000.0 for b in DEFAULT_BUCKETS_MS)
        return tuple(float(b) for b in DEFAULT_BUCKETS_MS)

    @property
    def exponential_max_size(self) -> int:
        """go-expohisto's effective max size: 0 → 160; out of [2, 16384] is clamped like Config.Validate."""
        exp = self.histogram.exponential
        size = exp.max_size if exp is not None and exp.max_size != 0 else DEFAULT_EXPONENTIAL_MAX_SIZE
        if size < 0:
            return DEFAULT_EXPONENTIAL_MAX_SIZE
        return min(max(size, 2), 16384)


def load_config(raw: Mapping[str, Any] | None) -> Config:
    return decode(raw, Config())


def _validate_dimensions(dims: list[Dimension]) -> str | None:
    seen = set(BUILTIN_DIMENSIONS)
    for dim in dims:
        if dim.name in seen:
            return f"duplicate dimension name {dim.name}"
        seen.add(dim.name)
    return None


def validate(cfg: Config) -> list[str]:
    """Upstream ``Config.Validate``: the first failing rule, relative to the component."""
    err = _validate_dimensions(cfg.dimensions)
    if err is not None:
        return [f"failed validating dimensions: {err}"]
    if cfg.events.enabled:
        if not cfg.events.dimensions:
            return ["failed validating event dimensions: no dimensions configured for events"]
        err = _validate_dimensions(cfg.events.dimensions)
        if err is not None:
            return [f"failed validating event dimensions: {err}"]
    if cfg.histogram.explicit is not None and cfg.histogram.exponential is not None:
        return ["use either `explicit` or `exponential` buckets histogram"]
    if cfg.metrics_flush_interval < 0:
        shown = format_go_duration_ns(cfg.metrics_flush_interval)
        return [f"invalid metrics_flush_interval: {shown}, the duration should be positive"]
    if cfg.metrics_expiration < 0:
        shown = format_go_duration_ns(cfg.metrics_expiration)
        return [f"invalid metrics_expiration: {shown}, the duration should be positive"]
    if cfg.is_delta and cfg.delta_timestamp_cache_size <= 0:
        return [
            f"invalid delta timestamp cache size: {cfg.delta_timestamp_cache_size}, "
            "the maximum number of the items in the cache should be positive"
        ]
    if cfg.aggregation_cardinality_limit < 0:
        return [
            f"invalid aggregation_cardinality_limit: {cfg.aggregation_cardinality_limit}, "
            "the limit should be positive"
        ]
    return []


def replace(cfg: Config, **changes: Any) -> Config:
    """A copy with some fields changed (tests and benchmarks build configs this way)."""
    return dataclasses.replace(cfg, **changes)
