"""The prometheus provider against the real Prometheus server scraping a programmable exporter.

The three query shapes are the seed's AnalysisTemplate (challenge/expert-solved/hotrod/
analysis-template.yaml) with its args substituted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from flightdeck.analysis.providers.prometheus import PrometheusProvider
from flightdeck.analysis.types import Measurement, Phase
from tests.analysis.providers.conftest import make_ctx, metric_of
from tests.support.exporter import MetricsExporter
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

NS, HASH = "hotrod", "6d9c5b7f4"

TRAFFIC = f"""
sum(rate(hotrod_requests_total{{
  namespace="{NS}",
  rollouts_pod_template_hash="{HASH}"
}}[2m]))
"""
ERROR_RATE = f"""
# Error rate: ratio of failed requests to total requests
sum(rate(hotrod_requests_total{{
  namespace="{NS}",
  rollouts_pod_template_hash="{HASH}",
  error="true"
}}[2m]))
/
sum(rate(hotrod_requests_total{{
  namespace="{NS}",
  rollouts_pod_template_hash="{HASH}"
}}[2m]))
"""
LATENCY_P95 = f"""
# P95 latency: should be under 1 second
histogram_quantile(0.95,
  sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket{{
    hotrod_namespace="{NS}",
    hotrod_pod_hash="{HASH}"
  }}[2m]))
)
"""


@pytest.fixture(scope="module")
def loaded(exporter: MetricsExporter, prometheus: PrometheusServer) -> PrometheusServer:
    base = {"namespace": NS, "rollouts_pod_template_hash": HASH}
    # rate(...[2m]) over the few seconds of data a test has divides by the whole window, so the
    # counters grow fast; the ratios (error rate, quantile) do not depend on it.
    exporter.grow("hotrod_requests_total", {**base, "error": "false"}, 97.5)
    exporter.grow("hotrod_requests_total", {**base, "error": "true"}, 2.5)
    exporter.grow_histogram(
        "traces_span_metrics_duration_milliseconds",
        {"hotrod_namespace": NS, "hotrod_pod_hash": HASH},
        100.0,
        {100.0: 0.5, 250.0: 0.9, 500.0: 0.97, 1000.0: 1.0},
    )
    # rate() needs two samples of every series inside the window
    prometheus.wait_for_samples(TRAFFIC.replace("[2m]", "[10s]"), timeout=30)
    prometheus.wait_for_samples(LATENCY_P95.replace("[2m]", "[10s]"), timeout=30)
    return prometheus


def measure(server: PrometheusServer, query: str, condition: str) -> Measurement:
    metric = metric_of({"prometheus": {"address": server.url, "query": query}}, successCondition=condition)
    return PrometheusProvider(metric).run(make_ctx(time.time()), metric)


def single(m: Measurement) -> float:
    assert m.value.startswith("[") and m.value.endswith("]"), m
    return float(m.value[1:-1])


def test_traffic(loaded: PrometheusServer) -> None:
    m = measure(loaded, TRAFFIC, "result[0] >= 0.05")
    assert m.phase == Phase.SUCCESSFUL, m
    assert 0.05 <= single(m) <= 100.0


def test_error_rate(loaded: PrometheusServer) -> None:
    m = measure(loaded, ERROR_RATE, "result[0] < 0.05")
    assert m.phase == Phase.SUCCESSFUL, m
    assert 0.01 < single(m) < 0.04


def test_latency_p95(loaded: PrometheusServer) -> None:
    m = measure(loaded, LATENCY_P95, "result[0] < 1000")
    assert m.phase == Phase.SUCCESSFUL, m
    assert 250.0 < single(m) < 500.0


def test_empty_result_is_an_error(loaded: PrometheusServer) -> None:
    m = measure(loaded, TRAFFIC.replace(HASH, "no-such-hash"), "result[0] >= 0.05")
    assert (m.phase, m.value, m.message) == (Phase.ERROR, "", "reflect: slice index out of range")


def test_bad_query_is_bad_data(loaded: PrometheusServer) -> None:
    m = measure(loaded, "sum(rate(x[2m])", "result[0] >= 0.05")
    assert m.phase == Phase.ERROR
    assert m.message.startswith("bad_data: ")


def test_stopped_prometheus_refuses(loaded: PrometheusServer) -> None:
    """Runs last in this module: it stops the module's Prometheus."""
    url: Any = loaded.url
    loaded.stop()
    m = measure(loaded, TRAFFIC, "result[0] >= 0.05")
    assert m.phase == Phase.ERROR
    assert m.message == (
        f'Post "{url}/api/v1/query": dial tcp 127.0.0.1:{loaded.port}: connect: connection refused'
    )
