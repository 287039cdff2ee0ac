"""The seed's AnalysisTemplate, unmodified, against the real Prometheus.

The engine runs on a virtual clock (90 s initial delays pass instantly); each measurement queries
the real server at the current wall time, where the exporter's counters are growing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.analysis.driver import AnalysisDriver, take_measurement
from flightdeck.analysis.factory import new_run
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, Argument, Metric, Phase
from flightdeck.kube.objects import load_objects
from flightdeck.sim.canary import PodTraffic, publish
from flightdeck.sim.exporter import MetricsExporter
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

TEMPLATE = (
    Path(__file__).resolve().parents[3] / "shared/challenge/expert-solved/hotrod/analysis-template.yaml"
)
NAMESPACE = "hotrod"


@pytest.fixture(scope="module")
def canary_metrics(exporter: MetricsExporter) -> MetricsExporter:
    # rate(…[2m]) over the few seconds of data a test has is about (elapsed / 120 s) of the true
    # rate, so the pods serve 20 req/s to clear traffic-detection's 0.05 req/s within a scrape or two.
    publish(
        exporter,
        [
            PodTraffic("hotrod-good-a", NAMESPACE, "good", requests_per_second=20.0, error_ratio=0.0),
            PodTraffic("hotrod-bad-a", NAMESPACE, "bad", requests_per_second=20.0, error_ratio=0.2),
            PodTraffic(
                "hotrod-slow-a",
                NAMESPACE,
                "slow",
                requests_per_second=20.0,
                median_latency_ms=900,
                p95_latency_ms=3000,
            ),
        ],
    )
    return exporter


@pytest.fixture(scope="module")
def seeded_prometheus(canary_metrics: MetricsExporter, prometheus: PrometheusServer) -> PrometheusServer:
    # rate() needs two samples inside its window: wait for a few scrapes.
    prometheus.wait_for_samples(
        'sum(rate(hotrod_requests_total{rollouts_pod_template_hash="good"}[2m])) > 0.2'
    )
    return prometheus


def wall_clock_queries(task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
    """Query at the wall clock, record at the virtual one."""
    item = take_measurement(task, run, time.time())
    measurement = dataclasses.replace(item.measurement, started_at=now, finished_at=now)
    return dataclasses.replace(item, measurement=measurement)


def seed_run(prometheus_url: str, canary_hash: str) -> AnalysisRun:
    template = load_objects([TEMPLATE]).templates[0]
    spec = template.spec
    for index, metric in enumerate(spec.metrics):
        raw = dict(metric.raw)
        raw["provider"] = {"prometheus": {**raw["provider"]["prometheus"], "address": prometheus_url}}
        spec.metrics[index] = Metric.from_dict(raw)
    return new_run(
        "hotrod-canary-2-1",
        NAMESPACE,
        [spec],
        [Argument("namespace", NAMESPACE), Argument("canary-hash", canary_hash)],
    )


def drive(run: AnalysisRun, driver: AnalysisDriver) -> Iterator[float]:
    now = 0.0
    while True:
        settled = driver.settle(run, now)
        yield now
        if run.status.phase.completed or settled.requeue_at is None:
            return
        now = settled.requeue_at


def test_healthy_canary_is_successful(seeded_prometheus: PrometheusServer) -> None:
    run = seed_run(seeded_prometheus.url, "good")
    times = list(drive(run, AnalysisDriver(wall_clock_queries)))
    assert run.status.phase is Phase.SUCCESSFUL, run.status.to_dict()
    assert run.status.message == ""
    assert times[-1] == 130.0  # 90 s initial delay + 4 × 10 s for traffic-detection's 5 measurements
    traffic = run.status.result("traffic-detection")
    assert traffic is not None and traffic.count == 5 and traffic.successful == 5
    latency = run.status.result("latency-p95-lt-1s")
    assert latency is not None and latency.metadata is not None
    assert 'hotrod_pod_hash="good"' in latency.metadata["ResolvedPrometheusQuery"]
    value = float(latency.measurements[-1].value.strip("[]"))
    assert 300 < value < 1000


def test_breached_error_rate_fails_with_argo_message(seeded_prometheus: PrometheusServer) -> None:
    run = seed_run(seeded_prometheus.url, "bad")
    times = list(drive(run, AnalysisDriver(wall_clock_queries)))
    assert run.status.phase is Phase.FAILED
    assert (
        run.status.message
        == 'Metric "error-rate-lt-5-percent" assessed Failed due to failed (3) > failureLimit (2)'
    )
    assert times[-1] == 80.0
    error_rate = run.status.result("error-rate-lt-5-percent")
    assert error_rate is not None
    assert [m.phase for m in error_rate.measurements] == [Phase.FAILED] * 3
    assert 0.1 < float(error_rate.measurements[-1].value.strip("[]")) < 0.3


def test_slow_canary_fails_latency(seeded_prometheus: PrometheusServer) -> None:
    run = seed_run(seeded_prometheus.url, "slow")
    list(drive(run, AnalysisDriver(wall_clock_queries)))
    assert run.status.phase is Phase.FAILED
    assert (
        run.status.message
        == 'Metric "latency-p95-lt-1s" assessed Failed due to failed (3) > failureLimit (2)'
    )


def test_empty_result_ends_in_error_with_the_seed_message(seeded_prometheus: PrometheusServer) -> None:
    run = seed_run(seeded_prometheus.url, "no-such-hash")
    list(drive(run, AnalysisDriver(wall_clock_queries)))
    assert run.status.phase is Phase.ERROR
    assert run.status.message == (
        'Metric "error-rate-lt-5-percent" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): '
        '"Error Message: reflect: slice index out of range"'
    )


def test_prometheus_stopped_mid_run_gives_error_measurements(canary_metrics: MetricsExporter) -> None:
    server = PrometheusServer([canary_metrics.address]).start()
    try:
        server.wait_for_samples(
            'sum(rate(hotrod_requests_total{rollouts_pod_template_hash="good"}[2m])) > 0.2'
        )
        run = seed_run(server.url, "good")
        driver = AnalysisDriver(wall_clock_queries)
        steps = drive(run, driver)
        now = next(steps)
        while now < 60.0:
            now = next(steps)
        error_rate = run.status.result("error-rate-lt-5-percent")
        assert error_rate is not None and error_rate.measurements[-1].phase is Phase.SUCCESSFUL
        server.stop()
        for _ in steps:
            pass
    finally:
        server.stop()
    assert run.status.phase is Phase.ERROR
    error_rate = run.status.result("error-rate-lt-5-percent")
    assert error_rate is not None
    failed = error_rate.measurements[-1]
    assert failed.phase is Phase.ERROR
    assert failed.message.startswith(f'Post "{server.url}/api/v1/query": dial tcp 127.0.0.1:{server.port}: ')
    assert "connection refused" in failed.message
    assert run.status.message.startswith(
        'Metric "error-rate-lt-5-percent" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): '
        f'"Error Message: Post "{server.url}/api/v1/query": dial tcp'
    )
