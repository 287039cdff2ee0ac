from __future__ import annotations

import random
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config
from flightdeck.collector.components.spanmetrics.expohisto import ExpoHistogram
from flightdeck.collector.pcommon import as_string
from tests.collector.components.spanmetrics.helpers import S, SpanSpec, request

SEC = 1_000_000_000


def agg(raw: dict[str, Any] | None = None) -> SpanMetricsAggregator:
    return SpanMetricsAggregator(load_config(raw or {}))


def metric(out: ExportMetricsServiceRequest, name: str, rm: int = 0) -> Any:
    for m in out.resource_metrics[rm].scope_metrics[0].metrics:
        if m.name == name:
            return m
    raise AssertionError(f"no metric {name}")


def attrs(dp: Any) -> dict[str, str]:
    return {kv.key: as_string(kv.value) for kv in dp.attributes}


def test_output_shape() -> None:
    a = agg()
    a.consume(request([({"service.name": "svc", "k": 1}, [SpanSpec("op", 3_000_000)])]), S)
    out = a.flush(S + 10 * SEC)
    rm = out.resource_metrics[0]
    assert [(kv.key, as_string(kv.value)) for kv in rm.resource.attributes] == [
        ("service.name", "svc"),
        ("k", "1"),
    ]
    sm = rm.scope_metrics[0]
    assert sm.scope.name == "spanmetricsconnector" and sm.scope.version == "" and sm.schema_url == ""
    calls, duration = sm.metrics
    assert calls.name == "traces.span.metrics.calls" and calls.unit == "" and calls.description == ""
    assert calls.sum.is_monotonic and calls.sum.aggregation_temporality == 2
    dp = calls.sum.data_points[0]
    assert dp.WhichOneof("value") == "as_int" and dp.as_int == 1
    assert dp.start_time_unix_nano == S and dp.time_unix_nano == S + 10 * SEC
    assert list(attrs(dp)) == ["service.name", "span.name", "span.kind", "status.code"]
    assert duration.name == "traces.span.metrics.duration" and duration.unit == "ms"
    hdp = duration.histogram.data_points[0]
    assert hdp.count == 1 and hdp.sum == 3.0 and hdp.HasField("sum")
    assert list(hdp.bucket_counts)[:3] == [0, 1, 0] and len(hdp.bucket_counts) == 17
    assert not hdp.HasField("min") and not hdp.HasField("max")


def test_cumulative_keeps_growing_and_keeps_its_start_time() -> None:
    a = agg()
    req = request([({"service.name": "svc"}, [SpanSpec("op")])])
    a.consume(req, S)
    first = metric(a.flush(S + SEC), "traces.span.metrics.calls").sum.data_points[0]
    a.consume(req, S + 2 * SEC)
    second = metric(a.flush(S + 3 * SEC), "traces.span.metrics.calls").sum.data_points[0]
    third = metric(a.flush(S + 4 * SEC), "traces.span.metrics.calls").sum.data_points[0]
    assert (first.as_int, second.as_int, third.as_int) == (1, 2, 2)
    assert first.start_time_unix_nano == second.start_time_unix_nano == third.start_time_unix_nano == S
    assert third.time_unix_nano == S + 4 * SEC


def test_delta_purges_and_chains_start_times() -> None:
    a = agg({"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"})
    req = request([({"service.name": "svc"}, [SpanSpec("op")])])
    a.consume(req, S)
    first = a.flush(S + SEC)
    assert metric(first, "traces.span.metrics.calls").sum.aggregation_temporality == 1
    assert metric(first, "traces.span.metrics.calls").sum.data_points[0].start_time_unix_nano == S
    empty = a.flush(S + 2 * SEC)
    assert len(empty.resource_metrics) == 0
    a.consume(req, S + 3 * SEC)
    dp = metric(a.flush(S + 4 * SEC), "traces.span.metrics.calls").sum.data_points[0]
    assert dp.as_int == 1
    assert dp.start_time_unix_nano == S + SEC  # the key's previous flush, from the timestamp cache


def test_metrics_expiration_drops_idle_buckets_after_emitting_them_once_more() -> None:
    a = agg({"metrics_expiration": "5s"})
    a.consume(request([({"service.name": "svc"}, [SpanSpec("op")])]), S)
    assert len(a.flush(S + 3 * SEC).resource_metrics) == 1
    assert len(a.flush(S + 6 * SEC).resource_metrics) == 1
    assert len(a.flush(S + 7 * SEC).resource_metrics) == 0
    assert a.series_count == 0


def test_resource_cache_eviction_emits_evicted_bucket_once() -> None:
    a = agg({"resource_metrics_cache_size": 1})
    a.consume(request([({"service.name": "a"}, [SpanSpec("op")])]), S)
    a.consume(request([({"service.name": "b"}, [SpanSpec("op")])]), S)
    out = a.flush(S + SEC)
    assert sorted(as_string(rm.resource.attributes[0].value) for rm in out.resource_metrics) == ["a", "b"]
    out = a.flush(S + 2 * SEC)
    assert [as_string(rm.resource.attributes[0].value) for rm in out.resource_metrics] == ["b"]
    # A revived bucket starts from zero: its counters restart.
    a.consume(request([({"service.name": "a"}, [SpanSpec("op")])]), S + 3 * SEC)
    out = a.flush(S + 4 * SEC)
    names = [as_string(rm.resource.attributes[0].value) for rm in out.resource_metrics]
    assert "a" in names


def test_evicted_bucket_revived_before_flush_keeps_its_counts() -> None:
    a = agg({"resource_metrics_cache_size": 1})
    ra = request([({"service.name": "a"}, [SpanSpec("op")])])
    a.consume(ra, S)
    a.consume(request([({"service.name": "b"}, [SpanSpec("op")])]), S)
    a.consume(ra, S)  # revived from the evicted set
    out = a.flush(S + SEC)
    counts = {
        as_string(rm.resource.attributes[0].value): rm.scope_metrics[0].metrics[0].sum.data_points[0].as_int
        for rm in out.resource_metrics
    }
    assert counts == {"a": 2, "b": 1}


def test_exemplars_limited_and_cleared() -> None:
    a = agg({"exemplars": {"enabled": True, "max_per_data_point": 2}})
    spans = [
        SpanSpec("op", 5_000_000 * (i + 1), trace_id=bytes([i + 1]) * 16, span_id=bytes([i + 1]) * 8)
        for i in range(3)
    ]
    spans.append(SpanSpec("op", 1_000_000))  # no trace id: never an exemplar
    a.consume(request([({"service.name": "svc"}, spans)]), S)
    out = a.flush(S + SEC)
    for name in ("traces.span.metrics.calls", "traces.span.metrics.duration"):
        m = metric(out, name)
        dp = (m.sum if name.endswith("calls") else m.histogram).data_points[0]
        assert [(e.trace_id[0], e.as_double, e.time_unix_nano) for e in dp.exemplars] == [
            (1, 5.0, S + SEC),
            (2, 10.0, S + SEC),
        ]
    out = a.flush(S + 2 * SEC)
    assert len(metric(out, "traces.span.metrics.calls").sum.data_points[0].exemplars) == 0


def test_events_metric() -> None:
    a = agg(
        {
            "events": {"enabled": True, "dimensions": [{"name": "exception.type"}]},
            "dimensions": [{"name": "region"}],
        }
    )
    span = SpanSpec(
        "op",
        attrs={"region": "eu"},
        events=[
            ("exception", {"exception.type": "Timeout"}),
            ("exception", {"exception.type": "Timeout"}),
            ("log", {}),
        ],
    )
    a.consume(request([({"service.name": "svc", "exception.type": "FromResource"}, [span])]), S)
    events = metric(a.flush(S + SEC), "traces.span.metrics.events").sum
    got = sorted((attrs(dp).get("exception.type", ""), dp.as_int) for dp in events.data_points)
    # Resource attributes are not consulted for events (upstream CopyTo replaces the merged map).
    assert got == [("", 1), ("Timeout", 2)]
    assert all(attrs(dp)["region"] == "eu" for dp in events.data_points)


def test_cardinality_limit_folds_into_an_overflow_series() -> None:
    a = agg({"aggregation_cardinality_limit": 2})
    a.consume(
        request([({"service.name": "svc"}, [SpanSpec("a"), SpanSpec("b"), SpanSpec("c"), SpanSpec("d")])]), S
    )
    dps = metric(a.flush(S + SEC), "traces.span.metrics.calls").sum.data_points
    assert [(attrs(dp).get("span.name"), dp.as_int) for dp in dps] == [("a", 1), ("b", 1), (None, 2)]
    assert attrs(dps[2]) == {"otel.metric.overflow": "true"}


def test_resource_metrics_key_attributes_share_a_bucket_first_resource_wins() -> None:
    a = agg({"resource_metrics_key_attributes": ["service.name"]})
    a.consume(
        request(
            [
                ({"service.name": "svc", "pid": 1}, [SpanSpec("op")]),
                ({"service.name": "svc", "pid": 2}, [SpanSpec("op")]),
            ]
        ),
        S,
    )
    out = a.flush(S + SEC)
    assert len(out.resource_metrics) == 1
    assert {kv.key: as_string(kv.value) for kv in out.resource_metrics[0].resource.attributes}["pid"] == "1"
    assert metric(out, "traces.span.metrics.calls").sum.data_points[0].as_int == 2


def test_include_instrumentation_scope() -> None:
    a = agg({"include_instrumentation_scope": ["lib"]})
    req = request([({"service.name": "svc"}, [SpanSpec("op")])])
    req.resource_spans[0].scope_spans[0].scope.name = "lib"
    req.resource_spans[0].scope_spans[0].scope.version = "1.2"
    a.consume(req, S)
    dp = metric(a.flush(S + SEC), "traces.span.metrics.calls").sum.data_points[0]
    assert attrs(dp)["span.instrumentation.scope.name"] == "lib"
    assert attrs(dp)["span.instrumentation.scope.version"] == "1.2"


def test_calls_and_histogram_dimensions_are_separate() -> None:
    a = agg(
        {
            "calls_dimensions": [{"name": "http.url"}],
            "histogram": {"dimensions": [{"name": "http.status_code"}]},
        }
    )
    spans = [
        SpanSpec("op", attrs={"http.url": "/a", "http.status_code": 200}),
        SpanSpec("op", attrs={"http.url": "/b", "http.status_code": 200}),
    ]
    a.consume(request([({"service.name": "svc"}, spans)]), S)
    out = a.flush(S + SEC)
    calls = metric(out, "traces.span.metrics.calls").sum.data_points
    hist = metric(out, "traces.span.metrics.duration").histogram.data_points
    assert sorted(attrs(dp)["http.url"] for dp in calls) == ["/a", "/b"]
    assert [(attrs(dp)["http.status_code"], dp.count) for dp in hist] == [("200", 2)]
    assert "http.url" not in attrs(hist[0])


def test_input_is_never_mutated() -> None:
    a = agg(
        {
            "dimensions": [{"name": "x"}],
            "events": {"enabled": True, "dimensions": [{"name": "e"}]},
            "exemplars": {"enabled": True},
        }
    )
    req = request(
        [
            (
                {"service.name": "svc", "x": "r"},
                [SpanSpec("op", attrs={"x": 1}, events=[("ev", {"e": 1})], trace_id=b"\x01" * 16)],
            )
        ]
    )
    before = req.SerializeToString()
    a.consume(req, S)
    a.flush(S + SEC)
    assert req.SerializeToString() == before


def test_histogram_sum_is_sequential_float_addition() -> None:
    rng = random.Random(7)
    durations = [rng.randrange(1, 10**9) for _ in range(3000)]
    a = agg()
    for chunk in range(0, 3000, 700):
        a.consume(
            request([({"service.name": "svc"}, [SpanSpec("op", d) for d in durations[chunk : chunk + 700]])]),
            S,
        )
    total = 0.0
    for d in durations:
        total += float(d) / 1e6
    dp = metric(a.flush(S + SEC), "traces.span.metrics.duration").histogram.data_points[0]
    assert dp.sum == total
    assert dp.count == 3000


def test_histogram_disabled() -> None:
    a = agg({"histogram": {"disable": True}})
    a.consume(request([({"service.name": "svc"}, [SpanSpec("op")])]), S)
    assert [m.name for m in a.flush(S + SEC).resource_metrics[0].scope_metrics[0].metrics] == [
        "traces.span.metrics.calls"
    ]


def test_exponential_histogram_matches_the_structure() -> None:
    a = agg({"histogram": {"exponential": {"max_size": 20}}})
    durations = [0, 1_500_000, 12_500_000, 687_300_000, 3_000_000_000]
    a.consume(request([({"service.name": "svc"}, [SpanSpec("op", d) for d in durations])]), S)
    dp = metric(a.flush(S + SEC), "traces.span.metrics.duration").exponential_histogram.data_points[0]
    ref = ExpoHistogram(20)
    for d in durations:
        ref.update(d / 1e6)
    offset, counts = ref.positive.offset_and_counts()
    assert (dp.scale, dp.zero_count, dp.count, dp.positive.offset, list(dp.positive.bucket_counts)) == (
        ref.reported_scale, 1, 5, offset, counts,
    )  # fmt: skip
    assert dp.min == 0 and dp.max == 3000.0 and dp.sum == ref.sum
    assert sum(dp.positive.bucket_counts) == 4
    assert len(dp.positive.bucket_counts) <= 20


def test_non_string_service_name_is_empty_and_key_uses_string_forms() -> None:
    a = agg({"dimensions": [{"name": "code"}]})
    a.consume(
        request(
            [
                (
                    {"service.name": 7},
                    [SpanSpec("op", attrs={"code": 200}), SpanSpec("op", attrs={"code": "200"})],
                )
            ]
        ),
        S,
    )
    dps = metric(a.flush(S + SEC), "traces.span.metrics.calls").sum.data_points
    assert len(dps) == 1 and dps[0].as_int == 2
    assert attrs(dps[0])["service.name"] == ""
    code = next(kv.value for kv in dps[0].attributes if kv.key == "code")
    assert code == AnyValue(int_value=200)  # the first span's typed value


def test_unknown_kind_and_status_print_empty() -> None:
    a = agg()
    a.consume(request([({"service.name": "svc"}, [SpanSpec("op", kind=9, status=7)])]), S)
    dp = metric(a.flush(S + SEC), "traces.span.metrics.calls").sum.data_points[0]
    assert attrs(dp)["span.kind"] == "" and attrs(dp)["status.code"] == ""


def test_empty_resource_spans_still_create_a_bucket() -> None:
    a = agg()
    a.consume(request([({"service.name": "svc"}, [])]), S)
    out = a.flush(S + SEC)
    assert len(out.resource_metrics) == 1
    assert len(metric(out, "traces.span.metrics.calls").sum.data_points) == 0
