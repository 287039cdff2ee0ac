"""HotROD under the seed's traffic: dispatch latency p50/p95, RSS and CPU per dispatch of ``hotrod all``.

Runs ``python -m flightdeck.apps.hotrod all`` (real time scale, OTLP/HTTP export into a local sink that
counts spans) and the traffic generator with the seed's settings (0.5 s pause, clock-picked endpoints) for
``--seconds`` (default 60). Prints the figures and the machine they were measured on.
"""

from __future__ import annotations

import argparse
import http.server
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from flightdeck.apps.loadgen import LoadGenerator, Options
from flightdeck.apps.loadgen.core import percentile


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink(http.server.BaseHTTPRequestHandler):
    received = 0

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Sink.received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


def proc_stat(pid: int) -> tuple[float, int]:
    """CPU seconds (user+system) and RSS bytes of a process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    port = free_port()
    env = dict(
        os.environ,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{sink.server_address[1]}",
        OTEL_RESOURCE_ATTRIBUTES="hotrod.pod.name=bench,hotrod.namespace=bench,hotrod.pod.hash=bench",
    )
    ports = ["-f", str(port), "-c", str(free_port()), "-d", str(free_port()), "-r", str(free_port())]
    proc = subprocess.Popen(
        [sys.executable, "-m", "flightdeck.apps.hotrod", "all", *ports],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/config", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        _, idle_rss = proc_stat(proc.pid)
        cpu0, _ = proc_stat(proc.pid)
        generator = LoadGenerator(Options(target=url, wait=0, duration=args.seconds, quiet=True))
        summary = generator.run()
        time.sleep(1.5)  # let the batch processors export
        cpu1, rss = proc_stat(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    dispatch = sorted(
        r.seconds for r in summary.results if r.endpoint.startswith("/dispatch") and r.status == 200
    )
    pages = sum(1 for r in summary.results if r.endpoint == "/")
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    print(f"load: seed loop (0.5 s pause) for {args.seconds:g}s: {len(summary.results)} requests, "
          f"{len(dispatch)} dispatches, {pages} pages, {summary.failed + summary.http_errors} failures")  # fmt: skip
    if dispatch:
        print(f"dispatch latency: p50={percentile(dispatch, 0.5) * 1000:.1f} ms  "
              f"p95={percentile(dispatch, 0.95) * 1000:.1f} ms  max={dispatch[-1] * 1000:.1f} ms")  # fmt: skip
        print(
            f"cpu per dispatch (whole process, pages included): {(cpu1 - cpu0) / len(dispatch) * 1000:.1f} ms"
        )
    print(f"rss: idle {idle_rss / 2**20:.1f} MiB, after load {rss / 2**20:.1f} MiB")
    print(f"otlp export requests received: {Sink.received}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
