"""A traffic model of HotROD pods, published as the metrics the seed's analysis queries.

Each pod serves ``requests_per_second`` with an ``error_ratio`` and a log-normal span latency; the
model turns that into the series the real system produces: ``hotrod_requests_total`` (as the
challenge's Prometheus relabels it: ``namespace``, ``rollouts_pod_template_hash``) and the
spanmetrics histogram ``traces_span_metrics_duration_milliseconds_bucket`` (with the seed's
resource dimensions ``hotrod_namespace``/``hotrod_pod_hash`` and the connector's default buckets).
It stands in for HotROD and the collector until those run here; the analysis and the store it
exercises are the real ones.
"""

from __future__ import annotations

import dataclasses
import math

from flightdeck.sim.exporter import MetricsExporter

# The spanmetrics connector's default explicit buckets, in milliseconds.
SPANMETRICS_BUCKETS_MS = (2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000)


@dataclasses.dataclass(frozen=True, slots=True)
class PodTraffic:
    pod: str
    namespace: str
    pod_hash: str
    requests_per_second: float
    error_ratio: float = 0.0
    median_latency_ms: float = 120.0
    p95_latency_ms: float = 700.0


def lognormal_cdf(x: float, median: float, p95: float) -> float:
    """P(latency <= x) for a log-normal with the given median and 95th percentile."""
    if x <= 0:
        return 0.0
    sigma = max(1e-9, math.log(p95 / median) / 1.6448536269514722)
    z = (math.log(x) - math.log(median)) / sigma
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def publish(exporter: MetricsExporter, pods: list[PodTraffic]) -> None:
    """(Re)start every pod's series growing at its current rates."""
    for pod in pods:
        common = {"namespace": pod.namespace, "rollouts_pod_template_hash": pod.pod_hash, "pod": pod.pod}
        ok = pod.requests_per_second * (1.0 - pod.error_ratio)
        bad = pod.requests_per_second * pod.error_ratio
        exporter.grow("hotrod_requests_total", {**common, "endpoint": "/dispatch", "error": "false"}, ok)
        exporter.grow("hotrod_requests_total", {**common, "endpoint": "/dispatch", "error": "true"}, bad)
        shares = {
            float(le): lognormal_cdf(le, pod.median_latency_ms, pod.p95_latency_ms)
            for le in SPANMETRICS_BUCKETS_MS
        }
        mean = pod.median_latency_ms * math.exp(
            0.5 * (math.log(pod.p95_latency_ms / pod.median_latency_ms) / 1.6448536269514722) ** 2
        )
        exporter.grow_histogram(
            "traces_span_metrics_duration_milliseconds",
            {
                "service_name": "frontend",
                "span_name": "HTTP GET /dispatch",
                "span_kind": "SPAN_KIND_SERVER",
                "status_code": "STATUS_CODE_UNSET",
                "hotrod_namespace": pod.namespace,
                "hotrod_pod_hash": pod.pod_hash,
                "hotrod_pod_name": pod.pod,
            },
            pod.requests_per_second,
            shares,
            mean=mean,
        )
