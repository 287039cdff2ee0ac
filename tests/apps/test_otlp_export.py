"""The real OTLP/HTTP exporter: a dispatch reaches a receiver as one trace from six service resources."""

from __future__ import annotations

import gzip
import http.server
import io
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from flightdeck.apps.hotrod import HotRod
from tests.apps.conftest import BASE, get


class Receiver:
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                assert self.headers["Content-Type"] == "application/x-protobuf"
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append(request)
                receiver.paths.append(self.path)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[dict[str, str], Span]]:
        out: list[tuple[dict[str, str], Span]] = []
        for request in self.requests:
            for rs in request.resource_spans:
                resource = {a.key: a.value.string_value for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    out.extend((resource, span) for span in ss.spans)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_dispatch_exported_over_otlp_http(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "hotrod.pod.name=hotrod-7d9-x,hotrod.namespace=hotrod,hotrod.pod.hash=7d9"
    )
    app = HotRod(BASE, log_out=io.StringIO()).start()  # no exporter given: -x otlp, batch processors
    try:
        reply = get(app.frontend_url + "/dispatch?customer=123")
        assert reply.status == 200
        app.telemetry.force_flush()
    finally:
        app.stop()
    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    trace_id = bytes.fromhex(reply.headers["traceresponse"].split("-")[1])
    assert {span.trace_id for _, span in spans} == {trace_id}
    assert len(spans) == 40
    by_service: dict[str, list[str]] = {}
    for resource, span in spans:
        assert resource["hotrod.pod.hash"] == "7d9" and resource["hotrod.namespace"] == "hotrod"
        by_service.setdefault(resource["service.name"], []).append(span.name)
    assert {k: sorted(set(v)) for k, v in by_service.items()} == {
        "frontend": ["/dispatch", "HTTP GET", "driver.DriverService/FindNearest"],
        "customer": ["/customer"],
        "mysql": ["SQL SELECT"],
        "driver": ["driver.DriverService/FindNearest"],
        "redis-manual": ["FindDriverIDs", "GetDriver"],
        "route": ["/route"],
    }
    kinds = {(span.name, span.kind) for _, span in spans}
    assert ("/dispatch", Span.SPAN_KIND_SERVER) in kinds and ("SQL SELECT", Span.SPAN_KIND_CLIENT) in kinds
    errors = [span for _, span in spans if span.status.code == 2]  # STATUS_CODE_ERROR
    assert {span.name for span in errors} == {"GetDriver"} and len(errors) == 3
