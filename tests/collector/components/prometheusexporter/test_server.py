"""The exporter's HTTP endpoint, scraped by urllib and by the real Prometheus (spec §2.7, §7 p95 query)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import pytest

from flightdeck.collector.components.prometheusexporter import PrometheusExporter
from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config
from tests.collector.components.spanmetrics.helpers import SpanSpec, exporter, request
from tests.support.prometheus import PrometheusServer, free_port

T = TypeVar("T")


class LoopThread:
    """An asyncio loop on a background thread; the exporter's state is only touched from it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def served() -> Iterator[tuple[LoopThread, PrometheusExporter, str]]:
    loop = LoopThread()
    port = free_port()
    exp = exporter({"endpoint": f"127.0.0.1:{port}"})
    loop.run(exp.start(None))  # type: ignore[arg-type]
    yield loop, exp, f"127.0.0.1:{port}"
    loop.run(exp.shutdown())
    loop.stop()


def _get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _feed(loop: LoopThread, exp: PrometheusExporter, agg: SpanMetricsAggregator, spans: Any) -> None:
    now = time.time_ns()
    agg.consume(spans, now)
    metrics = agg.flush(now)
    loop.run(exp.consume(metrics))


def test_metrics_endpoint(served: tuple[LoopThread, PrometheusExporter, str]) -> None:
    loop, exp, addr = served
    agg = SpanMetricsAggregator(load_config({}))
    _feed(loop, exp, agg, request([({"service.name": "frontend"}, [SpanSpec("/dispatch", 12_500_000)])]))
    status, headers, body = _get(f"http://{addr}/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    assert body.startswith(b"# HELP traces_span_metrics_calls_total \n")
    status, headers, zipped = _get(f"http://{addr}/metrics", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(zipped) == body
    for path in ("/", "/metrics/", "/metricsx"):
        status, headers, body404 = _get(f"http://{addr}{path}")
        assert (status, body404, headers["Content-Type"]) == (
            404,
            b"404 page not found\n",
            "text/plain; charset=utf-8",
        )
    status, _, head_body = _get(f"http://{addr}/metrics", method="HEAD")
    assert status == 200 and head_body == b""


@pytest.mark.prometheus
def test_real_prometheus_answers_the_seed_p95_query(
    served: tuple[LoopThread, PrometheusExporter, str],
) -> None:
    loop, exp, addr = served
    agg = SpanMetricsAggregator(
        load_config(
            {
                "dimensions": [
                    {"name": "hotrod.namespace"},
                    {"name": "hotrod.pod.name"},
                    {"name": "hotrod.pod.hash"},
                ]
            }
        )
    )
    base = {"hotrod.namespace": "hotrod", "telemetry.sdk.language": "go"}
    stable = {"service.name": "frontend", **base, "hotrod.pod.hash": "aaa", "hotrod.pod.name": "hotrod-aaa-1"}
    canary = {"service.name": "frontend", **base, "hotrod.pod.hash": "bbb", "hotrod.pod.name": "hotrod-bbb-1"}
    # Stable pod: every span in (50, 100] ms; canary: in (800, 1000] ms plus CLIENT spans in the same bucket.
    batch = request(
        [
            (stable, [SpanSpec("/dispatch", 100_000_000), SpanSpec("HTTP GET", 60_000_000, kind=3)]),
            (canary, [SpanSpec("/dispatch", 900_000_000), SpanSpec("HTTP GET", 1_000_000_000, kind=3)]),
        ]
    )
    _feed(loop, exp, agg, batch)
    prom = PrometheusServer([addr], scrape_interval="1s").start()
    try:
        selector = (
            'traces_span_metrics_duration_milliseconds_bucket{hotrod_namespace="hotrod",hotrod_pod_hash="%s"}'
        )
        prom.wait_for_samples(selector % "bbb")
        time.sleep(2.5)  # a few scrapes of the first values
        for _ in range(5):
            _feed(loop, exp, agg, batch)
        query = "histogram_quantile(0.95, sum by (le) (rate(" + selector + "[2m])))"

        def value(q: str) -> float | None:
            url = f"{prom.url}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(url, timeout=5) as resp:
                result = json.loads(resp.read())["data"]["result"]
            if not result or result[0]["value"][1] == "NaN":
                return None
            return float(result[0]["value"][1])

        deadline = time.monotonic() + 30
        got: dict[str, float | None] = {"aaa": None, "bbb": None}
        while time.monotonic() < deadline and None in got.values():
            got = {h: value(query % h) for h in got}
            time.sleep(0.3)
        # The bucket holding every observation is (50,100] resp. (800,1000]: p95 interpolates within it.
        assert got == {"aaa": 50 + 0.95 * 50, "bbb": 800 + 0.95 * 200}
        raw = value('sum(traces_span_metrics_duration_milliseconds_count{hotrod_pod_hash="bbb"})')
        assert raw == 12.0
        # Prometheus dropped the empty otel_scope_version label and renamed job to exported_job.
        url = f"{prom.url}/api/v1/series?" + urllib.parse.urlencode(
            {"match[]": 'traces_span_metrics_calls_total{hotrod_pod_hash="aaa"}'}
        )
        with urllib.request.urlopen(url, timeout=5) as resp:
            series = json.loads(resp.read())["data"]
        assert all(s["exported_job"] == "frontend" and "otel_scope_version" not in s for s in series)
        assert len(series) == 2
    finally:
        prom.stop()


def test_port_in_use_is_a_start_error(served: tuple[LoopThread, PrometheusExporter, str]) -> None:
    from flightdeck.collector.errors import ConfigError

    loop, _, addr = served
    second = exporter({"endpoint": addr})
    with pytest.raises(ConfigError, match=f"^listen tcp {addr}: bind: address already in use$"):
        loop.run(second.start(None))  # type: ignore[arg-type]
