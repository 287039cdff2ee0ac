"""The forward proxy with the real ``curl`` (what pods' shell scripts use)."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flightdeck.runtime.http_proxy import ForwardProxy
from flightdeck.runtime.names import ClusterNames
from tests.runtime.conftest import free_ip

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        info = {
            "path": self.path,
            "host": self.headers["Host"],
            "agent": self.headers["User-Agent"],
            "proxy": self.headers.get("Proxy-Connection"),
        }
        self._answer(json.dumps(info).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self._answer(json.dumps({"got": len(body), "path": self.path}).encode(), status=201)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, int, ForwardProxy]]:
    ip = free_ip()
    server = http.server.ThreadingHTTPServer((ip, 0), Handler)
    port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    names = ClusterNames(tmp_path)
    names.set_services(
        [
            {
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"clusterIP": ip, "ports": [{"port": port}]},
            }
        ]
    )
    proxy = ForwardProxy(names.resolve)
    yield ip, port, proxy
    proxy.close()
    server.shutdown()
    server.server_close()


def curl(proxy_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "http_proxy": proxy_url, "https_proxy": proxy_url}
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", *args], env=env, capture_output=True, text=True, timeout=20
    )


def test_get_by_every_name_form(cluster: tuple[str, int, ForwardProxy]) -> None:
    _ip, port, proxy = cluster
    url = proxy.url_for("shop")
    for host in ("web", "web.shop", "web.shop.svc", "web.shop.svc.cluster.local"):
        result = curl(
            url, "-H", "User-Agent: TrafficGenerator/1.0", f"http://{host}:{port}/dispatch?customer=123"
        )
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info == {
            "path": "/dispatch?customer=123",
            "host": f"{host}:{port}",
            "agent": "TrafficGenerator/1.0",
            "proxy": None,
        }
    # short names are relative to the asking pod's namespace
    other = curl(proxy.url_for("elsewhere"), f"http://web:{port}/")
    assert other.returncode != 0


def test_post_keepalive_and_chunked(cluster: tuple[str, int, ForwardProxy]) -> None:
    _ip, port, proxy = cluster
    url = proxy.url_for("shop")
    base = f"http://web.shop.svc.cluster.local:{port}"
    result = curl(
        url, "-d", "x" * 5000, f"{base}/orders", "--next", f"{base}/second", "--next", f"{base}/chunked"
    )
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split("}", 1)
    assert json.loads(first + "}") == {"got": 5000, "path": "/orders"}
    assert json.loads(rest.split("}", 1)[0] + "}")["path"] == "/second"
    assert result.stdout.endswith("hello chunked world")


def test_connect_tunnel(cluster: tuple[str, int, ForwardProxy]) -> None:
    _ip, port, proxy = cluster
    result = curl(proxy.url_for("shop"), "--proxytunnel", f"http://web.shop:{port}/tunnelled")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"] == "/tunnelled"
    failed = curl(proxy.url_for("shop"), "--proxytunnel", f"http://{free_ip()}:{port}/")
    assert failed.returncode != 0 and "502" in failed.stderr


def test_unreachable_upstream_fails_like_a_direct_request(cluster: tuple[str, int, ForwardProxy]) -> None:
    _ip, port, proxy = cluster
    result = curl(proxy.url_for("shop"), f"http://{free_ip()}:{port}/")
    assert result.returncode != 0  # the seed's `curl ... || echo "Request failed"` sees a failure
