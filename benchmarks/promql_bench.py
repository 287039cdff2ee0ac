"""Ingestion and query-latency figures for flightdeck's embedded TSDB.

Run: .venv/bin/python benchmarks/promql_bench.py
"""

from __future__ import annotations

import platform
import time

import numpy as np

from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.scrape.textparse import parse_text
from flightdeck.tsdb.storage import Storage

SERIES = 200
SAMPLES = 1440  # 6 h at 15 s


def main() -> None:
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    storage = Storage()
    keys = [
        (("__name__", "hotrod_requests_total"), ("error", str(i % 2 == 0).lower()), ("namespace", "hotrod"),
         ("pod", f"p{i}"), ("rollouts_pod_template_hash", "canary" if i % 4 else "stable"))
        for i in range(SERIES)
    ]  # fmt: skip
    t0 = 1_700_000_000_000
    start = time.perf_counter()
    for step in range(SAMPLES):
        storage.append_many([(k, t0 + step * 15_000, float(step * (j + 1))) for j, k in enumerate(keys)])
    took = time.perf_counter() - start
    print(
        f"ingest append_many: {SERIES * SAMPLES / took:,.0f} samples/s ({SERIES} series x {SAMPLES} samples)"
    )

    body = "\n".join(f'm{{pod="p{i}",le="{i % 10}"}} {i}.5' for i in range(10_000)) + "\n"
    start = time.perf_counter()
    samples, _ = parse_text(body)
    took = time.perf_counter() - start
    print(f"exposition parse: {len(samples) / took:,.0f} lines/s")

    engine = Engine(storage)
    end = t0 + (SAMPLES - 1) * 15_000
    queries = [
        'sum(rate(hotrod_requests_total{namespace="hotrod",rollouts_pod_template_hash="canary"}[2m]))',
        'sum(rate(hotrod_requests_total{rollouts_pod_template_hash="canary",error="true"}[2m])) / '
        'sum(rate(hotrod_requests_total{rollouts_pod_template_hash="canary"}[2m]))',
        "sum by (error) (rate(hotrod_requests_total[5m]))",
        "max_over_time(hotrod_requests_total[30m])",
    ]
    for q in queries:
        lat = []
        for _ in range(20):
            s = time.perf_counter()
            engine.instant_query(q, end)
            lat.append(time.perf_counter() - s)
        s = time.perf_counter()
        engine.range_query(q, end - 3600_000, end, 15_000)
        rng = time.perf_counter() - s
        print(
            f"instant p50 {np.median(lat) * 1000:7.2f} ms | range 1h/15s (241 steps) {rng * 1000:7.1f} ms | {q[:70]}"
        )


if __name__ == "__main__":
    main()
