"""Git through the real CLI: revision resolution like Argo CD's lsRemote, worktrees per commit, polling on the
caller's clock, and repositories that disappear and come back."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from flightdeck.gitops.git import GitError, GitRepo, parse_ls_remote, resolve_revision
from flightdeck.gitops.poller import RepoPoller
from tests.gitops.gitrepo import TempRepo


@pytest.fixture
def repo(tmp_path: Path) -> TempRepo:
    r = TempRepo(tmp_path / "origin")
    r.write("apps/hotrod/rollout.yaml", "kind: Rollout\n")
    r.write("apps/otel/config.yaml", "kind: ConfigMap\n")
    r.write(".github/workflows/ci.yaml", "on: push\n")
    r.commit("first")
    return r


def test_parse_ls_remote_peels_annotated_tags() -> None:
    text = (
        "ref: refs/heads/main\tHEAD\n"
        "aaa\tHEAD\n"
        "aaa\trefs/heads/main\n"
        "ttt\trefs/tags/v1\n"
        "ccc\trefs/tags/v1^{}\n"
    )
    refs, symrefs = parse_ls_remote(text)
    assert symrefs == {"HEAD": "refs/heads/main"}
    assert refs == {"HEAD": "aaa", "refs/heads/main": "aaa", "refs/tags/v1": "ccc"}


def test_resolve_revision_rules() -> None:
    refs = {
        "HEAD": "a" * 40,
        "refs/heads/main": "a" * 40,
        "refs/heads/dev": "b" * 40,
        "refs/tags/v1": "c" * 40,
    }
    assert resolve_revision("HEAD", refs, {}) == "a" * 40
    assert resolve_revision("", refs, {}) == "a" * 40
    assert resolve_revision("dev", refs, {}) == "b" * 40
    assert resolve_revision("refs/heads/dev", refs, {}) == "b" * 40
    assert resolve_revision("v1", refs, {}) == "c" * 40
    assert resolve_revision("D" * 40, refs, {}) == "d" * 40
    assert resolve_revision("abc1234", refs, {}) == "abc1234"  # a truncated SHA is taken as is
    with pytest.raises(GitError, match="unable to resolve 'nope' to a commit SHA"):
        resolve_revision("nope", refs, {})


def test_resolve_head_branch_tag_and_sha(repo: TempRepo, tmp_path: Path) -> None:
    first = repo.head()
    repo.git("tag", "v1")
    repo.git("tag", "-a", "v1-annotated", "-m", "release")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("apps/new/x.yaml", "kind: ConfigMap\n")
    feature = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    git = GitRepo(repo.url, tmp_path / "cache")
    assert git.resolve("HEAD") == first
    assert git.resolve("main") == first
    assert git.resolve("feature") == feature
    assert git.resolve("v1") == first
    assert git.resolve("v1-annotated") == first  # peeled to the commit
    assert git.resolve(feature) == feature
    assert git.resolve(feature[:8]) == feature  # truncated SHA expanded after fetching
    with pytest.raises(GitError, match="unable to resolve 'nope' to a commit SHA"):
        git.resolve("nope")


def test_checkout_is_a_read_only_worktree_per_commit(repo: TempRepo, tmp_path: Path) -> None:
    git = GitRepo(repo.url, tmp_path / "cache")
    sha = git.resolve("HEAD")
    path = git.checkout(sha)
    file = path / "apps" / "hotrod" / "rollout.yaml"
    assert file.read_text() == "kind: Rollout\n"
    assert not file.stat().st_mode & stat.S_IWUSR
    assert git.checkout(sha) == path
    assert git.directories(sha) == ["apps", "apps/hotrod", "apps/otel"]  # .github is hidden


def test_unreachable_repository_is_a_git_error(tmp_path: Path) -> None:
    git = GitRepo(str(tmp_path / "missing"), tmp_path / "cache")
    with pytest.raises(GitError) as exc:
        git.resolve("HEAD")
    assert str(exc.value).startswith("failed to list refs: ")
    assert "does not appear to be a git repository" in str(exc.value)


def test_poller_follows_commits_on_the_callers_clock(repo: TempRepo, tmp_path: Path) -> None:
    poller = RepoPoller(tmp_path / "cache", poll_seconds=10)
    first = repo.head()
    assert poller.watch(repo.url, "HEAD", now=100.0).sha == first
    second_sha = (repo.write("apps/hotrod/service.yaml", "kind: Service\n"), repo.commit("second"))[1]
    assert poller.poll_due(105.0) == []  # not due yet: nothing runs
    assert poller.resolution(repo.url, "HEAD").sha == first  # type: ignore[union-attr]
    changes = poller.poll_due(110.0)
    assert [(c.revision, c.old.sha if c.old else None, c.new.sha) for c in changes] == [
        ("HEAD", first, second_sha)
    ]
    assert poller.next_poll_at() == 120.0
    third_sha = (repo.write("apps/x.yaml", "kind: ConfigMap\n"), repo.commit("third"))[1]
    changes = poller.refresh(111.0, repo.url)  # on demand, outside the schedule
    assert changes[0].new.sha == third_sha
    assert poller.poll_due(115.0) == []


def test_poller_reports_a_vanished_repository_and_recovers(repo: TempRepo, tmp_path: Path) -> None:
    poller = RepoPoller(tmp_path / "cache", poll_seconds=10)
    sha = poller.watch(repo.url, "HEAD", now=0.0).sha
    moved = tmp_path / "moved"
    shutil.move(str(repo.path), moved)
    (change,) = poller.poll_due(10.0)
    assert change.new.sha is None and change.new.since == 10.0
    assert "does not appear to be a git repository" in (change.new.error or "")
    assert poller.poll_due(20.0) == []  # same error: no change, failure still dated from 10 s
    assert poller.resolution(repo.url, "HEAD").since == 10.0  # type: ignore[union-attr]
    shutil.move(str(moved), repo.path)
    (change,) = poller.poll_due(30.0)
    assert change.new.sha == sha and change.new.error is None and change.new.since is None


def test_poller_directories_for_the_generator(repo: TempRepo, tmp_path: Path) -> None:
    poller = RepoPoller(tmp_path / "cache")
    assert poller.directories(repo.url, "HEAD", 0.0) == ["apps", "apps/hotrod", "apps/otel"]
    with pytest.raises(GitError, match="unable to resolve 'nope'"):
        poller.directories(repo.url, "nope", 0.0)
