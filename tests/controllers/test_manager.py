"""The controller manager: triggers, requeues, retries, restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from flightdeck.controllers import ControllerManager, register_builtin
from flightdeck.kube.actions import Reconciled, UpdateStatus
from flightdeck.kube.store import ObjectStore
from flightdeck.util.clock import RealClock, VirtualClock
from tests.controllers.test_deployment import deployment

Obj = dict[str, Any]


def test_requeue_at_and_owned_kind_triggers() -> None:
    clock = VirtualClock(1000)
    store = ObjectStore(None, clock=clock)
    manager = ControllerManager(store, clock)
    seen: list[tuple[str, float]] = []

    def reconcile(obj: Obj, _store: ObjectStore, now: float) -> Reconciled:
        seen.append((obj["metadata"]["name"], now))
        return Reconciled(requeue_at=now + 30 if len(seen) == 1 else None)

    manager.register("ConfigMap", reconcile, owns=("Secret",))
    owner = store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    manager.settle()
    assert seen == [("cfg", 1000)]
    clock.advance(29)
    manager.settle()
    assert len(seen) == 1
    clock.advance(1)
    manager.settle()
    assert seen[-1] == ("cfg", 1030)
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "cfg",
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "ownerReferences": [ref]}})
    manager.settle()
    assert seen[-1] == ("cfg", 1030) and len(seen) == 3


def test_conflicts_are_retried_with_backoff() -> None:
    clock = VirtualClock(1000)
    store = ObjectStore(None, clock=clock)
    manager = ControllerManager(store, clock)
    calls: list[float] = []
    stale: dict[str, Obj] = {}

    def reconcile(obj: Obj, _store: ObjectStore, now: float) -> Reconciled:
        calls.append(now)
        if not stale:
            stale["obj"] = obj
            _store.update({**obj, "data": {"changed": "by someone else"}})
            return Reconciled([UpdateStatus({**obj, "status": {"seen": "yes"}})])
        return Reconciled()

    manager.register("ConfigMap", reconcile)
    store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    manager.step()
    assert manager.stats["configmap-controller"].errors == 1
    assert "Operation cannot be fulfilled" in manager.stats["configmap-controller"].last_error
    due = manager.next_due()
    assert due is not None and 1000 < due <= 1000.01


def test_restart_resumes_from_the_persisted_store(tmp_path: Path) -> None:
    clock = VirtualClock(1_700_000_000)
    store = ObjectStore(tmp_path / "objects.db", clock=clock)
    manager = ControllerManager(store, clock)
    register_builtin(manager)
    store.create(deployment(replicas=2))
    manager.settle()
    pods_before = sorted(p["metadata"]["name"] for p in store.list("Pod"))
    manager.close()
    store.close()
    reopened = ObjectStore(tmp_path / "objects.db", clock=clock)
    again = ControllerManager(reopened, clock)
    register_builtin(again)
    again.settle()
    assert sorted(p["metadata"]["name"] for p in reopened.list("Pod")) == pods_before
    reopened.close()


def test_run_loop_on_the_real_clock() -> None:
    store = ObjectStore(None)
    manager = ControllerManager(store, RealClock())
    register_builtin(manager)
    stop = threading.Event()
    thread = threading.Thread(target=manager.run, args=(stop,), kwargs={"idle_wait": 0.05})
    thread.start()
    try:
        store.create(deployment(replicas=2))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(store.list("Pod")) < 2:
            time.sleep(0.01)
        assert len(store.list("Pod")) == 2
    finally:
        stop.set()
        thread.join(5)
        manager.close()
