"""Real Prometheus and flightdeck scrape the same exporter; the answers agree."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from flightdeck.tsdb.scrape.config import parse_config
from flightdeck.tsdb.server import TSDBServer, start_server
from tests.support.exporter import MetricsExporter
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def flightdeck_scraper(exporter: MetricsExporter) -> Iterator[TSDBServer]:
    cfg = parse_config(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: fixture\n"
        f"    static_configs:\n      - targets: ['{exporter.address}']\n"
    )
    srv = start_server(scrape_config=cfg)
    yield srv
    srv.stop()


def _result(url: str, query: str, t: float) -> list[dict[str, object]]:
    data = httpx.get(f"{url}/api/v1/query", params={"query": query, "time": str(t)}).json()
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def test_same_series_and_up(
    exporter: MetricsExporter, prometheus: PrometheusServer, flightdeck_scraper: TSDBServer
) -> None:
    exporter.set("temp_celsius", {"room": "a"}, 21.5)
    exporter.grow(
        "hotrod_requests_total",
        {"namespace": "hotrod", "rollouts_pod_template_hash": "c1", "error": "false"},
        5.0,
    )
    exporter.grow_histogram(
        "traces_span_metrics_duration_milliseconds",
        {"hotrod_namespace": "hotrod", "hotrod_pod_hash": "c1"},
        5.0,
        {100.0: 0.5, 500.0: 0.9, 1000.0: 0.99},
    )
    prometheus.wait_for_samples("temp_celsius")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _result(flightdeck_scraper.url, "temp_celsius", time.time()):
        time.sleep(0.2)
    time.sleep(4)  # a few scrapes for rate()
    now = time.time() - 1
    for query in ("up", "temp_celsius", "hotrod_requests_total", "scrape_samples_scraped"):
        expected = sorted(str(sorted(r["metric"].items())) for r in _result(prometheus.url, query, now))  # type: ignore[attr-defined]
        actual = sorted(str(sorted(r["metric"].items())) for r in _result(flightdeck_scraper.url, query, now))  # type: ignore[attr-defined]
        assert expected == actual, query
    for query in ("up", "temp_celsius", "scrape_samples_scraped"):
        e = [r["value"][1] for r in _result(prometheus.url, query, now)]  # type: ignore[index]
        a = [r["value"][1] for r in _result(flightdeck_scraper.url, query, now)]  # type: ignore[index]
        assert e == a, query
    # Rates agree roughly (different scrape instants): both near 5/s.
    q = 'sum(rate(hotrod_requests_total{namespace="hotrod",rollouts_pod_template_hash="c1"}[3s]))'
    for url in (prometheus.url, flightdeck_scraper.url):
        (r,) = _result(url, q, now)
        assert 4.0 < float(r["value"][1]) < 6.0  # type: ignore[index]
    p95 = "histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket[3s])))"
    for url in (prometheus.url, flightdeck_scraper.url):
        (r,) = _result(url, p95, now)
        assert 500 < float(r["value"][1]) <= 1000  # type: ignore[index]
    # A series that disappears goes stale in both.
    exporter.clear()
    time.sleep(3)
    later = time.time() - 0.5
    assert _result(prometheus.url, "temp_celsius", later) == []
    assert _result(flightdeck_scraper.url, "temp_celsius", later) == []
