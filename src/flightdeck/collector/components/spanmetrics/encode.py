"""Pre-computed protobuf tags of the OTLP metric messages the spanmetrics flush assembles."""

from __future__ import annotations

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Exemplar,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from flightdeck.collector.pbwire import (
    WIRE_I64,
    WIRE_LEN,
    WIRE_VARINT,
    field_number,
    tag,
)


def _t(desc: object, name: str, wire: int) -> bytes:
    return tag(field_number(desc.DESCRIPTOR, name), wire)  # type: ignore[attr-defined]


REQ_RESOURCE_METRICS = _t(ExportMetricsServiceRequest, "resource_metrics", WIRE_LEN)
RM_RESOURCE = _t(ResourceMetrics, "resource", WIRE_LEN)
RM_SCOPE_METRICS = _t(ResourceMetrics, "scope_metrics", WIRE_LEN)
RES_ATTRIBUTES = _t(Resource, "attributes", WIRE_LEN)
SM_SCOPE = _t(ScopeMetrics, "scope", WIRE_LEN)
SM_METRICS = _t(ScopeMetrics, "metrics", WIRE_LEN)
SCOPE_NAME = _t(InstrumentationScope, "name", WIRE_LEN)
M_NAME = _t(Metric, "name", WIRE_LEN)
M_UNIT = _t(Metric, "unit", WIRE_LEN)
M_SUM = _t(Metric, "sum", WIRE_LEN)
M_HISTOGRAM = _t(Metric, "histogram", WIRE_LEN)
M_EXPO = _t(Metric, "exponential_histogram", WIRE_LEN)
SUM_DPS = _t(Sum, "data_points", WIRE_LEN)
SUM_TEMPORALITY = _t(Sum, "aggregation_temporality", WIRE_VARINT)
SUM_MONOTONIC = _t(Sum, "is_monotonic", WIRE_VARINT)
HIST_DPS = _t(Histogram, "data_points", WIRE_LEN)
HIST_TEMPORALITY = _t(Histogram, "aggregation_temporality", WIRE_VARINT)
EXPO_DPS = _t(ExponentialHistogram, "data_points", WIRE_LEN)
EXPO_TEMPORALITY = _t(ExponentialHistogram, "aggregation_temporality", WIRE_VARINT)

NDP_ATTRIBUTES = field_number(NumberDataPoint.DESCRIPTOR, "attributes")
NDP_START = _t(NumberDataPoint, "start_time_unix_nano", WIRE_I64)
NDP_TIME = _t(NumberDataPoint, "time_unix_nano", WIRE_I64)
NDP_AS_INT = _t(NumberDataPoint, "as_int", WIRE_I64)
NDP_EXEMPLARS = _t(NumberDataPoint, "exemplars", WIRE_LEN)

HDP_ATTRIBUTES = field_number(HistogramDataPoint.DESCRIPTOR, "attributes")
HDP_START = _t(HistogramDataPoint, "start_time_unix_nano", WIRE_I64)
HDP_TIME = _t(HistogramDataPoint, "time_unix_nano", WIRE_I64)
HDP_COUNT = _t(HistogramDataPoint, "count", WIRE_I64)
HDP_SUM = _t(HistogramDataPoint, "sum", WIRE_I64)
HDP_BUCKETS = _t(HistogramDataPoint, "bucket_counts", WIRE_LEN)
HDP_BOUNDS = _t(HistogramDataPoint, "explicit_bounds", WIRE_LEN)
HDP_EXEMPLARS = _t(HistogramDataPoint, "exemplars", WIRE_LEN)

EDP_ATTRIBUTES = field_number(ExponentialHistogramDataPoint.DESCRIPTOR, "attributes")
EDP_START = _t(ExponentialHistogramDataPoint, "start_time_unix_nano", WIRE_I64)
EDP_TIME = _t(ExponentialHistogramDataPoint, "time_unix_nano", WIRE_I64)
EDP_COUNT = _t(ExponentialHistogramDataPoint, "count", WIRE_I64)
EDP_SUM = _t(ExponentialHistogramDataPoint, "sum", WIRE_I64)
EDP_SCALE = _t(ExponentialHistogramDataPoint, "scale", WIRE_VARINT)
EDP_ZERO_COUNT = _t(ExponentialHistogramDataPoint, "zero_count", WIRE_I64)
EDP_POSITIVE = _t(ExponentialHistogramDataPoint, "positive", WIRE_LEN)
EDP_NEGATIVE = _t(ExponentialHistogramDataPoint, "negative", WIRE_LEN)
EDP_EXEMPLARS = _t(ExponentialHistogramDataPoint, "exemplars", WIRE_LEN)
EDP_MIN = _t(ExponentialHistogramDataPoint, "min", WIRE_I64)
EDP_MAX = _t(ExponentialHistogramDataPoint, "max", WIRE_I64)
BKT_OFFSET = _t(ExponentialHistogramDataPoint.Buckets, "offset", WIRE_VARINT)
BKT_COUNTS = _t(ExponentialHistogramDataPoint.Buckets, "bucket_counts", WIRE_LEN)

EX_TIME = _t(Exemplar, "time_unix_nano", WIRE_I64)
EX_AS_DOUBLE = _t(Exemplar, "as_double", WIRE_I64)
EX_SPAN_ID = _t(Exemplar, "span_id", WIRE_LEN)
EX_TRACE_ID = _t(Exemplar, "trace_id", WIRE_LEN)

KV_KEY = _t(KeyValue, "key", WIRE_LEN)
KV_VALUE = _t(KeyValue, "value", WIRE_LEN)
