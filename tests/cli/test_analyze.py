"""``flightdeck analyze`` against the real Prometheus, with a time-compressed template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flightdeck.cli.main import main
from flightdeck.sim.canary import PodTraffic, publish
from flightdeck.sim.exporter import MetricsExporter
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: quick
spec:
  args:
    - name: canary-hash
  metrics:
    - name: traffic
      interval: 1s
      count: 2
      successCondition: result[0] >= 0.05
      provider:
        prometheus:
          address: http://prometheus-server.prometheus.svc.cluster.local
          query: sum(rate(hotrod_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}"}[1m]))
    - name: error-rate
      interval: 1s
      count: 2
      successCondition: result[0] < 0.05
      provider:
        prometheus:
          address: http://prometheus-server.prometheus.svc.cluster.local
          query: |
            sum(rate(hotrod_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}", error="true"}[1m]))
            /
            sum(rate(hotrod_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}"}[1m]))
"""


@pytest.fixture(scope="module")
def prom(exporter: MetricsExporter, prometheus: PrometheusServer) -> PrometheusServer:
    publish(
        exporter,
        [
            PodTraffic("p-good", "hotrod", "cligood", requests_per_second=20.0),
            PodTraffic("p-bad", "hotrod", "clibad", requests_per_second=20.0, error_ratio=0.5),
        ],
    )
    prometheus.wait_for_samples(
        'sum(rate(hotrod_requests_total{rollouts_pod_template_hash="clibad"}[1m])) > 0.2'
    )
    return prometheus


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "quick.yaml"
    path.write_text(TEMPLATE)
    return path


def test_live_run_successful(
    prom: PrometheusServer, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["analyze", str(template), "--prometheus", prom.url, "--arg", "canary-hash=cligood"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "traffic" in out and "Phase:    Successful" in out


def test_live_run_failed_exit_code_and_message(
    prom: PrometheusServer, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["analyze", str(template), "--prometheus", prom.url, "--arg", "canary-hash=clibad"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert 'Message:  Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)' in out


def test_json_output_is_the_analysisrun(
    prom: PrometheusServer, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["analyze", str(template), "--prometheus", prom.url, "--arg", "canary-hash=cligood", "-o", "json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["kind"] == "AnalysisRun" and doc["apiVersion"] == "argoproj.io/v1alpha1"
    assert doc["status"]["phase"] == "Successful"
    results = {r["name"]: r for r in doc["status"]["metricResults"]}
    assert results["traffic"]["count"] == 2
    assert 'rollouts_pod_template_hash="cligood"' in results["traffic"]["metadata"]["ResolvedPrometheusQuery"]


def test_once_reports_each_check_now(
    prom: PrometheusServer, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["analyze", str(template), "--prometheus", prom.url, "--arg", "canary-hash=clibad", "--once"])
    out = capsys.readouterr().out
    assert code == 1
    lines = {line.split()[0]: line.split()[1] for line in out.strip().splitlines()}
    assert lines == {"traffic": "Successful", "error-rate": "Failed"}


def test_empty_result_is_error_exit_2(
    prom: PrometheusServer, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["analyze", str(template), "--prometheus", prom.url, "--arg", "canary-hash=nothing", "--once"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert "reflect: slice index out of range" in out


def test_unreachable_prometheus(template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["analyze", str(template), "--prometheus", "http://127.0.0.1:9", "--arg", "canary-hash=x", "--once"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert 'Post "http://127.0.0.1:9/api/v1/query": dial tcp 127.0.0.1:9: connect: connection refused' in out


def test_missing_arg_is_invalid_input(template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", str(template), "--prometheus", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 4
    assert "args.canary-hash was not resolved" in err


def test_bad_template_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        TEMPLATE.replace(
            "interval: 1s\n      count: 2\n      successCondition: result[0] >= 0.05",
            "interval: 1\n      count: 2\n      successCondition: result[0] >= 0.05",
        )
    )
    code = main(["analyze", str(path)])
    err = capsys.readouterr().err
    assert code == 4
    assert f'{path}:10: spec.metrics[0].interval: invalid duration "1"' in err


def test_invalid_spec_is_reported_as_argo_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        TEMPLATE.replace(
            "      interval: 1s\n      count: 2\n      successCondition: result[0] >= 0.05",
            "      count: 2\n      successCondition: result[0] >= 0.05",
        )
    )
    code = main(["analyze", str(path), "--arg", "canary-hash=x"])
    out = capsys.readouterr().out
    assert code == 2
    assert "Message:  Analysis spec invalid: metrics[0]: interval must be specified when count > 1" in out
