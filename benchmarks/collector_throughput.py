"""Collector throughput: OTLP/HTTP (protobuf, 1,000-span batches) → spanmetrics → prometheus, on one core.
Targets: ≥ 200,000 spans/s, peak RSS ≤ 250 MB; a full /metrics scrape of 10,000 series in ≤ 50 ms.

The collector runs as ``flightdeck collector --config`` in its own process pinned to one CPU; the client
is a separate process (several keep-alive connections) posting pre-encoded batches whose spans carry the
seed's resource dimensions (hotrod.namespace, hotrod.pod.name, hotrod.pod.hash) for six services and two
pods each. spans/s = spans accepted by the receiver (its own otelcol_receiver_accepted_spans) / wall time;
CPU s per million spans and peak RSS come from /proc of the collector process. The client processes are
pinned to the other CPUs, so the collector has its core to itself.

The scrape figure is a *full* scrape: each measured scrape follows a spanmetrics flush (cumulative, so
every series is re-emitted with a new timestamp and the exporter converts and renders all of them again);
an immediate second scrape of unchanged data (served from the exporter's cache) is shown beside it.

Exits 1 when a target is missed. Env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 4).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
BATCH = 1000
TARGET_SPANS = 200_000
TARGET_RSS_MB = 250
TARGET_SCRAPE_MS = 50
SERVICES = {
    "frontend": ["/dispatch", "HTTP GET", "driver.DriverService/FindNearest"],
    "customer": ["/customer"],
    "mysql": ["SQL SELECT"],
    "driver": ["driver.DriverService/FindNearest"],
    "redis-manual": ["FindDriverIDs", "GetDriver"],
    "route": ["/route"],
}


CPUS = frozenset(os.sched_getaffinity(0))


def collector_cpu() -> int:
    return max(CPUS)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_batch(seed: int, names: list[str] | None = None, count: int = BATCH) -> bytes:
    """One request of ``count`` spans spread over 12 resources (6 services × 2 pods), HotROD-shaped;
    with ``names``, span i is named names[i] and never errors (a fixed series layout)."""
    rng = random.Random(seed)
    req = ExportTraceServiceRequest()
    pods = [("6f7b9c8d5", "hotrod-6f7b9c8d5-x2k4q"), ("54d8c7b9f", "hotrod-54d8c7b9f-p9w2z")]
    resources = []
    for service in SERVICES:
        for pod_hash, pod_name in pods:
            rs = req.resource_spans.add()
            for k, v in (
                ("service.name", service),
                ("hotrod.namespace", "hotrod"),
                ("hotrod.pod.name", pod_name),
                ("hotrod.pod.hash", pod_hash),
                ("host.name", pod_name),
                ("os.type", "linux"),
                ("telemetry.sdk.language", "go"),
                ("telemetry.sdk.name", "opentelemetry"),
                ("telemetry.sdk.version", "1.38.0"),
            ):
                kv = rs.resource.attributes.add()
                kv.key, kv.value.string_value = k, v
            ss = rs.scope_spans.add()
            ss.scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
            ss.scope.version = "0.63.0"
            resources.append((service, ss))
    start = 1_700_000_000_000_000_000
    for i in range(count):
        service, ss = resources[i % len(resources)]
        sp = ss.spans.add()
        sp.trace_id = rng.randbytes(16)
        sp.span_id = rng.randbytes(8)
        sp.parent_span_id = rng.randbytes(8)
        sp.name = names[i % len(names)] if names else rng.choice(SERVICES[service])
        sp.kind = 2 if sp.name.startswith("/") or names else 3
        sp.start_time_unix_nano = start + i * 1_000_000
        sp.end_time_unix_nano = sp.start_time_unix_nano + int(rng.lognormvariate(17.5, 1.0))
        if names is None and rng.random() < 0.05:
            sp.status.code = 2
        for k, v in (("http.method", "GET"), ("http.response.status_code", 200), ("net.peer.name", service)):
            kv = sp.attributes.add()
            kv.key = k
            if isinstance(v, int):
                kv.value.int_value = v
            else:
                kv.value.string_value = v
    return req.SerializeToString()


def client(port: int, bodies: list[bytes], stop_at: float, counter: mp.Value) -> None:  # type: ignore[type-arg]
    """Keep-alive HTTP/1.1 POSTs as fast as the collector answers; counts accepted spans."""
    others = CPUS - {collector_cpu()}
    if others:
        os.sched_setaffinity(0, others)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    heads = [
        (
            f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(b)}\r\n\r\n"
        ).encode()
        + b
        for b in bodies
    ]
    sent = 0
    buf = b""
    i = 0
    while time.monotonic() < stop_at:
        sock.sendall(heads[i % len(heads)])
        i += 1
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            rest += sock.recv(65536)
        buf = rest[length:]
        if head.startswith(b"HTTP/1.1 200"):
            sent += BATCH
    sock.close()
    with counter.get_lock():
        counter.value += sent


def proc_stats(pid: int) -> tuple[float, int]:
    """(user+system CPU seconds, peak RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return cpu, hwm


def scrape(port: int) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        body = resp.read()
    return time.perf_counter() - t0, body


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("collector did not start")


def start_collector(config: str, cpu: int) -> tuple[subprocess.Popen[bytes], str]:
    path = Path(tempfile.mkdtemp()) / "collector.yaml"
    path.write_text(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flightdeck.cli.main", "collector", "--config", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    return proc, str(path)


def config(otlp: int, prom: int, tel: int, flush: str) -> str:
    return f"""
receivers:
  otlp:
    protocols:
      http: {{endpoint: "127.0.0.1:{otlp}"}}
connectors:
  spanmetrics:
    dimensions: [{{name: hotrod.namespace}}, {{name: hotrod.pod.name}}, {{name: hotrod.pod.hash}}]
    metrics_flush_interval: {flush}
exporters:
  prometheus: {{endpoint: "127.0.0.1:{prom}"}}
service:
  telemetry:
    logs: {{level: warn}}
    metrics: {{readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {tel}}}}}}}}}]}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [spanmetrics]}}
    metrics: {{receivers: [spanmetrics], exporters: [prometheus]}}
"""


def accepted(tel_port: int) -> float:
    _, body = scrape(tel_port)
    m = re.search(rb'otelcol_receiver_accepted_spans\{receiver="otlp",transport="http"\} (\S+)', body)
    return float(m.group(1)) if m else 0.0


def throughput() -> list[str]:
    """Runs the throughput measurement; returns the missed targets."""
    otlp, prom, tel = free_port(), free_port(), free_port()
    cpu_id = collector_cpu()
    proc, _ = start_collector(config(otlp, prom, tel, "1s"), cpu_id)
    try:
        wait_up(otlp)
        wait_up(tel)
        bodies = [make_batch(seed) for seed in range(8)]
        # warm-up: first series creation, code paths
        counter = mp.Value("q", 0)
        client(otlp, bodies, time.monotonic() + 1.0, counter)
        cpu0, _ = proc_stats(proc.pid)
        acc0 = accepted(tel)
        t0 = time.monotonic()
        stop_at = t0 + SECONDS
        workers = [
            mp.Process(target=client, args=(otlp, bodies, stop_at, counter)) for _ in range(CONNECTIONS)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.monotonic() - t0
        cpu1, hwm = proc_stats(proc.pid)
        spans = accepted(tel) - acc0
        time.sleep(1.5)  # one more spanmetrics flush reaches the exporter
        _, body = scrape(prom)
        calls = sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.decode().splitlines()
            if line.startswith("traces_span_metrics_calls_total{")
        )
        rate = spans / wall
        cpu_per_m = (cpu1 - cpu0) / (spans / 1e6) if spans else float("nan")
        print(f"machine: {machine()}")
        print(f"collector pinned to CPU {cpu_id}; {CONNECTIONS} client connections in separate processes")
        print(f"spans accepted: {spans:,.0f} in {wall:.2f} s wall")
        print(f"throughput: {rate:,.0f} spans/s (target >= {TARGET_SPANS:,})")
        print(f"collector CPU: {cpu1 - cpu0:.2f} s = {cpu_per_m:.2f} CPU s per million spans")
        print(f"peak RSS: {hwm / 1e6:.0f} MB (target <= {TARGET_RSS_MB})")
        print(
            f"spanmetrics calls total in the prometheus exporter: {calls:,.0f} (>= spans accepted incl. warm-up)"
        )
        missed = []
        if rate < TARGET_SPANS:
            missed.append(f"throughput {rate:,.0f} spans/s < {TARGET_SPANS:,}")
        if hwm / 1e6 > TARGET_RSS_MB:
            missed.append(f"peak RSS {hwm / 1e6:.0f} MB > {TARGET_RSS_MB} MB")
        if calls < spans:
            missed.append(f"the exporter counted {calls:,.0f} calls for {spans:,.0f} accepted spans")
        return missed
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def scrape_10k() -> list[str]:
    """Full /metrics scrapes of 10,000 series; returns the missed targets."""
    otlp, prom, tel = free_port(), free_port(), free_port()
    proc, _ = start_collector(config(otlp, prom, tel, "1s"), collector_cpu())
    try:
        wait_up(otlp)
        # 10,000 series: 500 spans with distinct names → 500 label sets, each 1 calls series and
        # 19 histogram series (16 finite buckets, +Inf, _sum, _count).
        names = [f"op-{i:04d}" for i in range(500)]
        body = make_batch(99, names, count=500)
        counter = mp.Value("q", 0)
        client(otlp, [body], time.monotonic() + 0.5, counter)
        time.sleep(2.5)
        scrape(prom)  # first conversion of every family (help/type registry, label caches)
        full, cached = [], []
        series = 0
        for _ in range(8):
            # > 1 s between measured scrapes: a flush (every 1 s) re-emits all series in between
            time.sleep(1.05)
            dt, text = scrape(prom)
            full.append(dt)
            series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
            cached.append(scrape(prom)[0])
        median = statistics.median(full) * 1e3
        print(
            f"/metrics scrape with {series:,} series after a flush (full conversion and rendering): "
            f"median {median:.1f} ms, max {max(full) * 1e3:.1f} ms (target <= {TARGET_SCRAPE_MS} ms); "
            f"unchanged since the last scrape: median {statistics.median(cached) * 1e3:.1f} ms"
        )
        missed = []
        if series < 10_000:
            missed.append(f"only {series:,} series exposed")
        if median > TARGET_SCRAPE_MS:
            missed.append(f"scrape of {series:,} series {median:.1f} ms > {TARGET_SCRAPE_MS} ms")
        return missed
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    missed = throughput() + scrape_10k()
    for target in missed:
        print(f"TARGET MISSED: {target}")
    sys.exit(1 if missed else 0)
