"""The real OpenTelemetry Python SDK exports to the embedded trace store; curl reads the Jaeger API."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from flightdeck.traces.server import TraceServer


@pytest.fixture(scope="module")
def server() -> Iterator[TraceServer]:
    srv = TraceServer(log_stream=io.StringIO()).start()
    yield srv
    srv.stop()


def curl(url: str, *args: str) -> tuple[int, str]:
    out = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def provider(exporter: object, service: str) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create({"service.name": service, "host.name": "node-1"}))
    tp.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    return tp


def test_http_exporter_round_trip(server: TraceServer) -> None:
    tp = provider(HttpExporter(endpoint=f"{server.otlp_http_url}/v1/traces"), "frontend")
    tracer = tp.get_tracer("hotrod.frontend", "1.76.0")
    with tracer.start_as_current_span(
        "/dispatch", kind=trace.SpanKind.SERVER, attributes={"customer": "123"}
    ) as root:
        root.add_event("searching", {"radius": 3})
        with tracer.start_as_current_span("HTTP GET /customer", kind=trace.SpanKind.CLIENT) as child:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "timeout"))
    tp.shutdown()
    trace_id = f"{root.get_span_context().trace_id:032x}"

    code, body = curl(f"{server.query_url}/api/traces/{trace_id}")
    assert code == 200
    (got,) = json.loads(body)["data"]
    assert got["traceID"] == trace_id
    spans = {s["operationName"]: s for s in got["spans"]}
    root_json, child_json = spans["/dispatch"], spans["HTTP GET /customer"]
    assert root_json["spanID"] == f"{root.get_span_context().span_id:016x}"
    assert root_json["references"] == []
    assert child_json["references"] == [
        {"refType": "CHILD_OF", "traceID": trace_id, "spanID": root_json["spanID"]}
    ]
    tags = {t["key"]: (t["type"], t["value"]) for t in child_json["tags"]}
    assert tags["span.kind"] == ("string", "client")
    assert tags["otel.status_code"] == ("string", "ERROR")
    assert tags["error"] == ("bool", True)
    assert tags["otel.status_description"] == ("string", "timeout")
    assert tags["otel.scope.name"] == ("string", "hotrod.frontend")
    assert [t["key"] for t in root_json["tags"]] == sorted(t["key"] for t in root_json["tags"])
    (log,) = root_json["logs"]
    assert log["fields"] == [
        {"key": "event", "type": "string", "value": "searching"},
        {"key": "radius", "type": "int64", "value": 3},
    ]
    # microsecond times and durations from the SDK's nanoseconds
    assert root_json["startTime"] == root.start_time // 1000  # type: ignore[operator]
    assert root_json["duration"] == (root.end_time - root.start_time) // 1000  # type: ignore[operator]
    process = got["processes"][root_json["processID"]]
    assert process["serviceName"] == "frontend"
    ptags = {t["key"]: t["value"] for t in process["tags"]}
    assert ptags["host.name"] == "node-1" and ptags["telemetry.sdk.language"] == "python"

    code, body = curl(f"{server.query_url}/api/services/frontend/operations")
    assert code == 200 and json.loads(body)["data"] == ["/dispatch", "HTTP GET /customer"]
    code, body = curl(f"{server.query_url}/api/operations?service=frontend&spanKind=server")
    assert json.loads(body)["data"] == [{"name": "/dispatch", "spanKind": "server"}]


def test_grpc_exporter(server: TraceServer) -> None:
    tp = provider(GrpcExporter(endpoint=f"http://{server.otlp_grpc_address}", insecure=True), "driver")
    with tp.get_tracer("t").start_as_current_span("/FindNearest", kind=trace.SpanKind.SERVER):
        pass
    tp.shutdown()
    code, body = curl(f"{server.query_url}/api/traces?service=driver&lookback=1h")
    assert code == 200
    (got,) = json.loads(body)["data"]
    assert got["spans"][0]["operationName"] == "/FindNearest"


def test_services_and_search_errors_through_curl(server: TraceServer) -> None:
    deadline = time.time() + 5
    while time.time() < deadline:
        code, body = curl(f"{server.query_url}/api/services")
        if {"frontend", "driver"} <= set(json.loads(body)["data"] or []):
            break
        time.sleep(0.05)
    assert json.loads(body)["data"] == sorted(json.loads(body)["data"])
    code, body = curl(f"{server.query_url}/api/traces?service=frontend&minDuration=1x")
    assert code == 400
    assert body == (
        '{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":'
        '"unable to parse param \'minDuration\': time: unknown unit \\"x\\" in duration \\"1x\\""}]}\n'
    )


def test_otlp_http_receiver_statuses(server: TraceServer) -> None:
    url = f"{server.otlp_http_url}/v1/traces"
    code, body = curl(url, "-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", "x")
    assert (code, body) == (
        415,
        "415 unsupported media type, supported: [application/json, application/x-protobuf]",
    )
    code, body = curl(url)
    assert (code, body) == (405, "405 method not allowed, supported: [POST]")
    code, body = curl(
        url, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", '{"resourceSpans":[]}'
    )
    assert (code, body) == (200, "{}")
    bad_id = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708","name":"x"}]}]}]}'
    code, body = curl(url, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", bad_id)
    assert code == 400 and json.loads(body)["code"] == 3
