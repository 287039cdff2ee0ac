"""Fixtures for tsdb tests: a deterministic data set in real Prometheus (promtool block) and in
flightdeck's store, both served over HTTP."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flightdeck.tsdb.server import TSDBServer, start_server
from flightdeck.tsdb.storage import Storage
from tests.support.prometheus import free_port, prometheus_binary
from tests.tsdb import dataset


@dataclass
class Pair:
    prometheus_url: str
    flightdeck_url: str


def load_flightdeck(data: dataset.SeriesMap) -> Storage:
    storage = Storage()
    for key, pts in data.items():
        storage.append_series(key, [t for t, _ in pts], [v for _, v in pts])
    return storage


@pytest.fixture(scope="session")
def dataset_series() -> dataset.SeriesMap:
    return dataset.build()


@pytest.fixture(scope="session")
def flightdeck_server(dataset_series: dataset.SeriesMap) -> Iterator[TSDBServer]:
    srv = start_server(load_flightdeck(dataset_series))
    srv.engine.subquery_interval_ms = 15_000
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def prometheus_block_server(dataset_series: dataset.SeriesMap) -> Iterator[str]:
    binary = prometheus_binary()
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is needed")
    work = Path(tempfile.mkdtemp(prefix="flightdeck-diff-"))
    (work / "data.om").write_text(dataset.openmetrics(dataset_series))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(work / "data.om"), str(work / "data")],
        check=True,
        capture_output=True,
    )
    (work / "prometheus.yml").write_text("global:\n  evaluation_interval: 15s\n")
    port = free_port()
    log = open(work / "prometheus.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError((work / "prometheus.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def pair(prometheus_block_server: str, flightdeck_server: TSDBServer) -> Pair:
    return Pair(prometheus_block_server, flightdeck_server.url)
