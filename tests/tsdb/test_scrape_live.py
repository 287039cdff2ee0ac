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


def _targets(url: str) -> list[dict[str, object]]:
    data = httpx.get(f"{url}/api/v1/targets").json()["data"]
    out = []
    for t in data["activeTargets"]:
        out.append({k: v for k, v in t.items() if k not in ("lastScrape", "lastScrapeDuration")})
    return out


def test_targets_and_metadata_pages_match(
    exporter: MetricsExporter, prometheus: PrometheusServer, flightdeck_scraper: TSDBServer
) -> None:
    exporter.set("meta_gauge", {"k": "v"}, 1.0)
    exporter.grow("meta_requests_total", {"k": "v"}, 1.0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(_result(u, "meta_gauge", time.time()) for u in (prometheus.url, flightdeck_scraper.url)):
            break
        time.sleep(0.2)
    time.sleep(1.5)  # one more scrape each, so the metadata of both families is cached
    expected, actual = _targets(prometheus.url), _targets(flightdeck_scraper.url)
    assert expected == actual
    for path in (
        "/api/v1/metadata",
        "/api/v1/metadata?metric=meta_gauge",
        "/api/v1/metadata?limit=1&metric=x",
    ):
        e = httpx.get(prometheus.url + path).json()
        a = httpx.get(flightdeck_scraper.url + path).json()
        assert e == a, path
    e = httpx.get(prometheus.url + "/api/v1/targets/metadata", params={"metric": "meta_gauge"}).json()
    a = httpx.get(flightdeck_scraper.url + "/api/v1/targets/metadata", params={"metric": "meta_gauge"}).json()
    assert e == a


def test_pods_fed_through_the_discovery_hub(exporter: MetricsExporter) -> None:
    """flightdeck's runtime publishes pods; the challenge-style job scrapes them, then stops."""
    from flightdeck.tsdb.scrape.discovery import DiscoveryHub

    host, port = exporter.address.split(":")
    exporter.set("pod_gauge", {"k": "v"}, 7.0)
    pod = {
        "metadata": {
            "name": "hotrod-abc-1",
            "namespace": "hotrod",
            "labels": {"rollouts-pod-template-hash": "abc"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": port},
        },
        "spec": {"containers": [{"name": "hotrod", "ports": [{"containerPort": int(port)}]}]},
        "status": {"phase": "Running", "podIP": host},
    }
    cfg = parse_config(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kubernetes-pods\n"
        "    kubernetes_sd_configs: [{role: pod}]\n    relabel_configs:\n"
        "      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], action: keep, regex: true}\n"
        "      - {source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port], action: replace,"
        " regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: __address__}\n"
        "      - {source_labels: [__meta_kubernetes_pod_name], target_label: kubernetes_pod_name}\n"
        "      - {source_labels: [__meta_kubernetes_pod_label_rollouts_pod_template_hash], target_label: rollouts_pod_template_hash}\n"
    )
    hub = DiscoveryHub()
    srv = start_server(scrape_config=cfg, discovery=hub)
    try:
        hub.set_pods([pod])
        deadline = time.monotonic() + 15
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline and not found:
            found = _result(srv.url, "pod_gauge", time.time())
            time.sleep(0.2)
        assert found and found[0]["metric"] == {  # type: ignore[comparison-overlap]
            "__name__": "pod_gauge",
            "instance": exporter.address,
            "job": "kubernetes-pods",
            "k": "v",
            "kubernetes_pod_name": "hotrod-abc-1",
            "rollouts_pod_template_hash": "abc",
        }
        hub.set_pods([])  # the pod is gone: two intervals later its series are stale
        time.sleep(3.5)
        assert _result(srv.url, "pod_gauge", time.time()) == []
        assert _result(srv.url, "up", time.time()) == []
    finally:
        srv.stop()
