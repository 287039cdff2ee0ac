from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.kube.manifest import ManifestError, load_text
from flightdeck.kube.objects import ManifestErrors, load_objects

SHARED = Path(__file__).resolve().parents[3] / "shared"

TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: t
spec:
  args:
    - name: ns
  metrics:
    - name: a
      interval: 10s
      provider:
        prometheus:
          query: up
    - name: b
      interval: "10"
      provider:
        prometheus:
          query: up
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_field_lines_are_recorded() -> None:
    [manifest] = load_text(TEMPLATE, "t.yaml")
    assert manifest.kind == "AnalysisTemplate"
    assert manifest.source.line_of(("spec", "metrics", 1, "interval")) == 15
    assert manifest.source.line_of(("spec", "metrics", 1, "nonexistent")) == 14
    assert manifest.where(("spec", "metrics", 0)) == "t.yaml:9"


def test_invalid_duration_names_file_line_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, "hotrod/analysis-template.yaml", TEMPLATE)
    with pytest.raises(ManifestErrors) as info:
        load_objects([path])
    assert str(info.value) == f'{path}:15: spec.metrics[1].interval: invalid duration "10"'


def test_multi_document_and_directories(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        TEMPLATE.replace('"10"', "10s")
        + "---\n---\n"
        + TEMPLATE.replace("name: t", "name: u").replace('"10"', "1m"),
    )
    write(tmp_path, "sub/b.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    write(tmp_path, ".hidden/c.yaml", "not: [valid")
    objects = load_objects([tmp_path])
    assert [t.name for t in objects.templates] == ["t", "u"]
    assert [m.kind for m in objects.others] == ["Service"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\nb: 3\n", "x.yaml:2: invalid YAML: did not find expected ',' or ']'"),
        ("- 1\n- 2\n", "x.yaml:1: a manifest must be a mapping, got list"),
        ("a: 1\na: 2\n", 'x.yaml:2: mapping key "a" already defined at line 1'),
    ],
)
def test_yaml_errors(text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_text(text, "x.yaml")
    assert str(info.value) == expected


def test_schema_errors_are_all_reported(tmp_path: Path) -> None:
    text = TEMPLATE.replace("      interval: 10s\n", "      intervall: 10s\n      count: [1]\n").replace(
        '"10"', "10s"
    )
    path = write(tmp_path, "t.yaml", text)
    with pytest.raises(ManifestErrors) as info:
        load_objects([path])
    assert [str(e) for e in info.value.errors] == [
        f'{path}:10: unknown field "spec.metrics[0].intervall"',
        f"{path}:11: spec.metrics[0].count: expected integer or string, got array",
    ]


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ManifestErrors) as info:
        load_objects([tmp_path / "nope.yaml"])
    assert "nope.yaml: No such file or directory" in str(info.value)


def test_seed_manifests_load() -> None:
    objects = load_objects([SHARED / "challenge" / "expert-solved"])
    assert [t.name for t in objects.templates] == ["hotrod-analysis"]
    assert [m.name for m in objects.templates[0].spec.metrics] == [
        "traffic-detection",
        "error-rate-lt-5-percent",
        "latency-p95-lt-1s",
    ]
    [rollout] = objects.rollouts
    [ref] = rollout.analysis_refs()
    assert ref.step_index == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_loader_never_crashes(text: str) -> None:
    with contextlib.suppress(ManifestError):
        load_text(text, "fuzz.yaml")
