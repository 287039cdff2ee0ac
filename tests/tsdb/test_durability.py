"""Durability: every acknowledged sample survives ``kill -9`` (remote write into a separate process,
snapshots taken while it ingests), and a torn WAL tail is cut off cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.persist import DurableStorage
from flightdeck.tsdb.remotewrite import compress, encode_write_request
from tests.support.prometheus import free_port

T0 = 1_700_000_000_000
SERIES = 40


def _start(data: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "flightdeck.cli.main", "prometheus",
            "--listen", f"127.0.0.1:{port}",
            "--storage.tsdb.path", str(data),
            "--storage.tsdb.snapshot-interval", "1s",
            "--storage.tsdb.wal-fsync", "never",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(proc.communicate()[0])


def _request(step: int) -> bytes:
    series = []
    for s in range(SERIES):
        labels = [("__name__", "rw_durable"), ("s", str(s))]
        if s == 0:
            # One series gets a burst of samples per request (a batch of several points).
            ts = np.array([T0 + step * 1000 + k for k in range(5)], dtype=np.int64)
            vs = np.array([float(step * 10 + k) for k in range(5)])
        else:
            ts = np.array([T0 + step * 1000], dtype=np.int64)
            vs = np.array([float(step * s + 1)])
        series.append((labels, ts, vs))
    return compress(encode_write_request(series))


def test_kill_9_loses_no_acknowledged_sample(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start(data, port)
    acked: list[int] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(timeout=5) as client:
            step = 0
            while not stop.is_set():
                try:
                    resp = client.post(f"http://127.0.0.1:{port}/api/v1/write", content=_request(step))
                except httpx.HTTPError:
                    return
                if resp.status_code == 204:
                    acked.append(step)
                step += 1

    sender = threading.Thread(target=send)
    sender.start()
    try:
        time.sleep(2.5)  # a few snapshots happen meanwhile
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        stop.set()
        sender.join(timeout=10)
    assert len(acked) > 20, proc.stdout.read() if proc.stdout else ""
    assert (data / "SNAPSHOT").exists()
    proc = _start(data, port)
    try:
        last = max(acked)
        resp = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/query",
            params={"query": "rw_durable[1h]", "time": str((T0 + last * 1000 + 10) / 1000)},
        )
        result = {r["metric"]["s"]: r["values"] for r in resp.json()["data"]["result"]}
        for s in range(SERIES):
            got = {(round(float(t) * 1000), float(v)) for t, v in result[str(s)]}
            for step in acked:
                if s == 0:
                    want = {(T0 + step * 1000 + k, float(step * 10 + k)) for k in range(5)}
                else:
                    want = {(T0 + step * 1000, float(step * s + 1))}
                assert want <= got, f"series {s} lost step {step}"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert "replayed from the WAL" in out


def test_torn_wal_tail_is_cut(tmp_path: Path) -> None:
    store = DurableStorage(tmp_path)
    for i in range(10):
        store.storage.append({"__name__": "x"}, 1000 * i, float(i))
    store.wal.close()
    segment = sorted((tmp_path / "wal").iterdir())[-1]
    raw = segment.read_bytes()
    segment.write_bytes(raw[:-5])  # the last record is torn mid-write
    reopened = DurableStorage(tmp_path)
    assert reopened.replay_stats.torn_at is not None
    (series,) = reopened.storage.select([LabelMatcher("__name__", "=", "x")])
    assert series.timestamps.tolist() == [1000 * i for i in range(9)]
    reopened.storage.append({"__name__": "x"}, 20_000, 1.0)  # appending after the cut works
    reopened.close()
    again = DurableStorage(tmp_path)
    (series,) = again.storage.select([LabelMatcher("__name__", "=", "x")])
    assert series.timestamps.tolist()[-1] == 20_000
    again.close()


def test_retention_and_series_survive_restart(tmp_path: Path) -> None:
    store = DurableStorage(tmp_path, retention_ms=10_000)
    store.storage.append({"__name__": "old"}, 0, 1.0)
    store.storage.append({"__name__": "new"}, 0, 1.0)
    store.storage.append({"__name__": "new"}, 20_000, 2.0)
    store.snapshot()
    store.storage.apply_retention()
    store.wal.close()  # crash after retention, before the next snapshot
    reopened = DurableStorage(tmp_path, retention_ms=10_000)
    assert reopened.storage.label_values("__name__") == ["new"]
    reopened.close()
