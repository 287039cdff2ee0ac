"""Read files of the real Argo Rollouts v1.9.1 from the local mirror (tests that need it skip without it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

MIRROR = Path("/work/.mirror/argoproj+argo-rollouts/repo")
TAG = "v1.9.1"


def available() -> bool:
    return MIRROR.is_dir() and shutil.which("git") is not None


needs_mirror = pytest.mark.skipif(not available(), reason="no local mirror of argoproj/argo-rollouts")


def show(path: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", f"{TAG}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def list_dir(path: str) -> list[str]:
    out = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "ls-tree", "--name-only", TAG, path.rstrip("/") + "/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()
