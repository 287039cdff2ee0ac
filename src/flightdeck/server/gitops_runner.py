"""The GitOps side of ``flightdeck up REPO``: loads the ApplicationSet, registers the Argo CD-compatible
controllers, and polls the repositories so that a commit reaches the cluster within ``--poll`` seconds."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdeck.cli.errors import UserError
from flightdeck.gitops import appset as appset_loader
from flightdeck.gitops.app_reconcile import REFRESH_ANNOTATION, Settings
from flightdeck.gitops.controller import GitOpsController, owning_application
from flightdeck.gitops.poller import RepoPoller
from flightdeck.gitops.schema import register_kinds
from flightdeck.kube import errors as kube_errors
from flightdeck.kube.manifest import ManifestError
from flightdeck.kube.store import Key, ObjectStore, WatchEvent

if TYPE_CHECKING:
    from flightdeck.server.platform import Platform

log = logging.getLogger("flightdeck.gitops")

# Kinds an Application's health is read from: a change requeues the Application that tracks it.
TRACKED_KINDS = ("Rollout", "Deployment", "DaemonSet", "ReplicaSet", "Service", "ConfigMap", "Secret", "Pod")
DEFAULT_APPSET = "appset.yaml"


class GitOpsRunner:
    def __init__(self, platform: Platform) -> None:
        register_kinds()
        options = platform.options
        self.platform = platform
        self.store: ObjectStore = platform.store
        self.repo = str(options.repo)
        self.poller = RepoPoller(platform.state.path / "git", poll_seconds=options.poll)
        # A repository error is shown after a short grace period instead of Argo CD's 180 s, so a broken
        # commit is visible while the demo runs.
        self.controller = GitOpsController(self.store, self.poller, Settings(repo_error_grace_seconds=15.0))
        manager = platform.manager
        manager.register(
            "ApplicationSet",
            lambda obj, _store, now: self.controller.reconcile_applicationset(obj, now),
            owns=("Application",),
            name="applicationset-controller",
        )
        manager.register(
            "Application",
            lambda obj, _store, now: self.controller.reconcile_application(obj, now),
            maps={kind: self._owning_app for kind in TRACKED_KINDS},
            name="application-controller",
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _owning_app(self, event: WatchEvent, store: ObjectStore) -> list[Key]:
        name = owning_application(event.obj)
        if not name:
            return []
        return [("Application", app["metadata"].get("namespace", ""), name) for app in self._apps_named(name)]

    def _apps_named(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.store.list("Application") if a["metadata"].get("name") == name]

    def _appset_path(self) -> Path:
        options = self.platform.options
        repo_dir = Path(self.repo)
        candidate = Path(options.appset) if options.appset else Path(DEFAULT_APPSET)
        if candidate.is_absolute() or candidate.exists():
            return candidate
        if repo_dir.is_dir():
            return repo_dir / candidate
        now = self.platform.clock.now()
        resolution = self.poller.watch(self.repo, "HEAD", now)
        if resolution.sha is None:
            raise UserError(f"cannot read repository {self.repo}: {resolution.error}", exit_code=1)
        return self.poller.checkout(self.repo, resolution.sha) / candidate

    def start(self) -> None:
        path = self._appset_path()
        repo_url = self.platform.options.repo_url
        if repo_url is None and Path(self.repo).is_dir():
            repo_url = str(Path(self.repo).resolve())
        elif repo_url is None:
            repo_url = self.repo
        try:
            manifests = appset_loader.load(path, repo_url=repo_url)
        except ManifestError as exc:
            raise UserError(str(exc), exit_code=1) from None
        except OSError as exc:
            raise UserError(
                f"cannot read the ApplicationSet {path}: {exc.strerror or exc}", exit_code=1
            ) from None
        for manifest in manifests:
            try:
                self.store.apply(manifest.obj, create_namespace=True)
            except kube_errors.ApiError as exc:
                raise UserError(f"{manifest.where()}: {exc.kubectl_text()}", exit_code=1) from None
        self._thread = threading.Thread(target=self._poll_loop, name="git-poller", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                changes = self.poller.poll_due(self.platform.clock.now())
            except Exception:
                log.exception("git poll failed")
                continue
            for change in changes:
                for kind, namespace, name in self.controller.objects_using_repo(change.url):
                    self.platform.manager.enqueue(kind, namespace, name)

    def refresh(self, name: str) -> str:
        apps = self._apps_named(name)
        if not apps:
            raise kube_errors.not_found("applications.argoproj.io", name)
        for app in apps:
            annotations = app["metadata"].setdefault("annotations", {})
            annotations[REFRESH_ANNOTATION] = "normal"
            self.store.update(app)
        return f'application "{name}" refresh requested'

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
