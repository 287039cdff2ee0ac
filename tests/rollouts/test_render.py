"""``get rollout`` layout: Argo's own golden outputs (from the mirror), age formatting, the tab writer."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml

from flightdeck.rollouts.info import human_duration, pod_info
from flightdeck.rollouts.render import render_rollout_tree, tabwrite
from flightdeck.util.timefmt import rfc3339
from tests.rollouts import mirror

TESTDATA = "pkg/kubectl-argo-rollouts/info/testdata"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (4 * 3600 - 60, "3h59m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (7 * 86400, "7d"),
        (7 * 86400 + 3 * 3600, "7d3h"),
        (8 * 86400, "8d"),
        (3 * 365 * 86400, "3y"),
        (3 * 365 * 86400 + 86400, "3y1d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_tabwriter_pads_cells_and_leaves_the_last_one() -> None:
    assert tabwrite("a\tbb\tc\nccc\td\te\n") == "a    bb  c\nccc  d   e\n"
    # a line with fewer cells ends the column block above it
    assert tabwrite("a\tb\nx\nlong\tc\n") == "a  b\nx\nlong  c\n"
    # colour escapes take no width
    assert tabwrite("\x1b[32mok\x1b[0m\tx\nlong\ty\n") == "\x1b[32mok\x1b[0m    x\nlong  y\n"


def test_pod_status_column() -> None:
    waiting: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {"ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ],
        },
    }
    info = pod_info(waiting)
    assert (info.status, info.icon, info.ready, info.restarts) == ("CrashLoopBackOff", "✖", "0/1", 3)
    pulling = {
        **waiting,
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}],
        },
    }
    assert pod_info(pulling).icon == "⚠"
    init = {
        "metadata": {"name": "p"},
        "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]},
    }
    assert pod_info(init).status == "Init:0/1"
    terminating = {**waiting, "metadata": {"name": "p", "deletionTimestamp": "2024-01-01T00:00:00Z"}}
    assert pod_info(terminating).status == "Terminating"


def _objects(directory: str, now: float) -> dict[str, list[dict[str, Any]]]:
    week_ago = rfc3339(now - 7 * 86400)
    out: dict[str, list[dict[str, Any]]] = {}
    for path in mirror.list_dir(f"{TESTDATA}/{directory}"):
        obj = yaml.safe_load(mirror.show(path))
        obj["metadata"]["creationTimestamp"] = week_ago
        if obj["kind"] == "AnalysisRun":
            for measurement in obj["status"]["metricResults"][0]["measurements"]:
                measurement["startedAt"] = measurement["finishedAt"] = week_ago
        out.setdefault(obj["kind"], []).append(obj)
    return out


def _expected(test_name: str) -> str:
    source = mirror.show("pkg/kubectl-argo-rollouts/cmd/get/get_test.go")
    body = source[source.index(f"func {test_name}(") :]
    match = re.search(r'expectedOut := strings\.TrimPrefix\(`\n(.*?)`, "\\n"\)', body, re.S)
    assert match
    return match.group(1).replace('`+"`selector`"+`', "`selector`").replace('`+"`labels`"+`', "`labels`")


def _strip(text: str) -> str:
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


@mirror.needs_mirror
@pytest.mark.parametrize(
    ("test_name", "directory"),
    [
        ("TestGetCanaryRollout", "canary"),
        ("TestGetAbortedRollout", "rollout-aborted"),
        ("TestGetInvalidRollout", "rollout-invalid"),
    ],
)
def test_argo_golden_output(test_name: str, directory: str) -> None:
    """The plugin's own expected output for its own test objects (canary, aborted, invalid)."""
    now = float(int(time.time()))
    objects = _objects(directory, now)
    rollout = min(objects["Rollout"], key=lambda r: r["metadata"]["name"])
    out = render_rollout_tree(
        rollout, objects.get("ReplicaSet", []), objects.get("Pod", []), objects.get("AnalysisRun", []), now
    )
    assert _strip(out) == _strip(_expected(test_name))


def test_spec_example_after_inline_analysis_abort() -> None:
    """The layout of spec §6.3 (objects built here; ages from a fixed clock)."""
    now = 1_700_000_000.0

    def meta(
        name: str, age: float, uid: str, owner: str | None = None, revision: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": name,
            "namespace": "default",
            "uid": uid,
            "creationTimestamp": rfc3339(now - age),
            **extra,
        }
        if owner:
            out["ownerReferences"] = [{"uid": owner, "controller": True}]
        if revision is not None:
            out["annotations"] = {"rollout.argoproj.io/revision": str(revision)}
        return out

    message = 'Rollout aborted update to revision 2: Step-based analysis phase error/failed: Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)'
    rollout = {
        "metadata": {**meta("demo", 300, "ro", revision=2), "generation": 2},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "app", "image": "example/app:v2"}]}},
            "strategy": {
                "canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "30s"}}, {"analysis": {}}]}
            },
        },
        "status": {
            "abort": True,
            "currentStepIndex": 0,
            "stableRS": "7c9d8e6f5a",
            "currentPodHash": "6d5f8b7c9d",
            "observedGeneration": "2",
            "phase": "Degraded",
            "message": "RolloutAborted: " + message,
            "replicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
        },
    }

    def replicaset(h: str, age: float, revision: int, replicas: int, image: str) -> dict[str, Any]:
        return {
            "metadata": {
                **meta(f"demo-{h}", age, f"rs-{h}", "ro", revision),
                "labels": {"rollouts-pod-template-hash": h},
                "generation": 1,
            },
            "spec": {
                "replicas": replicas,
                "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
            },
            "status": {"replicas": replicas, "availableReplicas": replicas, "observedGeneration": 1},
        }

    ready = {"phase": "Running", "containerStatuses": [{"ready": True, "state": {"running": {}}}]}
    pods = [
        {
            "metadata": meta(f"demo-7c9d8e6f5a-{s}", 300, f"p{s}", "rs-7c9d8e6f5a"),
            "spec": {"containers": [{}]},
            "status": ready,
        }
        for s in ("abcde", "fghij")
    ]
    run = {
        "metadata": meta("demo-6d5f8b7c9d-2-2", 60, "ar", "ro", 2),
        "status": {"phase": "Failed", "metricResults": [{"name": "error-rate", "failed": 1}]},
    }
    out = render_rollout_tree(
        rollout,
        [
            replicaset("6d5f8b7c9d", 120, 2, 0, "example/app:v2"),
            replicaset("7c9d8e6f5a", 300, 1, 2, "example/app:v1"),
        ],
        pods,
        [run],
        now,
    )
    assert _strip(out) == (
        "Name:            demo\n"
        "Namespace:       default\n"
        "Status:          ✖ Degraded\n"
        f"Message:         RolloutAborted: {message}\n"
        "Strategy:        Canary\n"
        "  Step:          0/3\n"
        "  SetWeight:     0\n"
        "  ActualWeight:  0\n"
        "Images:          example/app:v1 (stable)\n"
        "Replicas:\n"
        "  Desired:       2\n"
        "  Current:       2\n"
        "  Updated:       0\n"
        "  Ready:         2\n"
        "  Available:     2\n"
        "\n"
        "NAME                              KIND         STATUS        AGE  INFO\n"
        "⟳ demo                            Rollout      ✖ Degraded    5m\n"
        "├──# revision:2\n"
        "│  ├──⧉ demo-6d5f8b7c9d           ReplicaSet   • ScaledDown  2m   canary\n"
        "│  └──α demo-6d5f8b7c9d-2-2       AnalysisRun  ✖ Failed      60s  ✖ 1\n"
        "└──# revision:1\n"
        "   └──⧉ demo-7c9d8e6f5a           ReplicaSet   ✔ Healthy     5m   stable\n"
        "      ├──□ demo-7c9d8e6f5a-abcde  Pod          ✔ Running     5m   ready:1/1\n"
        "      └──□ demo-7c9d8e6f5a-fghij  Pod          ✔ Running     5m   ready:1/1\n"
    )
    colored = render_rollout_tree(rollout, [], [], [], now, color=True)
    assert "\x1b[31m✖\x1b[0m Degraded" in colored
