"""Kustomize renderings against expected outputs written from kustomize's documented examples (and the
expectations of kustomize's own tests where the docs only name a hash)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flightdeck.gitops.kustomize import build

FIXTURES = Path(__file__).parent / "fixtures" / "kustomize"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").exists())


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    root = FIXTURES / case
    build_path = root / "input"
    if (root / "build-path").exists():
        build_path = root / (root / "build-path").read_text().strip()
    expected = [d for d in yaml.safe_load_all((root / "expected.yaml").read_text()) if d is not None]
    actual = [m.obj for m in build(build_path, root / "input")]
    assert actual == expected
