"""`flightdeck demo` end to end (time-compressed with the hidden --fast flag): a fresh git repository of
the example, `flightdeck up` on it, the image bump committed, and Argo's decision for each variant."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prometheus import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def _demo(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    octet = random.randint(40, 250)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flightdeck.cli.main",
            "demo",
            "--fast",
            "--state-dir",
            str(tmp_path / "state"),
            "--prometheus-listen",
            f"127.31.{octet}.1:{free_port()}",
            "--jaeger-listen",
            f"127.31.{octet}.2:{free_port()}",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=380,
    )


def test_healthy_canary_is_promoted(tmp_path: Path) -> None:
    proc = _demo(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "apps: hotrod Synced/Healthy, otel Synced/Healthy, traffic-generator Synced/Healthy" in out
    assert "commit " in out and '"Bump HotROD to 1.76.0"' in out
    assert "step 1/3 analysis hotrod-analysis" in out
    for metric in ("traffic-detection", "error-rate-lt-5-percent", "latency-p95-lt-1s"):
        assert f"measurement {metric}: Successful" in out
    assert "stable: jaegertracing/example-hotrod:1.76.0" in out


def test_bad_canary_is_aborted(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--bad-canary")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Degraded RolloutAborted: Rollout aborted update to revision 2" in out
    assert 'Metric "error-rate-lt-5-percent" assessed Failed due to failed (3) > failureLimit (2)' in out
    assert "stable: jaegertracing/example-hotrod:1.75.0" in out


def test_idle_canary_is_not_promoted(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--idle-canary")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Degraded RolloutAborted: Rollout aborted update to revision 2" in out
    assert 'Metric "traffic-detection" assessed Failed due to failed (4) > failureLimit (3)' in out
    assert "stable: jaegertracing/example-hotrod:1.75.0" in out


def test_broken_repository_shows_both_faults_and_lint_names_them(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--broken")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # What the challenge's player saw: the collector crash-loops with its own error, the otel app never
    # becomes Healthy (Argo CD calls a DaemonSet with unavailable pods Progressing).
    assert "app otel: Synced/Progressing" in out
    assert "app hotrod: Synced/Healthy" in out
    assert re.search(r"pod otel/collector-\w+: CrashLoopBackOff, restarts \d+, last exit code 1", out)
    assert "    Error: invalid configuration: no receiver configuration specified in config" in out
    # No span metrics, so the unguarded latency condition errors until the run ends Error and the canary aborts.
    assert "measurement latency-p95-lt-1s: Error reflect: slice index out of range" in out
    assert (
        'Metric "latency-p95-lt-1s" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): '
        '"Error Message: reflect: slice index out of range"'
    ) in out
    assert "stable: jaegertracing/example-hotrod:1.75.0" in out
    lint = out.split("$ flightdeck lint ", 1)[1]
    assert re.search(
        r"/otel/config\.yaml:\d+: error: .*invalid configuration: no receiver configuration specified in config",
        lint,
    )
    assert re.search(
        r"/hotrod/analysis-template\.yaml:\d+: warning: spec\.metrics\[1\]\.successCondition: "
        r"\"result\[0\] < 1000\" indexes the result without a guard",
        lint,
    )
    assert "the canary analysis has no minimum-traffic check" in lint
    assert lint.rstrip().endswith("1 error(s), 4 warning(s)")
