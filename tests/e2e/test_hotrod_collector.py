"""HotROD → ``flightdeck collector`` running the seed's fixed ConfigMap → RED metrics on :8889 and the
dispatch trace in flightdeck's trace store (issue 5's last proof; issue 3's "the seed config runs").

Both programs run as the user would start them, in their own processes: ``flightdeck collector --config
<ConfigMap>`` and ``python -m flightdeck.apps.hotrod all`` with the pod's resource attributes in
``OTEL_RESOURCE_ATTRIBUTES``. Changes to the ConfigMap: its listen ports (4318, 8889, 13133 and the
implicit telemetry 8888) become free loopback ports, the ``otlp`` exporter's Jaeger address becomes the
trace store's OTLP/gRPC address, and ``metrics_flush_interval: 1s`` is added (the 60 s default would make
this test a minute long). HotROD runs with ``--time-scale 0.1``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from flightdeck.traces.server import TraceServer
from tests.support.prometheus import free_port

pytestmark = pytest.mark.e2e

SOLVED = Path("/work/shared/challenge/expert-solved/otel/config.yaml")
JAEGER = "jaeger-collector.jaeger.svc.cluster.local:4317"
POD = {"hotrod.pod.hash": "abc123", "hotrod.namespace": "hotrod", "hotrod.pod.name": "hotrod-abc123-x"}
SERVICES = {"frontend", "customer", "mysql", "driver", "redis-manual", "route"}
CUSTOMERS = ("123", "392", "731")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The ``name`` samples of a text exposition, as (labels, value)."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name:
            out.append((dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        assert proc.poll() is None, f"{what}: process exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def seed_configmap(tmp_path: Path, otlp: int, prom: int, health: int, tel: int, traces: str) -> Path:
    doc = yaml.safe_load(SOLVED.read_text())
    text: str = doc["data"]["collector-config.yaml"]
    for before, after in (
        ("endpoint: 0.0.0.0:4318", f"endpoint: 127.0.0.1:{otlp}"),
        ('endpoint: "0.0.0.0:8889"', f'endpoint: "127.0.0.1:{prom}"'),
        ("endpoint: 0.0.0.0:13133", f"endpoint: 127.0.0.1:{health}"),
        (f"endpoint: {JAEGER}", f"endpoint: {traces}"),
        (
            "      - name: hotrod.pod.hash\n",
            "      - name: hotrod.pod.hash\n    metrics_flush_interval: 1s\n",
        ),
        (
            "  extensions: [health_check]\n",
            "  extensions: [health_check]\n  telemetry:\n    metrics:\n      readers:\n"
            f"        - pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {tel}}}}}}}\n",
        ),
    ):
        assert before in text, before
        text = text.replace(before, after)
    doc["data"]["collector-config.yaml"] = text
    path = tmp_path / "collector-config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return int(proc.returncode)


def start(args: list[str], log: IO[bytes], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, env=env)


@pytest.fixture
def trace_store() -> Iterator[TraceServer]:
    server = TraceServer(otlp_http_port=None, otlp_grpc_port=0).start()
    yield server
    server.stop()


@pytest.mark.skipif(not SOLVED.is_file(), reason="seed challenge files not present")
def test_hotrod_through_the_seed_collector(tmp_path: Path, trace_store: TraceServer) -> None:
    otlp, prom, health, tel = free_port(), free_port(), free_port(), free_port()
    assert trace_store.otlp_grpc_address is not None
    config = seed_configmap(tmp_path, otlp, prom, health, tel, trace_store.otlp_grpc_address)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    frontend = free_port()
    hotrod_env = {
        **env,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp}",
        "OTEL_RESOURCE_ATTRIBUTES": ",".join(f"{k}={v}" for k, v in POD.items()),
    }
    ports = ["-f", str(frontend), "-c", str(free_port()), "-d", str(free_port()), "-r", str(free_port())]
    with open(tmp_path / "collector.log", "wb") as col_log, open(tmp_path / "hotrod.log", "wb") as app_log:
        collector = start(["flightdeck.cli.main", "collector", "--config", str(config)], col_log, env)
        hotrod = start(["flightdeck.apps.hotrod", "all", "--time-scale", "0.1", *ports], app_log, hotrod_env)
        try:
            wait_for("collector health", lambda: get(f"http://127.0.0.1:{health}/")[0] == 200, 30, collector)
            wait_for("hotrod", lambda: get(f"http://127.0.0.1:{frontend}/config")[0] == 200, 30, hotrod)
            for customer in CUSTOMERS:
                status, body = get(f"http://127.0.0.1:{frontend}/dispatch?customer={customer}", timeout=10)
                assert status == 200 and json.loads(body)["Driver"].startswith("T7"), body
            n = len(CUSTOMERS)

            def metrics_complete() -> str | None:
                text = get(f"http://127.0.0.1:{prom}/metrics")[1].decode()
                routes = [
                    v
                    for lbl, v in samples(text, "traces_span_metrics_calls_total")
                    if lbl["span_name"] == "/route"
                ]
                return text if sum(routes) == 10 * n else None

            text = wait_for("spanmetrics of every span", metrics_complete, 15, collector)
            traces = wait_for("dispatch traces", lambda: dispatch_traces(trace_store, n), 10, collector)
            own = get(f"http://127.0.0.1:{tel}/metrics")[1].decode()
        finally:
            hotrod_rc = stop(hotrod)
            collector_rc = stop(collector)
    assert (hotrod_rc, collector_rc) == (0, 0), (tmp_path / "collector.log").read_text()[-3000:]

    # RED metrics: every series carries the pod's three dimensions; the seed's p95 query selects on them.
    calls = samples(text, "traces_span_metrics_calls_total")
    assert {lbl["service_name"] for lbl, _ in calls} == SERVICES
    for lbl, _ in calls:
        assert (lbl["hotrod_pod_hash"], lbl["hotrod_namespace"], lbl["hotrod_pod_name"]) == tuple(
            POD.values()
        )
        assert lbl["job"] == lbl["service_name"]
    dispatch = {
        "hotrod_namespace": "hotrod",
        "hotrod_pod_hash": "abc123",
        "hotrod_pod_name": "hotrod-abc123-x",
        "job": "frontend",
        "otel_scope_name": "spanmetricsconnector",
        "otel_scope_schema_url": "",
        "otel_scope_version": "",
        "service_name": "frontend",
        "span_kind": "SPAN_KIND_SERVER",
        "span_name": "/dispatch",
        "status_code": "STATUS_CODE_UNSET",
    }
    assert [v for lbl, v in calls if lbl == dispatch] == [n]
    errors = [
        v for lbl, v in calls if lbl["span_name"] == "GetDriver" and lbl["status_code"] == "STATUS_CODE_ERROR"
    ]
    assert errors and errors[0] >= 1  # the first redis call of the process, then every 5th, time out
    buckets = samples(text, "traces_span_metrics_duration_milliseconds_bucket")
    inf = [v for lbl, v in buckets if {**lbl, "le": ""} == {**dispatch, "le": ""} and lbl["le"] == "+Inf"]
    assert inf == [n]
    assert {lbl["service_name"] for lbl, _ in buckets if lbl["hotrod_pod_hash"] == "abc123"} == SERVICES

    # The otlp exporter delivered every dispatch trace whole to the trace store.
    assert len(traces) == n
    for spans, services in traces:
        assert 38 <= spans <= 45, spans
        assert services == SERVICES
    total = sum(spans for spans, _ in traces)
    accepted = samples(own, "otelcol_receiver_accepted_spans")
    assert accepted and accepted[0][0] == {"receiver": "otlp", "transport": "http"}
    assert accepted[0][1] >= total
    sent = {lbl["exporter"]: v for lbl, v in samples(own, "otelcol_exporter_sent_spans")}
    assert sent["otlp"] >= total


def dispatch_traces(store: TraceServer, n: int) -> list[tuple[int, set[str]]] | None:
    """(span count, services) of each ``/dispatch`` trace once all ``n`` are there and complete."""
    url = f"{store.query_url}/api/traces?service=frontend&operation=%2Fdispatch&limit=100"
    data = json.loads(get(url)[1])["data"]
    out = [(len(t["spans"]), {p["serviceName"] for p in t["processes"].values()}) for t in data]
    if len(out) < n or any(spans < 38 or len(services) < len(SERVICES) for spans, services in out):
        return None
    return out
