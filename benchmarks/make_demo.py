"""`make demo` on a fresh clone, timed the way a newcomer meets it: clone the repository into a
temporary directory, run `make demo` there (which creates `.venv` and installs flightdeck), and read
the demo's own narration for the phases.

Reports: time to install (from `make` starting to the demo's first line), time until HotROD 1.75.0
is Healthy after install (goal ≤ 30 s), the canary's duration (bounded below by the template: 90 s
initial delay + 4 × 10 s) and the total wall time. `--no-cache` installs without pip's cache (the
packages come from the index again, as on a machine that never installed them).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEALTHY_GOAL = 30.0
CANARY_FLOOR = 90.0 + 4 * 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(ROOT), help="repository to clone (default: this one)")
    parser.add_argument("--no-cache", action="store_true", help="install with PIP_NO_CACHE_DIR=1")
    ns = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if ns.no_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    with tempfile.TemporaryDirectory(prefix="flightdeck-make-demo-") as tmp:
        clone = Path(tmp) / "flightdeck"
        subprocess.run(["git", "clone", "-q", ns.repo, str(clone)], check=True)
        # The demo reads the challenge next to the repository only for tests; it needs nothing else.
        start = time.monotonic()
        first_line: float | None = None
        healthy = canary = None
        proc = subprocess.Popen(
            ["make", "demo"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            if first_line is None and re.match(r"\[\s*\d+\.\ds\] repository: ", line):
                first_line = time.monotonic() - start
            if m := re.search(r"HotROD 1\.75\.0 is Healthy \((\d+) s after start\)", line):
                healthy = float(m.group(1))
            if m := re.search(r"decision after (\d+) s: (\w+)", line):
                canary = float(m.group(1))
        code = proc.wait()
        total = time.monotonic() - start
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"make demo exit status {code}; pip cache {'off' if ns.no_cache else 'on'}")
    if first_line is not None:
        print(f"install (make → the demo's first line): {first_line:.0f} s")
    if healthy is not None:
        verdict = "meets" if healthy <= HEALTHY_GOAL else "misses"
        print(f"1.75.0 Healthy after install: {healthy:.0f} s ({verdict} the {HEALTHY_GOAL:.0f} s goal)")
    if canary is not None:
        print(f"canary, bump to decision: {canary:.0f} s (template floor {CANARY_FLOOR:.0f} s)")
    print(f"total wall time: {total:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
