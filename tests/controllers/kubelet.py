"""A fake kubelet for controller tests: it marks pods Running and Ready at the virtual clock's time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flightdeck.kube.store import ObjectStore
from flightdeck.util.timefmt import rfc3339

Obj = dict[str, Any]


def ready_status(pod: Obj, now: float, ready: bool = True) -> Obj:
    stamp = rfc3339(now)
    containers = (pod.get("spec") or {}).get("containers") or []
    flag = "True" if ready else "False"
    return {
        "phase": "Running",
        "podIP": "127.10.0.1",
        "hostIP": "127.0.0.1",
        "startTime": stamp,
        "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
            {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": stamp},
            {"type": "Ready", "status": flag, "lastTransitionTime": stamp},
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": stamp}},
            }
            for c in containers
        ],
    }


def run_kubelet(store: ObjectStore, now: float, ready: Callable[[Obj], bool] = lambda p: True) -> int:
    """Give every pod that is not yet in the wanted state a Running status; returns pods changed."""
    changed = 0
    for pod in store.list("Pod"):
        want = ready(pod)
        status = pod.get("status") or {}
        conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if status.get("phase") == "Running" and conds.get("Ready") == ("True" if want else "False"):
            continue
        store.update_status({**pod, "status": ready_status(pod, now, want)})
        changed += 1
    return changed
