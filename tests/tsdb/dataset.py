"""A deterministic data set loaded identically into real Prometheus (via promtool) and flightdeck."""

from __future__ import annotations

import math
import random

from flightdeck.util.gofmt import format_float

T0 = 1_700_000_000  # seconds
DURATION = 3600  # one hour of data
SCRAPE = 15


Sample = tuple[int, float]  # (ms, value)
SeriesMap = dict[tuple[tuple[str, str], ...], list[Sample]]


def _key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def build() -> SeriesMap:
    rnd = random.Random(42)
    data: SeriesMap = {}

    def times(jitter: bool = True, start: int = 0, end: int = DURATION, every: int = SCRAPE) -> list[int]:
        out = []
        for s in range(start, end, every):
            j = rnd.randint(-900, 900) if jitter else 0
            out.append((T0 + s) * 1000 + j)
        return out

    # Counters with different rates, one with resets.
    for job in ("api", "web"):
        for inst in ("10.0.0.1:80", "10.0.0.2:80"):
            for code in ("200", "500"):
                for method in ("get", "post"):
                    rate = rnd.uniform(0.5, 20) if code == "200" else rnd.uniform(0.0, 1.0)
                    value = rnd.uniform(0, 1000)
                    pts = []
                    for i, t in enumerate(times()):
                        value += rate * SCRAPE * rnd.uniform(0.5, 1.5)
                        if job == "web" and code == "200" and method == "get" and i in (70, 180):
                            value = rnd.uniform(0, 50)  # counter reset
                        pts.append((t, round(value, 3)))
                    data[
                        _key(__name__="http_requests_total", job=job, instance=inst, code=code, method=method)
                    ] = pts
    # Gauges, one with gaps (series goes away for more than the lookback delta) and negative values.
    for name, base in (("temperature_celsius", 20.0), ("queue_depth", 5.0)):
        for region in ("eu", "us", "ap"):
            pts = []
            for t in times():
                sec = t // 1000 - T0
                if region == "ap" and 1200 <= sec < 1800:
                    continue  # gap of 10 minutes
                pts.append((t, round(base + rnd.gauss(0, 5), 2)))
            data[_key(__name__=name, region=region)] = pts
    data[_key(__name__="signed_gauge", kind="neg")] = [(t, round(rnd.uniform(-10, 10), 1)) for t in times()]
    data[_key(__name__="constant_gauge", kind="c")] = [(t, 42.0) for t in times(jitter=False)]
    data[_key(__name__="sparse_gauge", kind="s")] = [(t, float(i)) for i, t in enumerate(times(every=120))]
    # Classic histograms (counters per bucket), one with a non-monotonic bucket.
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
    shares = [0.1, 0.3, 0.6, 0.8, 0.93, 0.99, 1.0]
    for svc in ("checkout", "search"):
        rate = rnd.uniform(5, 30)
        total = 0.0
        pts_by_le: dict[str, list[Sample]] = {b: [] for b in bounds}
        pts_sum: list[Sample] = []
        for t in times(jitter=False):
            total += rate * SCRAPE * rnd.uniform(0.8, 1.2)
            for b, sh in zip(bounds, shares, strict=True):
                v = math.floor(total * sh)
                if svc == "search" and b == "0.5":
                    v = math.floor(total * 0.55)  # lower than the 0.25 bucket: non-monotonic
                pts_by_le[b].append((t, float(v)))
            pts_sum.append((t, round(total * 0.3, 3)))
        for b in bounds:
            data[_key(__name__="request_duration_seconds_bucket", service=svc, le=b)] = pts_by_le[b]
        data[_key(__name__="request_duration_seconds_sum", service=svc)] = pts_sum
        data[_key(__name__="request_duration_seconds_count", service=svc)] = pts_by_le["+Inf"]
    # The seed's metrics (spanmetrics naming), canary + stable.
    for hash_, err_rate, lat_scale in (("canary1", 0.03, 1.0), ("stable1", 0.01, 0.5)):
        for err in ("true", "false"):
            value = 0.0
            pts = []
            for t in times():
                value += (err_rate if err == "true" else 1 - err_rate) * 2 * SCRAPE
                pts.append((t, round(value, 3)))
            data[
                _key(
                    __name__="hotrod_requests_total",
                    namespace="hotrod",
                    rollouts_pod_template_hash=hash_,
                    error=err,
                )
            ] = pts
        lat_bounds = ["2", "4", "6", "8", "10", "100", "250", "500", "1000", "2000", "+Inf"]
        lat_shares = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.7, 0.85, 0.96, 0.99, 1.0]
        count = 0.0
        series_pts: dict[str, list[Sample]] = {b: [] for b in lat_bounds}
        for t in times(jitter=False):
            count += 2 * SCRAPE
            for b, sh in zip(lat_bounds, lat_shares, strict=True):
                series_pts[b].append(
                    (t, math.floor(count * min(1.0, sh / lat_scale if b != "+Inf" else 1.0)))
                )
        for b in lat_bounds:
            data[
                _key(
                    __name__="traces_span_metrics_duration_milliseconds_bucket",
                    hotrod_namespace="hotrod",
                    hotrod_pod_hash=hash_,
                    span_name="HTTP GET /dispatch",
                    le=b,
                )
            ] = [(t, float(v)) for t, v in series_pts[b]]
    # Label matching fodder.
    for i, path in enumerate(("/api/v1/users", "/api/v2/users", "/healthz", "/metrics")):
        data[_key(__name__="path_hits", path=path, env="prod" if i % 2 else "dev")] = [
            (t, float(i * 10 + (t // 1000 - T0) // 60)) for t in times(jitter=False)
        ]
    data[_key(__name__="node_info", instance="10.0.0.1:80", os="linux", version="1.2")] = [
        (t, 1.0) for t in times(jitter=False)
    ]
    data[_key(__name__="node_info", instance="10.0.0.2:80", os="linux", version="1.3")] = [
        (t, 1.0) for t in times(jitter=False)
    ]
    # Two metrics differing only by name, to provoke duplicate-labelset errors after name dropping.
    data[_key(__name__="dup_a", x="1")] = [(t, 1.0) for t in times(jitter=False)]
    data[_key(__name__="dup_b", x="1")] = [(t, 2.0) for t in times(jitter=False)]
    data[_key(__name__="nan_gauge", kind="n")] = [
        (t, math.nan if i % 7 == 0 else float(i)) for i, t in enumerate(times(jitter=False))
    ]
    return data


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics(data: SeriesMap) -> str:
    lines: list[str] = []
    by_name: dict[str, list[tuple[tuple[tuple[str, str], ...], list[Sample]]]] = {}
    for key, pts in data.items():
        name = dict(key)["__name__"]
        by_name.setdefault(name, []).append((key, pts))
    for name in sorted(by_name):
        for key, pts in by_name[name]:
            lbl = ",".join(f'{k}="{_escape(v)}"' for k, v in key if k != "__name__")
            for t, v in pts:
                ts = f"{t // 1000}.{t % 1000:03d}"
                lines.append(f"{name}{{{lbl}}} {format_float(v)} {ts}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
