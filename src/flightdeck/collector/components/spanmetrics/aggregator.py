"""The spanmetrics aggregation: spans in (``consume``), OTLP metrics out (``flush``), on a caller's clock.

Behaviour follows contrib v0.142 ``connector/spanmetricsconnector``:

* per ResourceSpans with a ``service.name`` resource attribute, a *resource bucket* (LRU of
  ``resource_metrics_cache_size``; evicted buckets are still emitted at the next flush) keyed by a hash of
  all resource attributes (or only ``resource_metrics_key_attributes``); its emitted Resource is the
  attribute map of the first resource that created it;
* per span a metric key of service name, span name, kind, status code (minus ``exclude_dimensions``)
  and the configured dimensions (span attribute, else resource attribute, else default, else omitted);
  keys use each value's string form, the series' attributes keep the OTLP types of the first span;
* calls (int Sum), duration (explicit or exponential Histogram in ms/s) and events (int Sum) metrics.

Hot path design: the resource-level part of the key is computed once per distinct Resource (cached by
its serialized bytes); whether any span in a scope can override a dimension is decided by one substring
search of the serialized scope (an attribute key is stored verbatim in the wire form, so absence is
proof); per span only name, kind, status code and the two timestamps are read, one tuple is built and
looked up in a dict. Durations, bucket indexes, bucket counts and sums are computed once per request with
numpy; sums are accumulated strictly in arrival order (``bincount`` with the running sum first), so they
equal Go's sequential float additions bit for bit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from flightdeck.collector.components.spanmetrics import encode as E
from flightdeck.collector.components.spanmetrics.config import (
    SERVICE_NAME_KEY,
    SPAN_KIND_KEY,
    SPAN_NAME_KEY,
    STATUS_CODE_KEY,
    Config,
    Dimension,
)
from flightdeck.collector.components.spanmetrics.expohisto import ExpoHistogram
from flightdeck.collector.pbwire import (
    WIRE_LEN,
    double_field,
    fixed64_field,
    len_field,
    sfixed64_field,
    string_field,
    tag,
    varint,
    varint_field,
    zigzag,
)
from flightdeck.collector.pcommon import as_string

SCOPE_NAME = "spanmetricsconnector"
SCOPE_NAME_ATTR = "span.instrumentation.scope.name"
SCOPE_VERSION_ATTR = "span.instrumentation.scope.version"
OVERFLOW_ATTR = "otel.metric.overflow"
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2

# traceutil.SpanKindStr / StatusCodeStr; unknown values print as "".
SPAN_KINDS = {
    0: "SPAN_KIND_UNSPECIFIED",
    1: "SPAN_KIND_INTERNAL",
    2: "SPAN_KIND_SERVER",
    3: "SPAN_KIND_CLIENT",
    4: "SPAN_KIND_PRODUCER",
    5: "SPAN_KIND_CONSUMER",
}
STATUS_CODES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}
_ZERO_IDS = (b"", bytes(8), bytes(16))

# A resolved dimension value: the OTLP value (serialized AnyValue) and its AsString form.
Resolved = tuple[bytes, str] | None
Key = tuple[Any, ...]


def _str_value(text: str) -> bytes:
    return AnyValue(string_value=text).SerializeToString()


def _kv_bytes(key: str, value_pb: bytes) -> bytes:
    return string_field(E.KV_KEY, key) + len_field(E.KV_VALUE, value_pb)


class _Series:
    """One data point's identity: encoded attributes, creation time, metric key, exemplars."""

    __slots__ = ("attrs", "encoded", "exemplars", "key", "start_ns")

    def __init__(self, key: Key, attrs: tuple[bytes, ...], start_ns: int) -> None:
        self.key = key
        self.attrs = attrs  # serialized KeyValue messages
        self.encoded: dict[int, bytes] = {}  # attributes with the data point's field tag, per field number
        self.start_ns = start_ns
        self.exemplars: list[tuple[bytes, bytes, float]] = []


class _Bucket:
    """A resource bucket: its emitted Resource attributes and its series per metric."""

    __slots__ = ("calls", "events", "hists", "last_seen", "overflow", "resource_attrs")

    def __init__(self, resource_attrs: bytes, shared: bool) -> None:
        self.resource_attrs = resource_attrs
        self.calls: dict[Key, int] = {}
        self.hists: dict[Key, int] = self.calls if shared else {}
        self.events: dict[Key, int] = {}
        self.overflow: dict[str, int] = {}  # metric role → overflow series id
        self.last_seen = 0


class _ResourceInfo:
    """What a distinct Resource contributes: bucket key, service name and resolved dimensions."""

    __slots__ = ("bucket_key", "dims", "resource_attrs", "rkey_calls", "rkey_hist", "service")

    def __init__(
        self,
        bucket_key: Key,
        resource_attrs: bytes,
        service: str,
        dims: list[Resolved],
        rkey_calls: Key,
        rkey_hist: Key,
    ) -> None:
        self.bucket_key = bucket_key
        self.resource_attrs = resource_attrs
        self.service = service
        self.dims = dims  # resolved per entry of the aggregator's all_dims
        self.rkey_calls = rkey_calls
        self.rkey_hist = rkey_hist


class SpanMetricsAggregator:
    """Pure aggregation state; ``now_ns`` always comes from the caller."""

    def __init__(self, cfg: Config, log: Callable[[str, dict[str, object]], None] | None = None) -> None:
        if cfg.resource_metrics_cache_size <= 0:
            raise ValueError("must provide a positive size")
        self.cfg = cfg
        self._log = log
        self._delta = cfg.is_delta
        self._divisor = float(cfg.unit_divisor)
        excluded = set(cfg.exclude_dimensions)
        self._incl_service = SERVICE_NAME_KEY not in excluded
        self._incl_name = SPAN_NAME_KEY not in excluded
        self._incl_kind = SPAN_KIND_KEY not in excluded
        self._incl_status = STATUS_CODE_KEY not in excluded
        self._all_builtins = self._incl_service and self._incl_name and self._incl_kind and self._incl_status
        # Dimension entries in key order: dimensions, then calls_dimensions, then histogram.dimensions.
        self._dims: list[Dimension] = list(cfg.dimensions)
        n_d = len(self._dims)
        self._calls_slots = list(range(n_d)) + list(range(n_d, n_d + len(cfg.calls_dimensions)))
        self._dims += cfg.calls_dimensions
        start_h = len(self._dims)
        self._hist_slots = list(range(n_d)) + list(range(start_h, start_h + len(cfg.histogram.dimensions)))
        self._dims += cfg.histogram.dimensions
        self._dim_defaults: list[Resolved] = [
            (_str_value(d.default), d.default) if d.default is not None else None for d in self._dims
        ]
        self._dim_names = sorted({d.name for d in self._dims})
        self._dim_names_bytes = [(n, n.encode("utf-8")) for n in self._dim_names]
        self._shared = not cfg.calls_dimensions and not cfg.histogram.dimensions
        self._event_dims: list[Dimension] = list(cfg.dimensions) + list(cfg.events.dimensions)
        self._event_defaults: list[Resolved] = [
            (_str_value(d.default), d.default) if d.default is not None else None for d in self._event_dims
        ]
        self._event_names = {d.name for d in self._event_dims}
        self._event_slots = list(range(len(self._event_dims)))
        self._scopes_included = set(cfg.include_instrumentation_scope)
        self._histogram = not cfg.histogram.disable
        self._exponential = cfg.histogram.exponential is not None
        self._bounds = np.array(cfg.explicit_bounds, dtype=np.float64)
        self._nb = len(self._bounds) + 1
        self._bounds_packed = np.asarray(self._bounds, dtype="<f8").tobytes()
        self._expo_max_size = cfg.exponential_max_size
        self._exemplars = cfg.exemplars.enabled
        self._max_exemplars = cfg.exemplars.max_per_data_point
        self._events = cfg.events.enabled
        self._limit = cfg.aggregation_cardinality_limit
        ns = cfg.namespace
        self._name_calls = f"{ns}.calls" if ns else "calls"
        self._name_duration = f"{ns}.duration" if ns else "duration"
        self._name_events = f"{ns}.events" if ns else "events"
        self._resource_cache: dict[bytes, _ResourceInfo | None] = {}
        self._buckets: OrderedDict[Key, _Bucket] = OrderedDict()
        self._evicted: dict[Key, _Bucket] = {}
        self._delta_ts: OrderedDict[Key, int] = OrderedDict()
        self._series: list[_Series | None] = []
        self._free: list[int] = []
        self._calls_count = np.zeros(64, dtype=np.int64)
        self._h_counts = np.zeros((64, self._nb), dtype=np.int64)
        self._h_sum = np.zeros(64, dtype=np.float64)
        self._expo: dict[int, ExpoHistogram] = {}

    # ------------------------------------------------------------------ series storage
    def _alloc(self, series: _Series) -> int:
        if self._free:
            sid = self._free.pop()
            self._series[sid] = series
            return sid
        sid = len(self._series)
        self._series.append(series)
        if sid >= len(self._calls_count):
            cap = len(self._calls_count) * 2
            self._calls_count = np.resize(self._calls_count, cap)
            self._calls_count[sid:] = 0
            grown = np.zeros((cap, self._nb), dtype=np.int64)
            grown[: len(self._h_counts)] = self._h_counts
            self._h_counts = grown
            self._h_sum = np.resize(self._h_sum, cap)
            self._h_sum[sid:] = 0.0
        return sid

    def _release(self, sid: int) -> None:
        self._series[sid] = None
        self._calls_count[sid] = 0
        self._h_counts[sid] = 0
        self._h_sum[sid] = 0.0
        self._expo.pop(sid, None)
        self._free.append(sid)

    def _release_bucket(self, bucket: _Bucket) -> None:
        ids = set(bucket.calls.values()) | set(bucket.hists.values()) | set(bucket.events.values())
        ids.update(bucket.overflow.values())
        for sid in ids:
            self._release(sid)

    # ------------------------------------------------------------------ resources
    def _resource_info(self, resource: Resource) -> _ResourceInfo | None:
        raw = resource.SerializeToString()
        cache = self._resource_cache
        if raw in cache:
            return cache[raw]
        info = self._build_resource_info(resource)
        if len(cache) >= 4096:
            cache.clear()  # a bound on memory; the cache only saves recomputation
        cache[raw] = info
        return info

    def _build_resource_info(self, resource: Resource) -> _ResourceInfo | None:
        attrs = resource.attributes
        first: dict[str, AnyValue] = {}
        for kv in attrs:
            if kv.key not in first:
                first[kv.key] = kv.value
        service_value = first.get(SERVICE_NAME_KEY)
        if service_value is None:
            return None
        service = service_value.string_value if service_value.WhichOneof("value") == "string_value" else ""
        key_attrs = self.cfg.resource_metrics_key_attributes
        if key_attrs:
            wanted = set(key_attrs)
            hashed = [kv for kv in attrs if kv.key in wanted]
        else:
            hashed = list(attrs)
        bucket_key = tuple(sorted((kv.key, kv.value.SerializeToString(deterministic=True)) for kv in hashed))
        resource_attrs = b"".join(len_field(E.RES_ATTRIBUTES, kv.SerializeToString()) for kv in attrs)
        dims: list[Resolved] = []
        for i, dim in enumerate(self._dims):
            value = first.get(dim.name)
            if value is not None:
                dims.append((value.SerializeToString(), as_string(value)))
            else:
                dims.append(self._dim_defaults[i])
        svc = service if self._incl_service else None
        rkey_calls = (svc, *_key_values(dims, self._calls_slots))
        rkey_hist = rkey_calls if self._shared else (svc, *_key_values(dims, self._hist_slots))
        return _ResourceInfo(bucket_key, resource_attrs, service, dims, rkey_calls, rkey_hist)

    def _bucket(self, info: _ResourceInfo, now_ns: int) -> _Bucket:
        key = info.bucket_key
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is not None:
            buckets.move_to_end(key)
        else:
            bucket = self._evicted.pop(key, None)
            if bucket is None:
                bucket = _Bucket(info.resource_attrs, self._shared)
            buckets[key] = bucket
            if len(buckets) > self.cfg.resource_metrics_cache_size:
                old_key, old = buckets.popitem(last=False)
                self._evicted[old_key] = old
        if self.cfg.metrics_expiration > 0:
            bucket.last_seen = now_ns
        return bucket

    # ------------------------------------------------------------------ consume
    def consume(self, request: ExportTraceServiceRequest, now_ns: int) -> None:
        """Aggregate every span of ``request`` (never mutated)."""
        c_ids: list[int] = []
        h_ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        e_ids: list[int] = []
        for rs in request.resource_spans:
            info = self._resource_info(rs.resource)
            if info is None:
                continue
            bucket = self._bucket(info, now_ns)
            for ss in rs.scope_spans:
                spans = ss.spans
                if not spans:
                    continue
                overridable = self._overridable(ss)
                fast = (
                    not overridable
                    and self._shared
                    and self._all_builtins
                    and not self._exemplars
                    and not self._events
                    and not self._limit
                    and not self._scopes_included
                )
                if fast:
                    self._consume_fast(spans, info, bucket, now_ns, c_ids, starts, ends)
                else:
                    self._consume_general(
                        ss, overridable, info, bucket, now_ns, c_ids, h_ids, starts, ends, e_ids
                    )
        if not c_ids and not e_ids:
            return
        self._apply(c_ids, h_ids if not self._shared else c_ids, starts, ends, e_ids)

    def _overridable(self, ss: ScopeSpans) -> list[str]:
        """Dimension names that may occur as span attributes in this scope (substring proof of absence)."""
        if not self._dim_names_bytes:
            return []
        blob = ss.SerializeToString()
        return [name for name, raw in self._dim_names_bytes if raw in blob]

    def _consume_fast(
        self,
        spans: Sequence[Span],
        info: _ResourceInfo,
        bucket: _Bucket,
        now_ns: int,
        c_ids: list[int],
        starts: list[int],
        ends: list[int],
    ) -> None:
        rkey = info.rkey_calls
        series = bucket.calls
        get = series.get
        kinds = SPAN_KINDS.get
        codes = STATUS_CODES.get
        add_id = c_ids.append
        add_start = starts.append
        add_end = ends.append
        for span in spans:
            name = span.name
            kind = kinds(span.kind, "")
            code = codes(span.status.code, "")
            key = (rkey, name, kind, code)
            sid = get(key)
            if sid is None:
                sid = self._create(
                    series,
                    key,
                    info.service,
                    name,
                    kind,
                    code,
                    self._dims,
                    info.dims,
                    self._calls_slots,
                    (),
                    now_ns,
                )
            add_id(sid)
            add_start(span.start_time_unix_nano)
            add_end(span.end_time_unix_nano)

    def _consume_general(
        self,
        ss: ScopeSpans,
        overridable: list[str],
        info: _ResourceInfo,
        bucket: _Bucket,
        now_ns: int,
        c_ids: list[int],
        h_ids: list[int],
        starts: list[int],
        ends: list[int],
        e_ids: list[int],
    ) -> None:
        scope_attrs: tuple[tuple[str, bytes], ...] = ()
        scope = ss.scope
        if scope.name and scope.name in self._scopes_included:
            scope_attrs = ((SCOPE_NAME_ATTR, _str_value(scope.name)),)
            if scope.version:
                scope_attrs += ((SCOPE_VERSION_ATTR, _str_value(scope.version)),)
        wanted = set(overridable)
        shared = self._shared
        histogram = self._histogram
        svc = info.service if self._incl_service else None
        for span in ss.spans:
            name = span.name
            kind = SPAN_KINDS.get(span.kind, "")
            code = STATUS_CODES.get(span.status.code, "")
            k_name = name if self._incl_name else None
            k_kind = kind if self._incl_kind else None
            k_code = code if self._incl_status else None
            dims = info.dims
            rkey_calls = info.rkey_calls
            rkey_hist = info.rkey_hist
            found: dict[str, AnyValue] | None = None
            if wanted and len(span.attributes):
                found = {}
                for kv in span.attributes:
                    k = kv.key
                    if k in wanted and k not in found:
                        found[k] = kv.value
                if found:
                    dims = [
                        (found[d.name].SerializeToString(), as_string(found[d.name]))
                        if d.name in found
                        else dims[i]
                        for i, d in enumerate(self._dims)
                    ]
                    rkey_calls = (svc, *_key_values(dims, self._calls_slots))
                    rkey_hist = rkey_calls if shared else (svc, *_key_values(dims, self._hist_slots))
            start = span.start_time_unix_nano
            end = span.end_time_unix_nano
            duration = 0.0
            if self._exemplars:
                duration = float(end - start) / self._divisor if end > start else 0.0
                trace_id = span.trace_id
                has_trace = trace_id not in _ZERO_IDS
            ckey = (rkey_calls, k_name, k_kind, k_code)
            cid = self._lookup(
                bucket, "calls", bucket.calls, ckey, info.service, name, kind, code,
                self._dims, dims, self._calls_slots, scope_attrs, now_ns,
            )  # fmt: skip
            if self._exemplars and has_trace:
                # With one shared series the calls and duration points carry the same exemplar list,
                # exactly what upstream's two separately filled lists hold.
                self._add_exemplar(cid, trace_id, span.span_id, duration)
            if histogram and not shared:
                hkey = (rkey_hist, k_name, k_kind, k_code)
                hid = self._lookup(
                    bucket, "hists", bucket.hists, hkey, info.service, name, kind, code,
                    self._dims, dims, self._hist_slots, scope_attrs, now_ns,
                )  # fmt: skip
                h_ids.append(hid)
                if self._exemplars and has_trace:
                    self._add_exemplar(hid, trace_id, span.span_id, duration)
            c_ids.append(cid)
            starts.append(start)
            ends.append(end)
            if self._events and len(span.events):
                self._consume_events(
                    span,
                    info,
                    bucket,
                    k_name,
                    k_kind,
                    k_code,
                    name,
                    kind,
                    code,
                    scope_attrs,
                    now_ns,
                    e_ids,
                    duration,
                )

    def _consume_events(
        self,
        span: Span,
        info: _ResourceInfo,
        bucket: _Bucket,
        k_name: str | None,
        k_kind: str | None,
        k_code: str | None,
        name: str,
        kind: str,
        code: str,
        scope_attrs: tuple[tuple[str, bytes], ...],
        now_ns: int,
        e_ids: list[int],
        duration: float,
    ) -> None:
        names = self._event_names
        span_found: dict[str, AnyValue] = {}
        for kv in span.attributes:
            if kv.key in names and kv.key not in span_found:
                span_found[kv.key] = kv.value
        svc = info.service if self._incl_service else None
        trace_id = span.trace_id
        has_trace = self._exemplars and trace_id not in _ZERO_IDS
        for event in span.events:
            # Upstream copies resource attributes and then event attributes into one map with CopyTo,
            # which replaces the map: only span attributes, event attributes and defaults are consulted.
            event_found: dict[str, AnyValue] = {}
            for kv in event.attributes:
                if kv.key in names and kv.key not in event_found:
                    event_found[kv.key] = kv.value
            dims: list[Resolved] = []
            for i, dim in enumerate(self._event_dims):
                value = span_found.get(dim.name)
                if value is None:
                    value = event_found.get(dim.name)
                if value is not None:
                    dims.append((value.SerializeToString(), as_string(value)))
                else:
                    dims.append(self._event_defaults[i])
            ekey = (svc, *[d[1] if d is not None else None for d in dims], k_name, k_kind, k_code)
            eid = self._lookup(
                bucket, "events", bucket.events, ekey, info.service, name, kind, code,
                self._event_dims, dims, self._event_slots, scope_attrs, now_ns,
            )  # fmt: skip
            if has_trace:
                self._add_exemplar(eid, trace_id, span.span_id, duration)
            e_ids.append(eid)

    def _lookup(
        self,
        bucket: _Bucket,
        role: str,
        table: dict[Key, int],
        key: Key,
        service: str,
        name: str,
        kind: str,
        code: str,
        dim_defs: Sequence[Dimension],
        dims: Sequence[Resolved],
        slots: Iterable[int],
        scope_attrs: tuple[tuple[str, bytes], ...],
        now_ns: int,
    ) -> int:
        sid = table.get(key)
        if sid is not None:
            return sid
        if self._limit and len(table) >= self._limit:
            over = bucket.overflow.get(role)
            if over is None:
                attrs = (_kv_bytes(OVERFLOW_ATTR, AnyValue(bool_value=True).SerializeToString()),)
                over = self._alloc(_Series(("overflow", role), attrs, now_ns))
                bucket.overflow[role] = over
            return over
        return self._create(table, key, service, name, kind, code, dim_defs, dims, slots, scope_attrs, now_ns)

    def _create(
        self,
        table: dict[Key, int],
        key: Key,
        service: str,
        name: str,
        kind: str,
        code: str,
        dim_defs: Sequence[Dimension],
        dims: Sequence[Resolved],
        slots: Iterable[int],
        scope_attrs: tuple[tuple[str, bytes], ...],
        now_ns: int,
    ) -> int:
        """A new series; its attributes come from this (first) span, in upstream's insertion order."""
        attrs: dict[str, bytes] = {}
        if self._incl_service:
            attrs[SERVICE_NAME_KEY] = _str_value(service)
        if self._incl_name:
            attrs[SPAN_NAME_KEY] = _str_value(name)
        if self._incl_kind:
            attrs[SPAN_KIND_KEY] = _str_value(kind)
        if self._incl_status:
            attrs[STATUS_CODE_KEY] = _str_value(code)
        for i in slots:
            resolved = dims[i]
            if resolved is not None:
                attrs[dim_defs[i].name] = resolved[0]
        for akey, avalue in scope_attrs:
            attrs[akey] = avalue
        encoded = tuple(_kv_bytes(k, v) for k, v in attrs.items())
        sid = self._alloc(_Series(key, encoded, now_ns))
        table[key] = sid
        return sid

    def _add_exemplar(self, sid: int, trace_id: bytes, span_id: bytes, value: float) -> None:
        series = self._series[sid]
        assert series is not None
        limit = self._max_exemplars
        if limit is not None and len(series.exemplars) >= limit:
            return
        series.exemplars.append((trace_id, span_id, value))

    def _apply(
        self, c_ids: list[int], h_ids: list[int], starts: list[int], ends: list[int], e_ids: list[int]
    ) -> None:
        if c_ids:
            counts = np.bincount(np.array(c_ids, dtype=np.intp))
            self._calls_count[: len(counts)] += counts
        if e_ids:
            counts = np.bincount(np.array(e_ids, dtype=np.intp))
            self._calls_count[: len(counts)] += counts
        if not self._histogram or not h_ids:
            return
        st = np.array(starts, dtype=np.uint64)
        en = np.array(ends, dtype=np.uint64)
        durations = np.where(en > st, en - st, np.uint64(0)).astype(np.float64) / self._divisor
        hids = np.array(h_ids, dtype=np.intp)
        if self._exponential:
            for sid, value in zip(hids.tolist(), durations.tolist(), strict=True):
                hist = self._expo.get(sid)
                if hist is None:
                    hist = self._expo[sid] = ExpoHistogram(self._expo_max_size)
                hist.update(value)
            return
        nb = self._nb
        slots = np.searchsorted(self._bounds, durations, side="left")
        flat = np.bincount(hids * nb + slots)
        self._h_counts.reshape(-1)[: len(flat)] += flat
        per_series = np.bincount(hids)
        touched = np.flatnonzero(per_series)
        # Running sum first, then this request's durations in arrival order: bincount adds sequentially.
        summed = np.bincount(
            np.concatenate((touched, hids)),
            weights=np.concatenate((self._h_sum[touched], durations)),
            minlength=len(per_series),
        )
        self._h_sum[touched] = summed[touched]

    # ------------------------------------------------------------------ flush
    def flush(self, now_ns: int) -> ExportMetricsServiceRequest:
        """Build the metrics of every live bucket at ``now_ns``, then reset per the temporality."""
        parts: list[bytes] = []
        for bucket in [*self._buckets.values(), *self._evicted.values()]:
            parts.append(len_field(E.REQ_RESOURCE_METRICS, self._resource_metrics(bucket, now_ns)))
        request = ExportMetricsServiceRequest.FromString(b"".join(parts))
        self._reset(now_ns)
        return request

    def _start(self, series: _Series, used: set[Key]) -> int:
        if not self._delta:
            return series.start_ns
        used.add(series.key)
        last = self._delta_ts.get(series.key)
        if last is not None:
            self._delta_ts.move_to_end(series.key)
            return last
        return series.start_ns

    def _series_ids(self, bucket: _Bucket, role: str) -> list[int]:
        table = {"calls": bucket.calls, "hists": bucket.hists, "events": bucket.events}[role]
        ids = list(table.values())
        over = bucket.overflow.get(role)
        if over is not None:
            ids.append(over)
        return ids

    def _resource_metrics(self, bucket: _Bucket, now_ns: int) -> bytes:
        used: set[Key] = set()
        temporality = TEMPORALITY_DELTA if self._delta else TEMPORALITY_CUMULATIVE
        metrics = [
            self._sum_metric(self._name_calls, self._series_ids(bucket, "calls"), now_ns, used, temporality)
        ]
        if self._histogram:
            hist_role = "calls" if self._shared else "hists"
            ids = self._series_ids(bucket, hist_role)
            if self._exponential:
                metrics.append(self._expo_metric(ids, now_ns, used, temporality))
            else:
                metrics.append(self._hist_metric(ids, now_ns, used, temporality))
        if self._events:
            metrics.append(
                self._sum_metric(
                    self._name_events, self._series_ids(bucket, "events"), now_ns, used, temporality
                )
            )
        scope = len_field(E.SM_SCOPE, string_field(E.SCOPE_NAME, SCOPE_NAME))
        scope_metrics = scope + b"".join(len_field(E.SM_METRICS, m) for m in metrics)
        resource = len_field(E.RM_RESOURCE, bucket.resource_attrs)
        for key in used:
            # The next delta point of this key starts where this one ends.
            self._delta_ts[key] = now_ns
            self._delta_ts.move_to_end(key)
            if len(self._delta_ts) > self.cfg.delta_timestamp_cache_size:
                old, _ = self._delta_ts.popitem(last=False)
                if self._log is not None:
                    self._log("Evicting cached delta timestamp", {"key": "\x00".join(str(p) for p in old)})
        return resource + len_field(E.RM_SCOPE_METRICS, scope_metrics)

    def _attrs(self, series: _Series, field_no: int) -> bytes:
        encoded = series.encoded.get(field_no)
        if encoded is None:
            t = tag(field_no, WIRE_LEN)
            encoded = series.encoded[field_no] = b"".join(t + varint(len(kv)) + kv for kv in series.attrs)
        return encoded

    def _exemplars_bytes(self, series: _Series, field_tag: bytes, now_ns: int) -> bytes:
        if not series.exemplars:
            return b""
        out = []
        for trace_id, span_id, value in series.exemplars:
            body = fixed64_field(E.EX_TIME, now_ns) + double_field(E.EX_AS_DOUBLE, value)
            if span_id not in _ZERO_IDS:
                body += len_field(E.EX_SPAN_ID, span_id)
            body += len_field(E.EX_TRACE_ID, trace_id)
            out.append(len_field(field_tag, body))
        return b"".join(out)

    def _sum_metric(self, name: str, ids: list[int], now_ns: int, used: set[Key], temporality: int) -> bytes:
        dps = []
        counts = self._calls_count
        for sid in ids:
            series = self._series[sid]
            assert series is not None
            body = (
                self._attrs(series, E.NDP_ATTRIBUTES)
                + fixed64_field(E.NDP_START, self._start(series, used))
                + fixed64_field(E.NDP_TIME, now_ns)
                + sfixed64_field(E.NDP_AS_INT, int(counts[sid]))
                + self._exemplars_bytes(series, E.NDP_EXEMPLARS, now_ns)
            )
            dps.append(len_field(E.SUM_DPS, body))
        sum_body = (
            b"".join(dps) + varint_field(E.SUM_TEMPORALITY, temporality) + varint_field(E.SUM_MONOTONIC, 1)
        )
        return string_field(E.M_NAME, name) + len_field(E.M_SUM, sum_body)

    def _hist_metric(self, ids: list[int], now_ns: int, used: set[Key], temporality: int) -> bytes:
        dps = []
        bounds = len_field(E.HDP_BOUNDS, self._bounds_packed) if len(self._bounds) else b""
        for sid in ids:
            series = self._series[sid]
            assert series is not None
            row = self._h_counts[sid]
            count = int(row.sum())
            body = (
                self._attrs(series, E.HDP_ATTRIBUTES)
                + fixed64_field(E.HDP_START, self._start(series, used))
                + fixed64_field(E.HDP_TIME, now_ns)
                + (fixed64_field(E.HDP_COUNT, count) if count else b"")
                + double_field(E.HDP_SUM, float(self._h_sum[sid]))
                + len_field(E.HDP_BUCKETS, row.astype("<u8").tobytes())
                + bounds
                + self._exemplars_bytes(series, E.HDP_EXEMPLARS, now_ns)
            )
            dps.append(len_field(E.HIST_DPS, body))
        hist_body = b"".join(dps) + varint_field(E.HIST_TEMPORALITY, temporality)
        return (
            string_field(E.M_NAME, self._name_duration)
            + string_field(E.M_UNIT, self.cfg.histogram.unit)
            + len_field(E.M_HISTOGRAM, hist_body)
        )

    def _expo_metric(self, ids: list[int], now_ns: int, used: set[Key], temporality: int) -> bytes:
        dps = []
        for sid in ids:
            series = self._series[sid]
            assert series is not None
            hist = self._expo.get(sid) or ExpoHistogram(self._expo_max_size)
            body = self._attrs(series, E.EDP_ATTRIBUTES)
            body += fixed64_field(E.EDP_START, self._start(series, used)) + fixed64_field(E.EDP_TIME, now_ns)
            if hist.count:
                body += fixed64_field(E.EDP_COUNT, hist.count)
            body += double_field(E.EDP_SUM, hist.sum)
            scale = hist.reported_scale
            if scale:
                body += varint_field(E.EDP_SCALE, zigzag(scale))
            if hist.zero_count:
                body += fixed64_field(E.EDP_ZERO_COUNT, hist.zero_count)
            for field_tag, side in ((E.EDP_POSITIVE, hist.positive), (E.EDP_NEGATIVE, hist.negative)):
                offset, counts = side.offset_and_counts()
                side_body = varint_field(E.BKT_OFFSET, zigzag(offset)) if offset else b""
                if counts:
                    side_body += len_field(E.BKT_COUNTS, b"".join(varint(c) for c in counts))
                body += len_field(field_tag, side_body)
            body += self._exemplars_bytes(series, E.EDP_EXEMPLARS, now_ns)
            if hist.count:
                body += double_field(E.EDP_MIN, hist.min) + double_field(E.EDP_MAX, hist.max)
            dps.append(len_field(E.EXPO_DPS, body))
        expo_body = b"".join(dps) + varint_field(E.EXPO_TEMPORALITY, temporality)
        return (
            string_field(E.M_NAME, self._name_duration)
            + string_field(E.M_UNIT, self.cfg.histogram.unit)
            + len_field(E.M_EXPO, expo_body)
        )

    def _reset(self, now_ns: int) -> None:
        if self._delta:
            self._buckets.clear()
            self._evicted.clear()
            self._series.clear()
            self._free.clear()
            self._calls_count[:] = 0
            self._h_counts[:] = 0
            self._h_sum[:] = 0.0
            self._expo.clear()
            return
        for bucket in self._evicted.values():
            self._release_bucket(bucket)
        self._evicted.clear()
        if self._exemplars:
            for series in self._series:
                if series is not None:
                    series.exemplars.clear()
        expiration = self.cfg.metrics_expiration
        if expiration > 0:
            stale = [k for k, b in self._buckets.items() if now_ns - b.last_seen >= expiration]
            for key in stale:
                self._release_bucket(self._buckets.pop(key))

    # ------------------------------------------------------------------ introspection
    @property
    def bucket_count(self) -> int:
        return len(self._buckets) + len(self._evicted)

    @property
    def series_count(self) -> int:
        return sum(1 for s in self._series if s is not None)


def _key_values(dims: Sequence[Resolved], slots: Iterable[int]) -> list[str | None]:
    """The key part of the configured dimensions: each value's string form, None when omitted."""
    out: list[str | None] = []
    for i in slots:
        resolved = dims[i]
        out.append(None if resolved is None else resolved[1])
    return out


def kv_list(pairs: Iterable[tuple[str, AnyValue]]) -> list[KeyValue]:
    """KeyValue messages from pairs (test helper)."""
    return [KeyValue(key=k, value=v) for k, v in pairs]
