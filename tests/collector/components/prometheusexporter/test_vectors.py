"""Spec §8 test vectors TV-01…TV-23: spans (real OTLP proto classes) → spanmetrics → prometheus
exporter → exposition bytes."""

from __future__ import annotations

import pytest

from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config
from tests.collector.components.spanmetrics.helpers import (
    SCOPE,
    S,
    SpanSpec,
    exporter,
    histogram_block,
    request,
    scrape_text,
)

CALLS = "traces_span_metrics_calls_total"
DUR = "traces_span_metrics_duration_milliseconds"
SCENARIO_DIMS = {
    "dimensions": [{"name": "hotrod.namespace"}, {"name": "hotrod.pod.name"}, {"name": "hotrod.pod.hash"}]
}
HOTROD_RESOURCE = {
    "service.name": "frontend",
    "hotrod.namespace": "hotrod",
    "hotrod.pod.name": "hotrod-6f7b9c8d5-x2k4q",
    "hotrod.pod.hash": "6f7b9c8d5",
    "host.name": "hotrod-6f7b9c8d5-x2k4q",
    "os.type": "linux",
    "telemetry.sdk.language": "go",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.38.0",
}


def labels(
    service: str,
    name: str,
    kind: str = "SPAN_KIND_SERVER",
    status: str = "STATUS_CODE_UNSET",
    job: str | None = None,
) -> str:
    return (
        f'job="{job or service}",{SCOPE},service_name="{service}",span_kind="{kind}",'
        f'span_name="{name}",status_code="{status}"'
    )


def test_tv01_single_server_span_full_bytes() -> None:
    text = scrape_text([request([({"service.name": "frontend"}, [SpanSpec("/dispatch", 12_500_000)])])])
    lab = labels("frontend", "/dispatch")
    expected = (
        f"# HELP {CALLS} \n# TYPE {CALLS} counter\n{CALLS}{{{lab}}} 1\n"
        f"# HELP {DUR} \n# TYPE {DUR} histogram\n"
        + histogram_block(DUR, lab, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], "12.5")
    )
    assert text == expected
    assert "target_info" not in text


def test_tv02_value_exactly_on_a_bound() -> None:
    spans = [SpanSpec("/route", 50_000_000), SpanSpec("/route", 50_000_001)]
    text = scrape_text([request([({"service.name": "route"}, spans)])])
    lab = labels("route", "/route")
    assert histogram_block(DUR, lab, [0, 0, 0, 0, 0, 1] + [2] * 11, "100.000001") in text
    assert f"{CALLS}{{{lab}}} 2\n" in text


def test_tv03_zero_and_negative_durations() -> None:
    spans = [SpanSpec("SQL SELECT", 0, kind=3), SpanSpec("SQL SELECT", -5_000_000, kind=3)]
    text = scrape_text([request([({"service.name": "mysql"}, spans)])])
    lab = labels("mysql", "SQL SELECT", kind="SPAN_KIND_CLIENT")
    assert histogram_block(DUR, lab, [2] * 17, "0") in text


def test_tv04_upper_edge_and_overflow() -> None:
    name = "driver.DriverService/FindNearest"
    spans = [SpanSpec(name, 15_000_000_000), SpanSpec(name, 15_001_000_000)]
    text = scrape_text([request([({"service.name": "driver"}, spans)])])
    assert histogram_block(DUR, labels("driver", name), [0] * 15 + [1, 2], "30001") in text


def test_tv05_status_and_kind_strings() -> None:
    spans = [
        SpanSpec("HTTP GET", 7_000_000, kind=3, status=2, message="boom"),
        SpanSpec("work", kind=1, status=1),
        SpanSpec("x", kind=0, status=0),
    ]
    text = scrape_text([request([({"service.name": "frontend"}, spans)])])
    calls = [line for line in text.splitlines() if line.startswith(CALLS + "{")]
    assert calls == [
        f"{CALLS}{{{labels('frontend', 'HTTP GET', 'SPAN_KIND_CLIENT', 'STATUS_CODE_ERROR')}}} 1",
        f"{CALLS}{{{labels('frontend', 'work', 'SPAN_KIND_INTERNAL', 'STATUS_CODE_OK')}}} 1",
        f"{CALLS}{{{labels('frontend', 'x', 'SPAN_KIND_UNSPECIFIED', 'STATUS_CODE_UNSET')}}} 1",
    ]
    assert "boom" not in text


L6 = (
    'hotrod_namespace="hotrod",hotrod_pod_hash="6f7b9c8d5",hotrod_pod_name="hotrod-6f7b9c8d5-x2k4q",'
    f'job="frontend",{SCOPE},service_name="frontend",span_kind="SPAN_KIND_SERVER",span_name="/dispatch",'
    'status_code="STATUS_CODE_UNSET"'
)


def test_tv06_scenario_dimensions_from_resource() -> None:
    text = scrape_text([request([(HOTROD_RESOURCE, [SpanSpec("/dispatch", 687_300_000)])])], SCENARIO_DIMS)
    assert f"{CALLS}{{{L6}}} 1\n" in text
    assert histogram_block(DUR, L6, [0] * 9 + [1] * 8, "687.3") in text
    for absent in ("host_name", "os_type", "telemetry_sdk"):
        assert absent not in text


def test_tv07_span_attribute_beats_resource_attribute() -> None:
    spans = [
        SpanSpec("/dispatch", 687_300_000, attrs={"hotrod.namespace": "canary"}),
        SpanSpec("/dispatch", 1_000_000),
    ]
    text = scrape_text([request([(HOTROD_RESOURCE, spans)])], SCENARIO_DIMS)
    canary = L6.replace('hotrod_namespace="hotrod"', 'hotrod_namespace="canary"')
    assert f"{CALLS}{{{canary}}} 1\n" in text
    assert f"{CALLS}{{{L6}}} 1\n" in text


def test_tv08_missing_dimension_default_and_empty_string() -> None:
    cfg = {"dimensions": [{"name": "hotrod.pod.hash"}, {"name": "http.method", "default": "GET"}]}
    text = scrape_text(
        [
            request(
                [
                    (
                        {"service.name": "frontend"},
                        [SpanSpec("a"), SpanSpec("b", attrs={"http.method": "POST"})],
                    )
                ]
            ),
            request([({"service.name": "frontend", "hotrod.pod.hash": ""}, [SpanSpec("a")])]),
        ],
        cfg,
    )
    base = f'{SCOPE},service_name="frontend",span_kind="SPAN_KIND_SERVER"'
    assert (
        f'{CALLS}{{http_method="GET",job="frontend",{base},span_name="a",status_code="STATUS_CODE_UNSET"}} 1'
        in text
    )
    assert (
        f'{CALLS}{{http_method="POST",job="frontend",{base},span_name="b",status_code="STATUS_CODE_UNSET"}} 1'
        in text
    )
    assert (
        f'{CALLS}{{hotrod_pod_hash="",http_method="GET",job="frontend",{base},span_name="a",'
        'status_code="STATUS_CODE_UNSET"} 1'
    ) in text


def test_tv09_typed_dimension_values() -> None:
    cfg = {"dimensions": [{"name": n} for n in ("http.response.status_code", "retry", "ratio", "tags")]}
    attrs = {"http.response.status_code": 200, "retry": True, "ratio": 0.5, "tags": ["a", "b"]}
    text = scrape_text([request([({"service.name": "frontend"}, [SpanSpec("s", attrs=attrs)])])], cfg)
    line = next(x for x in text.splitlines() if x.startswith(CALLS + "{"))
    for part in ('http_response_status_code="200"', 'retry="true"', 'ratio="0.5"', r'tags="[\"a\",\"b\"]"'):
        assert part in line


@pytest.mark.parametrize(
    ("connector", "exporter_cfg", "calls", "duration"),
    [
        ({"namespace": "span.metrics"}, {}, "span_metrics_calls_total", "span_metrics_duration_milliseconds"),
        ({"namespace": ""}, {}, "calls_total", "duration_milliseconds"),
        (
            {},
            {"namespace": "otel"},
            "otel_traces_span_metrics_calls_total",
            "otel_traces_span_metrics_duration_milliseconds",
        ),
    ],
)
def test_tv10_namespaces(
    connector: dict[str, str], exporter_cfg: dict[str, str], calls: str, duration: str
) -> None:
    text = scrape_text(
        [request([({"service.name": "frontend"}, [SpanSpec("/dispatch")])])], connector, exporter_cfg
    )
    assert f"# TYPE {calls} counter\n" in text
    assert f"# TYPE {duration} histogram\n" in text
    assert f"\n{duration}_bucket{{" in text


def test_tv11_seconds_unit() -> None:
    text = scrape_text(
        [request([({"service.name": "frontend"}, [SpanSpec("/dispatch", 12_500_000)])])],
        {"histogram": {"unit": "s"}},
    )
    bounds = [
        "0.002",
        "0.004",
        "0.006",
        "0.008",
        "0.01",
        "0.05",
        "0.1",
        "0.2",
        "0.4",
        "0.8",
        "1",
        "1.4",
        "2",
        "5",
        "10",
        "15",
    ]
    fam = "traces_span_metrics_duration_seconds"
    assert histogram_block(fam, labels("frontend", "/dispatch"), [0] * 5 + [1] * 12, "0.0125", bounds) in text
    assert f"# TYPE {CALLS} counter" in text


def test_tv12_custom_buckets() -> None:
    cfg = {"histogram": {"explicit": {"buckets": ["100us", "1ms", "2ms", "6ms", "10ms", "100ms", "250ms"]}}}
    text = scrape_text([request([({"service.name": "frontend"}, [SpanSpec("/dispatch", 50_000)])])], cfg)
    bounds = ["0.1", "1", "2", "6", "10", "100", "250"]
    assert histogram_block(DUR, labels("frontend", "/dispatch"), [1] * 8, "0.05", bounds) in text


def test_tv13_exclude_dimensions() -> None:
    spans = [SpanSpec("/dispatch", status=2), SpanSpec("/dispatch", status=0)]
    text = scrape_text(
        [request([({"service.name": "frontend"}, spans)])], {"exclude_dimensions": ["status.code"]}
    )
    assert (
        f'{CALLS}{{job="frontend",{SCOPE},service_name="frontend",span_kind="SPAN_KIND_SERVER",span_name="/dispatch"}} 2\n'
        in text
    )
    assert "status_code" not in text


def test_tv14_aggregation_across_spans() -> None:
    spans = [SpanSpec("/customer", d) for d in (1_000_000, 3_000_000, 1_000_000_000)]
    text = scrape_text([request([({"service.name": "customer"}, spans)])])
    lab = labels("customer", "/customer")
    assert histogram_block(DUR, lab, [1] + [2] * 9 + [3] * 7, "1004") in text
    assert f"{CALLS}{{{lab}}} 3\n" in text


def test_tv15_resource_without_service_name() -> None:
    text = scrape_text([request([({"host.name": "h"}, [SpanSpec(f"s{i}") for i in range(5)])])])
    assert text == ""


def test_tv16_job_instance_and_target_info() -> None:
    resource = {
        "service.name": "checkout",
        "service.namespace": "shop",
        "service.instance.id": "pod-1",
        "deployment.environment": "prod",
    }
    text = scrape_text([request([(resource, [SpanSpec("pay", 5_000_000)])])])
    assert text.startswith(
        "# HELP target_info Target metadata\n# TYPE target_info gauge\n"
        'target_info{deployment_environment="prod",instance="pod-1",job="shop/checkout"} 1\n'
    )
    assert (
        f'{CALLS}{{instance="pod-1",job="shop/checkout",{SCOPE},service_name="checkout",'
        'span_kind="SPAN_KIND_SERVER",span_name="pay",status_code="STATUS_CODE_UNSET"} 1\n'
    ) in text


def test_tv17_resource_to_telemetry_conversion() -> None:
    resource = {"service.name": "frontend", "host.name": "h1", "os.type": "linux"}
    text = scrape_text(
        [request([(resource, [SpanSpec("/dispatch", 12_500_000)])])],
        exporter_cfg={"resource_to_telemetry_conversion": {"enabled": True}},
    )
    assert (
        f'{CALLS}{{host_name="h1",job="frontend",os_type="linux",{SCOPE},service_name="frontend",'
        'span_kind="SPAN_KIND_SERVER",span_name="/dispatch",status_code="STATUS_CODE_UNSET"} 1\n'
    ) in text


def test_tv18_label_name_sanitization() -> None:
    names = ["k8s.pod-name", "1st.attr", "_private", "a..b", "café"]
    cfg = {"dimensions": [{"name": n} for n in names]}
    text = scrape_text(
        [request([({"service.name": "frontend"}, [SpanSpec("s", attrs=dict.fromkeys(names, "v"))])])], cfg
    )
    line = next(x for x in text.splitlines() if x.startswith(CALLS + "{"))
    for part in ('k8s_pod_name="v"', 'key_1st_attr="v"', '_private="v"', 'a__b="v"', 'caf_="v"'):
        assert part in line
    # A dimension sanitising to "_" makes that series fail; other series are still served.
    cfg2 = {"dimensions": [{"name": "é"}]}
    spans = [SpanSpec("bad", attrs={"é": "v"}), SpanSpec("good")]
    text2 = scrape_text([request([({"service.name": "frontend"}, spans)])], cfg2)
    assert 'span_name="bad"' not in text2
    assert 'span_name="good"' in text2


def test_tv19_large_number_formatting() -> None:
    text = scrape_text(
        [request([({"service.name": "frontend"}, [SpanSpec("/dispatch", 1_234_567_000_000)])])]
    )
    assert histogram_block(DUR, labels("frontend", "/dispatch"), [0] * 16 + [1], "1.234567e+06") in text
    agg = SpanMetricsAggregator(load_config({}))
    for count in (1_500_000, 999_999):
        agg2 = SpanMetricsAggregator(load_config({"histogram": {"disable": True}}))
        req = request([({"service.name": "frontend"}, [SpanSpec("/dispatch")] * 1000)])
        for _ in range(count // 1000):
            agg2.consume(req, S)
        if count % 1000:
            agg2.consume(
                request([({"service.name": "frontend"}, [SpanSpec("/dispatch")] * (count % 1000))]), S
            )
        exp = exporter()
        exp.accept(agg2.flush(S + 1), S + 1)
        body = exp.scrape("", "", S + 2).body.decode()
        shown = "1.5e+06" if count == 1_500_000 else "999999"
        assert f"{CALLS}{{{labels('frontend', '/dispatch')}}} {shown}\n" in body
    del agg


def test_tv20_delta_temporality_through_the_exporter() -> None:
    agg = SpanMetricsAggregator(
        load_config(
            {"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA", "metrics_flush_interval": "1s"}
        )
    )
    exp = exporter()
    span = request([({"service.name": "frontend"}, [SpanSpec("HTTP GET", 5_000_000, kind=3)])])
    agg.consume(span, S)
    exp.accept(agg.flush(S + 1_000_000_000), S + 1_000_000_000)
    agg.consume(span, S + 1_500_000_000)
    exp.accept(agg.flush(S + 2_000_000_000), S + 2_000_000_000)
    text = exp.scrape("", "", S + 2_100_000_000).body.decode()
    lab = labels("frontend", "HTTP GET", kind="SPAN_KIND_CLIENT")
    assert f"{CALLS}{{{lab}}} 2\n" in text
    assert histogram_block(DUR, lab, [0, 0, 2] + [2] * 14, "10") in text


def test_tv21_label_value_escaping() -> None:
    text = scrape_text([request([({"service.name": "frontend"}, [SpanSpec('GET /a"b\\c\nd')])])])
    assert 'span_name="GET /a\\"b\\\\c\\nd"' in text


def test_tv22_two_pods_same_service() -> None:
    res_a = {**HOTROD_RESOURCE, "hotrod.pod.hash": "aaa", "hotrod.pod.name": "hotrod-aaa-1"}
    res_b = {**HOTROD_RESOURCE, "hotrod.pod.hash": "bbb", "hotrod.pod.name": "hotrod-bbb-1"}
    req = request(
        [(res_a, [SpanSpec("/dispatch", 100_000_000)]), (res_b, [SpanSpec("/dispatch", 900_000_000)])]
    )
    text = scrape_text([req], SCENARIO_DIMS)
    lab_a = L6.replace('hotrod_pod_hash="6f7b9c8d5"', 'hotrod_pod_hash="aaa"').replace(
        'hotrod_pod_name="hotrod-6f7b9c8d5-x2k4q"', 'hotrod_pod_name="hotrod-aaa-1"'
    )
    lab_b = L6.replace('hotrod_pod_hash="6f7b9c8d5"', 'hotrod_pod_hash="bbb"').replace(
        'hotrod_pod_name="hotrod-6f7b9c8d5-x2k4q"', 'hotrod_pod_name="hotrod-bbb-1"'
    )
    assert histogram_block(DUR, lab_a, [0] * 6 + [1] * 11, "100") in text
    assert histogram_block(DUR, lab_b, [0] * 10 + [1] * 7, "900") in text
    # Without the pod dimensions both resources map to the same job and labels: last flush wins.
    text2 = scrape_text([req])
    assert text2.count(f"{CALLS}{{") == 1


def test_tv23_one_hotrod_dispatch() -> None:
    """Informative: the calls series one /dispatch produces, all carrying the hotrod_* labels."""

    def res(service: str) -> dict[str, str]:
        return {**HOTROD_RESOURCE, "service.name": service}

    get_driver = [SpanSpec("GetDriver", 10_000_000, kind=3, status=2 if i % 5 == 0 else 0) for i in range(12)]
    req = request(
        [
            (res("frontend"), [SpanSpec("/dispatch", 700_000_000)] + [SpanSpec("HTTP GET", 50_000_000, kind=3)] * 11
             + [SpanSpec("driver.DriverService/FindNearest", 200_000_000, kind=3)]),
            (res("customer"), [SpanSpec("/customer", 300_000_000)]),
            (res("mysql"), [SpanSpec("SQL SELECT", 300_000_000, kind=3)]),
            (res("driver"), [SpanSpec("driver.DriverService/FindNearest", 190_000_000)]),
            (res("redis-manual"), [SpanSpec("FindDriverIDs", 20_000_000, kind=3), *get_driver]),
            (res("route"), [SpanSpec("/route", 50_000_000)] * 10),
        ]
    )  # fmt: skip
    text = scrape_text([req], SCENARIO_DIMS)
    calls = [line for line in text.splitlines() if line.startswith(CALLS + "{")]
    assert len(calls) == 10
    assert all('hotrod_namespace="hotrod"' in c and 'hotrod_pod_hash="6f7b9c8d5"' in c for c in calls)
    assert any(
        'service_name="redis-manual"' in c and 'status_code="STATUS_CODE_ERROR"' in c and c.endswith(" 3")
        for c in calls
    )
    assert any('service_name="route"' in c and c.endswith(" 10") for c in calls)
    assert any(
        'service_name="frontend"' in c and 'span_name="HTTP GET"' in c and c.endswith(" 11") for c in calls
    )
