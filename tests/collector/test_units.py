"""Small pieces with upstream's exact texts: IDs, the mapstructure-style decoder, ${} expansion, go-yaml
semantics, addresses, Go duration strings, the debug exporter's renderings, batch splitting."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flightdeck.collector import netaddr, otlpjson, yamlgo
from flightdeck.collector.component import ComponentID, PipelineID, Signal
from flightdeck.collector.components.batchprocessor import split
from flightdeck.collector.components.debugexporter import text
from flightdeck.collector.confdecode import DurationNs, decode, format_go_duration_ns
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.expand import Expanded, Expander
from flightdeck.collector.otlpjson import decode as json_decode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("otlp", ComponentID("otlp")),
        ("otlp/2", ComponentID("otlp", "2")),
        (" otlp / a b ", None),
        ("otlp/ x", ComponentID("otlp", "x")),
    ],
)
def test_component_id_ok(text: str, expected: ComponentID | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match=r'in "a b" id: invalid character\(s\) in name "a b"'):
            ComponentID.parse(text)
    else:
        assert ComponentID.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "id must not be empty"),
        ("/x", 'in "/x" id: the part before / should not be empty'),
        ("x/", 'in "x/" id: the part after / should not be empty'),
        ("1otlp", 'in "1otlp" id: invalid character(s) in type "1otlp"'),
        ("ot-lp", 'in "ot-lp" id: invalid character(s) in type "ot-lp"'),
        ("otlp/a$b", 'in "a$b" id: invalid character(s) in name "a$b"'),
    ],
)
def test_component_id_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        ComponentID.parse(text)
    assert str(err.value) == message


def test_pipeline_id() -> None:
    assert PipelineID.parse("traces/out") == PipelineID(Signal.TRACES, "out")
    assert str(PipelineID.parse("metrics")) == "metrics"
    with pytest.raises(ValueError) as err:
        PipelineID.parse("trace")
    assert str(err.value) == 'in "trace" id: unknown pipeline signal: "trace"'


from dataclasses import dataclass, field  # noqa: E402


@dataclass
class _Inner:
    a: int = 1
    names: list[str] = field(default_factory=list)


@dataclass
class _Cfg:
    endpoint: str = "x"
    timeout: DurationNs = 5_000_000_000
    inner: _Inner = field(default_factory=_Inner)
    opt: _Inner | None = None
    flag: bool = False


def test_decode_overlays_defaults() -> None:
    cfg = decode({"timeout": "1m30s", "inner": {"names": "a,b"}, "opt": None}, _Cfg())
    assert cfg.timeout == 90_000_000_000 and cfg.inner.names == ["a", "b"] and cfg.inner.a == 1
    assert cfg.opt == _Inner()  # present, even empty: enabled with defaults
    assert decode(None, _Cfg()) == _Cfg()
    assert decode({"endpoint": Expanded(4318, "4318")}, _Cfg()).endpoint == "4318"


def test_decode_errors_are_joined_like_mapstructure() -> None:
    with pytest.raises(ConfigError) as err:
        decode({"bogus": 1, "zz": 2, "timeout": "5x", "flag": "yes", "inner": {"a": "1", "c": 0}}, _Cfg())
    assert str(err.value) == (
        "decoding failed due to the following error(s):\n\n"
        "'timeout' time: unknown unit\n"
        "'inner.a' expected type 'int', got unconvertible type 'string'\n"
        "'inner' has invalid keys: c\n"
        "'flag' expected type 'bool', got unconvertible type 'string'\n"
        "'' has invalid keys: bogus, zz"
    )


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (-20_000_000_000, "-20s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (1_500, "1.5µs"),
        (12_345_678_900, "12.3456789s"),
        (250_000_000, "250ms"),
        (999, "999ns"),
    ],
)
def test_go_duration_string(ns: int, text: str) -> None:
    assert format_go_duration_ns(ns) == text


def test_env_expansion_rules() -> None:
    env = {"PORT": "4318", "HOST": "h", "EMPTY": ""}
    ex = Expander(env)
    out = ex.expand(
        {
            "a": "${env:PORT}",
            "b": "${HOST}:${env:PORT}",
            "c": "$${env:PORT}",
            "d": "${env:MISSING:-dflt}",
            "e": "${env:MISSING}",
            "f": ["${PORT}"],
        }
    )
    assert out["a"] == Expanded(4318, "4318")
    assert out["b"] == "h:4318"
    assert out["c"] == "${env:PORT}"
    assert out["d"] == "dflt"  # a string result collapses to the plain string, as upstream
    assert out["e"] == Expanded(None, "")
    assert out["f"] == [Expanded(4318, "4318")]
    with pytest.raises(ConfigError, match='scheme "foo" is not supported for uri "foo:bar"'):
        ex.expand("${foo:bar}")
    with pytest.raises(ConfigError, match="has invalid name"):
        ex.expand("${env:1X}")


def test_go_yaml_semantics() -> None:
    assert yamlgo.load("a: on\nb: 1:30\nc: 0x1F\nd: 010\ne: .inf\nf: ~\ng: TRUE\n") == {
        "a": "on",
        "b": "1:30",
        "c": 31,
        "d": 8,
        "e": float("inf"),
        "f": None,
        "g": True,
    }
    with pytest.raises(yamlgo.YAMLError) as err:
        yamlgo.load("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert str(err.value) == (
        'yaml: unmarshal errors:\n  line 4: mapping key "c" already defined at line 3\n'
        '  line 5: mapping key "a" already defined at line 1'
    )


def test_listen_and_dial_addresses(tmp_path: object) -> None:
    env = {"FLIGHTDECK_POD_IP": "127.10.0.5"}
    assert netaddr.listen_address("0.0.0.0:4318", env) == ("127.10.0.5", 4318)
    assert netaddr.listen_address(":4318", env) == ("127.10.0.5", 4318)
    assert netaddr.listen_address("[::]:4318", env) == ("127.10.0.5", 4318)
    assert netaddr.listen_address("localhost:4318", env) == ("localhost", 4318)
    assert netaddr.listen_address("0.0.0.0:4318", {}) == ("0.0.0.0", 4318)
    with pytest.raises(netaddr.AddressError, match="missing port in address"):
        netaddr.listen_address("localhost", {})
    import json
    from pathlib import Path

    hosts = Path(str(tmp_path)) / "hosts.json"
    hosts.write_text(json.dumps({"jaeger-collector.jaeger.svc.cluster.local": "127.20.0.9"}))
    env2 = {"FLIGHTDECK_CLUSTER_HOSTS": str(hosts)}
    assert netaddr.dial_address("jaeger-collector.jaeger.svc.cluster.local:4317", env2) == (
        "127.20.0.9",
        4317,
    )
    assert netaddr.dial_address("example.com:4317", env2) == ("example.com", 4317)


REQ = json_decode(
    """{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}}]},
    "scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[
      {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a","kind":2,
       "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000012500000",
       "attributes":[{"key":"n","value":{"intValue":"7"}},{"key":"r","value":{"doubleValue":0.5}}]},
      {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060709","name":"b","kind":3}]}]}]}""",
    ExportTraceServiceRequest,
)


def test_debug_normal_and_detailed_text() -> None:
    assert text.normal_traces(REQ) == (
        "ResourceTraces #0 service.name=frontend\n"
        "ScopeTraces #0 s@1\n"
        "a 0102030405060708090a0b0c0d0e0f10 0102030405060708 n=7 r=0.5\n"
        "b 0102030405060708090a0b0c0d0e0f10 0102030405060709\n"
    )
    detailed = text.detailed_traces(REQ)
    assert "Resource attributes:\n     -> service.name: Str(frontend)\n" in detailed
    assert "InstrumentationScope s 1\n" in detailed
    assert "    Kind           : Server\n" in detailed
    assert "    Start time     : 2023-11-14 22:13:20 +0000 UTC\n" in detailed
    assert "    End time       : 2023-11-14 22:13:20.0125 +0000 UTC\n" in detailed
    assert "     -> n: Int(7)\n     -> r: Double(0.5)\n" in detailed


def test_debug_normal_metrics_prints_floats_like_go_v() -> None:
    """normal verbosity formats doubles with Go's %v: shortest digits, exponent from 1e+06 and below 1e-04."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    req = otlpjson.decode(
        """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
          {"name":"g","gauge":{"dataPoints":[{"asDouble":1234567.5},{"asDouble":0.00001},{"asDouble":123456}]}},
          {"name":"h","histogram":{"dataPoints":[{"count":"2","sum":2500000,"bucketCounts":["1","1"],
            "explicitBounds":[1e21],"min":0.5,"max":2.5e6}]}},
          {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"4","sum":7,"scale":0,"zeroCount":"1",
            "zeroThreshold":0.001,"min":1,"max":4,"positive":{"offset":-1,"bucketCounts":["1","0","2"]},
            "negative":{"offset":1,"bucketCounts":["0"]}}]}}]}]}]}""",
        ExportMetricsServiceRequest,
    )
    assert text.normal_metrics(req).splitlines()[2:] == [
        "g{} 1.2345675e+06",
        "g{} 1e-05",
        "g{} 123456",
        "h{} count=2 sum=2.5e+06 min=0.5 max=2.5e+06 le1e+21=1 1",
        "e{} count=4 sum=7 min=1 max=4 le2=0 le0.5=1 le1=0 le2=2 zero_count0.001=1",
    ]


def test_batch_split_keeps_order_and_resources() -> None:
    pieces = list(split(Signal.TRACES, REQ, 1))
    assert [p.resource_spans[0].scope_spans[0].spans[0].name for p in pieces] == ["a", "b"]
    assert all(p.resource_spans[0].resource == REQ.resource_spans[0].resource for p in pieces)
    assert all(p.resource_spans[0].scope_spans[0].scope.name == "s" for p in pieces)


def test_receiver_error_mapping() -> None:
    from flightdeck.collector.component import ConsumerError
    from flightdeck.collector.components.otlpreceiver.receiver import http_code_for, status_for_error

    assert status_for_error(ConsumerError("x")) == (14, "x", None)
    assert status_for_error(ConsumerError("x", permanent=True)) == (13, "x", None)
    assert status_for_error(ConsumerError("x", grpc_code=8, retry_after=3)) == (8, "x", 3)
    assert [http_code_for(c) for c in (14, 8, 3, 16, 7, 12, 13, 2, 4)] == [
        503,
        429,
        400,
        401,
        403,
        404,
        500,
        500,
        503,
    ]


def test_log_sampling_bounds_floods() -> None:
    import io

    from flightdeck.collector.zaplog import ZapLogger

    out = io.StringIO()
    log = ZapLogger(stream=out).with_fields(component="x")
    for _ in range(250):
        log.error("Exporting failed. Rejecting data.", rejected_items=1)
    assert out.getvalue().count("Exporting failed.") == 10 + 2  # first 10, then every 100th


def test_self_metrics_exposition() -> None:
    from flightdeck.collector.telemetry import TelemetryRegistry

    tel = TelemetryRegistry()
    tel.counter(
        "otelcol_exporter_sent_spans",
        "Number of spans successfully sent to destination. [Alpha]",
        {"exporter": "otlp"},
    ).add(3)
    tel.gauge(
        "otelcol_exporter_queue_size",
        "Current size of the retry queue (in batches). [Alpha]",
        {"data_type": "traces", "exporter": "otlp"},
        lambda: 2.0,
    )
    text = tel.render().decode()
    assert (
        "# HELP otelcol_exporter_queue_size Current size of the retry queue (in batches). [Alpha]\n"
        "# TYPE otelcol_exporter_queue_size gauge\n"
        'otelcol_exporter_queue_size{data_type="traces",exporter="otlp"} 2\n'
        "# HELP otelcol_exporter_sent_spans Number of spans successfully sent to destination. [Alpha]\n"
        "# TYPE otelcol_exporter_sent_spans counter\n"
        'otelcol_exporter_sent_spans{exporter="otlp"} 3\n'
    ) in text
    assert "# TYPE otelcol_process_uptime counter\n" in text
    assert 'target_info{service_instance_id="' in text
