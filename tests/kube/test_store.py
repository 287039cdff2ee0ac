"""ObjectStore: CRUD, conflicts, generation, watch, garbage collection, persistence."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flightdeck.kube import errors
from flightdeck.kube.actions import Create, Delete, Event, Update, UpdateStatus
from flightdeck.kube.store import LAST_APPLIED, ObjectStore
from flightdeck.util.clock import VirtualClock

Obj = dict[str, Any]


def cm(name: str, namespace: str = "default", **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data),
    }


def deployment(name: str = "web", image: str = "nginx:1.25", namespace: str = "default") -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore(None, clock=VirtualClock(1_700_000_000))


def test_create_fills_metadata_and_defaults(store: ObjectStore) -> None:
    d = store.create(deployment())
    meta = d["metadata"]
    assert meta["generation"] == 1
    assert meta["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert len(meta["uid"]) == 36 and int(meta["resourceVersion"]) > 0
    spec = d["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert store.get("Deployment", "default", "web") == d


def test_errors_have_kubernetes_texts(store: ObjectStore) -> None:
    store.create(cm("a"))
    with pytest.raises(errors.AlreadyExists, match=r'^configmaps "a" already exists$'):
        store.create(cm("a"))
    with pytest.raises(errors.NotFound, match=r'^deployments.apps "nope" not found$'):
        store.read("Deployment", "default", "nope")
    with pytest.raises(errors.NotFound, match=r'^namespaces "elsewhere" not found$'):
        store.create(cm("b", "elsewhere"))
    with pytest.raises(errors.NotFound):
        store.delete("ConfigMap", "default", "zzz")
    bad = deployment()
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(errors.Invalid) as exc:
        store.create(bad)
    assert str(exc.value) == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    unknown = deployment()
    unknown["spec"]["replicaz"] = 3
    with pytest.raises(errors.BadRequest) as bad_request:
        store.create(unknown)
    assert str(bad_request.value) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicaz"'
    )
    assert bad_request.value.kubectl_text().startswith("Error from server (BadRequest): ")


def test_update_conflict_and_generation(store: ObjectStore) -> None:
    d = store.create(deployment())
    stale = dict(d)
    d["spec"]["replicas"] = 3
    updated = store.update(d)
    assert updated["metadata"]["generation"] == 2
    with pytest.raises(errors.Conflict) as exc:
        store.update(stale)
    assert str(exc.value) == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    # Metadata-only changes keep the generation; an unchanged object keeps its resourceVersion.
    updated["metadata"]["labels"]["tier"] = "front"
    relabeled = store.update(updated)
    assert relabeled["metadata"]["generation"] == 2
    assert store.update(relabeled)["metadata"]["resourceVersion"] == relabeled["metadata"]["resourceVersion"]


def test_update_status_keeps_spec_and_generation(store: ObjectStore) -> None:
    d = store.create(deployment())
    d["spec"]["replicas"] = 9
    d["status"] = {"replicas": 2}
    out = store.update_status(d)
    assert out["status"] == {"replicas": 2}
    assert out["spec"]["replicas"] == 2 and out["metadata"]["generation"] == 1
    # update() never changes status
    out["status"] = {"replicas": 99}
    assert store.update(out)["status"] == {"replicas": 2}


def test_list_with_selectors(store: ObjectStore) -> None:
    for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "x"}), ("c", {"app": "y"})):
        obj = cm(name)
        obj["metadata"]["labels"] = labels
        store.create(obj)
    names = lambda objs: [o["metadata"]["name"] for o in objs]  # noqa: E731
    assert names(store.list("ConfigMap", "default", {"app": "x"})) == ["a", "b"]
    assert names(
        store.list("ConfigMap", selector={"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]})
    ) == ["b", "c"]
    assert names(store.list("ConfigMap", selector="app in (x,y),tier!=web")) == ["b", "c"]
    assert store.list("ConfigMap", "other") == []


def test_watch_sees_changes_and_overflow(store: ObjectStore) -> None:
    watch = store.watch(["ConfigMap"], maxsize=3)
    store.create(cm("a"))
    store.create(deployment())  # filtered out
    obj = store.get("ConfigMap", "default", "a")
    assert obj is not None
    obj["data"] = {"k": "v"}
    store.update(obj)
    store.delete("ConfigMap", "default", "a")
    events = watch.drain()
    assert [(e.type, e.name) for e in events] == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert events[1].obj["data"] == {"k": "v"}
    for i in range(5):
        store.create(cm(f"x{i}"))
    events = watch.drain()
    assert events[0].type == "ERROR" and events[0].obj["reason"] == "Expired"
    assert watch.overflows == 1
    watch.close()
    store.create(cm("after-close"))
    assert watch.drain() == []


def test_owner_deletion_collects_dependents(store: ObjectStore) -> None:
    owner = store.create(cm("owner"))
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    child = cm("child")
    child["metadata"]["ownerReferences"] = [ref]
    child = store.create(child)
    grandchild = cm("grandchild")
    grandchild["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "child", "uid": child["metadata"]["uid"]}
    ]
    store.create(grandchild)
    shared = cm("shared")
    other = store.create(cm("other"))
    shared["metadata"]["ownerReferences"] = [
        ref,
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "other", "uid": other["metadata"]["uid"]},
    ]
    store.create(shared)
    assert [o["metadata"]["name"] for o in store.dependents(owner["metadata"]["uid"])] == ["child", "shared"]
    store.delete("ConfigMap", "default", "owner")
    left = {o["metadata"]["name"]: o for o in store.list("ConfigMap")}
    assert set(left) == {"other", "shared"}
    assert [r["name"] for r in left["shared"]["metadata"]["ownerReferences"]] == ["other"]


def test_orphan_propagation_keeps_dependents(store: ObjectStore) -> None:
    owner = store.create(cm("owner"))
    child = cm("child")
    child["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    ]
    store.create(child)
    store.delete("ConfigMap", "default", "owner", propagation="Orphan")
    kept = store.get("ConfigMap", "default", "child")
    assert kept is not None and "ownerReferences" not in kept["metadata"]


def test_namespace_deletion_is_marked_and_blocks_new_content(store: ObjectStore) -> None:
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    store.create(cm("a", "team"))
    store.delete("Namespace", "", "team")
    ns = store.read("Namespace", "", "team")
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    with pytest.raises(errors.Forbidden) as exc:
        store.create(cm("b", "team"))
    assert str(exc.value) == (
        'configmaps "b" is forbidden: unable to create new content in namespace team '
        "because it is being terminated"
    )
    # Removing the finalizer lets it go.
    ns["spec"]["finalizers"] = []
    store.update(ns)
    assert store.get("Namespace", "", "team") is None


def test_apply_creates_namespace_and_merges_like_kubectl(store: ObjectStore) -> None:
    d = deployment(namespace="shop")
    with pytest.raises(errors.NotFound):
        store.apply(d)
    created = store.apply(d, create_namespace=True)
    assert store.get("Namespace", "", "shop") is not None
    assert LAST_APPLIED in created["metadata"]["annotations"]
    # A controller adds an annotation and status; re-applying keeps both and bumps nothing.
    created["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    created = store.update(created)
    store.update_status({**created, "status": {"replicas": 2}})
    again = store.apply(d)
    assert again["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert again["status"] == {"replicas": 2} and again["metadata"]["generation"] == 1
    rv = again["metadata"]["resourceVersion"]
    assert store.apply(d)["metadata"]["resourceVersion"] == rv
    # Dropping a label from the manifest removes it; changing the image bumps the generation.
    d2 = deployment(namespace="shop", image="nginx:1.27")
    d2["metadata"]["labels"] = {}
    out = store.apply(d2)
    assert "labels" not in out["metadata"] and out["metadata"]["generation"] == 2
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_secret_string_data_and_service_cluster_ip(store: ObjectStore) -> None:
    secret = store.create(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": "hunter2"}}
    )
    assert secret["data"] == {"token": "aHVudGVyMg=="} and "stringData" not in secret
    assert secret["type"] == "Opaque"
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    first = store.create(svc)
    second = store.create({**svc, "metadata": {"name": "api"}, "spec": {"ports": [{"port": 8080}]}})
    assert first["spec"]["clusterIP"] == "127.20.0.1" and second["spec"]["clusterIP"] == "127.20.0.2"
    assert second["spec"]["ports"][0] == {"port": 8080, "protocol": "TCP", "targetPort": 8080}
    assert store.apply(svc)["spec"]["clusterIP"] == "127.20.0.1"
    changed = store.read("Service", "default", "web")
    changed["spec"]["clusterIP"] = "127.20.9.9"
    with pytest.raises(errors.Invalid, match="field is immutable"):
        store.update(changed)


def test_unsupported_fields_become_a_warning_event(store: ObjectStore) -> None:
    d = deployment()
    d["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    store.create(d)
    events = store.events_for("Deployment", "default", "web")
    assert len(events) == 1
    assert events[0]["type"] == "Warning" and events[0]["reason"] == "Unsupported"
    assert events[0]["message"].startswith("spec.template.spec.nodeSelector: not supported by flightdeck")


def test_apply_actions_rebases_own_writes_and_dedups_events(store: ObjectStore) -> None:
    d = store.create(deployment())
    with_annotation = {**d, "metadata": {**d["metadata"], "annotations": {"x": "1"}}}
    with_status = {**d, "status": {"replicas": 1}}
    now = 1_700_000_100.0
    store.apply_actions(
        [
            Update(with_annotation),
            UpdateStatus(with_status),  # read at the same resourceVersion as the Update: one logical write
            Create(cm("made")),
            Event("Deployment", "default", "web", "ScalingReplicaSet", "Scaled up"),
            Event("Deployment", "default", "web", "ScalingReplicaSet", "Scaled up"),
            Delete("ConfigMap", "default", "never-existed"),
        ],
        now,
    )
    out = store.read("Deployment", "default", "web")
    assert out["metadata"]["annotations"] == {"x": "1"} and out["status"] == {"replicas": 1}
    events = store.events_for("Deployment", "default", "web")
    assert [(e["count"], e["source"]["component"]) for e in events] == [(2, "deployment-controller")]
    # A stale write from elsewhere still conflicts.
    with pytest.raises(errors.Conflict):
        store.apply_actions([UpdateStatus({**d, "status": {"replicas": 5}})], now)


def test_generate_name(store: ObjectStore) -> None:
    obj = cm("")
    obj["metadata"] = {"generateName": "job-", "namespace": "default"}
    made = store.create(obj)
    assert made["metadata"]["name"].startswith("job-") and len(made["metadata"]["name"]) == 9


def test_persistence_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "objects.db"
    clock = VirtualClock()
    first = ObjectStore(path, clock=clock)
    owner = first.create(deployment())
    first.update_status({**owner, "status": {"replicas": 2}})
    first.create(cm("gone"))
    first.delete("ConfigMap", "default", "gone")
    rv = first.resource_version
    snapshot = {k: first.list(k) for k in first.kinds()}
    first.close()
    mode = sqlite3.connect(str(path)).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    second = ObjectStore(path, clock=clock)
    assert {k: second.list(k) for k in second.kinds()} == snapshot
    assert second.resource_version == rv
    created = second.create(cm("later"))
    assert int(created["metadata"]["resourceVersion"]) == rv + 1
    second.close()


def test_threads_write_safely(tmp_path: Path) -> None:
    import threading

    store = ObjectStore(tmp_path / "db.sqlite")

    def work(prefix: str) -> None:
        for i in range(50):
            store.create(cm(f"{prefix}-{i}"))

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count("ConfigMap") == 200
    rvs = {int(o["metadata"]["resourceVersion"]) for o in store.list("ConfigMap")}
    assert len(rvs) == 200
    store.close()


def test_unchanged_warnings_are_not_repeated(store: ObjectStore) -> None:
    d = deployment()
    d["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    created = store.create(d)
    created["metadata"]["annotations"] = {"note": "controller write"}
    store.update(created)
    assert [e["count"] for e in store.events_for("Deployment", "default", "web")] == [1]
