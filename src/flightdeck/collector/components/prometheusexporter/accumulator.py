"""The prometheus exporter's last-value accumulator (contrib v0.142 ``exporter/prometheusexporter/
accumulator.go``), on a caller-supplied clock.

Every incoming data point is stored under a signature of metric name, type, scope name/version/schema
URL, sorted scope attributes, sorted point attributes and the ``job``/``instance`` derived from the
resource (other resource attributes are *not* part of it). Cumulative points replace older ones; delta
monotonic sums and delta histograms whose start equals the stored point's timestamp are added on
(delta → cumulative); ``NoRecordedValue`` deletes; points older than the stored one are ignored.
Collect drops entries not updated for ``metric_expiration``.

Points are kept as plain values (attributes as ``(key, AsString)`` pairs), never as references into
the received messages, so a request can be freed as soon as it is accumulated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, ResourceMetrics
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from flightdeck.collector.pcommon import as_string

GAUGE = "Gauge"
SUM = "Sum"
HISTOGRAM = "Histogram"
EXPONENTIAL_HISTOGRAM = "ExponentialHistogram"
SUMMARY = "Summary"

TEMPORALITY_UNSPECIFIED = 0
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2
FLAG_NO_RECORDED_VALUE = 1

Attrs = tuple[tuple[str, str], ...]
# An exemplar: (trace_id, span_id, value, time_unix_nano)
ExemplarT = tuple[bytes, bytes, float, int]


@dataclass(slots=True)
class ResourceView:
    """What the exporter needs of a Resource: attributes as strings, job and instance."""

    attrs: Attrs
    job: str | None
    instance: str | None

    @property
    def target_signature(self) -> str:
        if not self.job or not self.instance:
            return ""
        return self.job + "\xff" + self.instance


def resource_view(attrs: Iterable[KeyValue]) -> ResourceView:
    pairs = tuple((kv.key, as_string(kv.value)) for kv in attrs)
    first: dict[str, str] = {}
    for k, v in pairs:
        first.setdefault(k, v)
    job = None
    if "service.name" in first:
        job = first["service.name"]
        if "service.namespace" in first:
            job = f"{first['service.namespace']}/{job}"
    return ResourceView(pairs, job, first.get("service.instance.id"))


@dataclass(slots=True)
class Point:
    """One accumulated data point (the fields the conversion reads)."""

    start_ns: int = 0
    time_ns: int = 0
    flags: int = 0
    # number points
    value: float = 0.0
    int_value: int = 0
    is_int: bool = False
    # histograms / summaries
    count: int = 0
    sum: float = 0.0
    has_sum: bool = True
    bucket_counts: tuple[int, ...] = ()
    bounds: tuple[float, ...] = ()
    quantiles: tuple[tuple[float, float], ...] = ()
    # exponential histograms
    scale: int = 0
    zero_count: int = 0
    zero_threshold: float = 0.0
    positive: tuple[int, tuple[int, ...]] = (0, ())
    negative: tuple[int, tuple[int, ...]] = (0, ())
    exemplars: tuple[ExemplarT, ...] = ()


@dataclass(slots=True)
class Accumulated:
    """A stored series: metric metadata, its one point, where it came from, when it was updated."""

    signature: tuple[Any, ...]
    name: str
    description: str
    unit: str
    mtype: str
    monotonic: bool
    untyped: bool
    attrs: Attrs
    resource: ResourceView
    scope_name: str
    scope_version: str
    scope_schema_url: str
    scope_attrs: Attrs
    point: Point
    updated_ns: int
    version: int = 0
    cache: dict[Any, Any] = field(default_factory=dict)


def _attrs(kvs: Iterable[KeyValue]) -> Attrs:
    return tuple((kv.key, as_string(kv.value)) for kv in kvs)


def _exemplars(exs: Iterable[Any]) -> tuple[ExemplarT, ...]:
    out = []
    for e in exs:
        value = float(e.as_int) if e.WhichOneof("value") == "as_int" else e.as_double
        out.append((e.trace_id, e.span_id, value, e.time_unix_nano))
    return tuple(out)


def _sorted_strs(attrs: Attrs) -> tuple[str, ...]:
    return tuple(sorted(k + "*" + v for k, v in attrs))


class Accumulator:
    def __init__(self, metric_expiration_ns: int, resource_to_telemetry: bool = False) -> None:
        self.expiration_ns = metric_expiration_ns
        self.resource_to_telemetry = resource_to_telemetry
        self.entries: dict[tuple[Any, ...], Accumulated] = {}
        # Bumped on every change of ``entries``: a scrape with an unchanged generation can reuse the last
        # conversion and rendering.
        self.generation = 0
        self._resources: dict[bytes, ResourceView] = {}

    def _resource(self, resource: Resource) -> ResourceView:
        raw = resource.SerializeToString()
        view = self._resources.get(raw)
        if view is None:
            if len(self._resources) >= 4096:
                self._resources.clear()
            view = self._resources[raw] = resource_view(resource.attributes)
        return view

    def accumulate(self, rm: ResourceMetrics, now_ns: int) -> int:
        """Store the points of one ResourceMetrics; returns how many were stored."""
        resource = self._resource(rm.resource)
        n = 0
        for sm in rm.scope_metrics:
            scope = sm.scope
            scope_attrs = _attrs(scope.attributes)
            ctx = (scope.name, scope.version, sm.schema_url, scope_attrs)
            for metric in sm.metrics:
                n += self._add_metric(metric, ctx, resource, now_ns)
        return n

    def _point_attrs(self, kvs: Iterable[KeyValue], resource: ResourceView) -> Attrs:
        attrs = _attrs(kvs)
        if not self.resource_to_telemetry or not resource.attrs:
            return attrs
        # resourcetotelemetry: every resource attribute is put into the point's map (PutEmpty: an
        # existing key keeps its position and takes the resource value).
        merged: dict[str, str] = dict(attrs)
        order = [k for k, _ in attrs]
        for k, v in resource.attrs:
            if k not in merged:
                order.append(k)
            merged[k] = v
        return tuple((k, merged[k]) for k in dict.fromkeys(order))

    def _signature(
        self,
        metric: Metric,
        mtype: str,
        ctx: tuple[str, str, str, Attrs],
        attrs: Attrs,
        resource: ResourceView,
    ) -> tuple[Any, ...]:
        return (
            metric.name,
            mtype,
            ctx[0],
            ctx[1],
            ctx[2],
            _sorted_strs(ctx[3]),
            _sorted_strs(attrs),
            resource.job,
            resource.instance,
        )

    def _point_key(
        self,
        dp: Any,
        metric: Metric,
        mtype: str,
        ctx: tuple[str, str, str, Attrs],
        resource: ResourceView,
    ) -> tuple[tuple[Any, ...], Attrs] | None:
        """(signature, attributes) of one data point; None for a point flagged "no recorded value",
        whose series is dropped and which ends the metric's accumulation (upstream's early return 0)."""
        attrs = self._point_attrs(dp.attributes, resource)
        sig = self._signature(metric, mtype, ctx, attrs, resource)
        if dp.flags & FLAG_NO_RECORDED_VALUE:
            if self.entries.pop(sig, None) is not None:
                self.generation += 1
            return None
        return sig, attrs

    def _store(
        self,
        sig: tuple[Any, ...],
        metric: Metric,
        mtype: str,
        monotonic: bool,
        ctx: tuple[str, str, str, Attrs],
        attrs: Attrs,
        resource: ResourceView,
        point: Point,
        now_ns: int,
    ) -> None:
        old = self.entries.get(sig)
        untyped = False
        if mtype == GAUGE:
            for kv in metric.metadata:
                if kv.key == "prometheus.type":
                    untyped = kv.value.string_value == "unknown"
                    break
        entry = Accumulated(
            sig, metric.name, metric.description, metric.unit, mtype, monotonic, untyped, attrs, resource,
            ctx[0], ctx[1], ctx[2], ctx[3], point, now_ns,
        )  # fmt: skip
        if old is not None:
            entry.version = old.version + 1
            # Labels depend only on what the signature covers plus the resource's job/instance.
            if old.resource is resource and old.attrs == attrs:
                entry.cache = old.cache
                entry.cache.pop("value", None)
        self.entries[sig] = entry
        self.generation += 1

    def _add_metric(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        which = metric.WhichOneof("data")
        if which == "gauge":
            return self._gauge(metric, ctx, resource, now_ns)
        if which == "sum":
            return self._sum(metric, ctx, resource, now_ns)
        if which == "histogram":
            return self._histogram(metric, ctx, resource, now_ns)
        if which == "summary":
            return self._summary(metric, ctx, resource, now_ns)
        if which == "exponential_histogram":
            return self._exponential(metric, ctx, resource, now_ns)
        return 0

    @staticmethod
    def _number(dp: Any) -> Point:
        is_int = dp.WhichOneof("value") == "as_int"
        return Point(
            start_ns=dp.start_time_unix_nano,
            time_ns=dp.time_unix_nano,
            flags=dp.flags,
            value=float(dp.as_int) if is_int else dp.as_double,
            int_value=dp.as_int if is_int else 0,
            is_int=is_int,
            exemplars=_exemplars(dp.exemplars),
        )

    def _gauge(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        n = 0
        for dp in metric.gauge.data_points:
            key = self._point_key(dp, metric, GAUGE, ctx, resource)
            if key is None:
                return 0
            sig, attrs = key
            old = self.entries.get(sig)
            if old is not None and dp.time_unix_nano < old.point.time_ns:
                continue
            self._store(sig, metric, GAUGE, False, ctx, attrs, resource, self._number(dp), now_ns)
            n += 1
        return n

    def _sum(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        data = metric.sum
        temporality = data.aggregation_temporality
        if temporality == TEMPORALITY_UNSPECIFIED:
            return 0
        if temporality == TEMPORALITY_DELTA and not data.is_monotonic:
            return 0
        n = 0
        for dp in data.data_points:
            key = self._point_key(dp, metric, SUM, ctx, resource)
            if key is None:
                return 0
            sig, attrs = key
            point = self._number(dp)
            old = self.entries.get(sig)
            if old is not None:
                prev = old.point
                if dp.time_unix_nano < prev.time_ns:
                    continue
                if temporality == TEMPORALITY_DELTA and dp.start_time_unix_nano == prev.time_ns:
                    point.start_ns = prev.start_ns
                    if point.is_int:
                        point.int_value = point.int_value + (prev.int_value if prev.is_int else 0)
                        point.value = float(point.int_value)
                    else:
                        point.value = point.value + (prev.value if not prev.is_int else 0.0)
            self._store(sig, metric, SUM, data.is_monotonic, ctx, attrs, resource, point, now_ns)
            n += 1
        return n

    def _histogram(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        data = metric.histogram
        temporality = data.aggregation_temporality
        n = 0
        for dp in data.data_points:
            key = self._point_key(dp, metric, HISTOGRAM, ctx, resource)
            if key is None:
                return 0
            sig, attrs = key
            point = Point(
                start_ns=dp.start_time_unix_nano,
                time_ns=dp.time_unix_nano,
                flags=dp.flags,
                count=dp.count,
                sum=dp.sum,
                has_sum=dp.HasField("sum"),
                bucket_counts=tuple(dp.bucket_counts),
                bounds=tuple(dp.explicit_bounds),
                exemplars=_exemplars(dp.exemplars),
            )
            old = self.entries.get(sig)
            if old is None:
                self._store(sig, metric, HISTOGRAM, False, ctx, attrs, resource, point, now_ns)
                n += 1
                continue
            prev = old.point
            if temporality == TEMPORALITY_DELTA:
                if point.start_ns != prev.time_ns:
                    # Misaligned: a restart when it starts later, a single-writer violation otherwise.
                    if not point.start_ns > prev.time_ns:
                        continue
                else:
                    point = _merge_histograms(prev, point)
            elif temporality == TEMPORALITY_CUMULATIVE:
                if point.time_ns < prev.time_ns:
                    continue
            else:
                continue
            self._store(sig, metric, HISTOGRAM, False, ctx, attrs, resource, point, now_ns)
            n += 1
        return n

    def _summary(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        n = 0
        for dp in metric.summary.data_points:
            key = self._point_key(dp, metric, SUMMARY, ctx, resource)
            if key is None:
                return 0
            sig, attrs = key
            old = self.entries.get(sig)
            if old is not None and dp.time_unix_nano < old.point.time_ns:
                continue
            point = Point(
                start_ns=dp.start_time_unix_nano,
                time_ns=dp.time_unix_nano,
                flags=dp.flags,
                count=dp.count,
                sum=dp.sum,
                quantiles=tuple((q.quantile, q.value) for q in dp.quantile_values),
            )
            self._store(sig, metric, SUMMARY, False, ctx, attrs, resource, point, now_ns)
            n += 1
        return n

    def _exponential(
        self, metric: Metric, ctx: tuple[str, str, str, Attrs], resource: ResourceView, now_ns: int
    ) -> int:
        data = metric.exponential_histogram
        temporality = data.aggregation_temporality
        n = 0
        for dp in data.data_points:
            key = self._point_key(dp, metric, EXPONENTIAL_HISTOGRAM, ctx, resource)
            if key is None:
                return 0
            sig, attrs = key
            point = Point(
                start_ns=dp.start_time_unix_nano,
                time_ns=dp.time_unix_nano,
                flags=dp.flags,
                count=dp.count,
                sum=dp.sum,
                has_sum=dp.HasField("sum"),
                scale=dp.scale,
                zero_count=dp.zero_count,
                zero_threshold=dp.zero_threshold,
                positive=(dp.positive.offset, tuple(dp.positive.bucket_counts)),
                negative=(dp.negative.offset, tuple(dp.negative.bucket_counts)),
                exemplars=_exemplars(dp.exemplars),
            )
            old = self.entries.get(sig)
            if old is not None:
                prev = old.point
                if temporality == TEMPORALITY_DELTA:
                    if point.start_ns != prev.time_ns:
                        if not point.start_ns > prev.time_ns:
                            continue
                    else:
                        point = _merge_exponential(prev, point)
                elif temporality == TEMPORALITY_CUMULATIVE:
                    if point.time_ns < prev.time_ns:
                        continue
                else:
                    continue
            self._store(sig, metric, EXPONENTIAL_HISTOGRAM, False, ctx, attrs, resource, point, now_ns)
            n += 1
        return n

    def collect(self, now_ns: int) -> list[Accumulated]:
        """Live entries in storage order; entries not updated within the expiration are deleted."""
        cutoff = now_ns - self.expiration_ns
        expired = [sig for sig, e in self.entries.items() if cutoff > e.updated_ns]
        for sig in expired:
            del self.entries[sig]
        if expired:
            self.generation += 1
        return list(self.entries.values())


def _merge_histograms(prev: Point, current: Point) -> Point:
    """accumulateHistogramValues: the newer point's attributes/timestamp, counts added when bounds match."""
    older, newer = (current, prev) if current.time_ns < prev.time_ns else (prev, current)
    if older.bounds == newer.bounds:
        buckets = tuple(
            newer.bucket_counts[i] + (older.bucket_counts[i] if i < len(older.bucket_counts) else 0)
            for i in range(len(newer.bucket_counts))
        )
        count = newer.count + older.count
        total = newer.sum + older.sum
    else:
        buckets = newer.bucket_counts
        count = newer.count
        total = newer.sum
    return Point(
        start_ns=prev.start_ns,
        time_ns=newer.time_ns,
        count=count,
        sum=total,
        has_sum=True,
        bucket_counts=buckets,
        bounds=newer.bounds,
    )


def _downscale(offset: int, counts: tuple[int, ...], from_scale: int, to_scale: int) -> tuple[int, list[int]]:
    if not counts or from_scale <= to_scale:
        return offset, list(counts)
    shift = from_scale - to_scale
    new_offset = offset >> shift
    new_last = (offset + len(counts) - 1) >> shift
    out = [0] * (new_last - new_offset + 1)
    for i, c in enumerate(counts):
        out[((offset + i) >> shift) - new_offset] += c
    return new_offset, out


def _merge_buckets(off_a: int, a: list[int], off_b: int, b: list[int]) -> tuple[int, tuple[int, ...]]:
    if not a and not b:
        return 0, ()
    lo = off_a if a else off_b
    if b and off_b < lo:
        lo = off_b
    hi = off_a + len(a) - 1 if a else off_b + len(b) - 1
    if b and off_b + len(b) - 1 > hi:
        hi = off_b + len(b) - 1
    out = [0] * (hi - lo + 1)
    for i, c in enumerate(a):
        out[off_a + i - lo] += c
    for i, c in enumerate(b):
        out[off_b + i - lo] += c
    return lo, tuple(out)


def _merge_exponential(prev: Point, current: Point) -> Point:
    older, newer = (current, prev) if current.time_ns < prev.time_ns else (prev, current)
    scale = min(current.scale, prev.scale)
    sides = []
    for p_side, c_side in ((prev.positive, current.positive), (prev.negative, current.negative)):
        po, pc = _downscale(p_side[0], p_side[1], prev.scale, scale)
        co, cc = _downscale(c_side[0], c_side[1], current.scale, scale)
        sides.append(_merge_buckets(po, pc, co, cc))
    return Point(
        start_ns=older.start_ns,
        time_ns=newer.time_ns,
        count=prev.count + current.count,
        sum=prev.sum + current.sum,
        has_sum=prev.has_sum or current.has_sum,
        scale=scale,
        zero_count=prev.zero_count + current.zero_count,
        zero_threshold=max(prev.zero_threshold, current.zero_threshold),
        positive=sides[0],
        negative=sides[1],
    )
