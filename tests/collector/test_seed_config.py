"""The seed's fixed collector ConfigMap (expert-solved/otel/config.yaml) runs as given under flightdeck's
local runtime conventions: its own pod IP, and cluster names from the hosts file — the ``otlp`` exporter
reaches a stand-in Jaeger at ``jaeger-collector.jaeger.svc.cluster.local:4317``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.collector.harness import running_collector

SOLVED = Path("/work/shared/challenge/expert-solved/otel/config.yaml")


def _loopback() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


@pytest.mark.skipif(not SOLVED.is_file(), reason="seed challenge files not present")
def test_seed_fixed_config_runs_as_given(tmp_path: Path) -> None:
    pod_ip, jaeger_ip = _loopback(), _loopback()
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps({"jaeger-collector.jaeger.svc.cluster.local": jaeger_ip}))
    jaeger = f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "{jaeger_ip}:4317"}}}}}}}}
exporters: {{capture: {{name: jaeger}}}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines: {{traces: {{receivers: [otlp], exporters: [capture]}}}}
"""
    env = {**os.environ, "FLIGHTDECK_POD_IP": pod_ip, "FLIGHTDECK_CLUSTER_HOSTS": str(hosts)}
    with running_collector(jaeger) as stand_in:
        captured = stand_in.captured("jaeger")
        proc = subprocess.Popen(
            [sys.executable, "-m", "flightdeck.cli.main", "collector", "--config", str(SOLVED)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://{pod_ip}:13133/", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
            provider = TracerProvider(
                resource=Resource.create({"service.name": "frontend", "hotrod.pod.hash": "h1"})
            )
            provider.add_span_processor(
                SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://{pod_ip}:4318/v1/traces"))
            )
            with provider.get_tracer("t").start_as_current_span("/dispatch"):
                pass
            provider.shutdown()
            deadline = time.monotonic() + 15
            while not captured.items:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            scrape = httpx.get(f"http://{pod_ip}:8889/metrics", timeout=5)
            assert scrape.status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    span = captured.items[0].resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "/dispatch"
    assert "Name           : /dispatch" in err  # debug exporter, verbosity: detailed
