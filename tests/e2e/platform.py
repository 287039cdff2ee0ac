"""Helpers for whole-platform tests: a `flightdeck up --detach` on private loopback addresses, the seed's
manifests with a time-compressed analysis template, and polling through the real CLI."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flightdeck.server.demo import compress_time
from tests.support.prometheus import free_port

SEED = Path(__file__).resolve().parents[3] / "shared" / "challenge" / "expert-solved"


def seed_copy(dest: Path) -> Path:
    """The seed's fixed manifests (without the ApplicationSet), time compressed as the demo's --fast does."""
    for app in ("hotrod", "otel", "traffic-generator"):
        shutil.copytree(SEED / app, dest / app)
    compress_time(dest)
    return dest


class Flightdeck:
    """A detached `flightdeck up` with its own state directory and loopback addresses."""

    def __init__(self, state: Path) -> None:
        self.state = state
        octet = random.randint(40, 250)
        self.prometheus = f"127.30.{octet}.1:{free_port()}"
        self.jaeger = f"127.30.{octet}.2:{free_port()}"
        self.env = {**os.environ, "FLIGHTDECK_STATE_DIR": str(state)}

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "flightdeck.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"flightdeck {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}"
            )
        return proc

    def up(self, *extra: str) -> None:
        self.cli(
            "up",
            "--detach",
            "--prometheus-listen",
            self.prometheus,
            "--jaeger-listen",
            self.jaeger,
            "--scrape-interval",
            "2s",
            *extra,
            timeout=90,
        )

    def down(self) -> None:
        self.cli("down", check=False, timeout=90)

    def pid(self) -> int:
        return int((self.state / "server.pid").read_text())

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return dict(json.loads(self.cli("get", kind, name, "-n", namespace, "-o", "json").stdout))

    def items(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return list(json.loads(self.cli("get", kind, "-n", namespace, "-o", "json").stdout)["items"])

    def query(self, promql: str) -> list[dict[str, Any]]:
        import httpx

        response = httpx.get(f"http://{self.prometheus}/api/v1/query", params={"query": promql}, timeout=10)
        return list(response.json()["data"]["result"])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def rollout_phase(fd: Flightdeck) -> tuple[str, str, str]:
    ro = fd.get("rollout", "hotrod", "hotrod")
    status = ro.get("status") or {}
    images = [c["image"] for c in ro["spec"]["template"]["spec"]["containers"]]
    return str(status.get("phase", "")), str(status.get("message", "")), images[0]
