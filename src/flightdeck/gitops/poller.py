"""Polling git repositories on the caller's clock (Argo CD's repo-server + its periodic refresh): every watched
(repoURL, revision) is resolved to a commit every ``poll_seconds``, or at once on refresh; failures are kept with
the time they started so the Application can report them after Argo CD's grace period."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from flightdeck.gitops.git import GitError, GitRepo, normalize_url, resolve_revision

DEFAULT_POLL_SECONDS = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class Resolution:
    """Where a watched revision stands: a commit, or the error that keeps it from resolving."""

    sha: str | None
    error: str | None
    since: float | None
    """When the current run of failures began (None while resolving works)."""
    checked_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """A watched revision moved to another commit, started failing, or recovered."""

    url: str
    revision: str
    old: Resolution | None
    new: Resolution


class RepoPoller:
    """The git repositories flightdeck follows. Thread-safe; all git work happens in ``poll``/``refresh``."""

    def __init__(self, cache_dir: Path, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        if poll_seconds <= 0:
            raise ValueError("poll interval must be positive")
        self.cache_dir = Path(cache_dir)
        self.poll_seconds = poll_seconds
        self._repos: dict[str, GitRepo] = {}
        self._watched: dict[str, set[str]] = {}
        self._state: dict[tuple[str, str], Resolution] = {}
        self._next_poll: float | None = None
        self._lock = threading.RLock()

    def repo(self, url: str) -> GitRepo:
        key = normalize_url(url)
        with self._lock:
            repo = self._repos.get(key)
            if repo is None:
                repo = GitRepo(key, self.cache_dir)
                self._repos[key] = repo
            return repo

    def watch(self, url: str, revision: str, now: float) -> Resolution:
        """Follow ``revision`` of ``url`` from now on; resolves it at once the first time."""
        key = normalize_url(url)
        revision = revision or "HEAD"
        with self._lock:
            self._watched.setdefault(key, set()).add(revision)
            state = self._state.get((key, revision))
        if state is None:
            self._poll_repo(key, now)
            with self._lock:
                state = self._state[(key, revision)]
        if self._next_poll is None:
            self._next_poll = now + self.poll_seconds
        return state

    def resolution(self, url: str, revision: str) -> Resolution | None:
        with self._lock:
            return self._state.get((normalize_url(url), revision or "HEAD"))

    def next_poll_at(self) -> float | None:
        return self._next_poll

    def poll_due(self, now: float) -> list[Change]:
        """Poll every watched repository when the interval has passed (call it from the server's loop)."""
        if self._next_poll is None or now < self._next_poll:
            return []
        return self.refresh(now)

    def refresh(self, now: float, url: str | None = None) -> list[Change]:
        """Poll now (every repository, or just ``url``); the next periodic poll is ``poll_seconds`` away."""
        with self._lock:
            urls = [normalize_url(url)] if url is not None else list(self._watched)
        changes: list[Change] = []
        for key in urls:
            changes.extend(self._poll_repo(key, now))
        if url is None:
            self._next_poll = now + self.poll_seconds
        return changes

    def _poll_repo(self, key: str, now: float) -> list[Change]:
        repo = self.repo(key)
        with self._lock:
            revisions = sorted(self._watched.get(key, set()))
        results: dict[str, Resolution] = {}
        try:
            refs, symrefs = repo.ls_remote()
            error: str | None = None
        except GitError as exc:
            refs, symrefs, error = {}, {}, str(exc)
        for revision in revisions:
            old = self._state.get((key, revision))
            if error is None:
                try:
                    sha = repo.ensure_commit(resolve_revision(revision, refs, symrefs))
                    results[revision] = Resolution(sha, None, None, now)
                    continue
                except GitError as exc:
                    message = str(exc)
            else:
                message = error
            since = old.since if old is not None and old.error is not None and old.since is not None else now
            results[revision] = Resolution(None, message, since, now)
        changes = []
        with self._lock:
            for revision, new in results.items():
                old = self._state.get((key, revision))
                self._state[(key, revision)] = new
                if old is None or old.sha != new.sha or old.error != new.error:
                    changes.append(Change(key, revision, old, new))
        return changes

    def checkout(self, url: str, sha: str) -> Path:
        return self.repo(url).checkout(sha)

    def directories(self, url: str, revision: str, now: float) -> list[str]:
        """The directories of ``revision`` (for the git directory generator); GitError when it cannot be read."""
        state = self.watch(url, revision, now)
        if state.sha is None:
            raise GitError(state.error or f"unable to resolve '{revision}' to a commit SHA")
        return self.repo(url).directories(state.sha)
