"""The impure edge the server drives: read what the pure reconcilers need from an object store and the git
poller, call them, hand back their ``Reconciled``. Works with any store offering ``get`` and ``list`` (K's
ObjectStore)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from flightdeck.gitops.app_reconcile import (
    DEFAULT_SETTINGS,
    REFRESH_ANNOTATION,
    Rendered,
    Settings,
    reconcile_application,
    resource_key,
)
from flightdeck.gitops.appset import GeneratorError, generate, parse_object
from flightdeck.gitops.appset_reconcile import REFRESH_ANNOTATION as APPSET_REFRESH_ANNOTATION
from flightdeck.gitops.appset_reconcile import GeneratorFailure, reconcile_applicationset
from flightdeck.gitops.git import normalize_url
from flightdeck.gitops.poller import RepoPoller
from flightdeck.gitops.sources import SourceRenderer
from flightdeck.gitops.tracking import TRACKING_LABEL, app_name_of
from flightdeck.kube.actions import Obj, Reconciled
from flightdeck.kube.manifest import ManifestError


class StoreReader(Protocol):
    def get(self, kind: str, namespace: str, name: str) -> Obj | None: ...

    def list(self, kind: str, namespace: str | None = None, selector: Any = None) -> list[Obj]: ...


def owning_application(obj: Mapping[str, Any], settings: Settings = DEFAULT_SETTINGS) -> str:
    """The Application managing ``obj`` ("" if none): requeue it when ``obj`` changes."""
    return app_name_of(obj, settings.tracking)


class GitOpsController:
    def __init__(self, store: StoreReader, poller: RepoPoller, settings: Settings = DEFAULT_SETTINGS) -> None:
        self.store = store
        self.poller = poller
        self.renderer = SourceRenderer(poller)
        self.settings = settings

    # -------------------------------------------------------------------------------------- ApplicationSet

    def reconcile_applicationset(self, appset: Obj, now: float) -> Reconciled:
        meta = appset.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        refresh = APPSET_REFRESH_ANNOTATION in (meta.get("annotations") or {})
        existing = self.store.list("Application", namespace)
        try:
            spec = parse_object(appset)
        except ManifestError:
            return reconcile_applicationset(appset, [], existing, now)  # the reconciler reports the error
        if refresh:
            for gen in spec.generators:
                url = getattr(gen, "repo_url", None)
                if url:
                    self.poller.refresh(now, url)
        try:
            generated, _warnings = generate(spec, lambda url, rev: self.poller.directories(url, rev, now))
        except GeneratorError as exc:
            return reconcile_applicationset(appset, GeneratorFailure(str(exc)), existing, now)
        return reconcile_applicationset(appset, generated, existing, now)

    def objects_using_repo(self, url: str) -> list[tuple[str, str, str]]:
        """(kind, namespace, name) of the ApplicationSets and Applications that read ``url``: requeue them when
        the poller reports a change for it."""
        wanted = normalize_url(url)
        out: list[tuple[str, str, str]] = []
        for appset in self.store.list("ApplicationSet"):
            for gen in (appset.get("spec") or {}).get("generators") or []:
                git = gen.get("git") if isinstance(gen, dict) else None
                if isinstance(git, dict) and normalize_url(str(git.get("repoURL") or "")) == wanted:
                    meta = appset.get("metadata") or {}
                    out.append(
                        ("ApplicationSet", str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                    )
                    break
        for app in self.store.list("Application"):
            source = (app.get("spec") or {}).get("source") or {}
            if normalize_url(str(source.get("repoURL") or "")) == wanted:
                meta = app.get("metadata") or {}
                out.append(("Application", str(meta.get("namespace") or ""), str(meta.get("name") or "")))
        return out

    # ----------------------------------------------------------------------------------------- Application

    def reconcile_application(self, app: Obj, now: float) -> Reconciled:
        meta = app.get("metadata") or {}
        spec = app.get("spec") or {}
        refresh = (meta.get("annotations") or {}).get(REFRESH_ANNOTATION)
        source = spec.get("source") or {}
        desired = None
        if source.get("repoURL") and not meta.get("deletionTimestamp"):
            if refresh == "normal":
                self.poller.refresh(now, str(source["repoURL"]))
            desired = self.renderer.render(source, now, hard=refresh == "hard")
        live = self.gather_live(app, desired.manifests if isinstance(desired, Rendered) else ())
        return reconcile_application(app, desired, live, now, self.settings)

    def gather_live(self, app: Obj, manifests: Sequence[Mapping[str, Any]]) -> list[Obj]:
        """Objects tracked by ``app``, objects at the keys of its manifests, and its destination Namespace."""
        meta = app.get("metadata") or {}
        spec = app.get("spec") or {}
        name = str(meta.get("name") or "")
        dest_ns = str((spec.get("destination") or {}).get("namespace") or "")
        kinds = {str(m.get("kind") or "") for m in manifests}
        kinds.update(str(r.get("kind") or "") for r in (app.get("status") or {}).get("resources") or ())
        kinds.discard("")
        found: dict[tuple[str, str, str, str], Obj] = {}
        for kind in sorted(kinds):
            for obj in self._list_tracked(kind, name):
                found[resource_key(obj)] = obj
        for manifest in manifests:
            kind = str(manifest.get("kind") or "")
            m_meta = manifest.get("metadata") or {}
            namespace = str(m_meta.get("namespace") or "")
            if not namespace and kind not in self.settings.cluster_scoped_kinds:
                namespace = dest_ns
            at_key = self.store.get(kind, namespace, str(m_meta.get("name") or ""))
            if at_key is not None:
                found[resource_key(at_key)] = at_key
        namespaces = {dest_ns} if dest_ns else set()
        namespaces.update(key[2] for key in found if key[2])
        for manifest in manifests:
            m_ns = str((manifest.get("metadata") or {}).get("namespace") or "")
            if m_ns:
                namespaces.add(m_ns)
        for namespace in sorted(namespaces):
            ns = self.store.get("Namespace", "", namespace)
            if ns is not None:
                found[resource_key(ns)] = ns
        return list(found.values())

    def _list_tracked(self, kind: str, app_name: str) -> Iterable[Obj]:
        if self.settings.tracking == "annotation":
            return [o for o in self.store.list(kind) if app_name_of(o, "annotation") == app_name]
        return self.store.list(kind, None, {TRACKING_LABEL: app_name})
