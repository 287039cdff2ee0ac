"""Real OTLP clients against ``flightdeck collector``: the OpenTelemetry Python SDK's HTTP and gRPC
exporters; and the ``otlp`` exporter delivering spans intact to a second collector."""

from __future__ import annotations

import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from flightdeck.collector.component import Kind
from tests.collector.harness import Captured, Running, running_collector
from tests.support.prometheus import free_port


def _config(http_port: int, grpc_port: int, name: str, extra_exporters: str = "") -> str:
    return f"""
receivers:
  otlp:
    protocols:
      http: {{endpoint: "127.0.0.1:{http_port}"}}
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
exporters:
  capture: {{name: {name}}}
{extra_exporters}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [capture{", otlp" if extra_exporters else ""}]}}
"""


def _emit(exporter: object, service: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service, "hotrod.pod.hash": "abc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    tracer = provider.get_tracer("tests.collector", "1.2.3")
    with tracer.start_as_current_span("/dispatch", kind=SpanKind.SERVER) as span:
        span.set_attribute("http.response.status_code", 200)
        with tracer.start_as_current_span("HTTP GET", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
            child.add_event("retry", {"attempt": 2})
    provider.shutdown()


def _span_count(box: Captured) -> int:
    return sum(len(ss.spans) for m in box.items for rs in m.resource_spans for ss in rs.scope_spans)


def _wait(box: Captured, n: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while _span_count(box) < n:
        assert time.monotonic() < end, f"only {box.items!r}"
        time.sleep(0.02)


def _spans(box: Captured) -> dict[str, object]:
    out = {}
    for m in box.items:
        for rs in m.resource_spans:
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    out[sp.name] = (rs, ss, sp)
    return out


def test_python_sdk_http_and_grpc_exporters() -> None:
    hp, gp = free_port(), free_port()
    with running_collector(_config(hp, gp, "sdk")) as running:
        _emit(HTTPSpanExporter(endpoint=f"http://127.0.0.1:{hp}/v1/traces"), "via-http")
        _emit(GRPCSpanExporter(endpoint=f"127.0.0.1:{gp}", insecure=True), "via-grpc")
        sdk = running.captured("sdk")
        _wait(sdk, 4)
        receiver = running.component(Kind.RECEIVER, "otlp")
        tel = running.collector.telemetry
        assert tel.value("otelcol_receiver_accepted_spans", {"receiver": "otlp", "transport": "http"}) == 2
        assert tel.value("otelcol_receiver_accepted_spans", {"receiver": "otlp", "transport": "grpc"}) == 2
        assert receiver.http_port == hp
    services = {
        kv.value.string_value
        for m in sdk.items
        for rs in m.resource_spans
        for kv in rs.resource.attributes
        if kv.key == "service.name"
    }
    assert services == {"via-http", "via-grpc"}
    _rs, ss, sp = _spans(sdk)["HTTP GET"]  # type: ignore[misc]
    assert (ss.scope.name, ss.scope.version) == ("tests.collector", "1.2.3")
    assert (sp.kind, sp.status.code, sp.status.message) == (3, 2, "boom")
    assert sp.events[0].name == "retry"


@pytest.mark.parametrize("consumers", [None, 1])
def test_otlp_exporter_delivers_spans_intact_to_a_second_collector(consumers: int | None) -> None:
    """collector A (otlp receiver → otlp exporter) → collector B (otlp gRPC receiver → capture).

    The SDK's SimpleSpanProcessor sends each span as its own request. With the default sending queue
    (10 consumers, as upstream) those requests travel concurrently, so B may get them in another order:
    upstream promises no order across requests, and the comparison is of the multiset of requests. With
    ``num_consumers: 1`` one consumer sends them one after the other, so the order is kept too.
    """
    b_http, b_grpc = free_port(), free_port()
    a_http, a_grpc = free_port(), free_port()
    queue = f"\n    sending_queue: {{num_consumers: {consumers}}}" if consumers is not None else ""
    with running_collector(_config(b_http, b_grpc, "second")) as b:
        extra = f"""  otlp:
    endpoint: 127.0.0.1:{b_grpc}
    tls: {{insecure: true}}{queue}"""
        with running_collector(_config(a_http, a_grpc, "first", extra)) as a:
            _emit(HTTPSpanExporter(endpoint=f"http://127.0.0.1:{a_http}/v1/traces"), "frontend")
            _wait(b.captured("second"), 2)
            tel = a.collector.telemetry
            deadline = time.monotonic() + 5
            while tel.value("otelcol_exporter_sent_spans", {"exporter": "otlp"}) != 2:
                assert time.monotonic() < deadline
                time.sleep(0.02)
    first = _requests(a, "first")
    second = _requests(b, "second")
    assert len(first) == 2  # one request per span
    if consumers == 1:
        assert first == second  # byte-identical requests, in the order A received them
    else:
        assert sorted(first) == sorted(second)  # byte-identical requests: nothing lost or altered


def _requests(running: Running, name: str) -> list[bytes]:
    return [m.SerializeToString(deterministic=True) for m in running.captured(name).items]
