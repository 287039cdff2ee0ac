"""The seed's repository through the whole gitops stack: a real git repository, the poller, the renderers,
both reconcilers and K's object store on a virtual clock — including the git faults of issue 7."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from flightdeck.gitops import appset as A
from flightdeck.gitops.controller import GitOpsController
from flightdeck.gitops.poller import RepoPoller
from flightdeck.gitops.schema import register_kinds
from flightdeck.gitops.tracking import TRACKING_LABEL
from flightdeck.kube.store import ObjectStore
from flightdeck.util.clock import VirtualClock
from tests.gitops.gitrepo import TempRepo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hotrod-gitops"
APPS = ("hotrod", "otel", "traffic-generator")


class Platform:
    def __init__(self, tmp_path: Path) -> None:
        register_kinds()
        self.repo = TempRepo(tmp_path / "repo")
        self.repo.copy_tree(EXAMPLE)
        self.repo.commit("the seed's repository, fixed")
        self.clock = VirtualClock()
        self.store = ObjectStore(None, clock=self.clock)
        self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
        self.poller = RepoPoller(tmp_path / "cache", poll_seconds=10)
        self.controller = GitOpsController(self.store, self.poller)
        (manifest,) = A.load(EXAMPLE / "appset.yaml", repo_url=self.repo.url)
        self.store.create(manifest.obj)
        self.appset_name = manifest.obj["metadata"]["name"]

    def pass_(self, seconds: float = 1.0) -> None:
        """One round of the controllers, then time moves on (the server loops like this)."""
        now = self.clock.now()
        self.poller.poll_due(now)
        appset = self.store.get("ApplicationSet", "argocd", self.appset_name)
        assert appset is not None
        self.store.apply_actions(self.controller.reconcile_applicationset(appset, now).actions, now)
        for app in self.store.list("Application", "argocd"):
            self.store.apply_actions(self.controller.reconcile_application(app, now).actions, now)
        self.clock.advance(seconds)

    def app(self, name: str) -> dict[str, Any]:
        app = self.store.get("Application", "argocd", name)
        assert app is not None
        return app

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.app(name).get("status") or {})


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return Platform(tmp_path)


def _synced(platform: Platform) -> None:
    for _ in range(4):
        platform.pass_()
    for name in APPS:
        assert platform.status(name)["sync"]["status"] == "Synced", platform.status(name)


def test_the_seed_repository_syncs_into_the_store(platform: Platform) -> None:
    _synced(platform)
    assert sorted(a["metadata"]["name"] for a in platform.store.list("Application", "argocd")) == list(APPS)
    rollout = platform.store.get("Rollout", "hotrod", "hotrod")
    assert rollout is not None and rollout["metadata"]["labels"][TRACKING_LABEL] == "hotrod"
    assert platform.store.get("AnalysisTemplate", "hotrod", "hotrod-analysis") is not None
    assert platform.store.get("ConfigMap", "otel", "collector-config") is not None
    assert platform.store.get("DaemonSet", "otel", "collector") is not None
    assert platform.store.get("Deployment", "traffic-generator", "traffic-generator") is not None
    hotrod = platform.status("hotrod")
    assert hotrod["sync"]["revision"] == platform.repo.head()
    assert hotrod["operationState"]["phase"] == "Succeeded"
    assert {r["kind"] for r in hotrod["resources"]} == {"AnalysisTemplate", "Rollout", "Service"}
    appset = platform.store.get("ApplicationSet", "argocd", platform.appset_name)
    assert appset is not None
    assert [r["name"] for r in appset["status"]["resources"]] == list(APPS)


def test_poller_changes_map_to_the_objects_to_requeue(platform: Platform) -> None:
    _synced(platform)
    assert platform.controller.objects_using_repo(platform.repo.url) == [
        ("ApplicationSet", "argocd", platform.appset_name),
        *(("Application", "argocd", name) for name in APPS),
    ]
    assert platform.controller.objects_using_repo("/elsewhere") == []


def test_a_commit_that_bumps_the_image_is_synced(platform: Platform) -> None:
    _synced(platform)
    text = (platform.repo.path / "hotrod" / "rollout.yaml").read_text()
    platform.repo.write("hotrod/rollout.yaml", text.replace("example-hotrod:1.75.0", "example-hotrod:1.76.0"))
    sha = platform.repo.commit("hotrod 1.76.0")
    for _ in range(12):  # the poll interval is 10 s
        platform.pass_()
    rollout = platform.store.get("Rollout", "hotrod", "hotrod")
    assert rollout is not None
    assert (
        rollout["spec"]["template"]["spec"]["containers"][0]["image"] == "jaegertracing/example-hotrod:1.76.0"
    )
    assert platform.status("hotrod")["sync"] == {
        **platform.status("hotrod")["sync"],
        "status": "Synced",
        "revision": sha,
    }


def test_invalid_yaml_then_a_good_commit(platform: Platform) -> None:
    _synced(platform)
    platform.repo.write(
        "hotrod/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: hotrod\n  bad: [\n"
    )
    platform.repo.commit("broken YAML")
    for _ in range(200):  # past Argo CD's 180 s grace period for repository errors
        platform.pass_()
    status = platform.status("hotrod")
    assert status["sync"]["status"] == "Unknown"
    (condition,) = status["conditions"]
    assert condition["type"] == "ComparisonError"
    assert condition["message"].startswith(
        "Failed to load target state: failed to generate manifest for source 1 of 1: hotrod/service.yaml:6: invalid YAML"
    )
    assert platform.store.get("Rollout", "hotrod", "hotrod") is not None  # the last good state keeps running
    assert platform.status("otel")["sync"]["status"] == "Synced"
    platform.repo.git("revert", "--no-edit", "HEAD")
    for _ in range(12):
        platform.pass_()
    status = platform.status("hotrod")
    assert "conditions" not in status and status["sync"]["status"] == "Synced"


def test_a_repository_that_disappears_and_comes_back(platform: Platform, tmp_path: Path) -> None:
    _synced(platform)
    moved = tmp_path / "elsewhere"
    shutil.move(str(platform.repo.path), moved)
    for _ in range(200):
        platform.pass_()
    for name in APPS:
        status = platform.status(name)
        assert status["sync"]["status"] == "Unknown"
        assert "failed to list refs: fatal:" in status["conditions"][0]["message"]
    assert platform.store.get("Deployment", "traffic-generator", "traffic-generator") is not None
    appset = platform.store.get("ApplicationSet", "argocd", platform.appset_name)
    assert appset is not None
    errors = {c["type"]: c for c in appset["status"]["conditions"]}
    assert errors["ErrorOccurred"]["status"] == "True"
    assert len(platform.store.list("Application", "argocd")) == 3  # generation failures delete nothing
    shutil.move(str(moved), platform.repo.path)
    for _ in range(12):
        platform.pass_()
    for name in APPS:
        assert platform.status(name)["sync"]["status"] == "Synced"


def test_a_removed_app_directory_removes_the_application(platform: Platform) -> None:
    _synced(platform)
    platform.repo.remove("traffic-generator")
    platform.repo.commit("no more traffic generator")
    for _ in range(12):
        platform.pass_()
    names = [a["metadata"]["name"] for a in platform.store.list("Application", "argocd")]
    assert names == ["hotrod", "otel"]  # the resources finalizer ran: the app's objects went first
    assert platform.store.get("Deployment", "traffic-generator", "traffic-generator") is None
    assert platform.store.get("Namespace", "", "traffic-generator") is not None  # not part of the app
