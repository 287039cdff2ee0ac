"""Git repositories through the real ``git`` CLI (argv lists, never a shell): a bare mirror per repository
in a cache directory, revisions resolved the way Argo CD's repo-server does (``HEAD``, branch, tag, full or
truncated commit SHA), and one detached worktree per commit, never written to after checkout."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from flightdeck.gitops.appset import list_directories

_COMMIT_SHA = re.compile(r"^[0-9A-Fa-f]{40}$")
_TRUNCATED_SHA = re.compile(r"^[0-9A-Fa-f]{7,}$")
_NETWORK_TIMEOUT = 120.0
_LOCAL_TIMEOUT = 60.0
KEEP_WORKTREES = 8
"""Worktrees kept per repository (older commits are removed when new ones are checked out)."""


class GitError(Exception):
    """A git command failed; the message is git's own (last stderr lines)."""


def is_commit_sha(revision: str) -> bool:
    return bool(_COMMIT_SHA.match(revision))


def normalize_url(url: str) -> str:
    """Local paths become absolute (git accepts them and ``file://`` URLs alike); other URLs are kept."""
    if "://" in url or re.match(r"^[^/]+@[^:]+:", url):
        return url
    return str(Path(url).expanduser().resolve())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Never block on a credential prompt, and keep git's messages in English for the error texts.
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "LC_ALL": "C"})
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def run_git(args: Sequence[str], cwd: Path | None = None, timeout: float = _LOCAL_TIMEOUT) -> str:
    """Run ``git args…``; GitError with git's message on failure."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        # git's own diagnosis is on its fatal/error lines; the rest is advice.
        key_lines = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines[-2:]
        message = "; ".join(key_lines) if key_lines else f"git {args[0]} exited with status {proc.returncode}"
        raise GitError(message)
    return proc.stdout


def parse_ls_remote(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """``git ls-remote --symref`` output → (ref → commit sha with annotated tags peeled, symref → target)."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    symrefs: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            continue
        left, _, name = line.partition("\t")
        if left.startswith("ref: "):
            symrefs[name] = left[5:]
        elif name.endswith("^{}"):
            peeled[name[:-3]] = left
        else:
            refs[name] = left
    refs.update(peeled)
    return refs, symrefs


def _short(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def resolve_revision(revision: str, refs: Mapping[str, str], symrefs: Mapping[str, str]) -> str:
    """Argo CD's ``lsRemote``: a full SHA as is; HEAD/branch/tag/full ref by name (symbolic refs followed);
    a truncated SHA as is; otherwise GitError("unable to resolve … to a commit SHA")."""
    if is_commit_sha(revision):
        return revision.lower()
    revision = revision or "HEAD"
    short = not revision.startswith("refs/")
    # Branches before tags when both carry the name (git's own precedence).
    for ref in sorted(refs, key=lambda r: (not r.startswith("refs/heads/"), r)):
        if ref == revision or (short and _short(ref) == revision):
            return refs[ref]
    target = symrefs.get(revision)
    if target is not None and target in refs:
        return refs[target]
    if _TRUNCATED_SHA.match(revision):
        return revision.lower()
    raise GitError(f"unable to resolve '{revision}' to a commit SHA")


class GitRepo:
    """One remote repository mirrored under ``cache_dir``; safe to call from several threads."""

    def __init__(self, url: str, cache_dir: Path) -> None:
        self.url = normalize_url(url)
        key = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self.root = Path(cache_dir) / key
        self.mirror = self.root / "mirror.git"
        self.worktrees = self.root / "worktrees"
        self._lock = threading.RLock()

    def ls_remote(self) -> tuple[dict[str, str], dict[str, str]]:
        """The remote's refs now (network); GitError when the repository is unreachable."""
        try:
            out = run_git(["ls-remote", "--symref", self.url], timeout=_NETWORK_TIMEOUT)
        except GitError as exc:
            raise GitError(f"failed to list refs: {exc}") from None
        return parse_ls_remote(out)

    def resolve(self, revision: str) -> str:
        """``revision`` → full commit SHA, fetching when the commit is not in the mirror yet."""
        refs, symrefs = self.ls_remote()
        sha = resolve_revision(revision, refs, symrefs)
        return self.ensure_commit(sha)

    def _has_commit(self, sha: str) -> str | None:
        if not self.mirror.exists():
            return None
        try:
            out = run_git(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], cwd=self.mirror)
        except GitError:
            return None
        return out.strip() or None

    def fetch(self) -> None:
        """Clone the mirror the first time, then fetch every branch and tag (pruning deleted ones)."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            if not (self.mirror / "HEAD").exists():
                if self.mirror.exists():
                    shutil.rmtree(self.mirror)
                tmp = self.root / "mirror.git.tmp"
                if tmp.exists():
                    shutil.rmtree(tmp)
                run_git(["clone", "--mirror", "--quiet", self.url, str(tmp)], timeout=_NETWORK_TIMEOUT)
                tmp.rename(self.mirror)
                return
            run_git(
                ["fetch", "--quiet", "--prune", "--force", "--tags", self.url, "+refs/heads/*:refs/heads/*"],
                cwd=self.mirror,
                timeout=_NETWORK_TIMEOUT,
            )

    def ensure_commit(self, sha: str) -> str:
        """The full SHA of ``sha`` (full or truncated), fetching once if the mirror does not have it."""
        with self._lock:
            full = self._has_commit(sha)
            if full is None:
                self.fetch()
                full = self._has_commit(sha)
            if full is None:
                raise GitError(f"unable to resolve '{sha}' to a commit SHA")
            return full

    def checkout(self, sha: str) -> Path:
        """A worktree of commit ``sha`` (created once; its files are made read-only)."""
        with self._lock:
            path = self.worktrees / sha
            if (path / ".git").exists():
                return path
            self.worktrees.mkdir(parents=True, exist_ok=True)
            if path.exists():
                shutil.rmtree(path)
            run_git(["worktree", "prune"], cwd=self.mirror)
            run_git(["worktree", "add", "--detach", "--force", "--quiet", str(path), sha], cwd=self.mirror)
            _make_read_only(path)
            self._prune_worktrees(keep=sha)
            return path

    def _prune_worktrees(self, keep: str) -> None:
        entries = [p for p in self.worktrees.iterdir() if p.is_dir() and p.name != keep]
        if len(entries) < KEEP_WORKTREES:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for old in entries[: len(entries) - KEEP_WORKTREES + 1]:
            shutil.rmtree(old)
        run_git(["worktree", "prune"], cwd=self.mirror)

    def directories(self, sha: str) -> list[str]:
        """Every directory of commit ``sha`` (for the git directory generator)."""
        return list_directories(self.checkout(sha))


def _make_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if name == ".git":
                continue
            file = Path(dirpath) / name
            try:
                # Removal still works: unlinking needs a writable directory, not a writable file.
                mode = file.lstat().st_mode
                if stat.S_ISREG(mode):
                    file.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            except OSError:
                continue
