"""Control-plane overhead with the seed's system running: the example GitOps repository under
`flightdeck up --detach` (HotROD ×2, the collector, the curl traffic generator, the embedded store and
trace store). Once every app is Healthy, measures the flightdeck server's CPU over 30 s and the RSS of
the server and every process it started.

Targets: server CPU ≤ 5 % of one core between reconciles; total RSS ≤ 600 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flightdeck.server.demo import DemoVariant, prepare_repository

CPU_TARGET = 5.0
RSS_TARGET_MB = 600.0
WINDOW = 30.0
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, int]:
    """(parent pid, CPU seconds, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = _stat(int(entry))[0]
            except (OSError, IndexError, ValueError):
                continue
    found = [root]
    for pid in found:
        found.extend(child for child, parent in parents.items() if parent == pid)
    return found


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "flightdeck.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="flightdeck-overhead-"))
    repo = prepare_repository(DemoVariant(), root)
    env = {**os.environ, "FLIGHTDECK_STATE_DIR": str(root / "state")}
    _cli(
        env,
        "up",
        str(repo),
        "--detach",
        "--prometheus-listen",
        "127.30.200.1:9090",
        "--jaeger-listen",
        "127.30.200.2:16686",
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            apps = json.loads(_cli(env, "get", "applications", "-A", "-o", "json"))["items"]
            if len(apps) == 3 and all(
                (a.get("status") or {}).get("health", {}).get("status") == "Healthy" for a in apps
            ):
                break
            time.sleep(2)
        else:
            print("apps did not become Healthy within 180 s")
            return 1
        time.sleep(20)  # let start-up work settle
        server = int((root / "state" / "server.pid").read_text())
        cpu_before = _stat(server)[1]
        time.sleep(WINDOW)
        cpu = (_stat(server)[1] - cpu_before) / WINDOW * 100
        pids = _tree(server)
        rss = sum(_stat(p)[2] for p in pids if Path(f"/proc/{p}").exists()) / 2**20
        server_rss = _stat(server)[2] / 2**20
    finally:
        _cli(env, "down")
    print(
        f"machine: {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(
        f"flightdeck server CPU over {WINDOW:.0f} s with the seed running: {cpu:.1f} % of one core (target <= {CPU_TARGET} %)"
    )
    print(
        f"RSS: server {server_rss:.0f} MB, all {len(pids)} processes {rss:.0f} MB (target <= {RSS_TARGET_MB:.0f} MB)"
    )
    ok = cpu <= CPU_TARGET and rss <= RSS_TARGET_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
