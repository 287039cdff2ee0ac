"""The seed's manifests on the local cluster, with real processes: HotROD, the collector, the curl
traffic generator, the embedded store and the Rollout controller. A canary of 1.76.0 is promoted on
the seed's three metrics (time-compressed template); a faulty canary is aborted with Argo's message
while the stable pods keep serving; the server is killed mid-analysis and resumes."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flightdeck.server.state import process_running
from tests.e2e.platform import Flightdeck, rollout_phase, seed_copy, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flightdeck, Path]]:
    root = tmp_path_factory.mktemp("cluster")
    manifests = seed_copy(root / "repo")
    fd = Flightdeck(root / "state")
    fd.up()
    try:
        for app in ("otel", "hotrod", "traffic-generator"):
            fd.cli("apply", "-n", app, "-f", str(manifests / app))
        yield fd, manifests
    finally:
        fd.down()


def _healthy_on(fd: Flightdeck, image: str) -> bool:
    phase, _message, current = rollout_phase(fd)
    ro = fd.get("rollout", "hotrod", "hotrod")
    stable = (ro.get("status") or {}).get("stableRS")
    return (
        phase == "Healthy" and current == image and stable == (ro.get("status") or {}).get("currentPodHash")
    )


def test_canary_is_promoted_on_the_seed_metrics(cluster: tuple[Flightdeck, Path]) -> None:
    fd, _ = cluster
    wait_for("1.75.0 healthy", lambda: _healthy_on(fd, "jaegertracing/example-hotrod:1.75.0"), 90)
    wait_for(
        "the collector ready",
        lambda: (
            all(
                c.get("ready")
                for p in fd.items("pods", "otel")
                for c in p["status"].get("containerStatuses", [])
            )
            and fd.items("pods", "otel")
        ),
        60,
    )
    fd.cli("rollout", "set-image", "hotrod", "hotrod=jaegertracing/example-hotrod:1.76.0", "-n", "hotrod")
    wait_for(
        "setWeight 50 with an analysis run",
        lambda: fd.items("analysisruns", "hotrod") and rollout_phase(fd)[0] in ("Progressing", "Paused"),
        60,
    )
    wait_for("1.76.0 promoted", lambda: _healthy_on(fd, "jaegertracing/example-hotrod:1.76.0"), 180, 2.0)
    runs = fd.items("analysisruns", "hotrod")
    assert [r["status"]["phase"] for r in runs] == ["Successful"]
    names = {m["name"] for m in runs[0]["status"]["metricResults"]}
    assert names == {"traffic-detection", "error-rate-lt-5-percent", "latency-p95-lt-1s"}
    # The canary's spans became RED metrics with its pod hash, as the seed's p95 query expects.
    ro = fd.get("rollout", "hotrod", "hotrod")
    assert fd.query(f'traces_span_metrics_calls_total{{hotrod_pod_hash="{ro["status"]["currentPodHash"]}"}}')


def test_faulty_canary_is_aborted_and_stable_keeps_serving(cluster: tuple[Flightdeck, Path]) -> None:
    fd, manifests = cluster
    wait_for("a healthy starting point", lambda: rollout_phase(fd)[0] == "Healthy", 240, 2.0)
    stable_hash = fd.get("rollout", "hotrod", "hotrod")["status"]["stableRS"]
    rollout_file = manifests / "hotrod" / "rollout.yaml"
    doc = yaml.safe_load(rollout_file.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "jaegertracing/example-hotrod:1.77.0"
    container["env"].append({"name": "HOTROD_FAULT_ERROR_RATE", "value": "0.8"})
    rollout_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    fd.cli("apply", "-n", "hotrod", "-f", str(rollout_file))
    _phase, message, _ = wait_for(
        "the abort", lambda: (s := rollout_phase(fd))[0] == "Degraded" and s, 180, 2.0
    )
    assert message.startswith("RolloutAborted: Rollout aborted update to revision 3")
    assert 'Metric "error-rate-lt-5-percent" assessed Failed' in message
    ro = fd.get("rollout", "hotrod", "hotrod")
    assert ro["status"]["stableRS"] == stable_hash
    # No dispatch failed on the stable pods while the canary was failing half of them.
    errors = fd.query(
        f'sum(hotrod_requests_total{{namespace="hotrod",rollouts_pod_template_hash="{stable_hash}",error="true"}})'
    )
    assert not errors or float(errors[0]["value"][1]) == 0.0
    # The stable ReplicaSet is scaled back to every replica.
    wait_for(
        "stable scaled back",
        lambda: (
            len(
                [
                    p
                    for p in fd.items("pods", "hotrod")
                    if p["metadata"]["labels"].get("rollouts-pod-template-hash") == stable_hash
                ]
            )
            == 2
        ),
        60,
    )


def test_killed_server_resumes_the_rollout(cluster: tuple[Flightdeck, Path]) -> None:
    fd, manifests = cluster
    rollout_file = manifests / "hotrod" / "rollout.yaml"
    doc = yaml.safe_load(rollout_file.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "jaegertracing/example-hotrod:1.78.0"
    container["env"] = [e for e in container["env"] if e["name"] != "HOTROD_FAULT_ERROR_RATE"]
    rollout_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    fd.cli("apply", "-n", "hotrod", "-f", str(rollout_file))
    wait_for(
        "an analysis of 1.78.0 in flight",
        lambda: any(
            r["status"].get("phase") == "Running"
            for r in fd.items("analysisruns", "hotrod")
            if r.get("status")
        ),
        90,
    )
    os.kill(fd.pid(), signal.SIGKILL)
    wait_for("the server gone", lambda: not process_running(fd.pid()), 10, 0.2)
    fd.up()
    wait_for(
        "1.78.0 promoted after the restart",
        lambda: _healthy_on(fd, "jaegertracing/example-hotrod:1.78.0"),
        240,
        2.0,
    )
