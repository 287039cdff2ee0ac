"""Start the real Prometheus server (Debian package) on a free loopback port for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prometheus_binary() -> str:
    """The path of ``prometheus``; CI installs it (.ci/run), so there a missing binary is a failure."""
    path = shutil.which("prometheus")
    if path is None:
        message = "the real Prometheus server is needed: apt-get install -y prometheus"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class PrometheusServer:
    """One ``prometheus`` process scraping ``targets`` every ``scrape_interval``."""

    def __init__(self, targets: list[str], scrape_interval: str = "1s", extra_config: str = "") -> None:
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.extra_config = extra_config
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="flightdeck-prom-"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        targets = ", ".join(f"'{t}'" for t in self.targets)
        return (
            "global:\n"
            f"  scrape_interval: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            "scrape_configs:\n"
            "  - job_name: fixture\n"
            f"    static_configs:\n      - targets: [{targets}]\n" + self.extra_config
        )

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        config = self._dir / "prometheus.yml"
        config.write_text(self.config_text())
        self.port = free_port()
        log = open(self._dir / "prometheus.log", "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self._dir / 'prometheus.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready")

    def wait_for_samples(self, query: str, timeout: float = 30.0) -> None:
        """Block until ``query`` returns a non-empty instant vector (a scrape has landed)."""
        import json
        import urllib.parse

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    data = json.loads(resp.read())
                if data["data"]["result"]:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no samples for {query!r} after {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)
