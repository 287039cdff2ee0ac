"""The traffic generator: the seed's loop by default, bounds, rate mode, a target that is down, SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from flightdeck.apps.loadgen import ENDPOINTS, LoadGenerator, Options
from tests.apps.conftest import Running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_seed_defaults() -> None:
    options = Options()
    assert (options.wait, options.interval, options.concurrency, options.pick) == (10.0, 0.5, 1, "clock")
    assert ENDPOINTS == ("/", "/dispatch?customer=123", "/dispatch?customer=567", "/dispatch?customer=392",
                         "/dispatch?customer=731")  # fmt: skip


def test_against_hotrod_prints_lines_and_summary(hotrod: Running) -> None:
    out = io.StringIO()
    gen = LoadGenerator(
        Options(target=hotrod.url, wait=0, interval=0.0, requests=6, pick="random", seed=1), out=out
    )
    summary = gen.run()
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["Starting HotROD traffic generator...", "Generating traffic to HotROD frontend..."]
    requests = [line for line in lines if line.startswith("Request successful | Status: 200 | Time: ")]
    assert len(requests) == 6 and all(line.split("Endpoint: ")[1] in ENDPOINTS for line in requests)
    assert len(summary.results) == 6 and summary.ok == 6
    text = summary.render()
    assert "requests: 6  ok: 6  http errors: 0  failed: 0" in text and "p95=" in text
    # the user agent reached the server span
    agents = {
        s.attributes.get("user_agent.original") for s in hotrod.spans() if s.parent is None and s.attributes
    }
    assert agents == {"TrafficGenerator/1.0"}


def test_target_down_is_survived_and_reported() -> None:
    out = io.StringIO()
    target = f"http://127.0.0.1:{free_port()}"
    summary = LoadGenerator(Options(target=target, wait=0, interval=0.01, requests=4), out=out).run()
    assert summary.failed == 4 and summary.ok == 0
    lines = out.getvalue().splitlines()
    # curl -w prints its line even without a response, then the script's || echo runs
    assert sum(line.startswith("Request successful | Status: 000 |") for line in lines) == 4
    assert sum(line.startswith("Request failed to /") for line in lines) == 4
    assert "target unreachable: all 4 requests failed" in summary.render()


def test_rate_mode_with_duration_bound(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod()
    options = Options(target=running.url, wait=0, rate=20, concurrency=4, duration=0.5, quiet=True)
    started = time.monotonic()
    summary = LoadGenerator(options).run()
    assert time.monotonic() - started < 3
    assert 6 <= len(summary.results) + summary.skipped <= 11


def test_stop_event_ends_an_unbounded_run() -> None:
    stop = threading.Event()
    gen = LoadGenerator(
        Options(target=f"http://127.0.0.1:{free_port()}", wait=0, interval=0.05, quiet=True), stop=stop
    )
    threading.Timer(0.3, stop.set).start()
    summary = gen.run()
    assert summary.failed >= 1


def test_sigterm_prints_the_summary() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "flightdeck.apps.loadgen", f"http://127.0.0.1:{free_port()}", "--wait", "0",
         "--interval", "100ms"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "Starting HotROD traffic generator...\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 1  # every request failed
    assert "--- traffic generator summary ---" in out and "target unreachable" in out
