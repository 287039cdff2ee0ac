"""Spec §10: the OTLP/HTTP receiver's status codes, content types and bodies, driven with curl and httpx."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector.harness import Running, running_collector
from tests.support.prometheus import free_port

SPAN_JSON = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "frontend"}}]},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "/dispatch",
                            "kind": 2,
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000000012500000",
                        }
                    ]
                }
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[Running, str]]:
    port = free_port()
    text = f"""
receivers: {{otlp: {{protocols: {{http: {{endpoint: 127.0.0.1:{port}}}}}}}}}
exporters: {{capture: {{name: http}}}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [capture]}}
"""
    with running_collector(text) as running:
        yield running, f"http://127.0.0.1:{port}"


def post(url: str, body: bytes, ctype: str | None, **headers: str) -> httpx.Response:
    h = dict(headers)
    if ctype is not None:
        h["content-type"] = ctype
    return httpx.post(url, content=body, headers=h, timeout=10)


def test_empty_json_request(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/traces", b'{"resourceSpans":[]}', "application/json")
    assert (r.status_code, r.headers["content-type"], r.text) == (200, "application/json", "{}")


def test_one_span_json_reaches_the_pipeline(collector: tuple[Running, str]) -> None:
    running, base = collector
    box = running.captured("http")
    before = len(box.items)
    r = post(base + "/v1/traces", json.dumps(SPAN_JSON).encode(), "application/json; charset=utf-8")
    assert (r.status_code, r.text) == (200, "{}")
    got = box.items[before]
    span = got.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert (span.kind, span.end_time_unix_nano - span.start_time_unix_nano) == (2, 12_500_000)


def test_protobuf_and_gzip(collector: tuple[Running, str]) -> None:
    _, base = collector
    req = ExportTraceServiceRequest()
    from flightdeck.collector import otlpjson

    req.CopyFrom(otlpjson.decode(json.dumps(SPAN_JSON), ExportTraceServiceRequest))
    r = post(base + "/v1/traces", req.SerializeToString(), "application/x-protobuf")
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "application/x-protobuf", b"")
    r = post(
        base + "/v1/traces",
        gzip.compress(json.dumps(SPAN_JSON).encode()),
        "application/json",
        **{"content-encoding": "gzip"},
    )
    assert (r.status_code, r.text) == (200, "{}")


def test_wrong_content_type_is_415(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/traces", b"x", "text/plain")
    assert (r.status_code, r.headers["content-type"], r.text) == (
        415,
        "text/plain",
        "415 unsupported media type, supported: [application/json, application/x-protobuf]",
    )
    assert post(base + "/v1/traces", b"x", None).status_code == 415


def test_get_is_405(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = httpx.get(base + "/v1/traces")
    assert (r.status_code, r.headers["content-type"], r.text) == (
        405,
        "text/plain",
        "405 method not allowed, supported: [POST]",
    )


def test_truncated_json_is_400_status(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/traces", b'{"resourceSpans":', "application/json")
    assert (r.status_code, r.headers["content-type"]) == (400, "application/json")
    body = r.json()
    assert body["code"] == 3 and body["message"]
    assert list(body) == ["code", "message"]


def test_bad_protobuf_is_400_protobuf_status(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/traces", b"\xff\xff\xff", "application/x-protobuf")
    assert (r.status_code, r.headers["content-type"]) == (400, "application/x-protobuf")
    st = status_pb2.Status.FromString(r.content)
    assert st.code == 3 and st.message


def test_unsupported_content_encoding(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/traces", b"{}", "application/json", **{"content-encoding": "br"})
    assert (r.status_code, r.text) == (400, '{"code":3,"message":"unsupported Content-Encoding: br"}')
    r = post(base + "/v1/traces", b"{}", "text/plain", **{"content-encoding": "br"})
    assert (r.status_code, r.headers["content-type"], r.text) == (
        500,
        "application/json",
        '{"code": 13, "message": "failed to marshal error message"}',
    )


def test_signal_without_pipeline_is_404(collector: tuple[Running, str]) -> None:
    _, base = collector
    r = post(base + "/v1/metrics", b"{}", "application/json")
    assert (r.status_code, r.headers["content-type"], r.text) == (
        404,
        "text/plain; charset=utf-8",
        "404 page not found\n",
    )


def test_unknown_enum_name_is_400(collector: tuple[Running, str]) -> None:
    _, base = collector
    bad = json.loads(json.dumps(SPAN_JSON))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"] = "SPAN_KIND_BOGUS"
    assert post(base + "/v1/traces", json.dumps(bad).encode(), "application/json").status_code == 400
    ok = json.loads(json.dumps(SPAN_JSON))
    ok["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"] = "SPAN_KIND_CLIENT"
    ok["resourceSpans"][0]["scope_spans"] = ok["resourceSpans"][0].pop("scopeSpans")  # snake_case accepted
    assert post(base + "/v1/traces", json.dumps(ok).encode(), "application/json").status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_status_codes(collector: tuple[Running, str]) -> None:
    _, base = collector

    def curl(*args: str) -> str:
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout

    body = json.dumps(SPAN_JSON)
    assert (
        curl("-X", "POST", "-H", "Content-Type: application/json", "-d", body, base + "/v1/traces") == "200"
    )
    assert curl("-X", "POST", "-H", "Content-Type: text/plain", "-d", "x", base + "/v1/traces") == "415"
    assert curl(base + "/v1/traces") == "405"
    assert curl("-X", "POST", "-H", "Content-Type: application/json", "-d", "{", base + "/v1/traces") == "400"
    # a body over 1 KiB makes curl send "Expect: 100-continue"
    big = json.dumps({"resourceSpans": [], "pad": "x" * 4000})
    assert curl("-X", "POST", "-H", "Content-Type: application/json", "-d", big, base + "/v1/traces") == "200"
