"""Deployment controller on the virtual clock, with a fake kubelet."""

from __future__ import annotations

from typing import Any

from flightdeck.kube.hashing import pod_template_hash
from flightdeck.kube.podutil import is_pod_ready
from tests.controllers.conftest import Cluster

Obj = dict[str, Any]


def deployment(replicas: int = 4, image: str = "nginx:1.25", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }


def get(cluster: Cluster) -> Obj:
    return cluster.store.read("Deployment", "default", "web")


def replica_sets(cluster: Cluster) -> dict[str, Obj]:
    return {rs["metadata"]["name"]: rs for rs in cluster.store.list("ReplicaSet", "default")}


def condition(d: Obj, kind: str) -> Obj:
    return next(c for c in d["status"]["conditions"] if c["type"] == kind)


def set_image(cluster: Cluster, image: str) -> None:
    d = get(cluster)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    cluster.store.update(d)


def test_initial_rollout_completes(cluster: Cluster) -> None:
    created = cluster.store.create(deployment())
    cluster.settle()
    template_hash = pod_template_hash(created["spec"]["template"])
    rs_name = f"web-{template_hash}"
    rss = replica_sets(cluster)
    assert list(rss) == [rs_name]
    rs = rss[rs_name]
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": template_hash}
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": template_hash}
    assert rs["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "4",
        "deployment.kubernetes.io/max-replicas": "5",
    }
    assert all(
        p["metadata"]["labels"]["pod-template-hash"] == template_hash for p in cluster.store.list("Pod")
    )
    assert get(cluster)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    d = get(cluster)
    assert condition(d, "Available")["reason"] == "MinimumReplicasUnavailable"
    cluster.tick()
    d = get(cluster)
    assert {
        k: d["status"][k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    } == {"replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4}
    assert "unavailableReplicas" not in d["status"]
    available = condition(d, "Available")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "True",
        "NewReplicaSetAvailable",
        f'ReplicaSet "{rs_name}" has successfully progressed.',
    )
    events = [e["message"] for e in cluster.store.events_for("Deployment", "default", "web")]
    assert events == [f"Scaled up replica set {rs_name} from 0 to 4"]


def test_rolling_update_respects_surge_and_unavailability(cluster: Cluster) -> None:
    cluster.store.create(deployment())
    cluster.settle()
    cluster.tick()
    old_name = next(iter(replica_sets(cluster)))
    set_image(cluster, "nginx:1.27")
    cluster.settle()
    rss = replica_sets(cluster)
    new_name = next(n for n in rss if n != old_name)
    # New up by the surge (1), old down to 3 once that is observed, then new up to 2: 5 pods, 3 available.
    assert rss[new_name]["spec"]["replicas"] == 2 and rss[old_name]["spec"]["replicas"] == 3
    assert rss[new_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    for _ in range(20):
        pods = cluster.store.list("Pod")
        assert len(pods) <= 5  # replicas + maxSurge (25% of 4, rounded up)
        assert sum(is_pod_ready(p) for p in pods) >= 3  # replicas - maxUnavailable
        cluster.tick()
        if get(cluster)["status"].get("updatedReplicas") == 4 and len(cluster.store.list("Pod")) == 4:
            break
    rss = replica_sets(cluster)
    assert rss[new_name]["spec"]["replicas"] == 4 and rss[old_name]["spec"]["replicas"] == 0
    d = get(cluster)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert all(
        p["metadata"]["labels"]["pod-template-hash"] == new_name.split("-")[1]
        for p in cluster.store.list("Pod")
    )
    events = [e["message"] for e in cluster.store.events_for("Deployment", "default", "web")]
    assert f"Scaled up replica set {new_name} from 0 to 1" in events
    assert f"Scaled down replica set {old_name} from 4 to 3" in events
    # Rolling back to the first template reuses the old ReplicaSet and gives it revision 3.
    set_image(cluster, "nginx:1.25")
    for _ in range(20):
        cluster.tick()
    rss = replica_sets(cluster)
    assert set(rss) == {old_name, new_name}
    annotations = rss[old_name]["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == "3"
    assert annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert rss[old_name]["spec"]["replicas"] == 4


def test_recreate_stops_old_pods_first(cluster: Cluster) -> None:
    cluster.store.create(deployment(replicas=2, strategy={"type": "Recreate"}))
    cluster.settle()
    cluster.tick()
    old_name = next(iter(replica_sets(cluster)))
    set_image(cluster, "nginx:1.27")
    cluster.settle()
    rss = replica_sets(cluster)
    # Old scaled to zero; the new ReplicaSet appears only once no old pod is left.
    assert rss[old_name]["spec"]["replicas"] == 0
    cluster.tick()
    rss = replica_sets(cluster)
    assert len(rss) == 2
    new_name = next(n for n in rss if n != old_name)
    assert rss[new_name]["spec"]["replicas"] == 2
    assert all(
        p["metadata"]["labels"]["pod-template-hash"] == new_name.split("-")[1]
        for p in cluster.store.list("Pod")
    )


def test_progress_deadline_exceeded(cluster: Cluster) -> None:
    cluster.store.create(deployment(replicas=1, progressDeadlineSeconds=30))
    cluster.settle()  # pods never become ready
    rs_name = next(iter(replica_sets(cluster)))
    assert condition(get(cluster), "Progressing")["status"] == "True"
    cluster.clock.advance(29)
    cluster.settle()
    assert condition(get(cluster), "Progressing")["status"] == "True"
    cluster.clock.advance(2.5)  # the controller requeued itself for the deadline
    cluster.settle()
    progressing = condition(get(cluster), "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{rs_name}" has timed out progressing.',
    )


def test_revision_history_limit_and_hash_collision(cluster: Cluster) -> None:
    cluster.store.create(deployment(replicas=1, revisionHistoryLimit=1))
    cluster.settle()
    cluster.tick()
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        set_image(cluster, image)
        for _ in range(8):
            cluster.tick()
    rss = replica_sets(cluster)
    assert len(rss) == 2  # the current one and one old revision
    revisions = sorted(
        int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for rs in rss.values()
    )
    assert revisions == [3, 4]
    # Someone else's ReplicaSet already has the name of the next one: the collision count moves the hash.
    d = get(cluster)
    template = dict(d["spec"]["template"])
    template["spec"] = {
        "containers": [{**template["spec"]["containers"][0], "image": "nginx:5"}],
        **{k: v for k, v in template["spec"].items() if k != "containers"},
    }
    squatter = f"web-{pod_template_hash(template, None)}"
    cluster.store.create(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": squatter, "namespace": "default"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"other": "x"}},
                "template": {
                    "metadata": {"labels": {"other": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "x:1"}]},
                },
            },
        }
    )
    set_image(cluster, "nginx:5")
    cluster.settle()
    d = get(cluster)
    assert d["status"]["collisionCount"] == 1
    assert f"web-{pod_template_hash(d['spec']['template'], 1)}" in replica_sets(cluster)


def test_deleting_a_deployment_removes_its_replica_sets_and_pods(cluster: Cluster) -> None:
    cluster.store.create(deployment(replicas=2))
    cluster.settle()
    assert len(cluster.store.list("Pod")) == 2
    cluster.store.delete("Deployment", "default", "web")
    assert cluster.store.list("ReplicaSet") == [] and cluster.store.list("Pod") == []
    cluster.settle()
