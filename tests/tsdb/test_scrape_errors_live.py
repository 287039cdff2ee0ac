"""Real Prometheus and flightdeck scrape the same misbehaving targets (malformed text format and
OpenMetrics, HTTP errors, duplicate labels, a good OpenMetrics body): the targets pages agree on
health and on the error text, word for word."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from flightdeck.tsdb.scrape.config import parse_config
from flightdeck.tsdb.server import TSDBServer, start_server
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
BODIES: dict[str, tuple[int, str, str]] = {
    "/text-bad": (200, TEXT, 'ok 1\nbad{a="b"} 1 2 3\n'),
    "/om-bad": (200, OM, "# TYPE x gauge\nx 1\n"),
    "/om-good": (200, OM, '# TYPE x gauge\n# HELP x An x.\nx{a="1"} 2\n# EOF\n'),
    "/status-500": (500, TEXT, "oops"),
    "/dup-labels": (200, TEXT, 'd{a="1",a="2"} 1\n'),
    "/bad-type": (200, TEXT, "# TYPE t nonsense\nt 1\n"),
    "/negative-ts": (200, TEXT, "n 1 -5\n"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, ctype, body = BODIES.get(self.path.split("?")[0], (404, TEXT, "nope"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def bad_exporter() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _jobs(address: str) -> str:
    return "".join(
        f"  - job_name: j{i}\n    metrics_path: {path}\n    static_configs:\n      - targets: ['{address}']\n"
        for i, path in enumerate(BODIES)
    )


@pytest.fixture(scope="module")
def both(bad_exporter: str) -> Iterator[tuple[str, str]]:
    prom = PrometheusServer([bad_exporter], extra_config=_jobs(bad_exporter)).start()
    cfg = parse_config(prom.config_text())
    fd: TSDBServer = start_server(scrape_config=cfg)
    try:
        yield prom.url, fd.url
    finally:
        fd.stop()
        prom.stop()


def _pages(url: str) -> dict[str, tuple[str, str]]:
    data = httpx.get(f"{url}/api/v1/targets").json()["data"]
    return {t["scrapePool"]: (t["health"], t["lastError"]) for t in data["activeTargets"]}


def test_target_health_and_errors_match(both: tuple[str, str]) -> None:
    prom, fd = both
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pages = [_pages(prom), _pages(fd)]
        if all(p and all(h != "unknown" for h, _ in p.values()) for p in pages):
            break
        time.sleep(0.3)
    time.sleep(1.2)  # one more round each, so both report a settled state
    expected, actual = _pages(prom), _pages(fd)
    assert expected == actual
    assert expected["j2"] == ("up", "")  # the good OpenMetrics body
    assert expected["j0"][1] == 'expected next entry after timestamp, got "TIMESTAMP"'
