"""DaemonSet (one node), namespace deletion and owner-reference garbage collection."""

from __future__ import annotations

from typing import Any

from flightdeck.kube.hashing import pod_template_hash
from tests.controllers.conftest import Cluster

Obj = dict[str, Any]


def daemon_set(image: str = "otel/opentelemetry-collector-contrib:0.142.0") -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "collector", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "collector"}},
            "template": {
                "metadata": {"labels": {"app": "collector"}},
                "spec": {"containers": [{"name": "collector", "image": image}]},
            },
        },
    }


def test_daemon_set_runs_one_pod_and_replaces_it_on_change(cluster: Cluster) -> None:
    ds = cluster.store.create(daemon_set())
    cluster.settle()
    pods = cluster.store.list("Pod")
    assert len(pods) == 1
    labels = pods[0]["metadata"]["labels"]
    assert labels == {
        "app": "collector",
        "controller-revision-hash": pod_template_hash(ds["spec"]["template"]),
        "pod-template-generation": "1",
    }
    status = cluster.store.read("DaemonSet", "default", "collector")["status"]
    assert status == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": 0,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
        "numberUnavailable": 1,
    }
    cluster.tick()
    status = cluster.store.read("DaemonSet", "default", "collector")["status"]
    assert status["numberReady"] == 1 and status["numberAvailable"] == 1 and "numberUnavailable" not in status
    first = pods[0]["metadata"]["name"]
    current = cluster.store.read("DaemonSet", "default", "collector")
    current["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "otel/opentelemetry-collector-contrib:0.143.0"
    )
    cluster.store.update(current)
    cluster.settle()
    pods = cluster.store.list("Pod")
    assert len(pods) == 1 and pods[0]["metadata"]["name"] != first
    assert pods[0]["metadata"]["labels"]["pod-template-generation"] == "2"
    messages = [e["message"] for e in cluster.store.events_for("DaemonSet", "default", "collector")]
    assert f"Deleted pod: {first}" in messages


def test_namespace_deletion_cascades(cluster: Cluster) -> None:
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "otel"}})
    cluster.store.create({**daemon_set(), "metadata": {"name": "collector", "namespace": "otel"}})
    cluster.store.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "namespace": "otel"}}
    )
    cluster.settle()
    assert cluster.store.list("Pod", "otel")
    cluster.store.delete("Namespace", "", "otel")
    cluster.settle()
    assert cluster.store.get("Namespace", "", "otel") is None
    assert cluster.store.list_namespace("otel") == []


def test_dangling_owner_references_are_collected(cluster: Cluster) -> None:
    live = cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "live"}})
    gone = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "gone", "uid": "0000-gone"}
    live_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "live", "uid": live["metadata"]["uid"]}
    pod_spec = {"containers": [{"name": "c", "image": "x:1"}]}
    cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "orphan", "ownerReferences": [gone]},
            "spec": pod_spec,
        }
    )
    cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "half", "ownerReferences": [gone, live_ref]},
            "spec": pod_spec,
        }
    )
    cluster.settle()
    assert cluster.store.get("Pod", "default", "orphan") is None
    half = cluster.store.read("Pod", "default", "half")
    assert half["metadata"]["ownerReferences"] == [live_ref]
