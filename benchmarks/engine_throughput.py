"""Engine throughput: 10,000 concurrent AnalysisRuns of the seed's three metrics, driven to completion
on the virtual clock against an in-memory provider. Target: >= 100,000 measurements/s on one core.

The in-memory provider evaluates each metric's real successCondition against a value drawn from a
per-run model (healthy, failing or empty), so condition evaluation, counters, phase assessment,
scheduling and history trimming are all on the measured path.
"""

from __future__ import annotations

import heapq
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.evaluate import ConditionError, evaluate_result
from flightdeck.analysis.factory import new_run
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, Argument, Measurement, Phase
from flightdeck.expr import Float64Slice
from flightdeck.kube.objects import load_objects
from flightdeck.util.gofmt import format_float

RUNS = int(__import__("os").environ.get("BENCH_RUNS", "10000"))
TARGET = 100_000
TEMPLATE = (
    Path(__file__).resolve().parents[2] / "shared/challenge/expert-solved/hotrod/analysis-template.yaml"
)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, Python {platform.python_version()}"


class InMemoryProvider:
    """Results held in memory per run model: a healthy canary, a failing one (high error rate) or
    one with no data. Each measurement still evaluates the metric's real successCondition."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        values = {
            "traffic-detection": 0.9,
            "error-rate-lt-5-percent": 0.01,
            "latency-p95-lt-1s": 640.0,
        }
        self.results: dict[tuple[str, str], list[Float64Slice]] = {}
        for mode in ("healthy", "failing", "empty"):
            for name, value in values.items():
                if mode == "empty" and name == "latency-p95-lt-1s":
                    series = [Float64Slice([])]
                else:
                    if mode == "failing" and name == "error-rate-lt-5-percent":
                        value = 0.2
                    series = [Float64Slice([value * (0.9 + 0.2 * rng.random())]) for _ in range(16)]
                self.results[mode, name] = series
        self.shown = {
            id(r): "[" + ",".join(format_float(v) for v in r) + "]" for s in self.results.values() for r in s
        }
        self.tick = 0

    def __call__(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        metric = task.metric
        series = self.results[run.labels["mode"], metric.name]
        self.tick += 1
        result = series[self.tick % len(series)]
        try:
            phase = evaluate_result(result, metric)
            measurement = Measurement(phase, started_at=now, finished_at=now, value=self.shown[id(result)])
        except ConditionError as exc:
            measurement = Measurement(Phase.ERROR, started_at=now, finished_at=now, message=str(exc))
        return FinishedMeasurement(metric.name, measurement)


def main() -> int:
    template = load_objects([TEMPLATE]).templates[0]
    provider = InMemoryProvider()
    driver = AnalysisDriver(provider)
    modes = ("healthy",) * 8 + ("failing", "empty")
    runs: list[AnalysisRun] = []
    for i in range(RUNS):
        run = new_run(
            f"run-{i}",
            "default",
            [template.spec],
            [Argument("namespace", "default"), Argument("canary-hash", f"h{i}")],
            labels={"mode": modes[i % len(modes)]},
        )
        runs.append(run)
    queue: list[tuple[float, int]] = [(0.0, i) for i in range(RUNS)]
    heapq.heapify(queue)
    measurements = 0
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    while queue:
        now, index = heapq.heappop(queue)
        run = runs[index]
        settled = driver.settle(run, now)
        measurements += len(settled.measurements)
        if not run.status.phase.completed and settled.requeue_at is not None:
            heapq.heappush(queue, (settled.requeue_at, index))
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    phases: dict[str, int] = {}
    for run in runs:
        phases[run.status.phase.value] = phases.get(run.status.phase.value, 0) + 1
    rate = measurements / cpu
    print(f"machine: {machine()}")
    print(f"runs: {RUNS}  measurements: {measurements}  outcomes: {phases}")
    print(f"cpu: {cpu:.2f} s  wall: {wall:.2f} s  throughput: {rate:,.0f} measurements/s (one core)")
    print(f"target: >= {TARGET:,} measurements/s -> {'PASS' if rate >= TARGET else 'FAIL'}")
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
