"""The seed's fixed collector config runs as given (listen ports moved to free ones): spans sent by the real
OpenTelemetry Python SDK over OTLP/HTTP come out of ``/metrics`` as the seed's RED metrics."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from flightdeck.collector.component import Kind
from tests.collector.harness import running_collector
from tests.support.prometheus import free_port

SEED = Path("/work/shared/challenge/expert-solved/otel/config.yaml")
if not SEED.exists():  # the repository copy of the seed's challenge
    SEED = Path(__file__).resolve().parents[4] / "examples" / "hotrod-gitops" / "otel" / "config.yaml"


def seed_config() -> tuple[str, int, int]:
    doc = yaml.safe_load(SEED.read_text())
    text: str = doc["data"]["collector-config.yaml"]
    otlp, prom, health = free_port(), free_port(), free_port()
    text = text.replace("0.0.0.0:4318", f"127.0.0.1:{otlp}").replace('"0.0.0.0:8889"', f'"127.0.0.1:{prom}"')
    text = text.replace("0.0.0.0:13133", f"127.0.0.1:{health}")
    return text, otlp, prom


def test_seed_config_spans_to_prometheus_exposition() -> None:
    text, otlp_port, prom_port = seed_config()
    with running_collector(text) as col:
        # Like HotROD's Go SDK resource: no service.instance.id (Resource.create would add SDK defaults).
        provider = TracerProvider(
            resource=Resource(
                {
                    "service.name": "frontend",
                    "hotrod.namespace": "hotrod",
                    "hotrod.pod.name": "hotrod-6f7b9c8d5-x2k4q",
                    "hotrod.pod.hash": "6f7b9c8d5",
                }
            )
        )
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{otlp_port}/v1/traces"))
        )
        tracer = provider.get_tracer("test")
        start = time.time_ns()
        for _ in range(3):
            span = tracer.start_span("/dispatch", kind=SpanKind.SERVER, start_time=start)
            span.end(end_time=start + 687_300_000)
        provider.shutdown()

        connector = col.component(Kind.CONNECTOR, "spanmetrics")

        async def flush() -> None:
            await connector.export_now()

        col.run(flush())
        deadline = time.monotonic() + 10
        body = ""
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/metrics", timeout=5) as resp:
                body = resp.read().decode()
            if "traces_span_metrics_calls_total" in body:
                break
            col.run(asyncio.sleep(0.1))
        labels = (
            'hotrod_namespace="hotrod",hotrod_pod_hash="6f7b9c8d5",hotrod_pod_name="hotrod-6f7b9c8d5-x2k4q",'
            'job="frontend",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",'
            'service_name="frontend",span_kind="SPAN_KIND_SERVER",span_name="/dispatch",status_code="STATUS_CODE_UNSET"'
        )
        assert f"traces_span_metrics_calls_total{{{labels}}} 3\n" in body
        assert f'traces_span_metrics_duration_milliseconds_bucket{{{labels},le="800"}} 3\n' in body
        assert f"traces_span_metrics_duration_milliseconds_sum{{{labels}}} 2061.8999999999996\n" in body
