"""The Application reconciler on a virtual clock: comparison, health, automated sync with prune and self-heal,
sync waves, manual operations, git faults with Argo CD's grace period, and deletion."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flightdeck.gitops.app_reconcile import Rendered, RenderFailure, Settings, reconcile_application
from flightdeck.gitops.diff import LAST_APPLIED
from flightdeck.gitops.tracking import TRACKING_ANNOTATION, TRACKING_LABEL, is_tracked_by
from flightdeck.kube.actions import Create, Delete, Event, Reconciled, Update, UpdateStatus
from tests.gitops.cluster import Cluster

T0 = 1_700_000_000.0
REV1 = "1" * 40
REV2 = "2" * 40


def application(**sync_policy: Any) -> dict[str, Any]:
    policy = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}
    policy.update(sync_policy)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "demo",
            "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "/srv/repo", "targetRevision": "HEAD", "path": "demo"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "demo"},
            "syncPolicy": policy,
        },
    }


CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "fast"}}
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    },
}


def rendered(*objs: dict[str, Any], revision: str = REV1) -> Rendered:
    return Rendered(revision, tuple(copy.deepcopy(o) for o in objs), "Directory")


class World:
    """An Application, the cluster it deploys to, and a virtual clock."""

    def __init__(self, app: dict[str, Any], settings: Settings | None = None) -> None:
        self.cluster = Cluster()
        self.app = self.cluster.add(app)
        self.now = T0
        self.settings = settings or Settings()

    @property
    def status(self) -> dict[str, Any]:
        return self.cluster.get("Application", "argocd", "demo")["status"]  # type: ignore[index]

    def live(self) -> list[dict[str, Any]]:
        return [o for o in self.cluster.list() if o["kind"] not in ("Application",)]

    def step(self, desired: Rendered | RenderFailure | None, advance: float = 1.0) -> Reconciled:
        app = self.cluster.get("Application", "argocd", "demo")
        assert app is not None
        result = reconcile_application(app, desired, self.live(), self.now, self.settings)
        self.cluster.apply(result.actions)
        self.now += advance
        return result

    def make_healthy(self) -> None:
        for obj in self.cluster.list("Deployment"):
            obj["status"] = {
                "observedGeneration": obj["metadata"]["generation"],
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            }


def events(result: Reconciled) -> list[tuple[str, str]]:
    return [(a.reason, a.message) for a in result.actions if isinstance(a, Event)]


def test_first_sync_creates_the_namespace_then_the_resources() -> None:
    world = World(application())
    desired = rendered(CONFIG, DEPLOY)
    first = world.step(desired)
    assert [type(a).__name__ for a in first.actions if not isinstance(a, Event)] == ["Create", "UpdateStatus"]
    (namespace,) = [a.obj for a in first.actions if isinstance(a, Create)]
    assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", "demo")
    assert TRACKING_LABEL not in namespace["metadata"].get("labels", {})  # not part of the app: never pruned
    assert ("OperationStarted", f"Initiated automated sync to '{REV1}'") in events(first)
    assert ("ResourceUpdated", "Updated sync status:  -> OutOfSync") in events(first)
    assert ("ResourceUpdated", "Updated health status:  -> Missing") in events(first)
    status = world.status
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == REV1
    assert status["health"]["status"] == "Missing"
    op = status["operationState"]
    assert op["phase"] == "Running"
    assert op["message"] == "waiting for healthy state of /Namespace/demo"
    assert op["operation"] == {
        "sync": {
            "source": {"repoURL": "/srv/repo", "targetRevision": "HEAD", "path": "demo"},
            "revision": REV1,
            "prune": True,
            "syncOptions": ["CreateNamespace=true"],
        },
        "initiatedBy": {"automated": True},
        "retry": {"limit": 5},
    }
    assert first.requeue_at == T0 + 2.0

    second = world.step(desired)
    created = [a.obj for a in second.actions if isinstance(a, Create)]
    assert [(o["kind"], o["metadata"]["namespace"]) for o in created] == [
        ("ConfigMap", "demo"),
        ("Deployment", "demo"),
    ]
    for obj in created:
        assert obj["metadata"]["labels"][TRACKING_LABEL] == "demo"
        assert obj["metadata"]["annotations"][TRACKING_ANNOTATION].startswith("demo:")
        assert LAST_APPLIED in obj["metadata"]["annotations"]
    op = world.status["operationState"]
    assert op["phase"] == "Succeeded"
    assert op["message"] == "successfully synced (all tasks run)"
    assert [
        (r["kind"], r["syncPhase"], r["hookPhase"], r["message"]) for r in op["syncResult"]["resources"]
    ] == [
        ("Namespace", "PreSync", "Running", "namespace/demo created"),
        ("ConfigMap", "Sync", "Running", "configmap/settings created"),
        ("Deployment", "Sync", "Running", "deployment.apps/web created"),
    ]
    assert ("OperationCompleted", f"Sync operation to {REV1} succeeded") in events(second)
    assert world.status["history"][0]["revision"] == REV1
    assert world.status["history"][0]["id"] == 0

    third = world.step(desired)
    status = world.status
    assert status["sync"]["status"] == "Synced"
    assert status["health"]["status"] == "Progressing"  # the Deployment has no ready replicas yet
    assert ("ResourceUpdated", "Updated sync status: OutOfSync -> Synced") in events(third)
    resources = {r["kind"]: r for r in status["resources"]}
    assert resources["Deployment"]["health"]["status"] == "Progressing"
    assert "health" not in resources["ConfigMap"]  # kinds without a health check have none
    world.make_healthy()
    world.step(desired)
    assert world.status["health"]["status"] == "Healthy"
    assert world.status["summary"] == {"images": ["nginx:1.25"]}
    quiet = world.step(desired)
    assert [a for a in quiet.actions if not isinstance(a, UpdateStatus)] == []


def synced_world(**sync_policy: Any) -> World:
    world = World(application(**sync_policy))
    desired = rendered(CONFIG, DEPLOY)
    for _ in range(3):
        world.step(desired)
    world.make_healthy()
    world.step(desired)
    assert world.status["sync"]["status"] == "Synced"
    return world


def test_a_new_commit_is_synced_and_configured() -> None:
    world = synced_world()
    bumped = copy.deepcopy(DEPLOY)
    bumped["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    result = world.step(rendered(CONFIG, bumped, revision=REV2))
    messages = [r["message"] for r in world.status["operationState"]["syncResult"]["resources"]]
    assert messages == ["configmap/settings unchanged", "deployment.apps/web configured"]
    assert world.status["operationState"]["syncResult"]["revision"] == REV2
    (update,) = [a.obj for a in result.actions if isinstance(a, Update)]
    assert update["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    world.step(rendered(CONFIG, bumped, revision=REV2))
    assert world.status["sync"] == {
        "status": "Synced",
        "revision": REV2,
        "comparedTo": {
            "source": {"repoURL": "/srv/repo", "targetRevision": "HEAD", "path": "demo"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "demo"},
        },
    }
    assert [h["revision"] for h in world.status["history"]] == [REV1, REV2]


def test_removed_manifest_is_pruned() -> None:
    world = synced_world()
    result = world.step(rendered(DEPLOY, revision=REV2))
    assert Delete("ConfigMap", "demo", "settings") in result.actions
    results = world.status["operationState"]["syncResult"]["resources"]
    assert {
        "kind": "ConfigMap",
        "status": "Pruned",
        "hookPhase": "Succeeded",
        "message": "pruned",
    }.items() <= {k: v for r in results if r["kind"] == "ConfigMap" for k, v in r.items()}.items()
    world.step(rendered(DEPLOY, revision=REV2))
    assert world.cluster.get("ConfigMap", "demo", "settings") is None
    assert world.status["sync"]["status"] == "Synced"


def test_without_automated_prune_an_extra_resource_only_shows_as_requiring_pruning() -> None:
    world = synced_world(automated={"prune": False, "selfHeal": True})
    result = world.step(rendered(DEPLOY, revision=REV2))
    assert not any(isinstance(a, Delete) for a in result.actions)
    status = world.status
    assert status["sync"]["status"] == "OutOfSync"
    extra = next(r for r in status["resources"] if r["kind"] == "ConfigMap")
    assert extra["requiresPruning"] is True and extra["status"] == "OutOfSync"
    assert status["operationState"]["syncResult"]["revision"] == REV1  # no new sync was started


def test_self_heal_reverts_drift_with_argo_cds_back_off() -> None:
    world = synced_world()
    desired = rendered(CONFIG, DEPLOY)
    world.cluster.get("ConfigMap", "demo", "settings")["data"]["mode"] = "slow"  # type: ignore[index]
    result = world.step(desired, advance=0.5)
    op = world.status["operationState"]
    assert op["operation"]["sync"]["selfHealAttemptsCount"] == 1
    assert op["operation"]["sync"]["resources"] == [{"group": "", "kind": "ConfigMap", "name": "settings"}]
    assert ("OperationCompleted", f"Partial sync operation to {REV1} succeeded") in events(result)
    assert world.cluster.get("ConfigMap", "demo", "settings")["data"]["mode"] == "fast"  # type: ignore[index]
    # Drift again at once: the second attempt waits 2 s after the first one finished.
    world.cluster.get("ConfigMap", "demo", "settings")["data"]["mode"] = "slow"  # type: ignore[index]
    waiting = world.step(desired, advance=0.0)
    assert not any(isinstance(a, Update) and a.obj["kind"] == "ConfigMap" for a in waiting.actions)
    assert waiting.requeue_at == pytest.approx(world.now + 1.5)
    world.now += 1.5
    world.step(desired)
    assert world.cluster.get("ConfigMap", "demo", "settings")["data"]["mode"] == "fast"  # type: ignore[index]
    assert world.status["operationState"]["operation"]["sync"]["selfHealAttemptsCount"] == 2


def test_without_self_heal_drift_stays_out_of_sync() -> None:
    world = synced_world(automated={"prune": True, "selfHeal": False})
    world.cluster.get("ConfigMap", "demo", "settings")["data"]["mode"] = "slow"  # type: ignore[index]
    result = world.step(rendered(CONFIG, DEPLOY))
    assert not any(isinstance(a, Update) and a.obj["kind"] == "ConfigMap" for a in result.actions)
    assert world.status["sync"]["status"] == "OutOfSync"


def test_fields_removed_from_git_are_out_of_sync_and_removed_by_sync() -> None:
    world = synced_world()
    trimmed = copy.deepcopy(CONFIG)
    trimmed["data"] = {}
    trimmed["metadata"]["labels"] = {"team": "a"}
    world.step(rendered(trimmed, DEPLOY, revision=REV2))
    world.step(rendered(trimmed, DEPLOY, revision=REV2))
    live = world.cluster.get("ConfigMap", "demo", "settings")
    assert live is not None and live["data"] == {} and live["metadata"]["labels"]["team"] == "a"
    assert world.status["sync"]["status"] == "Synced"


def test_server_side_defaults_do_not_make_an_app_out_of_sync() -> None:
    world = synced_world()
    live = world.cluster.get("Deployment", "demo", "web")
    assert live is not None
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    live["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    world.step(rendered(CONFIG, DEPLOY))
    assert world.status["sync"]["status"] == "Synced"


def test_git_failure_is_reported_after_the_grace_period_and_recovers() -> None:
    world = synced_world()
    message = "demo/deployment.yaml:7: invalid YAML: mapping values are not allowed here"
    failure = RenderFailure(message, since=world.now, revision=REV2)
    before = copy.deepcopy(world.status)
    quiet = world.step(failure, advance=0)
    assert [a for a in quiet.actions if isinstance(a, UpdateStatus)] == []
    assert quiet.requeue_at == pytest.approx(failure.since + 180.001)
    assert world.status == before
    world.now = failure.since + 181
    result = world.step(failure)
    status = world.status
    assert status["sync"]["status"] == "Unknown"
    assert status["health"]["status"] == "Healthy"  # the last good state keeps running
    (condition,) = status["conditions"]
    assert condition["type"] == "ComparisonError"
    assert condition["message"] == (
        "Failed to load target state: failed to generate manifest for source 1 of 1: " + message
    )
    assert all(r["status"] == "Unknown" for r in status["resources"])
    assert not any(isinstance(a, Create | Delete) for a in result.actions)
    assert all(a.obj["kind"] == "Application" for a in result.actions if isinstance(a, Update))
    assert world.cluster.get("Deployment", "demo", "web") is not None
    # The next good commit recovers.
    bumped = copy.deepcopy(DEPLOY)
    bumped["spec"]["replicas"] = 2
    world.step(rendered(CONFIG, bumped, revision=REV2))
    world.step(rendered(CONFIG, bumped, revision=REV2))
    status = world.status
    assert "conditions" not in status
    assert status["sync"]["status"] == "Synced"
    assert world.cluster.get("Deployment", "demo", "web")["spec"]["replicas"] == 2  # type: ignore[index]


def test_hard_refresh_reports_a_failure_at_once() -> None:
    world = synced_world()
    app = world.cluster.get("Application", "argocd", "demo")
    assert app is not None
    app["metadata"]["annotations"] = {"argocd.argoproj.io/refresh": "hard"}
    result = world.step(RenderFailure("failed to list refs: gone", since=world.now))
    assert world.status["sync"]["status"] == "Unknown"
    (update,) = [a for a in result.actions if isinstance(a, Update)]
    assert "annotations" not in update.obj["metadata"]  # the refresh request is consumed


def test_sync_waves_wait_for_health() -> None:
    world = World(application(syncOptions=[]))
    world.cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    first = copy.deepcopy(DEPLOY)
    first["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "-1"}
    second = copy.deepcopy(CONFIG)
    desired = rendered(first, second)
    result = world.step(desired)
    assert [a.obj["kind"] for a in result.actions if isinstance(a, Create)] == ["Deployment"]
    assert world.status["operationState"]["message"] == "waiting for healthy state of /ConfigMap/settings"
    result = world.step(desired)
    assert not any(isinstance(a, Create) for a in result.actions)
    assert world.status["operationState"]["message"] == "waiting for healthy state of apps/Deployment/web"
    world.make_healthy()
    result = world.step(desired)
    assert [a.obj["kind"] for a in result.actions if isinstance(a, Create)] == ["ConfigMap"]
    assert world.status["operationState"]["phase"] == "Succeeded"
    hook_phases = {
        r["kind"]: r["hookPhase"] for r in world.status["operationState"]["syncResult"]["resources"]
    }
    assert hook_phases == {"Deployment": "Succeeded", "ConfigMap": "Running"}


def test_manual_sync_operation_is_run_and_cleared() -> None:
    app = application()
    del app["spec"]["syncPolicy"]["automated"]
    world = World(app)
    desired = rendered(CONFIG)
    world.step(desired)
    assert "operationState" not in world.status
    assert world.status["sync"]["status"] == "OutOfSync"
    current = world.cluster.get("Application", "argocd", "demo")
    assert current is not None
    current["operation"] = {"sync": {"prune": True}, "initiatedBy": {"username": "admin"}}
    world.step(desired)
    assert "operation" not in world.cluster.get("Application", "argocd", "demo")  # type: ignore[operator]
    world.step(desired)
    op = world.status["operationState"]
    assert op["operation"]["initiatedBy"] == {"username": "admin"}
    assert op["phase"] == "Succeeded"
    world.step(desired)
    assert world.status["sync"]["status"] == "Synced"


def test_deleting_the_application_cascades_then_drops_the_finalizer() -> None:
    world = synced_world()
    app = world.cluster.get("Application", "argocd", "demo")
    assert app is not None
    app["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    result = world.step(None)
    assert sorted((a.kind, a.name) for a in result.actions if isinstance(a, Delete)) == [
        ("ConfigMap", "settings"),
        ("Deployment", "web"),
    ]
    result = world.step(None)
    (update,) = [a for a in result.actions if isinstance(a, Update)]
    assert update.obj["metadata"]["finalizers"] == []
    assert (
        world.cluster.get("Namespace", "", "demo") is not None
    )  # CreateNamespace's namespace is not tracked


def test_invalid_spec_is_reported_without_comparing() -> None:
    app = application()
    app["spec"]["project"] = "platform"
    app["spec"]["destination"] = {"server": "https://elsewhere:6443"}
    world = World(app)
    result = world.step(rendered(CONFIG))
    status = world.status
    assert status["sync"]["status"] == "Unknown" and status["health"]["status"] == "Unknown"
    assert [c["message"] for c in status["conditions"]] == [
        "Application referencing project platform which does not exist",
        'Unable to get cluster: error getting cluster by server "https://elsewhere:6443": '
        'cluster "https://elsewhere:6443" not found',
    ]
    assert not any(isinstance(a, Create) for a in result.actions)


def test_repeated_and_shared_resources_are_warned_about() -> None:
    world = World(application(automated=None))
    other = copy.deepcopy(CONFIG)
    other["metadata"]["namespace"] = "demo"
    other["metadata"]["annotations"] = {TRACKING_ANNOTATION: "other:/ConfigMap:demo/settings"}
    world.cluster.add(other)
    world.step(rendered(CONFIG, CONFIG))
    messages = sorted(c["message"] for c in world.status["conditions"])
    assert messages == [
        "ConfigMap/settings is part of applications argocd/demo and other",
        "Resource /ConfigMap/demo/settings appeared 2 times among application resources.",
    ]


def test_objects_copied_from_a_template_are_not_managed() -> None:
    world = synced_world()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-abc",
            "namespace": "demo",
            "labels": {TRACKING_LABEL: "demo"},
            "annotations": {TRACKING_ANNOTATION: "demo:apps/Deployment:demo/web"},
        },
    }
    assert not is_tracked_by(pod, "demo")
    world.cluster.add(pod)
    world.step(rendered(CONFIG, DEPLOY))
    assert world.cluster.get("Pod", "demo", "web-abc") is not None
    assert world.status["sync"]["status"] == "Synced"


def test_invalid_objects_fail_the_sync_in_the_dry_run_and_are_retried() -> None:
    world = World(application())
    bad = copy.deepcopy(DEPLOY)
    bad["spec"]["replicas"] = -1
    desired = rendered(CONFIG, bad)
    world.step(desired)  # the namespace is created before the dry run
    result = world.step(desired)
    assert not any(isinstance(a, Create | Update) and a.obj["kind"] != "Application" for a in result.actions)
    op = world.status["operationState"]
    # Automated syncs retry 5 times (5 s, doubling); Argo CD keeps the operation Running meanwhile.
    assert op["phase"] == "Running" and op["retryCount"] == 1
    assert op["message"] == "one or more objects failed to apply (dry run). Retrying attempt #1 at 10:13PM."
    failed = next(r for r in op["syncResult"]["resources"] if r["kind"] == "Deployment")
    assert failed["status"] == "SyncFailed" and failed["hookPhase"] == "Failed"
    assert failed["message"] == (
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    waiting = world.step(desired, advance=0)
    assert waiting.requeue_at == pytest.approx(world.now - 1 + 10)
    for _ in range(400):
        world.step(desired)
        if world.status["operationState"]["phase"] == "Failed":
            break
    op = world.status["operationState"]
    assert op["message"] == "one or more objects failed to apply (dry run) (retried 5 times)."
    assert world.now - T0 == pytest.approx(2 + 10 + 20 + 40 + 80 + 160, abs=2)
    assert ("OperationCompleted", f"Sync operation to {REV1} failed: {op['message']}") in [
        e[1:] for e in world.cluster.events
    ]
    # Argo CD does not sync the same revision again by itself: it says why instead.
    world.step(desired)
    assert [(c["type"], c["message"]) for c in world.status["conditions"]] == [
        ("SyncError", f"Failed last sync attempt to [{REV1}]: {op['message']}")
    ]


def test_a_missing_namespace_fails_the_apply() -> None:
    app = application(syncOptions=[])
    del app["spec"]["syncPolicy"]["automated"]
    app["operation"] = {"sync": {}, "initiatedBy": {"username": "admin"}}  # no retry asked for
    world = World(app)
    world.step(rendered(CONFIG))
    op = world.status["operationState"]
    assert op["phase"] == "Failed"
    assert op["message"] == 'one or more objects failed to apply, reason: namespaces "demo" not found'
    assert world.cluster.get("ConfigMap", "demo", "settings") is None


def test_ignore_differences_json_pointers() -> None:
    world = synced_world()
    app = world.cluster.get("Application", "argocd", "demo")
    assert app is not None
    app["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]
    world.cluster.get("Deployment", "demo", "web")["spec"]["replicas"] = 5  # type: ignore[index]  # an HPA's doing
    result = world.step(rendered(CONFIG, DEPLOY))
    assert world.status["sync"]["status"] == "Synced"
    assert not any(isinstance(a, Update) and a.obj["kind"] == "Deployment" for a in result.actions)
    app = world.cluster.get("Application", "argocd", "demo")
    assert app is not None
    app["spec"]["ignoreDifferences"] = [{"kind": "Deployment", "jqPathExpressions": [".spec.replicas"]}]
    world.step(rendered(CONFIG, DEPLOY))
    assert world.status["conditions"][0]["message"] == (
        "not supported: spec.ignoreDifferences[0].jqPathExpressions (use jsonPointers)"
    )
