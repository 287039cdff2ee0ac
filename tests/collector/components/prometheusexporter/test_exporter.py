"""Accumulator, conversion and exposition details of the prometheus exporter (spec §2)."""

from __future__ import annotations

import gzip
import struct
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from flightdeck.collector.components.prometheusexporter import FACTORY, validate
from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.expfmt import negotiate
from tests.collector.components.spanmetrics.helpers import RecordingLogger, S, SpanSpec, exporter, request

SEC = 1_000_000_000
PROM_2_42_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def metrics_request(
    metrics: list[dict[str, Any]], resource: dict[str, str] | None = None, scope: str = "lib"
) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in (resource or {"service.name": "svc"}).items():
        rm.resource.attributes.add(key=k, value=AnyValue(string_value=v))
    sm = rm.scope_metrics.add()
    sm.scope.name = scope
    for spec in metrics:
        m = sm.metrics.add(
            name=spec["name"], unit=spec.get("unit", ""), description=spec.get("description", "")
        )
        kind = spec["kind"]
        if kind == "sum":
            m.sum.aggregation_temporality = spec.get("temporality", 2)
            m.sum.is_monotonic = spec.get("monotonic", True)
            dps = m.sum.data_points
        elif kind == "gauge":
            dps = m.gauge.data_points
            for k, v in spec.get("metadata", {}).items():
                m.metadata.add(key=k, value=AnyValue(string_value=v))
        else:
            m.histogram.aggregation_temporality = spec.get("temporality", 2)
            dps = m.histogram.data_points
        for p in spec["points"]:
            dp = dps.add(
                start_time_unix_nano=p.get("start", S),
                time_unix_nano=p.get("time", S + SEC),
                flags=p.get("flags", 0),
            )
            for k, v in p.get("attrs", {}).items():
                dp.attributes.add(key=k, value=AnyValue(string_value=v))
            if kind == "histogram":
                dp.count = sum(p["buckets"])
                dp.sum = p.get("sum", 0.0)
                dp.bucket_counts.extend(p["buckets"])
                dp.explicit_bounds.extend(p["bounds"])
            elif "int" in p:
                dp.as_int = p["int"]
            else:
                dp.as_double = p["value"]
    return req


def scrape(exp: Any, accept: str = "", now: int = S + 2 * SEC) -> str:
    return str(exp.scrape(accept, "", now).body.decode())


# ------------------------------------------------------------------------------ config
def test_config_defaults_and_validation() -> None:
    cfg = FACTORY.load_config({"endpoint": "0.0.0.0:8889"})
    assert cfg.metric_expiration == 300 * SEC and cfg.add_metric_suffixes and not cfg.enable_open_metrics
    assert validate(cfg) == []
    bad = FACTORY.load_config({"endpoint": "x:1", "translation_strategy": "Bogus"})
    assert validate(bad) == ["invalid translation_strategy: Bogus"]


def test_blank_endpoint_fails_at_creation() -> None:
    with pytest.raises(
        ConfigError, match="expecting a non-blank address to run the Prometheus metrics handler"
    ):
        exporter({"endpoint": "  "})


# ------------------------------------------------------------------------------ negotiation
@pytest.mark.parametrize(
    ("accept", "open_metrics", "content_type"),
    [
        ("", False, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"),
        (PROM_2_42_ACCEPT, False, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"),
        (
            PROM_2_42_ACCEPT,
            True,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        (
            "application/openmetrics-text;version=0.0.1",
            True,
            "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores",
        ),
        (
            "text/plain;version=0.0.4;escaping=allow-utf-8",
            False,
            "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8",
        ),
        (
            "text/plain;version=0.0.4;escaping=bogus",
            False,
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
        ),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;q=0.3",
            False,
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
        ),
        ("application/json", True, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"),
    ],
)
def test_negotiation(accept: str, open_metrics: bool, content_type: str) -> None:
    assert negotiate(accept, open_metrics).content_type == content_type


# ------------------------------------------------------------------------------ accumulator
def test_delta_sum_becomes_cumulative_when_aligned() -> None:
    exp = exporter()
    m = {"name": "reqs", "kind": "sum", "temporality": 1}
    exp.accept(metrics_request([{**m, "points": [{"start": S, "time": S + SEC, "int": 3}]}]), S)
    exp.accept(metrics_request([{**m, "points": [{"start": S + SEC, "time": S + 2 * SEC, "int": 4}]}]), S)
    assert (
        'reqs_total{job="svc",otel_scope_name="lib",otel_scope_schema_url="",otel_scope_version=""} 7\n'
        in scrape(exp)
    )
    # Misaligned delta: replaces.
    exp.accept(metrics_request([{**m, "points": [{"start": S + 5 * SEC, "time": S + 6 * SEC, "int": 1}]}]), S)
    assert "} 1\n" in scrape(exp)


def test_dropped_sums_and_stale_points() -> None:
    exp = exporter()
    exp.accept(metrics_request([{"name": "a", "kind": "sum", "temporality": 0, "points": [{"int": 1}]}]), S)
    exp.accept(
        metrics_request(
            [{"name": "b", "kind": "sum", "temporality": 1, "monotonic": False, "points": [{"int": 1}]}]
        ),
        S,
    )
    assert scrape(exp) == ""
    exp.accept(
        metrics_request([{"name": "c", "kind": "sum", "points": [{"time": S + 5 * SEC, "int": 5}]}]), S
    )
    exp.accept(
        metrics_request([{"name": "c", "kind": "sum", "points": [{"time": S + 4 * SEC, "int": 9}]}]), S
    )
    assert "c_total{" in scrape(exp) and "} 5\n" in scrape(exp)
    nonmono = {"name": "d", "kind": "sum", "monotonic": False, "unit": "By", "points": [{"value": 2.5}]}
    exp.accept(metrics_request([nonmono]), S)
    assert "# TYPE d_bytes gauge\n" in scrape(exp)


def test_no_recorded_value_deletes_the_series() -> None:
    exp = exporter()
    exp.accept(metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0}]}]), S)
    assert "g{" in scrape(exp)
    exp.accept(metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 0.0, "flags": 1}]}]), S)
    assert scrape(exp) == ""


def test_metric_expiration_at_scrape_time() -> None:
    exp = exporter({"metric_expiration": "10s"})
    exp.accept(metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0}]}]), S)
    assert "g{" in scrape(exp, now=S + 10 * SEC)
    assert scrape(exp, now=S + 10 * SEC + 1) == ""


def test_delta_histograms_add_bucketwise() -> None:
    exp = exporter()
    h = {"name": "lat", "kind": "histogram", "temporality": 1, "unit": "s"}
    exp.accept(
        metrics_request(
            [
                {
                    **h,
                    "points": [
                        {"start": S, "time": S + SEC, "buckets": [1, 0, 2], "bounds": [0.1, 1], "sum": 3.5}
                    ],
                }
            ]
        ),
        S,
    )
    exp.accept(
        metrics_request(
            [
                {
                    **h,
                    "points": [
                        {
                            "start": S + SEC,
                            "time": S + 2 * SEC,
                            "buckets": [0, 1, 0],
                            "bounds": [0.1, 1],
                            "sum": 0.5,
                        }
                    ],
                }
            ]
        ),
        S,
    )
    text = scrape(exp)
    assert 'le="0.1"} 1\n' in text and 'le="1"} 2\n' in text and 'le="+Inf"} 4\n' in text
    assert "lat_seconds_sum{" in text and "} 4\n" in text
    # A misaligned delta that starts before the stored point is dropped.
    exp.accept(
        metrics_request(
            [{**h, "points": [{"start": S, "time": S + 3 * SEC, "buckets": [9, 9, 9], "bounds": [0.1, 1]}]}]
        ),
        S,
    )
    assert 'le="+Inf"} 4\n' in scrape(exp)


def test_gauge_with_unknown_prometheus_type_is_untyped_and_unit_1_gets_ratio() -> None:
    exp = exporter()
    exp.accept(
        metrics_request(
            [
                {
                    "name": "u",
                    "kind": "gauge",
                    "metadata": {"prometheus.type": "unknown"},
                    "points": [{"value": 1.0}],
                }
            ]
        ),
        S,
    )
    exp.accept(
        metrics_request([{"name": "cpu.util", "kind": "gauge", "unit": "1", "points": [{"value": 0.25}]}]), S
    )
    text = scrape(exp)
    assert "# TYPE u untyped\n" in text
    assert "# TYPE cpu_util_ratio gauge\n" in text and "} 0.25\n" in text


# ------------------------------------------------------------------------------ conversion
def test_type_conflict_and_duplicate_labels_drop_series() -> None:
    log = RecordingLogger()
    exp = exporter(logger=log)
    exp.accept(metrics_request([{"name": "x", "kind": "gauge", "points": [{"value": 1.0}]}]), S)
    exp.accept(
        metrics_request(
            [{"name": "x", "kind": "gauge", "points": [{"value": 2.0, "attrs": {"a.b": "1", "a_b": "2"}}]}]
        ),
        S,
    )
    exp.accept(
        metrics_request(
            [
                {
                    "name": "x",
                    "kind": "sum",
                    "monotonic": False,
                    "points": [{"value": 3.0, "attrs": {"k": "v"}}],
                }
            ]
        ),
        S,
    )
    text = scrape(exp)
    assert text.count("\nx{") == 2  # the gauge and the non-monotonic sum (also a gauge) share the family
    errors = [m for lvl, m, _ in log.lines if lvl == "error"]
    assert any(m.startswith("failed to convert metric x: duplicate label names") for m in errors)
    exp.accept(
        metrics_request([{"name": "x", "kind": "histogram", "points": [{"buckets": [1], "bounds": []}]}]), S
    )
    assert "# TYPE x gauge" in scrape(exp)
    errors = [m for lvl, m, _ in log.lines if lvl == "error"]
    assert (
        "failed to convert metric x: instrument type conflict, using existing type definition. "
        "instrument: x, existing: GAUGE, dropped: HISTOGRAM"
    ) in errors


def test_job_label_collision_and_reserved_prefix_fail() -> None:
    log = RecordingLogger()
    exp = exporter(logger=log)
    exp.accept(
        metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0, "attrs": {"job": "x"}}]}]),
        S,
    )
    exp.accept(
        metrics_request([{"name": "h", "kind": "gauge", "points": [{"value": 1.0, "attrs": {"__x": "y"}}]}]),
        S,
    )
    assert scrape(exp) == ""
    errors = [m for lvl, m, _ in log.lines if lvl == "error"]
    assert 'failed to convert metric h: "__x" is not a valid label name for metric "h"' in errors


def test_const_labels_and_send_timestamps() -> None:
    exp = exporter({"const_labels": {"env": "prod"}, "send_timestamps": True})
    exp.accept(
        metrics_request(
            [{"name": "g", "kind": "gauge", "points": [{"value": 1.5, "time": S + 1_234_567_890}]}]
        ),
        S,
    )
    assert (
        'g{env="prod",job="svc",otel_scope_name="lib",otel_scope_schema_url="",otel_scope_version=""} 1.5 1700000001234\n'
        in scrape(exp)
    )


def test_duplicate_series_second_is_dropped_and_suffix_collisions() -> None:
    exp = exporter()
    exp.accept(metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0}]}], scope="a"), S)
    exp.accept(
        metrics_request(
            [{"name": "g", "kind": "gauge", "points": [{"value": 2.0}]}],
            resource={"service.name": "svc", "x": "y"},
            scope="a",
        ),
        S,
    )
    text = scrape(exp)
    assert text.count("\ng{") == 1
    exp2 = exporter()
    h = {"name": "lat", "kind": "histogram", "points": [{"buckets": [1], "bounds": []}]}
    exp2.accept(metrics_request([h, {"name": "lat.count", "kind": "gauge", "points": [{"value": 1.0}]}]), S)
    text2 = scrape(exp2)
    assert "# TYPE lat histogram" in text2 and "\nlat_count{" in text2
    assert "# TYPE lat_count gauge" not in text2


def test_utf8_translation_strategy_and_escaping() -> None:
    exp = exporter({"translation_strategy": "NoTranslation"})
    exp.accept(
        metrics_request(
            [
                {
                    "name": "my.metric",
                    "kind": "gauge",
                    "points": [{"value": 1.0, "attrs": {"http.method": "GET"}}],
                }
            ]
        ),
        S,
    )
    text = scrape(exp)
    assert "# TYPE my_metric gauge\n" in text and 'my_metric{http_method="GET"' in text
    utf8 = scrape(exp, "text/plain;version=0.0.4;escaping=allow-utf-8")
    assert '# TYPE "my.metric" gauge\n' in utf8 and '{"my.metric","http.method"="GET",' in utf8
    dots = scrape(exp, "text/plain;version=0.0.4;escaping=dots")
    assert "# TYPE my_dot_metric gauge\n" in dots
    values = scrape(exp, "text/plain;version=0.0.4;escaping=values")
    assert "# TYPE U__my_2e_metric gauge\n" in values


# ------------------------------------------------------------------------------ OpenMetrics and protobuf
def _spanmetrics_exporter(**cfg: Any) -> Any:
    agg = SpanMetricsAggregator(load_config({"exemplars": {"enabled": True}}))
    spans = [SpanSpec("/dispatch", 12_500_000, trace_id=bytes(range(16)), span_id=bytes(range(8)))]
    agg.consume(request([({"service.name": "frontend"}, spans)]), S)
    exp = exporter(cfg)
    exp.accept(agg.flush(S + SEC), S + SEC)
    return exp


def test_openmetrics_output() -> None:
    exp = _spanmetrics_exporter(enable_open_metrics=True)
    text = scrape(exp, PROM_2_42_ACCEPT)
    assert text.startswith("# HELP traces_span_metrics_calls \n# TYPE traces_span_metrics_calls counter\n")
    ex = ' # {span_id="0001020304050607",trace_id="000102030405060708090a0b0c0d0e0f"} 12.5 1.700000001e+09'
    assert '{job="frontend",' in text and f'status_code="STATUS_CODE_UNSET"}} 1.0{ex}\n' in text
    assert 'le="2.0"} 0\n' in text and f'le="50.0"}} 1{ex}\n' in text and 'le="+Inf"} 1\n' in text
    assert '_sum{job="frontend"' in text and "} 12.5\n" in text
    assert "_created" not in text
    assert text.endswith("# EOF\n")


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value = struct.unpack("<d", data[pos : pos + 8])[0]
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        else:
            raise AssertionError(wire)
        out.append((number, value))
    return out


def test_protobuf_delimited_output() -> None:
    exp = _spanmetrics_exporter()
    resp = exp.scrape(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        "",
        S + 2 * SEC,
    )
    data = resp.body
    families = []
    pos = 0
    while pos < len(data):
        length, pos = _read_varint(data, pos)
        families.append(
            dict(_fields(data[pos : pos + length]))
            | {"metrics": [v for n, v in _fields(data[pos : pos + length]) if n == 4]}
        )
        pos += length
    assert [(f[1], f[3]) for f in families] == [
        (b"traces_span_metrics_calls_total", 0),
        (b"traces_span_metrics_duration_milliseconds", 4),
    ]
    counter = dict(_fields(dict(_fields(families[0]["metrics"][0]))[3]))
    assert counter[1] == 1.0 and 2 in counter and 3 in counter  # value, exemplar, created timestamp
    hist_fields = _fields(dict(_fields(families[1]["metrics"][0]))[7])
    buckets = [dict(_fields(v)) for n, v in hist_fields if n == 3]
    assert len(buckets) == 16 and buckets[5][1] == 1 and buckets[5][2] == 50.0


def test_gzip_when_accepted() -> None:
    exp = _spanmetrics_exporter()
    resp = exp.scrape("", "gzip, deflate", S + 2 * SEC)
    assert ("Content-Encoding", "gzip") in resp.headers
    assert gzip.decompress(resp.body).startswith(b"# HELP traces_span_metrics_calls_total")
    plain = exp.scrape("", "identity", S + 2 * SEC)
    assert all(k != "Content-Encoding" for k, _ in plain.headers)
    assert exp.scrape("", "gzip;q=0", S + 2 * SEC).headers == []


def test_target_info_label_collisions_join_values() -> None:
    exp = exporter()
    res = {"service.name": "s", "service.instance.id": "i", "a.b": "1", "a_b": "2"}
    exp.accept(metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0}]}], resource=res), S)
    assert 'target_info{a_b="1;2",instance="i",job="s"} 1\n' in scrape(exp)


def test_resource_to_telemetry_overwrites_point_attributes() -> None:
    exp = exporter({"resource_to_telemetry_conversion": {"enabled": True}})
    req = metrics_request(
        [{"name": "g", "kind": "gauge", "points": [{"value": 1.0, "attrs": {"host": "point"}}]}],
        resource={"service.name": "s", "host": "resource"},
    )
    exp.accept(req, S)
    assert 'host="resource"' in scrape(exp)


def test_scope_attributes_become_otel_scope_labels() -> None:
    exp = exporter()
    req = metrics_request([{"name": "g", "kind": "gauge", "points": [{"value": 1.0}]}])
    req.resource_metrics[0].scope_metrics[0].scope.attributes.append(
        KeyValue(key="lib.tier", value=AnyValue(string_value="gold"))
    )
    exp.accept(req, S)
    assert 'otel_scope_lib_tier="gold"' in scrape(exp)


def test_exponential_histograms_are_native_histograms() -> None:
    agg = SpanMetricsAggregator(load_config({"histogram": {"exponential": {"max_size": 10}}}))
    spans = [SpanSpec("op", d) for d in (12_500_000, 687_300_000, 0)]
    agg.consume(request([({"service.name": "svc"}, spans)]), S)
    exp = exporter()
    exp.accept(agg.flush(S + SEC), S + SEC)
    text = scrape(exp)
    # Text formats have no native buckets: only the +Inf bucket, sum and count remain.
    assert "# TYPE traces_span_metrics_duration_milliseconds histogram\n" in text
    assert 'le="+Inf"} 3\n' in text and "_sum{" in text and "} 699.8\n" in text
    assert text.count("traces_span_metrics_duration_milliseconds_bucket{") == 1
    body = exp.scrape(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        "",
        S + 2 * SEC,
    ).body
    assert b"traces_span_metrics_duration_milliseconds" in body
