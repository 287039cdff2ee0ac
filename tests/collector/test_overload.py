"""Overload and faults: an unreachable downstream fills the bounded sending queue, further data is
rejected (and the client told to retry), retries run out into logged drops with counts; the memory
limiter refuses data with upstream's error; the process keeps serving throughout."""

from __future__ import annotations

import json
import re
import time

import httpx

from flightdeck.collector.component import Kind
from flightdeck.collector.components.memorylimiter import Config as MLConfig
from flightdeck.collector.components.memorylimiter import MemoryChecker
from tests.collector.harness import running_collector
from tests.support.prometheus import free_port

SPAN = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "frontend"}}]},
            "scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8, "name": "x", "kind": 2}]}],
        }
    ]
}


def _post(port: int) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/traces",
        content=json.dumps(SPAN),
        headers={"content-type": "application/json"},
        timeout=10,
    )


def _config(port: int, dead: int, retry: str, queue_size: int = 3) -> str:
    return f"""
receivers: {{otlp: {{protocols: {{http: {{endpoint: "127.0.0.1:{port}"}}}}}}}}
exporters:
  otlp:
    endpoint: 127.0.0.1:{dead}
    tls: {{insecure: true}}
    timeout: 200ms
    sending_queue: {{queue_size: {queue_size}, num_consumers: 1}}
    retry_on_failure: {retry}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines: {{traces: {{receivers: [otlp], exporters: [otlp]}}}}
"""


def test_full_queue_rejects_then_drops_are_logged_with_counts() -> None:
    port, dead = free_port(), free_port()
    retry = "{initial_interval: 30s, max_interval: 30s, max_elapsed_time: 60s}"
    with running_collector(_config(port, dead, retry)) as running:
        codes = [_post(port).status_code for _ in range(8)]
        tel = running.collector.telemetry
        labels = {"data_type": "traces", "exporter": "otlp"}
        assert tel.value("otelcol_exporter_queue_capacity", labels) == 3
        # one request is with the (retrying) worker, three wait in the queue, the rest are refused
        assert codes[:4] == [200] * 4
        assert codes[4:] == [503] * 4
        assert tel.value("otelcol_exporter_queue_size", labels) == 3
        assert tel.value("otelcol_exporter_enqueue_failed_spans", {"exporter": "otlp"}) == 4
        assert tel.value("otelcol_receiver_refused_spans", {"receiver": "otlp", "transport": "http"}) == 4
        r = _post(port)
        assert r.status_code == 503 and r.json() == {"code": 14, "message": "sending queue is full"}
        log = running.log.getvalue()
        assert "Exporting failed. Rejecting data." in log and '"rejected_items": 1' in log
        assert "Exporting failed. Will retry the request after interval." in log
    # shutdown cuts the retries short: each queued request gets one last attempt, then is dropped, counted
    log = running.log.getvalue()
    drops = re.findall(
        r"Exporting failed\. Dropping data\.\t.*interrupted due to shutdown.*\"dropped_items\": 1", log
    )
    assert len(drops) == 4
    assert tel.value("otelcol_exporter_send_failed_spans", {"exporter": "otlp"}) == 4


def test_retries_run_out_and_data_is_dropped_with_a_count() -> None:
    port, dead = free_port(), free_port()
    retry = "{initial_interval: 20ms, max_interval: 40ms, max_elapsed_time: 150ms}"
    with running_collector(_config(port, dead, retry, queue_size=10)) as running:
        assert [_post(port).status_code for _ in range(2)] == [200, 200]
        tel = running.collector.telemetry
        deadline = time.monotonic() + 10
        while tel.value("otelcol_exporter_send_failed_spans", {"exporter": "otlp"}) != 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        log = running.log.getvalue()
        assert "no more retries left: rpc error: code = Unavailable desc = " in log
        assert log.count('"dropped_items": 1') == 2
        assert tel.value("otelcol_exporter_sent_spans", {"exporter": "otlp"}) == 0
        # still serving
        assert _post(port).status_code == 200


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, msg: str, **fields: object) -> None:
        pass

    def info(self, msg: str, **fields: object) -> None:
        self.lines.append(msg)

    warn = info
    error = info


def test_memory_checker_state_machine_on_a_virtual_clock() -> None:
    usage = [0]
    now = [0.0]
    gcs: list[float] = []
    cfg = MLConfig(check_interval=1_000_000_000, limit_mib=100, spike_limit_mib=20)
    log = _Log()
    checker = MemoryChecker(
        100 << 20,
        20 << 20,
        cfg,
        log,
        read_usage=lambda: usage[0],
        run_gc=lambda: gcs.append(now[0]),
        clock=lambda: now[0],
    )
    usage[0] = 50 << 20
    checker.check()
    assert not checker.must_refuse
    usage[0] = 85 << 20  # above soft (80), below hard (100): GC at most every 10 s
    checker.check()
    assert checker.must_refuse and gcs == [0.0]
    assert log.lines[-1] == "Memory usage is above soft limit. Refusing data."
    now[0] = 5.0
    checker.check()
    assert gcs == [0.0]  # soft-limited GC interval not yet elapsed
    usage[0] = 120 << 20  # hard limit: GC every time (min interval 0)
    checker.check()
    assert gcs == [0.0, 5.0]
    usage[0] = 10 << 20
    checker.check()
    assert not checker.must_refuse
    assert log.lines[-1] == "Memory usage back within limits. Resuming normal operation."


def test_memory_limiter_refuses_with_503_and_retry_after() -> None:
    port = free_port()
    text = f"""
receivers: {{otlp: {{protocols: {{http: {{endpoint: "127.0.0.1:{port}"}}}}}}}}
processors: {{memory_limiter: {{check_interval: 2s, limit_mib: 100000, spike_limit_mib: 1000}}}}
exporters: {{capture: {{name: ml}}}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines: {{traces: {{receivers: [otlp], processors: [memory_limiter], exporters: [capture]}}}}
"""
    with running_collector(text) as running:
        assert _post(port).status_code == 200
        limiter = running.component(Kind.PROCESSOR, "memory_limiter")
        limiter.shared.checker.must_refuse = True  # as if RSS had crossed the soft limit
        r = _post(port)
        assert (r.status_code, r.headers.get("retry-after")) == (503, "2")
        body = r.json()
        assert (body["code"], body["message"]) == (14, "data refused due to high memory usage")
        limiter.shared.checker.must_refuse = False
        assert _post(port).status_code == 200
