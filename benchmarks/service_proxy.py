"""Service proxy overhead: added p50 latency (target <= 1 ms) and requests/s through one Service (target
>= 5,000) on loopback.

Three processes, as on a flightdeck node: a small HTTP/1.1 backend (the "pod"), the Service load balancer
(``ServiceProxies`` on its own event-loop thread, in this process, like in the server), and a load generator.
Latency: one keep-alive connection doing sequential requests, direct to the pod and through the Service; the
difference of the medians is what the proxy adds. Throughput: concurrent keep-alive connections through the
Service. Also reported (not a target): new connection per request, as ``curl`` in a loop does.

``--seconds`` per throughput run (default 3). Prints the machine; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flightdeck.runtime.service_proxy import ServiceProxies

LATENCY_TARGET_MS = 1.0
RATE_TARGET = 5_000

BACKEND = r"""
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
class Backend(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
    def data_received(self, data):
        self.buffer += data
        n = self.buffer.count(b"\r\n\r\n")
        if n:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4:]
            self.transport.write(RESPONSE * n)
async def main():
    server = await asyncio.get_running_loop().create_server(Backend, sys.argv[1], 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""

CLIENT = r"""
import asyncio, json, sys, time, socket
host, port, mode, conns, seconds, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
REQUEST = b"GET /dispatch?customer=123 HTTP/1.1\r\nHost: svc\r\nUser-Agent: bench\r\n\r\n"
RESPONSE_LEN = len(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
class Client(asyncio.Protocol):
    def __init__(self, done, deadline, limit, latencies):
        self.done, self.deadline, self.limit, self.latencies = done, deadline, limit, latencies
        self.got = 0
        self.n = 0
    def connection_made(self, transport):
        self.transport = transport
        self.send()
    def send(self):
        self.sent = time.perf_counter()
        self.transport.write(REQUEST)
    def data_received(self, data):
        self.got += len(data)
        while self.got >= RESPONSE_LEN:
            self.got -= RESPONSE_LEN
            now = time.perf_counter()
            self.latencies.append(now - self.sent)
            self.n += 1
            if now >= self.deadline or (self.limit and self.n >= self.limit):
                self.transport.close()
                return
            self.send()
    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(None)
async def keepalive():
    loop = asyncio.get_running_loop()
    latencies = []
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(conns):
        done = loop.create_future()
        waits.append(done)
        await loop.create_connection(lambda d=done: Client(d, deadline, count, latencies), host, port)
    await asyncio.gather(*waits)
    return latencies, time.perf_counter() - start
def per_connection():
    latencies = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        with socket.create_connection((host, port)) as s:
            s.sendall(REQUEST)
            got = 0
            while got < RESPONSE_LEN:
                got += len(s.recv(4096))
        latencies.append(time.perf_counter() - t)
    return latencies, time.perf_counter() - start
if mode == "new":
    latencies, elapsed = per_connection()
else:
    latencies, elapsed = asyncio.run(keepalive())
latencies.sort()
print(json.dumps({"n": len(latencies), "elapsed": elapsed,
    "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}))
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def client(host: str, port: int, mode: str, conns: int, seconds: float, count: int = 0) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, host, str(port), mode, str(conns), str(seconds), str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}; cpu: {cpu_model()} x{os.cpu_count()}; python {platform.python_version()}"
    )

    pod_ip = f"127.222.{random.randint(0, 255)}.{random.randint(1, 254)}"
    cluster_ip = f"127.223.{random.randint(0, 255)}.{random.randint(1, 254)}"
    backend = subprocess.Popen([sys.executable, "-c", BACKEND, pod_ip], stdout=subprocess.PIPE, text=True)
    assert backend.stdout is not None
    pod_port = int(backend.stdout.readline())
    proxies = ServiceProxies()
    service_port = random.randint(20000, 40000)
    service = {
        "metadata": {"name": "hotrod", "namespace": "bench"},
        "spec": {
            "clusterIP": cluster_ip,
            "selector": {"app": "hotrod"},
            "ports": [{"port": service_port, "targetPort": pod_port}],
        },
    }
    pod = {
        "metadata": {"name": "hotrod-1", "namespace": "bench", "labels": {"app": "hotrod"}},
        "status": {"podIP": pod_ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    try:
        problems = proxies.sync([service], [pod])
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        client(cluster_ip, service_port, "keepalive", 1, 1.0, 500)  # warm-up
        direct = client(pod_ip, pod_port, "keepalive", 1, 30.0, 3000)
        proxied = client(cluster_ip, service_port, "keepalive", 1, 30.0, 3000)
        added_ms = (proxied["p50"] - direct["p50"]) * 1e3
        print(
            f"latency, 1 connection, sequential: direct p50 {direct['p50'] * 1e3:.3f} ms p99 {direct['p99'] * 1e3:.3f} ms; "
            f"via Service p50 {proxied['p50'] * 1e3:.3f} ms p99 {proxied['p99'] * 1e3:.3f} ms"
        )
        print(f"added p50 latency: {added_ms:.3f} ms  (target <= {LATENCY_TARGET_MS} ms)")
        base = client(pod_ip, pod_port, "keepalive", args.connections, args.seconds)
        time.sleep(0.2)
        through = client(cluster_ip, service_port, "keepalive", args.connections, args.seconds)
        rate = through["n"] / through["elapsed"]
        print(
            f"throughput, {args.connections} keep-alive connections: direct {base['n'] / base['elapsed']:,.0f} req/s; "
            f"via Service {rate:,.0f} req/s (p50 {through['p50'] * 1e3:.2f} ms)  (target >= {RATE_TARGET:,})"
        )
        fresh_direct = client(pod_ip, pod_port, "new", 1, min(args.seconds, 2.0))
        fresh = client(cluster_ip, service_port, "new", 1, min(args.seconds, 2.0))
        print(
            f"new connection per request (curl-like), sequential: direct {fresh_direct['n'] / fresh_direct['elapsed']:,.0f} req/s "
            f"p50 {fresh_direct['p50'] * 1e3:.3f} ms; via Service {fresh['n'] / fresh['elapsed']:,.0f} req/s "
            f"p50 {fresh['p50'] * 1e3:.3f} ms"
        )
    finally:
        proxies.close()
        backend.terminate()
        backend.wait(5)
    ok = added_ms <= LATENCY_TARGET_MS and rate >= RATE_TARGET
    print("OK" if ok else "FAIL: under target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
