"""Engine throughput: 10,000 concurrent AnalysisRuns of the seed's three metrics, driven to completion
on the virtual clock against an in-memory provider. Target: >= 100,000 measurements/s on one core.

The in-memory provider evaluates each metric's real successCondition against a value drawn from a
per-run model (healthy, failing or empty), so condition evaluation, counters, phase assessment,
scheduling and history trimming are all on the measured path. Runs due at one virtual instant are
reconciled together (``BatchDriver``), one provider call per pass; ``BENCH_PATH=one-run`` drives
them one at a time with ``AnalysisDriver`` instead, for comparison.

Afterwards every run's complete status is checked against what Argo's rules give for its model:
phase, message, timestamps, each metric's phase, counters and measurement history, the summaries,
and that every measurement the statuses hold came from a provider call.
"""

from __future__ import annotations

import gc
import heapq
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flightdeck.analysis.batch import BatchDriver
from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.evaluate import ConditionError, evaluate_result, judge
from flightdeck.analysis.factory import new_run
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask
from flightdeck.analysis.types import AnalysisRun, Argument, Measurement, Phase
from flightdeck.expr import Float64Slice
from flightdeck.kube.objects import load_objects
from flightdeck.util.gofmt import format_float
from flightdeck.util.timefmt import rfc3339

RUNS = int(os.environ.get("BENCH_RUNS", "10000"))
PATH = os.environ.get("BENCH_PATH", "batched")
TARGET = 100_000
TEMPLATE = (
    Path(__file__).resolve().parents[2] / "shared/challenge/expert-solved/hotrod/analysis-template.yaml"
)
MODES = ("healthy",) * 8 + ("failing", "empty")


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
        self.calls = 0
        self.taken: set[int] = set()
        """ids of the measurements handed out (they stay alive in the runs' statuses)."""

    def __call__(self, task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        metric = task.metric
        series = self.results[run.labels["mode"], metric.name]
        self.tick += 1
        self.calls += 1
        result = series[self.tick % len(series)]
        try:
            phase = evaluate_result(result, metric)
            measurement = Measurement(phase, started_at=now, finished_at=now, value=self.shown[id(result)])
        except ConditionError as exc:
            measurement = Measurement(Phase.ERROR, started_at=now, finished_at=now, message=str(exc))
        self.taken.add(id(measurement))
        return FinishedMeasurement(metric.name, measurement)

    def batch(
        self, tasks: Sequence[MeasurementTask], runs: Sequence[AnalysisRun], now: float
    ) -> list[Measurement]:
        """The same measurements for a whole pass: one answer (a bare Measurement) per task."""
        results = self.results
        shown = self.shown
        taken = self.taken
        tick = self.tick
        out: list[Measurement] = []
        for task, run in zip(tasks, runs, strict=True):
            metric = task.metric
            series = results[run.labels["mode"], metric.name]
            tick += 1
            result = series[tick % len(series)]
            try:
                measurement = Measurement(judge(metric)(result), now, now, shown[id(result)])
            except ConditionError as exc:
                measurement = Measurement(Phase.ERROR, now, now, "", str(exc))
            taken.add(id(measurement))
            out.append(measurement)
        self.tick = tick
        self.calls += len(out)
        return out


class GcClock:
    """Time spent in the cyclic garbage collector (default settings: its full collections walk every
    live object, and 10,000 runs with their measurement histories are a few hundred thousand)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2


def drive_batched(runs: list[AnalysisRun], provider: InMemoryProvider) -> int:
    driver = BatchDriver(provider.batch)
    due: dict[float, list[int]] = {0.0: list(range(len(runs)))}
    times = [0.0]
    measurements = 0
    while times:
        now = heapq.heappop(times)
        indices = due.pop(now)
        settled = driver.settle([runs[i] for i in indices], now)
        measurements += settled.taken
        for index, at in zip(indices, settled.requeue_at, strict=True):
            if at is not None and not runs[index].status.phase.completed:
                bucket = due.get(at)
                if bucket is None:
                    due[at] = [index]
                    heapq.heappush(times, at)
                else:
                    bucket.append(index)
    return measurements


def drive_one_by_one(runs: list[AnalysisRun], provider: InMemoryProvider) -> int:
    driver = AnalysisDriver(provider)
    queue: list[tuple[float, int]] = [(0.0, i) for i in range(len(runs))]
    heapq.heapify(queue)
    measurements = 0
    while queue:
        now, index = heapq.heappop(queue)
        run = runs[index]
        settled = driver.settle(run, now)
        measurements += len(settled.measurements)
        if not run.status.phase.completed and settled.requeue_at is not None:
            heapq.heappush(queue, (settled.requeue_at, index))
    return measurements


# What Argo's rules give for each model. Metric (in the order of their first measurement): (phase,
# message, counters, measurement times, measurement phase). The template measures the error rate from
# 60 s, traffic and latency from 90 s, every 10 s.
TRAFFIC, ERRORS, LATENCY = "traffic-detection", "error-rate-lt-5-percent", "latency-p95-lt-1s"
S, F, E = Phase.SUCCESSFUL, Phase.FAILED, Phase.ERROR
OUT_OF_RANGE = "reflect: slice index out of range"
EXPECTED: dict[str, dict[str, Any]] = {
    "healthy": {
        "phase": S,
        "message": "",
        "completed": 130.0,
        "summary": {"count": 3, "successful": 3},
        "metrics": {
            ERRORS: (S, "", {"count": 3, "successful": 3, "consecutiveSuccess": 3}, [60, 70, 80], S),
            TRAFFIC: (
                S,
                "",
                {"count": 5, "successful": 5, "consecutiveSuccess": 5},
                [90, 100, 110, 120, 130],
                S,
            ),
            LATENCY: (S, "", {"count": 3, "successful": 3, "consecutiveSuccess": 3}, [90, 100, 110], S),
        },
    },
    "failing": {
        "phase": F,
        "message": f'Metric "{ERRORS}" assessed Failed due to failed (3) > failureLimit (2)',
        "completed": 80.0,
        "summary": {"count": 3, "failed": 1},  # the unmeasured metrics have no result to count
        "metrics": {ERRORS: (F, "", {"count": 3, "failed": 3}, [60, 70, 80], F)},
    },
    "empty": {
        "phase": E,
        "message": f'Metric "{LATENCY}" assessed Error due to consecutiveErrors (3) > '
        f'consecutiveErrorLimit (2): "Error Message: {OUT_OF_RANGE}"',
        "completed": 110.0,
        "summary": {"count": 3, "successful": 2, "error": 1},
        "metrics": {
            ERRORS: (S, "", {"count": 3, "successful": 3, "consecutiveSuccess": 3}, [60, 70, 80], S),
            # Terminated by the run's end before its count: Successful, as Argo assesses it.
            TRAFFIC: (S, "", {"count": 3, "successful": 3, "consecutiveSuccess": 3}, [90, 100, 110], S),
            LATENCY: (E, OUT_OF_RANGE, {"error": 3, "consecutiveError": 3}, [90, 100, 110], E),
        },
    },
}
COUNTER_KEYS = (
    "count",
    "successful",
    "failed",
    "inconclusive",
    "error",
    "consecutiveError",
    "consecutiveSuccess",
)


def expected_status(mode: str) -> dict[str, Any]:
    """The run's status as Argo serialises it, but for measurement values (checked separately)."""
    spec = EXPECTED[mode]
    metric_results = []
    for name, (phase, message, counters, times, measured) in spec["metrics"].items():
        out: dict[str, Any] = {"name": name, "phase": phase.value}
        if message:
            out["message"] = message
        out["measurements"] = []
        for t in times:
            m: dict[str, Any] = {"phase": measured.value}
            if measured is E:
                m["message"] = OUT_OF_RANGE
            m["startedAt"] = m["finishedAt"] = rfc3339(float(t))
            out["measurements"].append(m)
        out.update({k: counters[k] for k in COUNTER_KEYS if k in counters})
        metric_results.append(out)
    status: dict[str, Any] = {"phase": spec["phase"].value}
    if spec["message"]:
        status["message"] = spec["message"]
    status["metricResults"] = metric_results
    status["startedAt"] = rfc3339(0.0)
    status["completedAt"] = rfc3339(spec["completed"])
    status["runSummary"] = spec["summary"]
    status["dryRunSummary"] = {}
    return status


def difference(actual: Any, expected: Any, where: str = "status") -> str:
    """The first place two JSON-shaped values differ."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in {*actual, *expected}:
            if actual.get(key) != expected.get(key):
                return difference(actual.get(key), expected.get(key), f"{where}.{key}")
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if a != e:
                return difference(a, e, f"{where}[{i}]")
    return f"{where} is {actual!r}, expected {expected!r}"


def verify(runs: list[AnalysisRun], provider: InMemoryProvider, measurements: int) -> list[str]:
    problems: list[str] = []
    expected = {mode: expected_status(mode) for mode in EXPECTED}
    allowed = {
        mode: {provider.shown[id(r)] for (m, _), s in provider.results.items() if m == mode for r in s}
        for mode in EXPECTED
    }
    held = 0
    for run in runs:
        mode = run.labels["mode"]
        actual = run.status.to_dict()
        for result in actual.get("metricResults", []):
            for m in result["measurements"]:
                value = m.pop("value", None)
                if (value is None) != (m["phase"] == E.value) or (
                    value is not None and value not in allowed[mode]
                ):
                    problems.append(f"{run.name}: measurement value {value!r} is not one the provider gave")
        if actual != expected[mode]:
            problems.append(f"{run.name} ({mode}): status differs: {difference(actual, expected[mode])}")
        for result in run.status.metric_results:
            for m in result.measurements:
                held += 1
                if id(m) not in provider.taken:
                    problems.append(
                        f"{run.name}: a measurement of {result.name} was not taken by the provider"
                    )
        if len(problems) > 5:
            break
    want = sum(sum(len(t) for *_, t, _ in EXPECTED[run.labels["mode"]]["metrics"].values()) for run in runs)
    if not (measurements == provider.calls == held == want):
        problems.append(
            f"measurements: driver reported {measurements}, provider called {provider.calls}, "
            f"statuses hold {held}, expected {want}"
        )
    return problems


def main() -> int:
    template = load_objects([TEMPLATE]).templates[0]
    provider = InMemoryProvider()
    runs: list[AnalysisRun] = []
    for i in range(RUNS):
        run = new_run(
            f"run-{i}",
            "default",
            [template.spec],
            [Argument("namespace", "default"), Argument("canary-hash", f"h{i}")],
            labels={"mode": MODES[i % len(MODES)]},
        )
        runs.append(run)
    drive = drive_one_by_one if PATH == "one-run" else drive_batched
    collector = GcClock()
    gc.callbacks.append(collector)
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    measurements = drive(runs, provider)
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    gc.callbacks.remove(collector)
    phases: dict[str, int] = {}
    for run in runs:
        phases[run.status.phase.value] = phases.get(run.status.phase.value, 0) + 1
    problems = verify(runs, provider, measurements)
    rate = measurements / cpu
    print(f"machine: {machine()}")
    print(f"path: {'one run at a time (AnalysisDriver)' if PATH == 'one-run' else 'batched (BatchDriver)'}")
    print(f"runs: {RUNS}  measurements: {measurements}  outcomes: {phases}")
    print(f"cpu: {cpu:.2f} s  wall: {wall:.2f} s  throughput: {rate:,.0f} measurements/s (one core)")
    print(
        f"of which Python's cyclic garbage collector: {collector.seconds:.2f} s ({collector.full} full "
        f"collections; {len(gc.get_objects()):,} objects live at the end)"
    )
    for problem in problems[:6]:
        print(f"WRONG: {problem}")
    print(f"statuses verified: {'no' if problems else 'yes'} ({len(runs)} runs)")
    ok = rate >= TARGET and not problems
    print(f"target: >= {TARGET:,} measurements/s -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
