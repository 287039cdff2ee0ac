"""Condition evaluation throughput: ``result[0] < 0.05`` on a one-element ``[]float64``, the shape
of the seed's canary checks. Target: >= 1,000,000 evaluations/s on one core.

Also reports a few other common condition shapes (not part of the pass/fail target). Prints the
machine it ran on; exits 1 when the headline figure is under target.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flightdeck.expr import Float64Slice, compile_condition

TARGET = 1_000_000
HEADLINE = ("result[0] < 0.05", Float64Slice([0.01]))
OTHERS: list[tuple[str, Any]] = [
    ("result >= 0.9", 0.95),
    ("len(result) == 0 || result[0] < 0.05", Float64Slice([0.01])),
    ("result[0] >= 0.9 || isNaN(result[0])", Float64Slice([math.nan])),
    ("all(result, # < 0.05)", Float64Slice([0.01, 0.02, 0.03])),
    ("result.rate < 0.05 && result.ok", {"rate": 0.01, "ok": True}),
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rate(source: str, value: Any, *, seconds: float = 1.0, rounds: int = 5) -> float:
    """Best-of-``rounds`` evaluations per second (the best round is the least disturbed one)."""
    evaluate = compile_condition(source).evaluate
    evaluate(value)  # specialise for the value's type outside the timed loop
    batch = 100_000
    best = 0.0
    for _ in range(rounds):
        n = 0
        started = time.perf_counter()
        elapsed = 0.0
        while elapsed < seconds / rounds:
            for _ in range(batch):
                evaluate(value)
            n += batch
            elapsed = time.perf_counter() - started
        best = max(best, n / elapsed)
    return best


def main() -> int:
    print(f"machine: {platform.platform()}; cpu: {cpu_model()}; python {platform.python_version()}")
    headline = rate(*HEADLINE, seconds=2.0)
    print(f"{HEADLINE[0]!r:48} {headline:>14,.0f} evaluations/s  (target {TARGET:,})")
    for source, value in OTHERS:
        print(f"{source!r:48} {rate(source, value):>14,.0f} evaluations/s")
    if headline < TARGET:
        print("FAIL: under target", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
