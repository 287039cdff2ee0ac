"""``flightdeck app hotrod|loadgen`` and ``python -m flightdeck.apps.hotrod``: flags, defaults, user errors."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from flightdeck.apps.hotrod import HotRod
from flightdeck.apps.hotrod.config import Config, config_from_args
from flightdeck.cli import app as app_cli
from flightdeck.cli.errors import UserError
from tests.apps.test_loadgen import free_port


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="flightdeck")
    app_cli.register(root.add_subparsers(dest="command"))
    return root


def test_hotrod_flags_and_defaults() -> None:
    args = parser().parse_args(["app", "hotrod", "all"])
    assert args.func.__name__ == "run"
    config = config_from_args(args, {})
    assert config == Config()
    args = parser().parse_args(
        ["app", "hotrod", "frontend", "-D", "100ms", "-M", "-W", "10", "-f", "9090", "-b", "/x", "-j", "http://j",
         "--version", "1.75.0"]
    )  # fmt: skip
    config = config_from_args(args, {"HOTROD_VERSION": "9.9.9"})
    assert (config.mysql_delay, config.mysql_delay_stddev) == (0.1, 0.03)  # stddev stays 1/10 of 300ms
    assert config.mysql_mutex_disabled and config.route_worker_pool_size == 10
    assert (config.frontend_port, config.basepath, config.jaeger_ui, config.version) == (
        9090,
        "/x",
        "http://j",
        "1.75.0",
    )
    assert (
        config_from_args(parser().parse_args(["app", "hotrod", "all"]), {"HOTROD_VERSION": "1.75.0"}).version
        == "1.75.0"
    )


def test_user_errors() -> None:
    with pytest.raises(UserError, match='invalid argument "3" for "-D, --fix-db-query-delay" flag'):
        config_from_args(parser().parse_args(["app", "hotrod", "all", "-D", "3"]), {})
    with pytest.raises(UserError, match="jaeger exporter is no longer supported, please use otlp"):
        HotRod(Config(otel_exporter="jaeger"))
    with pytest.raises(SystemExit):
        parser().parse_args(["app", "hotrod", "nope"])


def test_loadgen_flags() -> None:
    args = parser().parse_args(
        ["app", "loadgen", "http://x:1", "--rate", "2", "--duration", "1m", "--requests", "5"]
    )
    assert (args.target, args.rate, args.duration, args.requests, args.wait) == (
        "http://x:1",
        2.0,
        60.0,
        5,
        10.0,
    )


def test_module_runs_all_and_stops_on_sigterm() -> None:
    port = free_port()
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(sys.path), OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1"
    )
    ports = ["-c", str(free_port()), "-d", str(free_port()), "-r", str(free_port()), "-f", str(port)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flightdeck.apps.hotrod",
            "all",
            "-x",
            "stdout",
            "--time-scale",
            "0.05",
            *ports,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/dispatch?customer=123", timeout=5) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.1)
        assert body.startswith(b'{"Driver":"T7')
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert b"Starting all services" in err
