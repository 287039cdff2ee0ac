"""The OpenTelemetry Node.js SDK (``@opentelemetry/sdk-trace-node`` + ``exporter-trace-otlp-proto``)
sends spans to ``flightdeck collector``. Needs ``npm ci --prefix tests/collector/node``."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.collector.harness import running_collector
from tests.support.prometheus import free_port

NODE_DIR = Path(__file__).parent / "node"


def test_node_sdk_sends_spans() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@opentelemetry" / "exporter-trace-otlp-proto").is_dir():
        pytest.skip("Node.js SDK not installed: run `npm ci --prefix tests/collector/node`")
    port = free_port()
    text = f"""
receivers: {{otlp: {{protocols: {{http: {{endpoint: "127.0.0.1:{port}"}}}}}}}}
exporters: {{capture: {{name: node}}}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines: {{traces: {{receivers: [otlp], exporters: [capture]}}}}
"""
    with running_collector(text) as running:
        proc = subprocess.run(
            ["node", "send.mjs", f"http://127.0.0.1:{port}/v1/traces", "node-frontend", "10"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        deadline = time.monotonic() + 10
        while (
            running.collector.telemetry.value(
                "otelcol_receiver_accepted_spans", {"receiver": "otlp", "transport": "http"}
            )
            != 10
        ):
            assert time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
    spans = [
        (rs, ss, sp)
        for m in running.captured("node").items
        for rs in m.resource_spans
        for ss in rs.scope_spans
        for sp in ss.spans
    ]
    assert len(spans) == 10
    rs, ss, first = spans[0]
    assert {kv.key: kv.value.string_value for kv in rs.resource.attributes}["service.name"] == "node-frontend"
    assert ss.scope.name == "node-client"
    assert (first.name, first.kind) == ("/dispatch", 2)
    assert sum(1 for _, _, sp in spans if sp.status.code == 2) == 2
