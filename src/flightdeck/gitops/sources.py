"""Rendering Applications' sources from the polled repositories, cached per (repository, commit, path, options)
— what the application controller asks the repo-server for."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from flightdeck.gitops.app_reconcile import Desired, Rendered, RenderFailure
from flightdeck.gitops.git import GitError, normalize_url
from flightdeck.gitops.kustomize import find_kustomization
from flightdeck.gitops.poller import RepoPoller
from flightdeck.gitops.render import RenderError, app_path, render_source
from flightdeck.kube.manifest import ManifestError

_CACHE_LIMIT = 512


class SourceRenderer:
    def __init__(self, poller: RepoPoller) -> None:
        self.poller = poller
        self._cache: dict[tuple[str, str, str], Rendered | str] = {}
        self._failing_since: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def render(self, source: Mapping[str, Any], now: float, hard: bool = False) -> Desired:
        """The manifests of ``source`` at the commit its targetRevision resolves to now, or why not."""
        url = normalize_url(str(source.get("repoURL") or ""))
        revision = str(source.get("targetRevision") or "HEAD")
        options = json.dumps(
            {k: v for k, v in source.items() if k not in ("repoURL", "targetRevision")}, sort_keys=True
        )
        streak = (url, revision, options)
        if hard:
            self.poller.refresh(now, url)
        state = self.poller.watch(url, revision, now)
        if state.sha is None:
            return self._failure(streak, state.error or "unknown git error", now, "")
        key = (url, state.sha, options)
        with self._lock:
            cached = None if hard else self._cache.get(key)
        if cached is None:
            cached = self._render(url, state.sha, source)
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = cached
        if isinstance(cached, str):
            return self._failure(streak, cached, now, state.sha)
        with self._lock:
            self._failing_since.pop(streak, None)
        return cached

    def _failure(
        self, streak: tuple[str, str, str], message: str, now: float, revision: str
    ) -> RenderFailure:
        with self._lock:
            since = self._failing_since.setdefault(streak, now)
        return RenderFailure(message, since, revision)

    def _render(self, url: str, sha: str, source: Mapping[str, Any]) -> Rendered | str:
        try:
            root = self.poller.checkout(url, sha)
            manifests = render_source(root, source)
            directory = app_path(root, str(source.get("path") or "."))
        except (RenderError, GitError) as exc:
            return str(exc)
        except ManifestError as exc:
            return str(exc)
        source_type = (
            "Kustomize"
            if find_kustomization(directory) is not None or source.get("kustomize")
            else "Directory"
        )
        return Rendered(sha, tuple(m.obj for m in manifests), source_type)
