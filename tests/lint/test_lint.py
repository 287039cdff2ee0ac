from __future__ import annotations

from pathlib import Path

import pytest

from flightdeck.cli.main import main
from flightdeck.lint import Severity, lint_paths

SHARED = Path(__file__).resolve().parents[3] / "shared"
BROKEN = SHARED / "challenge" / "expert-broken"
SOLVED = SHARED / "challenge" / "expert-solved"


def messages(path: Path) -> list[str]:
    return [str(d) for d in lint_paths([path])]


def test_expert_broken_reports_missing_guard_and_missing_traffic_check() -> None:
    diagnostics = lint_paths([BROKEN])
    # The one error is the collector's (tests/lint/test_collector_configs.py); the analysis traps are warnings.
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    assert [d.file for d in errors] == [str(BROKEN / "otel" / "config.yaml")]
    text = "\n".join(str(d) for d in diagnostics)
    template = BROKEN / "hotrod" / "analysis-template.yaml"
    rollout = BROKEN / "hotrod" / "rollout.yaml"
    assert (
        f'{template}:14: warning: spec.metrics[0].successCondition: "result[0] < 0.05" indexes the result'
        in text
    )
    assert (
        'Metric "latency-p95-lt-1s" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): '
        '"Error Message: reflect: slice index out of range"'
    ) in text
    assert f"{rollout}:" in text and "no minimum-traffic check" in text
    assert "ratio, which is NaN" in text


def test_expert_solved_has_no_errors_and_no_traffic_warning() -> None:
    diagnostics = lint_paths([SOLVED])
    assert not [d for d in diagnostics if d.severity is Severity.ERROR]
    assert not any("minimum-traffic" in d.message for d in diagnostics)


def test_cli_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(SOLVED)]) == 0
    out = capsys.readouterr().out
    # The four analysis-trap warnings and the spanmetrics flush warning (tests/lint/test_flush_timing.py).
    assert out.strip().endswith("0 error(s), 5 warning(s)")


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: t
spec:
  args:
    - name: ns
  metrics:
    - name: m
      interval: 10s
      count: {count}
      successCondition: {condition}
      provider:
        prometheus:
          address: http://prometheus:9090
          query: {query}
"""


def lint_template(
    tmp_path: Path,
    count: str = "3",
    condition: str = "len(result) > 0 && result[0] < 1",
    query: str = "'sum(rate(x{ns=\"{{args.ns}}\"}[2m]))'",
) -> list[str]:
    path = write(tmp_path, TEMPLATE.format(count=count, condition=condition, query=query))
    return [str(d).split(": ", 1)[1] for d in lint_paths([path])]


def test_clean_template(tmp_path: Path) -> None:
    assert lint_template(tmp_path) == []


def test_condition_syntax_error(tmp_path: Path) -> None:
    [message] = lint_template(tmp_path, condition="'result[0] <'")
    assert message == "error: spec.metrics[0].successCondition: unexpected token EOF"


def test_condition_type_error_on_a_vector(tmp_path: Path) -> None:
    [message] = lint_template(tmp_path, condition="'result < 1'")
    assert message.startswith(
        "error: spec.metrics[0].successCondition: invalid operation: < (mismatched types []float64 and int)"
    )
    assert "use result[0]" in message


def test_scalar_query_types_result_as_float(tmp_path: Path) -> None:
    assert lint_template(tmp_path, condition="'result < 1'", query="'scalar(sum(x))'") == []
    [message] = lint_template(tmp_path, condition="'result[0] < 1'", query="'scalar(sum(x))'")
    assert "type float64[int] is undefined" in message


def test_invalid_promql(tmp_path: Path) -> None:
    [message] = lint_template(tmp_path, query="'sum(rate(x[2m])'")
    assert message.startswith("error: spec.metrics[0].provider.prometheus.query: invalid PromQL:")


def test_undeclared_arg(tmp_path: Path) -> None:
    [message] = lint_template(tmp_path, query="'up{a=\"{{args.other}}\"}'")
    assert "{{args.other}} refers to an argument the template does not declare (declared: ns)" in message
    assert "failed to resolve {{args.other}}" in message


def test_argo_validation_rule(tmp_path: Path) -> None:
    messages = lint_template(tmp_path, count="3").copy()
    assert messages == []
    path = write(
        tmp_path,
        TEMPLATE.format(count=3, condition="'true'", query="up").replace("      interval: 10s\n", ""),
    )
    [diagnostic] = lint_paths([path])
    assert str(diagnostic) == f"{path}:9: error: spec.metrics[0]: interval must be specified when count > 1"


ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: r
spec:
  replicas: 2
  strategy:
    canary:
      steps:
        - setWeight: 50
        - analysis:
            templates:
              - templateName: {template}
            args: []
"""


def test_rollout_missing_template_and_args(tmp_path: Path) -> None:
    write(
        tmp_path,
        TEMPLATE.format(
            count=3, condition="'len(result) > 0 && result[0] >= 0.05'", query="'sum(rate(x[2m]))'"
        ),
    )
    write(tmp_path, ROLLOUT.format(template="t"), "r.yaml")
    found = [str(d) for d in lint_paths([tmp_path])]
    assert any("args.ns was not resolved" in m for m in found), found
    write(tmp_path, ROLLOUT.format(template="missing"), "r.yaml")
    found = [str(d) for d in lint_paths([tmp_path])]
    assert any('AnalysisTemplate "missing" not found' in m for m in found), found


def test_unknown_field_and_yaml_error(tmp_path: Path) -> None:
    write(tmp_path, "a: [\n", "bad.yaml")
    write(tmp_path, TEMPLATE.format(count=3, condition="'true'", query="up").replace("count: 3", "cuont: 3"))
    found = [str(d) for d in lint_paths([tmp_path])]
    assert any("bad.yaml:2: error: invalid YAML" in m for m in found), found
    assert any('t.yaml:11: error: unknown field "spec.metrics[0].cuont"' in m for m in found), found
