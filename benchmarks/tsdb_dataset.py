"""The benchmark data set: 10,000 series of a realistic mix (HTTP services, histograms, node
metrics, the seed's HotROD spanmetrics, containers), 6 hours at 10 s — shared by the benchmarks.

Each series gets its own scrape offset inside the 10 s interval; counters grow by random
increments (with an occasional reset), gauges wander. Everything is generated with numpy from a
fixed seed, so both stores receive byte-identical data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

T0_MS = 1_700_000_000_000
INTERVAL_MS = 10_000
HOURS = 6
CANARY_HASH = "6d4b9c7f8"
STABLE_HASH = "5c8f7a6b1"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Dataset:
    labels: list[Labels]
    offsets_ms: I64  # per series scrape offset
    kinds: list[str]  # "counter" / "gauge" / "bucket"
    points: int

    @property
    def num_series(self) -> int:
        return len(self.labels)

    @property
    def end_ms(self) -> int:
        return T0_MS + (self.points - 1) * INTERVAL_MS + INTERVAL_MS

    def timestamps(self, start: int, stop: int) -> I64:
        """(series, stop-start) timestamps of points start..stop-1."""
        base = T0_MS + np.arange(start, stop, dtype=np.int64) * INTERVAL_MS
        return self.offsets_ms[:, None] + base[None, :]

    def values(self, start: int, stop: int) -> F64:
        """(series, stop-start) values, deterministic for any slicing of the points."""
        out = np.empty((self.num_series, stop - start))
        rng = np.random.default_rng(7)
        rates = rng.uniform(0.1, 20.0, self.num_series)
        levels = rng.uniform(10.0, 1e6, self.num_series)
        idx = np.arange(start, stop)
        for kind in ("counter", "gauge", "bucket", "up"):
            rows = np.array([i for i, k in enumerate(self.kinds) if k == kind], dtype=np.int64)
            if not len(rows):
                continue
            if kind == "up":
                out[rows] = 1.0
            elif kind == "gauge":
                phase = (rows % 97)[:, None] / 97.0 * 2 * np.pi
                out[rows] = levels[rows, None] * (1 + 0.2 * np.sin(idx[None, :] / 60.0 + phase))
            else:
                # Counters: rate × time plus a deterministic wobble; one reset at 4 h for some.
                grown = rates[rows, None] * 10.0 * idx[None, :] + 0.3 * np.sin(
                    idx[None, :] * 0.7 + rows[:, None]
                )
                grown = np.round(np.maximum(grown, 0.0), 3)
                reset = (rows % 50 == 0)[:, None] & (idx[None, :] >= 1440)
                base_at_reset = rates[rows, None] * 10.0 * 1440
                out[rows] = np.where(reset, np.round(grown - base_at_reset, 3), grown)
        return out

    def chunks(self, points_per_chunk: int) -> Iterator[tuple[I64, F64]]:
        for start in range(0, self.points, points_per_chunk):
            stop = min(self.points, start + points_per_chunk)
            yield self.timestamps(start, stop), self.values(start, stop)


def _add(out: list[tuple[Labels, str]], kind: str, **labels: str) -> None:
    out.append((tuple(sorted(labels.items())), kind))


def build(num_series: int = 10_000, hours: float = HOURS) -> Dataset:
    series: list[tuple[Labels, str]] = []
    jobs = ["api", "web", "auth", "billing"]
    instances = [f"host-{i}:9100" for i in range(25)]
    for job in jobs:
        for inst in instances:
            for code in ("200", "404", "500", "503"):
                for method in ("GET", "POST"):
                    for handler in ("/", "/api"):
                        _add(series, "counter", __name__="http_requests_total", job=job, instance=inst,
                             code=code, method=method, handler=handler)  # fmt: skip
            for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"):
                _add(
                    series,
                    "bucket",
                    __name__="http_request_duration_seconds_bucket",
                    job=job,
                    instance=inst,
                    le=le,
                )
            _add(series, "counter", __name__="http_request_duration_seconds_sum", job=job, instance=inst)
            _add(series, "counter", __name__="http_request_duration_seconds_count", job=job, instance=inst)
            _add(series, "gauge", __name__="process_resident_memory_bytes", job=job, instance=inst)
            _add(series, "gauge", __name__="go_goroutines", job=job, instance=inst)
            _add(series, "up", __name__="up", job=job, instance=inst)
    for inst in instances:
        for cpu in range(8):
            for mode in ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"):
                _add(
                    series,
                    "counter",
                    __name__="node_cpu_seconds_total",
                    instance=inst,
                    cpu=str(cpu),
                    mode=mode,
                )
        for dev in ("eth0", "eth1", "lo", "docker0"):
            _add(series, "counter", __name__="node_network_receive_bytes_total", instance=inst, device=dev)
    endpoints = [
        f"HTTP GET /{p}"
        for p in ("dispatch", "customer", "route", "driver", "config", "a", "b", "c", "d", "e")
    ]
    for hash_ in (CANARY_HASH, STABLE_HASH):
        for pod in range(5):
            for err in ("true", "false"):
                for ep in endpoints:
                    _add(series, "counter", __name__="hotrod_requests_total", namespace="hotrod",
                         rollouts_pod_template_hash=hash_, pod=f"hotrod-{hash_}-{pod}", error=err, endpoint=ep)  # fmt: skip
        for span in endpoints:
            for svc in ("frontend", "customer"):
                for le in (
                    "2",
                    "4",
                    "6",
                    "8",
                    "10",
                    "50",
                    "100",
                    "250",
                    "500",
                    "1000",
                    "2000",
                    "5000",
                    "10000",
                    "15000",
                    "30000",
                    "+Inf",
                ):
                    _add(series, "bucket", __name__="traces_span_metrics_duration_milliseconds_bucket",
                         hotrod_namespace="hotrod", hotrod_pod_hash=hash_, span_name=span, service_name=svc, le=le)  # fmt: skip
    for region in ("eu", "us", "ap", "sa"):
        for q in range(25):
            _add(series, "gauge", __name__="queue_depth", region=region, queue=f"q{q}")
    filler = 0
    while len(series) < num_series:
        ns = f"ns-{filler % 20}"
        _add(series, "gauge", __name__="container_memory_working_set_bytes", namespace=ns,
             pod=f"pod-{filler // 4}", container=f"c{filler % 4}")  # fmt: skip
        filler += 1
    series = series[:num_series]
    rng = np.random.default_rng(11)
    offsets = rng.integers(0, INTERVAL_MS // 1000, len(series)).astype(np.int64) * 1000
    return Dataset(
        [s for s, _ in series],
        offsets,
        [k for _, k in series],
        int(hours * 3600 * 1000 // INTERVAL_MS),
    )


SEED_QUERIES = [
    f'sum(rate(hotrod_requests_total{{namespace="hotrod",rollouts_pod_template_hash="{CANARY_HASH}"}}[2m]))',
    f'sum(rate(hotrod_requests_total{{namespace="hotrod",rollouts_pod_template_hash="{CANARY_HASH}",error="true"}}[2m])) / '
    f'sum(rate(hotrod_requests_total{{namespace="hotrod",rollouts_pod_template_hash="{CANARY_HASH}"}}[2m]))',
    "histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket"
    f'{{hotrod_namespace="hotrod",hotrod_pod_hash="{CANARY_HASH}"}}[2m])))',
]

DASHBOARD_QUERIES = [
    "sum by (job) (rate(http_requests_total[5m]))",
    'sum by (code) (rate(http_requests_total{job="api"}[5m]))',
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))",
    'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    "topk(5, sum by (instance) (rate(http_requests_total[5m])))",
    'avg by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
    "sum by (job) (process_resident_memory_bytes)",
    "max_over_time(process_resident_memory_bytes[1h])",
    'increase(http_requests_total{job="web"}[1h])',
    "count by (job) (up == 1)",
    "avg_over_time(go_goroutines[10m])",
    'rate(http_requests_total{handler="/api"}[1m])',
    "sum by (instance) (irate(node_network_receive_bytes_total[5m]))",
    "quantile(0.95, rate(http_requests_total[5m]))",
    'http_requests_total{instance="host-3:9100"}',
    "sum by (namespace) (rate(hotrod_requests_total[2m]))",
    "deriv(queue_depth[15m])",
    "sum without (instance, method, handler) (rate(http_requests_total[5m])) > 1",
]
