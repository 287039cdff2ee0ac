"""Stopping and restarting flightdeck in the middle of the demo's canary: `flightdeck down` while the
analysis runs, `flightdeck up` on the same repository and state, and the same rollout and the same
AnalysisRun carry on to the decision."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from flightdeck.server.demo import DemoVariant, bump_image, prepare_repository
from flightdeck.server.state import process_running
from tests.e2e.platform import Flightdeck, rollout_phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def _apps(fd: Flightdeck) -> dict[str, tuple[str, str, str]]:
    return {
        app["metadata"]["name"]: (
            app["status"].get("sync", {}).get("status", ""),
            app["status"].get("sync", {}).get("revision", ""),
            app["status"].get("health", {}).get("status", ""),
        )
        for app in fd.items("applications", "argocd")
        if app.get("status")
    }


def _container_pids(fd: Flightdeck) -> list[int]:
    return [
        int(c["containerID"].removeprefix("flightdeck://"))
        for ns in ("hotrod", "otel", "traffic-generator")
        for pod in fd.items("pods", ns)
        for c in (pod.get("status") or {}).get("containerStatuses") or []
        if str(c.get("containerID", "")).startswith("flightdeck://")
    ]


def test_down_and_up_mid_analysis_resumes_the_canary(tmp_path: Path) -> None:
    repo = prepare_repository(DemoVariant(fast=True), tmp_path)
    fd = Flightdeck(tmp_path / "state")
    fd.up(str(repo), "--poll", "2")
    try:
        wait_for(
            "every app Synced and Healthy",
            lambda: (
                (apps := _apps(fd))
                and len(apps) == 3
                and all(a[0::2] == ("Synced", "Healthy") for a in apps.values())
            ),
            120,
        )
        bump_image(repo, DemoVariant(fast=True))
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        fd.cli("refresh", "hotrod")
        run = wait_for(
            "an analysis of 1.76.0 with a measurement taken",
            lambda: next(
                (
                    r
                    for r in fd.items("analysisruns", "hotrod")
                    if (r.get("status") or {}).get("phase") == "Running"
                    and any(m.get("measurements") for m in r["status"].get("metricResults") or [])
                ),
                None,
            ),
            90,
        )
        pids = _container_pids(fd)
        assert len(pids) >= 4  # two HotROD pods, the collector, the traffic generator
        server = fd.pid()
        fd.cli("down", timeout=90)
        # Everything flightdeck started is gone with it: the server and every container process.
        assert not process_running(server)
        assert [pid for pid in pids if process_running(pid)] == []

        fd.up(str(repo), "--poll", "2")
        phase, _message, image = wait_for(
            "the canary decided after the restart",
            lambda: (
                (s := rollout_phase(fd))[0] in ("Healthy", "Degraded")
                and s[2].endswith(":1.76.0")
                and fd.get("rollout", "hotrod", "hotrod")["status"].get("stableRS")
                == fd.get("rollout", "hotrod", "hotrod")["status"].get("currentPodHash")
                and s
            ),
            240,
            2.0,
        )
        assert (phase, image) == ("Healthy", "jaegertracing/example-hotrod:1.76.0")
        runs = fd.items("analysisruns", "hotrod")
        # The same run was resumed (not restarted) and decided the canary.
        assert [r["metadata"]["name"] for r in runs] == [run["metadata"]["name"]]
        assert runs[0]["status"]["phase"] == "Successful"
        assert _apps(fd)["hotrod"] == ("Synced", head, "Healthy")
        assert set(_container_pids(fd)).isdisjoint(pids)  # new processes on the restarted node
    finally:
        fd.down()
