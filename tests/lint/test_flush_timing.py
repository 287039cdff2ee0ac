"""The cross-object warning: rate() of span metrics read before the connector's second flush."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flightdeck.lint import Diagnostic, Severity, format_report, lint_paths

SHARED = Path(__file__).resolve().parents[3] / "shared"
BROKEN = SHARED / "challenge" / "expert-broken"
SOLVED = SHARED / "challenge" / "expert-solved"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hotrod-gitops"

MARK = "a series of the spanmetrics"


def flush_warnings(paths: list[Path]) -> list[Diagnostic]:
    return [d for d in lint_paths(paths) if MARK in d.message]


def seed_warning(root: Path, line: int = 52) -> str:
    template = root / "hotrod" / "analysis-template.yaml"
    config = root / "otel" / "config.yaml"
    return (
        f"{template}:{line}: warning: spec.metrics[2]: the query takes rate() of "
        "traces_span_metrics_duration_milliseconds_bucket, a series of the spanmetrics connector "
        f"({config}:16) whose flush interval is the connector's default 60s. A new canary's series appear "
        "at the first flush after its traffic starts (up to 60s later) and first increase at the second "
        "(up to 120s, plus the Prometheus scrape interval); until then the rate is 0 and the query NaN, for "
        'which "result[0] < 1000" is false: the measurement is Failed. Counted from the analysis start '
        "(initialDelay 90s, interval 10s, count 3), the measurements at 90s, 100s and 110s can all come "
        'before that, and a healthy canary is then aborted with: Metric "latency-p95-lt-1s" assessed '
        "Failed due to failed (3) > failureLimit (2). Fix: set metrics_flush_interval under 45s (twice it "
        "plus the scrape interval before the first measurement), start the checks later (initialDelay "
        "120s plus the scrape interval or more), or decide what NaN means (isNaN(result[0]), or a "
        "failureCondition so that NaN is Inconclusive)"
    )


def test_seed_expert_solved_gets_exactly_this_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    with_check = [str(d) for d in lint_paths([SOLVED])]
    monkeypatch.setattr("flightdeck.lint.flush_timing.lint_flush_timing", lambda *_: [])
    without = [str(d) for d in lint_paths([SOLVED])]
    assert [d for d in with_check if d not in without] == [seed_warning(SOLVED)]
    assert len(with_check) == len(without) + 1


def test_seed_warning_in_the_cli_report() -> None:
    report = format_report(lint_paths([SOLVED]))
    assert report.endswith("0 error(s), 5 warning(s)\n")
    assert seed_warning(SOLVED) + "\n" in report


def test_example_repository_with_a_15s_flush_gets_none() -> None:
    assert flush_warnings([EXAMPLE]) == []


def test_expert_broken_keeps_its_diagnostics() -> None:
    # Its collector configuration is rejected, so the collector never runs: the error says so and no
    # flush warning is added (the e2e demo asserts "1 error(s), 4 warning(s)").
    diagnostics = lint_paths([BROKEN])
    assert flush_warnings([BROKEN]) == []
    report = format_report(diagnostics)
    assert report.endswith("1 error(s), 4 warning(s)\n")
    assert "invalid configuration: no receiver configuration specified in config" in report


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(SOLVED, root)
    return root


def edit(path: Path, old: str, new: str, *, after: str = "") -> None:
    text = path.read_text()
    head, tail = text.split(after, 1) if after else ("", text)
    assert old in tail, (old, path)
    path.write_text(head + (after if after else "") + tail.replace(old, new, 1))


def template(root: Path) -> Path:
    return root / "hotrod" / "analysis-template.yaml"


def config(root: Path) -> Path:
    return root / "otel" / "config.yaml"


LATENCY = "- name: latency-p95-lt-1s"


def test_copied_seed_warns_at_the_copy(repo: Path) -> None:
    assert [str(d) for d in flush_warnings([repo])] == [seed_warning(repo)]


def test_initial_delay_of_150s_tolerates_it(repo: Path) -> None:
    edit(template(repo), "initialDelay: 90s", "initialDelay: 150s", after=LATENCY)
    assert flush_warnings([repo]) == []


def test_initial_delay_just_short_warns_with_fewer_measurements(repo: Path) -> None:
    # 105s, 115s before 120s; 125s after: two Failed are not more than failureLimit 2 ...
    edit(template(repo), "initialDelay: 90s", "initialDelay: 105s", after=LATENCY)
    assert flush_warnings([repo]) == []
    # ... but with failureLimit 1 they are.
    edit(template(repo), "failureLimit: 2", "failureLimit: 1", after=LATENCY)
    [warning] = flush_warnings([repo])
    assert "the measurements at 105s and 115s can all come before that" in warning.message
    assert "failed (2) > failureLimit (1)" in warning.message


def test_large_enough_failure_limit_gets_none(repo: Path) -> None:
    edit(template(repo), "failureLimit: 2", "failureLimit: 3", after=LATENCY)
    assert flush_warnings([repo]) == []


def test_unlimited_failure_limit_gets_none(repo: Path) -> None:
    edit(template(repo), "failureLimit: 2", "failureLimit: -1", after=LATENCY)
    assert flush_warnings([repo]) == []


def test_query_without_rate_on_span_metrics_gets_none(repo: Path) -> None:
    edit(template(repo), "(rate(traces_span", "(max_over_time(traces_span")
    assert flush_warnings([repo]) == []


def test_explicit_flush_interval_is_located(repo: Path) -> None:
    edit(config(repo), "      spanmetrics:\n", "      spanmetrics:\n        metrics_flush_interval: 1m\n")
    [warning] = flush_warnings([repo])
    lines = config(repo).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "metrics_flush_interval" in text)
    assert f"whose metrics_flush_interval is 60s ({config(repo)}:{line})" in warning.message


def test_flush_interval_of_50s_is_enough_for_failure_limit_2(repo: Path) -> None:
    edit(config(repo), "      spanmetrics:\n", "      spanmetrics:\n        metrics_flush_interval: 50s\n")
    assert flush_warnings([repo]) == []


def test_custom_connector_namespace(repo: Path) -> None:
    edit(config(repo), "      spanmetrics:\n", "      spanmetrics:\n        namespace: hotrod.spans\n")
    # The default names are no longer the connector's: nothing to say about them.
    assert flush_warnings([repo]) == []
    edit(template(repo), "traces_span_metrics_duration", "hotrod_spans_duration")
    [warning] = flush_warnings([repo])
    assert warning.message.startswith(
        "the query takes rate() of hotrod_spans_duration_milliseconds_bucket, a series of the spanmetrics"
    )


def test_histogram_in_seconds(repo: Path) -> None:
    edit(config(repo), "      spanmetrics:\n", "      spanmetrics:\n        histogram:\n          unit: s\n")
    edit(
        template(repo),
        "traces_span_metrics_duration_milliseconds_bucket",
        "traces_span_metrics_duration_seconds_bucket",
    )
    edit(template(repo), "result[0] < 1000", "result[0] < 1", after=LATENCY)
    [warning] = flush_warnings([repo])
    assert "rate() of traces_span_metrics_duration_seconds_bucket" in warning.message


def test_exporter_namespace_is_part_of_the_names(repo: Path) -> None:
    edit(config(repo), 'endpoint: "0.0.0.0:8889"\n', 'endpoint: "0.0.0.0:8889"\n        namespace: otel\n')
    assert flush_warnings([repo]) == []
    edit(template(repo), "(rate(traces_span", "(rate(otel_traces_span")
    [warning] = flush_warnings([repo])
    assert "rate() of otel_traces_span_metrics_duration_milliseconds_bucket" in warning.message


def test_named_connector_and_regex_name_matcher(repo: Path) -> None:
    text = config(repo).read_text().replace("spanmetrics", "spanmetrics/red")
    config(repo).write_text(text)
    edit(
        template(repo),
        "rate(traces_span_metrics_duration_milliseconds_bucket{",
        'rate({__name__=~"traces_span_metrics_duration_.*_bucket",',
    )
    [warning] = flush_warnings([repo])
    assert warning.message.startswith(
        'the query takes rate() of {__name__=~"traces_span_metrics_duration_.*_bucket"}, a series of the '
        f"spanmetrics/red connector ({config(repo)}:16)"
    )


def test_conditions_that_handle_nan_get_none(repo: Path) -> None:
    edit(
        template(repo),
        "successCondition: result[0] < 1000",
        "successCondition: isNaN(result[0]) || result[0] < 1000",
    )
    assert flush_warnings([repo]) == []


def test_failure_condition_makes_nan_inconclusive(repo: Path) -> None:
    edit(
        template(repo),
        "successCondition: result[0] < 1000",
        "successCondition: result[0] < 1000\n      failureCondition: result[0] >= 1000",
    )
    assert flush_warnings([repo]) == []


def test_dry_run_metric_gets_none(repo: Path) -> None:
    edit(template(repo), "spec:\n", "spec:\n  dryRun:\n    - metricName: latency.*\n")
    assert flush_warnings([repo]) == []


def test_timing_from_a_declared_argument(repo: Path) -> None:
    edit(
        template(repo),
        "    - name: canary-hash\n",
        '    - name: canary-hash\n    - name: delay\n      value: "95s"\n',
    )
    edit(template(repo), "initialDelay: 90s", 'initialDelay: "{{args.delay}}"', after=LATENCY)
    [warning] = flush_warnings([repo])
    assert "the measurements at 95s, 105s and 115s" in warning.message
    # Without a value (it would come from the Rollout) lint cannot count.
    edit(template(repo), '      value: "95s"\n', "")
    assert flush_warnings([repo]) == []


CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
data:
  config.yaml: |
    receivers:
      otlp:
        protocols:
          http:
            endpoint: 0.0.0.0:4318
    connectors:
      spanmetrics: {{}}
{extra}    exporters:
      prometheus:
        endpoint: 0.0.0.0:8889
    service:
      pipelines:
        traces:
          receivers: [otlp]
          exporters: [spanmetrics]
        metrics:
          receivers: [spanmetrics]
          exporters: [prometheus]
"""

TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: {kind}
metadata:
  name: t
spec:
  metrics:
    - name: m
{fields}      provider:
        prometheus:
          address: http://prometheus:9090
          query: '{query}'
"""


def lint_pair(
    tmp_path: Path, fields: str, query: str, extra: str = "", kind: str = "AnalysisTemplate"
) -> list[Diagnostic]:
    (tmp_path / "config.yaml").write_text(CONFIG.format(extra=extra))
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(fields=fields, query=query, kind=kind))
    return flush_warnings([tmp_path])


def test_traffic_check_on_span_metrics_reads_zero(tmp_path: Path) -> None:
    fields = "      initialDelay: 30s\n      successCondition: result[0] >= 0.05\n"
    [warning] = lint_pair(
        tmp_path, fields, "sum(rate(traces_span_metrics_calls_total[2m]))", kind="ClusterAnalysisTemplate"
    )
    assert f"{tmp_path / 'template.yaml'}:7: warning: spec.metrics[0]:" in str(warning)
    assert 'the rate is 0 and the query 0, for which "result[0] >= 0.05" is false' in warning.message
    assert "the measurements at 30s can come before that" in warning.message
    assert 'Metric "m" assessed Failed due to failed (1) > failureLimit (0)' in warning.message
    assert "NaN" not in warning.message.split("Fix:")[1]


def test_error_count_that_reads_zero_passes(tmp_path: Path) -> None:
    fields = "      initialDelay: 30s\n      successCondition: result[0] < 0.05\n"
    query = 'sum(rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[2m]))'
    assert lint_pair(tmp_path, fields, query) == []


def test_ratio_of_span_metrics_is_nan(tmp_path: Path) -> None:
    fields = "      initialDelay: 30s\n      successCondition: result[0] < 0.05\n"
    query = (
        'sum(rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[2m])) '
        "/ sum(rate(traces_span_metrics_calls_total[2m]))"
    )
    [warning] = lint_pair(tmp_path, fields, query)
    assert warning.message.startswith(
        "the query takes rate() of traces_span_metrics_calls_total, a series of the spanmetrics connector"
    )
    assert "the query NaN" in warning.message


def test_ratio_with_another_metric_is_not_guessed(tmp_path: Path) -> None:
    fields = "      initialDelay: 30s\n      successCondition: len(result) > 0 && result[0] < 0.05\n"
    query = "sum(rate(traces_span_metrics_calls_total[2m])) / sum(rate(hotrod_requests_total[2m]))"
    assert lint_pair(tmp_path, fields, query) == []


def test_guarded_condition_fails_before_the_first_flush_too(tmp_path: Path) -> None:
    # Ten measurements 10s apart from 0s; a 60s window holds six, so failureLimit 6 needs a
    # seventh: one that read no data before the first flush, which the guard also fails.
    query = (
        "histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket[2m])))"
    )
    guarded = "      interval: 10s\n      count: 10\n      failureLimit: 6\n      successCondition: len(result) > 0 && result[0] < 1000\n"
    [warning] = lint_pair(tmp_path, guarded, query)
    assert "(before the first flush it has no data, which fails too)" in warning.message
    assert "the measurements at 0s, 10s, 20s, 30s, 40s, 50s and 60s" in warning.message
    assert "failed (7) > failureLimit (6)" in warning.message
    assert "no initialDelay" in warning.message and "set metrics_flush_interval" not in warning.message
    # Unguarded, the early reads are Errors (reported by the unguarded-index warning), not Failed.
    unguarded = guarded.replace("len(result) > 0 && ", "")
    assert lint_pair(tmp_path, unguarded, query) == []


def test_unbounded_count(tmp_path: Path) -> None:
    query = "sum(rate(traces_span_metrics_calls_total[2m]))"
    fields = "      initialDelay: 60s\n      interval: 30s\n      failureLimit: 1\n      successCondition: result[0] > 0\n"
    [warning] = lint_pair(tmp_path, fields, query)
    assert "the measurements at 60s and 90s can all come before that" in warning.message
    assert "interval 30s)" in warning.message


def test_unused_connector_counts_with_default_names(tmp_path: Path) -> None:
    extra = "      spanmetrics/spare:\n        namespace: spare\n"
    fields = "      initialDelay: 30s\n      successCondition: result[0] >= 0.05\n"
    [warning] = lint_pair(tmp_path, fields, "sum(rate(spare_calls_total[2m]))", extra=extra)
    assert "a series of the spanmetrics/spare connector" in warning.message


def test_no_collector_config_no_warning(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        TEMPLATE.format(
            kind="AnalysisTemplate",
            fields="      successCondition: result[0] >= 0.05\n",
            query="sum(rate(traces_span_metrics_calls_total[2m]))",
        )
    )
    assert [d for d in lint_paths([tmp_path]) if d.severity is Severity.WARNING and MARK in d.message] == []


def test_flush_interval_in_a_quoted_config_points_at_the_configmap_key(tmp_path: Path) -> None:
    # Not a literal block: the embedded lines are not the file's, so the location is the data key.
    import yaml

    collector = yaml.safe_load(CONFIG.format(extra=""))["data"]["config.yaml"]
    collector = collector.replace("spanmetrics: {}", "spanmetrics: {metrics_flush_interval: 90s}")
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"config.yaml": collector},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc, default_style='"'))
    (tmp_path / "template.yaml").write_text(
        TEMPLATE.format(
            kind="AnalysisTemplate",
            fields="      initialDelay: 150s\n      successCondition: result[0] >= 0.05\n",
            query="sum(rate(traces_span_metrics_calls_total[2m]))",
        )
    )
    [warning] = flush_warnings([tmp_path])
    lines = (tmp_path / "config.yaml").read_text().splitlines()
    key = next(i for i, text in enumerate(lines, 1) if '"config.yaml":' in text)
    assert f"whose metrics_flush_interval is 90s ({tmp_path / 'config.yaml'}:{key})" in warning.message
    assert "the measurements at 150s can come before that" in warning.message
