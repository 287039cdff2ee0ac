"""``flightdeck collector`` as a process: exact error output and exit codes, ConfigMap sources, the seed's
fixed config running as given, health check (CV-26) and graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.prometheus import free_port

SEED = Path("/work/shared/challenge")
CLI = [sys.executable, "-m", "flightdeck.cli.main", "collector"]
STAMP = r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env)


def expect_error(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert f"Error: {message}" in proc.stderr
    assert re.search(
        f"^{STAMP} collector server run finished with error: {re.escape(message.splitlines()[0])}",
        proc.stderr,
        re.M,
    ), lines


@pytest.mark.skipif(not SEED.is_dir(), reason="seed challenge files not present")
def test_seed_broken_config_fails_like_otelcol() -> None:
    proc = run("--config", str(SEED / "expert-broken/otel/config.yaml"))
    expect_error(proc, "invalid configuration: no receiver configuration specified in config")
    assert proc.stderr.startswith(
        "Error: invalid configuration: no receiver configuration specified in config\n"
    )


@pytest.mark.skipif(not SEED.is_dir(), reason="seed challenge files not present")
def test_validate_command() -> None:
    proc = run("validate", "--config", str(SEED / "expert-broken/otel/config.yaml"))
    expect_error(proc, "no receiver configuration specified in config")
    ok = run("validate", "--config", str(SEED / "expert-solved/otel/config.yaml"))
    assert (ok.returncode, ok.stderr) == (0, "")


def test_missing_file_and_missing_flag() -> None:
    proc = run("--config", "/nonexistent/c.yaml")
    expect_error(
        proc,
        "failed to get config: cannot resolve the configuration: unable to read the file /nonexistent/c.yaml: "
        "open /nonexistent/c.yaml: no such file or directory",
    )
    expect_error(run(), "at least one config flag must be provided")


def test_configmap_key_from_mounting_workload_and_config_key(tmp_path: Path) -> None:
    cm = """apiVersion: v1
kind: ConfigMap
metadata: {name: cc}
data:
  other.yaml: |
    receivers:
  main.yaml: |
    receivers: {otlp: {protocols: {http: }}}
    exporters: {debug: {}}
    service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
"""
    ds = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: c}
spec:
  selector: {matchLabels: {app: c}}
  template:
    metadata: {labels: {app: c}}
    spec:
      containers:
        - name: c
          image: otel/opentelemetry-collector-contrib:0.142.0
          args: ["--config=/etc/col/main.yaml"]
          volumeMounts: [{name: conf, mountPath: /etc/col}]
      volumes: [{name: conf, configMap: {name: cc}}]
"""
    (tmp_path / "config.yaml").write_text(cm)
    (tmp_path / "daemonset.yaml").write_text(ds)
    assert run("validate", "--config", str(tmp_path / "config.yaml")).returncode == 0
    proc = run("validate", "--config", str(tmp_path / "config.yaml"), "--config-key", "other.yaml")
    expect_error(
        proc, "empty configuration file\nservice::pipelines: service must have at least one pipeline"
    )
    (tmp_path / "daemonset.yaml").unlink()
    proc = run("validate", "--config", str(tmp_path / "config.yaml"))
    assert proc.returncode == 1 and "choose one with --config-key" in proc.stderr


def _wait_http(url: str, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_runs_until_sigterm_with_health_check_and_pod_ip(tmp_path: Path) -> None:
    health, otlp, metrics = free_port(), free_port(), free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"""
receivers: {{otlp: {{protocols: {{http: {{endpoint: "0.0.0.0:{otlp}"}}}}}}}}
exporters: {{debug: {{}}}}
extensions: {{health_check: {{endpoint: "0.0.0.0:{health}"}}}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{readers: [{{pull: {{exporter: {{prometheus: {{host: "0.0.0.0", port: {metrics}}}}}}}}}]}}}}
  pipelines: {{traces: {{receivers: [otlp], exporters: [debug]}}}}
"""
    )
    env = {**os.environ, "FLIGHTDECK_POD_IP": "127.0.0.9"}
    proc = subprocess.Popen([*CLI, "--config", str(cfg)], stderr=subprocess.PIPE, text=True, env=env)
    try:
        r = _wait_http(f"http://127.0.0.9:{health}/anything")
        body = r.json()
        assert r.status_code == 200 and body["status"] == "Server available"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["upSince"])
        assert re.fullmatch(r"[\d.]+(ns|µs|ms|s)", body["uptime"])
        assert list(body) == ["status", "upSince", "uptime"]
        span = {
            "resourceSpans": [
                {"scopeSpans": [{"spans": [{"name": "x", "traceId": "01" * 16, "spanId": "01" * 8}]}]}
            ]
        }
        resp = httpx.post(f"http://127.0.0.9:{otlp}/v1/traces", json=span, timeout=5)
        assert resp.status_code == 200
        text = httpx.get(f"http://127.0.0.9:{metrics}/metrics", timeout=5).text
        assert 'otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 1' in text
        assert 'otelcol_exporter_sent_spans{exporter="debug"} 1' in text
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{health}/", timeout=2)  # bound to the pod IP only
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert 'Received signal from OS\t{"signal": "terminated"}' in err
    assert err.rstrip().endswith("Shutdown complete.")
    assert '"resource spans": 1, "spans": 1' in err


def test_health_check_unavailable_body() -> None:
    from flightdeck.collector.components.healthcheck import Config, HealthCheck

    class _S:
        logger = None

    import asyncio

    from flightdeck.collector.component import ComponentID, Kind, Settings
    from flightdeck.collector.httpserver import Request
    from flightdeck.collector.telemetry import TelemetryRegistry
    from flightdeck.collector.zaplog import ZapLogger

    hc = HealthCheck(
        Settings(ComponentID("health_check"), Kind.EXTENSION, ZapLogger(level="error"), TelemetryRegistry()),
        Config(),
    )
    resp = asyncio.run(hc.handle(Request("GET", "/x", "/x", "", {}, b"")))
    assert (resp.status, resp.content_type) == (503, "application/json")
    assert json.loads(resp.body) == {
        "status": "Server not available",
        "upSince": "0001-01-01T00:00:00Z",
        "uptime": "",
    }
    assert resp.body == b'{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}'
