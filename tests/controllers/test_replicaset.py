"""ReplicaSet controller on the virtual clock."""

from __future__ import annotations

import re
from typing import Any

from flightdeck.controllers.replicaset import reconcile_replicaset
from flightdeck.kube.actions import Create, Delete, Event
from tests.controllers.conftest import Cluster
from tests.controllers.kubelet import ready_status

Obj = dict[str, Any]


def replica_set(replicas: int = 3, min_ready: int = 0) -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web", "tier": "front"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }


def pods(cluster: Cluster) -> list[Obj]:
    return cluster.store.list("Pod", "default")


def test_scale_up_creates_owned_pods(cluster: Cluster) -> None:
    rs = cluster.store.create(replica_set(3))
    cluster.settle()
    made = pods(cluster)
    assert len(made) == 3
    for pod in made:
        assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", pod["metadata"]["name"])
        assert pod["metadata"]["labels"] == {"app": "web", "tier": "front"}
        ref = pod["metadata"]["ownerReferences"][0]
        assert ref == {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web",
            "uid": rs["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert pod["status"]["phase"] == "Pending"
    status = cluster.store.read("ReplicaSet", "default", "web")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}
    events = [e["message"] for e in cluster.store.events_for("ReplicaSet", "default", "web")]
    assert sorted(events) == sorted(f"Created pod: {p['metadata']['name']}" for p in made)
    cluster.kubelet()
    cluster.settle()
    status = cluster.store.read("ReplicaSet", "default", "web")["status"]
    assert status["readyReplicas"] == 3 and status["availableReplicas"] == 3


def test_scale_down_deletes_not_ready_pods_first(cluster: Cluster) -> None:
    cluster.store.create(replica_set(3))
    cluster.settle()
    names = sorted(p["metadata"]["name"] for p in pods(cluster))
    not_ready = names[1]
    cluster.kubelet(ready=lambda p: p["metadata"]["name"] != not_ready)
    cluster.settle()
    rs = cluster.store.read("ReplicaSet", "default", "web")
    rs["spec"]["replicas"] = 2
    cluster.store.update(rs)
    cluster.settle()
    assert sorted(p["metadata"]["name"] for p in pods(cluster)) == [n for n in names if n != not_ready]
    rs = cluster.store.read("ReplicaSet", "default", "web")
    assert rs["status"]["replicas"] == 2 and rs["status"]["observedGeneration"] == 2


def test_min_ready_seconds_on_the_virtual_clock(cluster: Cluster) -> None:
    cluster.store.create(replica_set(2, min_ready=10))
    cluster.settle()
    cluster.kubelet()
    cluster.settle()
    status = cluster.store.read("ReplicaSet", "default", "web")["status"]
    assert status.get("readyReplicas") == 2 and "availableReplicas" not in status
    # The controller asked to look again just after the pods have been ready for 10 s.
    due = cluster.manager.next_due()
    assert due is not None and abs(due - cluster.clock.now() - 10.001) < 1e-6
    cluster.clock.advance(10)
    cluster.settle()
    assert "availableReplicas" not in cluster.store.read("ReplicaSet", "default", "web")["status"]
    cluster.clock.advance(0.01)
    cluster.settle()
    assert cluster.store.read("ReplicaSet", "default", "web")["status"]["availableReplicas"] == 2


def test_terminal_pods_are_replaced_and_orphans_adopted(cluster: Cluster) -> None:
    rs = cluster.store.create(replica_set(2))
    cluster.settle()
    victim = pods(cluster)[0]
    cluster.store.update_status({**victim, "status": {"phase": "Failed"}})
    cluster.settle()
    names = [p["metadata"]["name"] for p in pods(cluster)]
    assert victim["metadata"]["name"] not in names and len(names) == 2
    # An orphan with matching labels is adopted, and the surplus deleted.
    cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "stray", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        }
    )
    cluster.settle()
    owned = [p for p in pods(cluster) if p["metadata"].get("ownerReferences")]
    assert len(pods(cluster)) == 2 and len(owned) == 2
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in owned)


def test_pure_reconciler_is_deterministic() -> None:
    rs = replica_set(2)
    rs["metadata"].update({"uid": "u-1", "generation": 1})
    first = reconcile_replicaset(rs, [], 100.0)
    second = reconcile_replicaset(rs, [], 100.0)
    assert first == second
    creates = [a for a in first.actions if isinstance(a, Create)]
    assert len(creates) == 2 and len({c.obj["metadata"]["name"] for c in creates}) == 2
    assert sum(isinstance(a, Event) for a in first.actions) == 2
    # Surplus: three ready pods for two replicas → the newest is deleted.
    made = []
    for i, c in enumerate(
        [*creates, Create({**creates[0].obj, "metadata": {**creates[0].obj["metadata"], "name": "web-x"}})]
    ):
        pod = c.obj
        pod["metadata"]["creationTimestamp"] = f"2023-11-14T22:13:2{i}Z"
        pod["status"] = ready_status(pod, 1_700_000_000)
        made.append(pod)
    result = reconcile_replicaset(rs, made, 1_700_000_100.0)
    deletes = [a for a in result.actions if isinstance(a, Delete)]
    assert [d.name for d in deletes] == ["web-x"]
