"""flightdeck's embedded store against the real Prometheus, same machine, same data, same run.

Data: 10,000 series (benchmarks/tsdb_dataset.py), 6 h at 10 s = 21.6 M samples, sent to both by
remote write (identical request bytes; Prometheus with its receiver enabled, flightdeck's CLI in its
own process). Prometheus then compacts its head into 2 h blocks like it does live; we wait for that.
Queries: the seed's three analysis queries and 20 typical dashboard queries, each instant (at the end)
and range (the whole 6 h, step 60 s), through both HTTP APIs, alternating, median of N runs; results
are checked to agree. Also: in-process ingestion rate, bytes per stored sample, and the CPU used to
scrape 100 targets x 1,000 series every 10 s.

Run: .venv/bin/python benchmarks/promql_vs_prometheus.py [--runs N] [--skip-scrape] [--series N]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tsdb_dataset as D
from flightdeck.tsdb.persist import DurableStorage
from flightdeck.tsdb.remotewrite import compress, encode_write_request
from flightdeck.tsdb.scrape.config import parse_config
from flightdeck.tsdb.scrape.manager import ScrapeManager
from flightdeck.tsdb.storage import Storage


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- in-process figures ---------------------------------------------------------------------------------
def ingestion(ds: D.Dataset) -> None:
    print("\n== In-process ingestion (append_refs, one batch = all series at one scrape) ==")
    chunks = list(ds.chunks(120))  # generated up front: only appending is timed
    for label, make in (
        ("in memory", lambda d: Storage()),
        ("WAL (fsync interval)", lambda d: DurableStorage(d).storage),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            before = rss_bytes()
            storage = make(tmp)
            refs = storage.refs(ds.labels)
            samples = 0
            t0 = time.perf_counter()
            for ts, vs in chunks:
                for c in range(ts.shape[1]):
                    storage.append_refs(refs, ts[:, c], vs[:, c])
                    samples += len(refs)
            took = time.perf_counter() - t0
            grown = rss_bytes() - before
            print(f"  {label:22s} {samples / took:12,.0f} samples/s   ({samples:,} samples in {took:.1f} s)")
            if label == "in memory":
                print(
                    f"  bytes per stored sample: {storage.sample_bytes() / storage.num_samples:.2f} (sample arrays), "
                    f"{grown / storage.num_samples:.2f} (process RSS growth, incl. series and index)"
                )
            del storage


# -- the two servers ----------------------------------------------------------------------------------
class Servers:
    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="flightdeck-bench-"))
        (self.work / "prometheus.yml").write_text("global: {}\n")
        self.prom_port = free_port()
        self.fd_port = free_port()
        self.prom = subprocess.Popen(
            [shutil.which("prometheus") or "prometheus", f"--config.file={self.work / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.work / 'prom'}", "--storage.tsdb.retention.time=100y",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--web.enable-remote-write-receiver"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.fd = subprocess.Popen(
            [sys.executable, "-m", "flightdeck.cli.main", "prometheus", "--listen", f"127.0.0.1:{self.fd_port}",
             "--storage.tsdb.retention.time", "100y"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for url in self.urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not start")
                time.sleep(0.2)

    @property
    def urls(self) -> tuple[str, str]:
        return f"http://127.0.0.1:{self.prom_port}", f"http://127.0.0.1:{self.fd_port}"

    def stop(self) -> None:
        for proc in (self.prom, self.fd):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def load(servers: Servers, ds: D.Dataset) -> None:
    print(f"\n== Loading {ds.num_series:,} series x {ds.points} points by remote write into both ==")
    label_lists = [list(lset) for lset in ds.labels]
    spent = {url: 0.0 for url in servers.urls}
    with httpx.Client(timeout=300) as client:
        for ts, vs in ds.chunks(60):
            body = compress(encode_write_request(zip(label_lists, ts, vs, strict=True)))
            for url in servers.urls:
                t0 = time.perf_counter()
                resp = client.post(f"{url}/api/v1/write", content=body)
                spent[url] += time.perf_counter() - t0
                if resp.status_code != 204:
                    raise RuntimeError(f"{url}: {resp.status_code} {resp.text}")
    total = ds.num_series * ds.points
    for name, url in zip(("prometheus", "flightdeck"), servers.urls, strict=True):
        print(
            f"  {name:10s} accepted {total:,} samples in {spent[url]:.1f} s of request time ({total / spent[url]:,.0f}/s)"
        )


def wait_for_compaction(prom_url: str, ds: D.Dataset, limit_s: float = 200.0) -> None:
    """Prometheus moves everything but the last ~2 h of its head into blocks; measure afterwards."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        text = httpx.get(f"{prom_url}/metrics").text
        head_min = next(
            (
                float(line.split()[1])
                for line in text.splitlines()
                if line.startswith("prometheus_tsdb_head_min_time ")
            ),
            0.0,
        )
        if head_min >= ds.end_ms - 3 * 3600_000:
            print(f"  prometheus compacted its head into blocks after {time.monotonic() - t0:.0f} s")
            return
        time.sleep(2)
    print("  prometheus had not compacted its head yet; measuring anyway")


# -- queries --------------------------------------------------------------------------------------------
def _canon(body: dict[str, object]) -> list[tuple[str, list[tuple[str, float]]]]:
    data = body["data"]  # type: ignore[index]
    out = []
    for r in data["result"]:  # type: ignore[index]
        points = r.get("values") or [r["value"]]
        out.append((str(sorted(r["metric"].items())), [(str(t), float(v)) for t, v in points]))
    return sorted(out)


def _agree(a: dict[str, object], b: dict[str, object]) -> bool:
    ca, cb = _canon(a), _canon(b)
    if [k for k, _ in ca] != [k for k, _ in cb]:
        return False
    for (_, pa), (_, pb) in zip(ca, cb, strict=True):
        if [t for t, _ in pa] != [t for t, _ in pb]:
            return False
        for (_, x), (_, y) in zip(pa, pb, strict=True):
            if not (x == y or (x != x and y != y) or abs(x - y) <= 1e-9 * max(abs(x), abs(y))):
                return False
    return True


def compare_queries(servers: Servers, ds: D.Dataset, runs: int) -> None:
    end = ds.end_ms / 1000.0
    kinds = {
        "instant": ("/api/v1/query", lambda q: {"query": q, "time": f"{end:.3f}"}),
        "range": (
            "/api/v1/query_range",
            lambda q: {"query": q, "start": f"{end - 6 * 3600:.3f}", "end": f"{end:.3f}", "step": "60"},
        ),
    }
    queries = [("seed", q) for q in D.SEED_QUERIES] + [("dash", q) for q in D.DASHBOARD_QUERIES]
    ratios: dict[str, list[float]] = {"instant": [], "range": []}
    disagreements = 0
    print(f"\n== Query latency through the HTTP APIs (median of {runs}, ms) ==")
    print(f"  {'kind':7s} {'prometheus':>10s} {'flightdeck':>10s} {'ratio':>6s}  query")
    with httpx.Client(timeout=600) as client:
        for kind, (path, params) in kinds.items():
            for tag, q in queries:
                p = params(q)
                answers = [client.get(url + path, params=p) for url in servers.urls]  # warm-up + check
                if not _agree(answers[0].json(), answers[1].json()):
                    disagreements += 1
                    print(f"  !! results differ for {kind} {q}")
                times: dict[str, list[float]] = {url: [] for url in servers.urls}
                for _ in range(runs):
                    for url in servers.urls:
                        t0 = time.perf_counter()
                        resp = client.get(url + path, params=p)
                        _ = resp.content
                        times[url].append(time.perf_counter() - t0)
                prom_ms, fd_ms = (statistics.median(times[u]) * 1000 for u in servers.urls)
                ratio = fd_ms / prom_ms
                ratios[kind].append(ratio)
                print(f"  {kind:7s} {prom_ms:10.1f} {fd_ms:10.1f} {ratio:6.2f}  [{tag}] {q[:90]}")
    every = ratios["instant"] + ratios["range"]
    print(
        f"\n  median ratio flightdeck/prometheus: instant {statistics.median(ratios['instant']):.2f}, "
        f"range {statistics.median(ratios['range']):.2f}, all {statistics.median(every):.2f} "
        f"(target <= 1.0); answers differing: {disagreements} of {len(every)}"
    )


# -- scraping cost ------------------------------------------------------------------------------------------
_EXPORTER = r"""
import http.server, sys, time
lines = [f'bench_metric_total{{shard="{i % 10}",series="{i}",path="/api/v1/items"}} ' for i in range(1000)]
head = "# HELP bench_metric_total A benchmark counter.\n# TYPE bench_metric_total counter\n"
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        t = time.time()
        body = (head + "".join(f"{l}{t * (k % 7 + 1):.3f}\n" for k, l in enumerate(lines))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
s.serve_forever()
"""


def scrape_cost(seconds: float = 30.0) -> None:
    print("\n== Scraping 100 targets x 1,000 series every 10 s (HTTP, parse, relabel, append) ==")
    port = free_port()
    exporter = subprocess.Popen([sys.executable, "-c", _EXPORTER, str(port)])
    try:
        time.sleep(1.0)
        groups = "\n".join(
            f"      - targets: ['127.0.0.1:{port}']\n        labels: {{replica: 'r{i}'}}" for i in range(100)
        )
        cfg = parse_config(
            f"global:\n  scrape_interval: 10s\nscrape_configs:\n  - job_name: bench\n    static_configs:\n{groups}\n"
        )
        storage = Storage()
        mgr = ScrapeManager(storage, cfg)
        mgr.start()
        time.sleep(11.0)  # every target scraped once: series created, caches filled
        cpu0, wall0, n0 = time.process_time(), time.monotonic(), storage.samples_appended
        time.sleep(seconds)
        cpu1, wall1, n1 = time.process_time(), time.monotonic(), storage.samples_appended
        mgr.stop()
        share = (cpu1 - cpu0) / (wall1 - wall0)
        up = sum(1 for s in mgr.states if s.health == "up")
        print(
            f"  {share * 100:.1f} % of one core over {wall1 - wall0:.0f} s ({(n1 - n0) / (wall1 - wall0):,.0f} samples/s "
            f"appended, {up}/100 targets up; target < 20 %)"
        )
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=D.HOURS)
    parser.add_argument("--skip-scrape", action="store_true")
    parser.add_argument("--skip-prometheus", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    ds = D.build(args.series, args.hours)
    print(
        f"data: {ds.num_series:,} series x {ds.points} points ({ds.num_series * ds.points:,} samples), 10 s interval"
    )
    ingestion(ds)
    if not args.skip_prometheus:
        servers = Servers()
        try:
            load(servers, ds)
            wait_for_compaction(servers.urls[0], ds)
            compare_queries(servers, ds, args.runs)
        finally:
            servers.stop()
    if not args.skip_scrape:
        scrape_cost()


if __name__ == "__main__":
    main()
