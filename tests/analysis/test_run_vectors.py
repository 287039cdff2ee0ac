"""Spec §8.1: the AnalysisRun vectors, on the virtual clock (times are seconds since creation)."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.types import Phase
from tests.analysis.scripted import Script, drive, make_run

M = "m"


def _m(**fields: Any) -> dict[str, Any]:
    return {"name": M, **fields}


# (id, metrics, spec extras, outcomes, expected metric phases, run phase, run message, measurement times)
VECTORS: list[
    tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, list[Any]], dict[str, Phase], Phase, str]
] = [
    ("A1", [_m()], {}, {M: ["S"]}, {M: Phase.SUCCESSFUL}, Phase.SUCCESSFUL, ""),
    ("A2", [_m(count=0)], {}, {M: ["S"]}, {M: Phase.SUCCESSFUL}, Phase.SUCCESSFUL, ""),
    (
        "A4",
        [_m()],
        {},
        {M: ["F"]},
        {M: Phase.FAILED},
        Phase.FAILED,
        'Metric "m" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    (
        "A5",
        [_m(interval="60s", count=3, failureLimit=1)],
        {},
        {M: ["F", "S", "S"]},
        {M: Phase.SUCCESSFUL},
        Phase.SUCCESSFUL,
        "",
    ),
    (
        "A6",
        [_m(interval="60s", count=5, failureLimit=2)],
        {},
        {M: ["F", "F", "F"]},
        {M: Phase.FAILED},
        Phase.FAILED,
        'Metric "m" assessed Failed due to failed (3) > failureLimit (2)',
    ),
    (
        "A7",
        [_m(interval="60s", count=3, successCondition="result[0] < 0.05")],
        {},
        {M: [("E", "reflect: slice index out of range")] * 5},
        {M: Phase.ERROR},
        Phase.ERROR,
        'Metric "m" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): '
        '"Error Message: reflect: slice index out of range"',
    ),
    (
        "A8",
        [_m(interval="60s", count=3, consecutiveErrorLimit=2)],
        {},
        {M: [("E", "reflect: slice index out of range")] * 3},
        {M: Phase.ERROR},
        Phase.ERROR,
        'Metric "m" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): '
        '"Error Message: reflect: slice index out of range"',
    ),
    ("A9", [_m()], {}, {M: ["E", "E", "S"]}, {M: Phase.SUCCESSFUL}, Phase.SUCCESSFUL, ""),
    (
        "A10",
        [_m(consecutiveErrorLimit=0)],
        {},
        {M: [("E", "boom")]},
        {M: Phase.ERROR},
        Phase.ERROR,
        'Metric "m" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): "Error Message: boom"',
    ),
    (
        "A11",
        [_m(interval="60s", count=3)],
        {},
        {M: ["S", "I"]},
        {M: Phase.INCONCLUSIVE},
        Phase.INCONCLUSIVE,
        'Metric "m" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)',
    ),
    (
        "A12",
        [_m(interval="60s", count=3, inconclusiveLimit=1)],
        {},
        {M: ["I", "S", "S"]},
        {M: Phase.SUCCESSFUL},
        Phase.SUCCESSFUL,
        "",
    ),
    (
        "A13",
        [_m(interval="60s", count=5, failureLimit=-1, consecutiveSuccessLimit=3)],
        {},
        {M: ["F", "S", "F", "S", "S"]},
        {M: Phase.FAILED},
        Phase.FAILED,
        "",
    ),
    (
        "A14",
        [_m(interval="60s", count=10, failureLimit=3, consecutiveSuccessLimit=2)],
        {},
        {M: ["F", "S", "S"]},
        {M: Phase.SUCCESSFUL},
        Phase.SUCCESSFUL,
        "",
    ),
    (
        "A15",
        [_m(interval="60s", count=4, failureLimit=2, consecutiveSuccessLimit=2)],
        {},
        {M: ["S", "F", "S", "F"]},
        {M: Phase.INCONCLUSIVE},
        Phase.INCONCLUSIVE,
        "",
    ),
    (
        "A16",
        [_m(interval="60s", count=4, failureLimit=1, consecutiveSuccessLimit=2)],
        {},
        {M: ["S", "F", "S", "F"]},
        {M: Phase.FAILED},
        Phase.FAILED,
        'Metric "m" assessed Failed due to failed (2) > failureLimit (1)',
    ),
    (
        "A17",
        [{"name": "a"}, {"name": "b"}],
        {},
        {"a": ["I"], "b": ["F"]},
        {"a": Phase.INCONCLUSIVE, "b": Phase.FAILED},
        Phase.FAILED,
        'Metric "b" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    (
        "A18",
        [{"name": "a", "consecutiveErrorLimit": 0}, {"name": "b"}],
        {},
        {"a": [("E", "boom")], "b": ["F"]},
        {"a": Phase.ERROR, "b": Phase.FAILED},
        Phase.FAILED,
        'Metric "b" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    (
        "A19",
        [{"name": "a"}, {"name": "b"}],
        {},
        {"a": ["F"], "b": ["F"]},
        {"a": Phase.FAILED, "b": Phase.FAILED},
        Phase.FAILED,
        'Metric "a" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    (
        "A20",
        [{"name": "a", "interval": "60s"}, {"name": "b", "interval": "60s", "count": 5}],
        {},
        {"a": ["S", "S"], "b": ["S", "F"]},
        {"a": Phase.SUCCESSFUL, "b": Phase.FAILED},
        Phase.FAILED,
        'Metric "b" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    (
        "A21",
        [{"name": "a"}, {"name": "b"}],
        {"dryRun": [{"metricName": "b"}]},
        {"a": ["S"], "b": ["F"]},
        {"a": Phase.SUCCESSFUL, "b": Phase.FAILED},
        Phase.SUCCESSFUL,
        "",
    ),
    ("A22", [_m(initialDelay="30s")], {}, {M: ["S"]}, {M: Phase.SUCCESSFUL}, Phase.SUCCESSFUL, ""),
]


@pytest.mark.parametrize(
    ("metrics", "spec", "outcomes", "metric_phases", "run_phase", "message"),
    [pytest.param(*v[1:], id=v[0]) for v in VECTORS],
)
def test_run_vector(
    metrics: list[dict[str, Any]],
    spec: dict[str, Any],
    outcomes: dict[str, list[Any]],
    metric_phases: dict[str, Phase],
    run_phase: Phase,
    message: str,
) -> None:
    run = make_run(metrics, **spec)
    script = Script(outcomes)
    drive(run, script)
    assert script.remaining() == {}
    assert run.status.phase is run_phase
    assert run.status.message == message
    for name, phase in metric_phases.items():
        result = run.status.result(name)
        assert result is not None
        assert result.phase is phase, name


def test_a3_indefinite_metric_keeps_running() -> None:
    run = make_run([_m(interval="60s")])
    script = Script({M: ["S"] * 20})
    drive(run, script, until=600)
    assert run.status.phase is Phase.RUNNING
    assert script.times[M] == [60.0 * i for i in range(11)]


def test_a5_measurement_times_follow_interval() -> None:
    run = make_run([_m(interval="60s", count=3, failureLimit=1)])
    script = Script({M: ["F", "S", "S"]})
    end = drive(run, script)
    assert script.times[M] == [0.0, 60.0, 120.0]
    assert end == 120.0
    result = run.status.result(M)
    assert result is not None
    assert (result.count, result.failed, result.successful) == (3, 1, 2)


def test_a6_fails_at_third_measurement() -> None:
    run = make_run([_m(interval="60s", count=5, failureLimit=2)])
    script = Script({M: ["F", "F", "F"]})
    assert drive(run, script) == 120.0


def test_a7_errors_retry_every_ten_seconds_and_do_not_count() -> None:
    run = make_run([_m(interval="60s", count=3)])
    script = Script({M: [("E", "x")] * 5})
    assert drive(run, script) == 40.0
    assert script.times[M] == [0.0, 10.0, 20.0, 30.0, 40.0]
    result = run.status.result(M)
    assert result is not None
    assert (result.count, result.error, result.consecutive_error) == (0, 5, 5)


def test_a9_success_resets_consecutive_errors() -> None:
    run = make_run([_m()])
    script = Script({M: ["E", "E", "S"]})
    assert drive(run, script) == 20.0
    result = run.status.result(M)
    assert result is not None
    assert (result.error, result.consecutive_error, result.count) == (2, 0, 1)


def test_a13_runsummary_counts_count_based_failure_as_successful() -> None:
    run = make_run([_m(interval="60s", count=5, failureLimit=-1, consecutiveSuccessLimit=3)])
    drive(run, Script({M: ["F", "S", "F", "S", "S"]}))
    assert run.status.run_summary.to_dict() == {"count": 1, "successful": 1}


def test_a14_consecutive_success_ends_early() -> None:
    run = make_run([_m(interval="60s", count=10, failureLimit=3, consecutiveSuccessLimit=2)])
    assert drive(run, Script({M: ["F", "S", "S"]})) == 120.0


def test_a16_fails_at_fourth_measurement() -> None:
    run = make_run([_m(interval="60s", count=4, failureLimit=1, consecutiveSuccessLimit=2)])
    assert drive(run, Script({M: ["S", "F", "S", "F"]})) == 180.0


def test_a20_sibling_completes_on_follow_up_pass() -> None:
    run = make_run([{"name": "a", "interval": "60s"}, {"name": "b", "interval": "60s", "count": 5}])
    script = Script({"a": ["S", "S"], "b": ["S", "F"]})
    # Drive pass by pass at t=60 to observe the intermediate Running state.
    from flightdeck.analysis.reconcile import reconcile

    driver = AnalysisDriver(script)
    driver.settle(run, 0.0)
    first = reconcile(run, 60.0)
    assert {t.metric.name for t in first.tasks} == {"a", "b"}
    finished = [script(t, run, 60.0) for t in first.tasks]
    second = reconcile(run, 60.0, finished)
    a_result, b_result = second.status.result("a"), second.status.result("b")
    assert a_result is not None and b_result is not None
    assert (second.status.phase, a_result.phase, b_result.phase) == (
        Phase.RUNNING,
        Phase.RUNNING,
        Phase.FAILED,
    )
    run.status = second.status
    third = reconcile(run, 60.0)
    assert third.status.phase is Phase.FAILED
    a_after = third.status.result("a")
    assert a_after is not None and a_after.phase is Phase.SUCCESSFUL
    assert third.status.message == 'Metric "b" assessed Failed due to failed (1) > failureLimit (0)'


def test_a21_dry_run_metric_message_and_summary() -> None:
    run = make_run([{"name": "a"}, {"name": "b"}], dryRun=[{"metricName": "b"}])
    drive(run, Script({"a": ["S"], "b": ["F"]}))
    b = run.status.result("b")
    assert b is not None
    assert b.message == "Metric assessed Failed due to failed (1) > failureLimit (0)"
    assert b.dry_run
    assert run.status.dry_run_summary is not None
    assert run.status.dry_run_summary.to_dict() == {"count": 1, "failed": 1}
    assert run.status.run_summary.to_dict() == {"count": 1, "successful": 1}


def test_a22_initial_delay() -> None:
    run = make_run([_m(initialDelay="30s")])
    script = Script({M: ["S"]})
    driver = AnalysisDriver(script)
    driver.settle(run, 0.0)
    assert run.status.metric_results == []
    assert run.status.phase is Phase.RUNNING
    drive(run, script)
    assert script.times[M] == [30.0]


def test_a23_terminated_indefinite_run() -> None:
    run = make_run([_m(interval="60s")])
    script = Script({M: ["S"] * 5})
    drive(run, script, terminate_at=300.0)
    assert script.times[M] == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert (run.status.phase, run.status.message) == (Phase.SUCCESSFUL, "Run Terminated")


def test_a24_terminated_before_first_measurement() -> None:
    run = make_run([_m(initialDelay="60s")])
    drive(run, Script({}), terminate_at=10.0)
    assert run.status.metric_results == []
    assert (run.status.phase, run.status.message) == (Phase.SUCCESSFUL, "Run Terminated")


def test_a25_terminated_before_count_reached() -> None:
    run = make_run([_m(interval="60s", count=5, failureLimit=1)])
    drive(run, Script({M: ["S", "F", "S"]}), terminate_at=130.0)
    assert (run.status.phase, run.status.message) == (Phase.SUCCESSFUL, "Run Terminated")
    result = run.status.result(M)
    assert result is not None and result.phase is Phase.SUCCESSFUL


@pytest.mark.parametrize(
    ("metrics", "spec", "message"),
    [
        pytest.param(
            [
                {
                    "name": "m",
                    "successCondition": "{{args.does-not-exist}}",
                    "provider": {"prometheus": {"query": "{{args.metric-name}}"}},
                }
            ],
            {},
            "Unable to resolve metric arguments: failed to resolve {{args.metric-name}}",
            id="A26",
        ),
        pytest.param(
            [{"name": "m", "count": 3}],
            {},
            "Analysis spec invalid: metrics[0]: interval must be specified when count > 1",
            id="A27",
        ),
        pytest.param(
            [{"name": "m", "provider": {}}],
            {},
            "Analysis spec invalid: metrics[0]: no provider specified",
            id="A28",
        ),
        pytest.param(
            [{"name": "success-rate"}],
            {"dryRun": [{"metricName": "error-rate"}]},
            "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)",
            id="A29",
        ),
        pytest.param(
            [{"name": "m"}],
            {"measurementRetention": [{"metricName": "*", "limit": 2}]},
            "Analysis spec invalid: measurementRetention[0]: Rule didn't match any metric name(s)",
            id="retention-invalid-regex",
        ),
        pytest.param(
            [{"name": "m", "count": 1, "failureLimit": 3}],
            {},
            "Analysis spec invalid: metrics[0]: count (1) must be >= failureLimit + consecutiveSuccessLimit (3 + 0) if both >= 0",
            id="count-vs-limits",
        ),
        pytest.param(
            [{"name": "m", "interval": "60"}],
            {},
            'Analysis spec invalid: metrics[0]: invalid interval string: time: missing unit in duration "60"',
            id="bare-number-interval",
        ),
        pytest.param(
            [{"name": "m", "initialDelay": "1x"}],
            {},
            'Analysis spec invalid: metrics[0]: invalid startDelay string: time: unknown unit "x" in duration "1x"',
            id="bad-initial-delay",
        ),
        pytest.param(
            [{"name": "m"}, {"name": "m"}],
            {},
            "Analysis spec invalid: metrics[1]: duplicate name 'm'",
            id="duplicate-name",
        ),
        pytest.param([], {}, "Analysis spec invalid: no metrics specified", id="no-metrics"),
        pytest.param(
            [{"name": "m", "provider": {"prometheus": {}, "web": {}}}],
            {},
            "Analysis spec invalid: metrics[0]: multiple providers specified",
            id="two-providers",
        ),
        pytest.param(
            [{"name": "m", "failureLimit": -1}],
            {},
            "Analysis spec invalid: metrics[0]: failureLimit and consecutiveSuccessLimit cannot both be disabled",
            id="both-disabled",
        ),
        pytest.param(
            [{"name": "m"}],
            {"args": [{"name": "unused"}]},
            'Unable to resolve metric arguments: argument "unused" was not supplied',
            id="valueless-arg",
        ),
    ],
)
def test_run_errors_before_measuring(
    metrics: list[dict[str, Any]], spec: dict[str, Any], message: str
) -> None:
    run = make_run(metrics, **spec)
    drive(run, Script({}))
    assert (run.status.phase, run.status.message) == (Phase.ERROR, message)


def test_a30_nan_with_both_conditions_is_inconclusive() -> None:
    run = make_run([_m()])
    drive(run, Script({M: ["I"]}))
    assert (
        run.status.message
        == 'Metric "m" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)'
    )


def test_a31_measurement_retention_keeps_last_two() -> None:
    run = make_run([_m(interval="60s")], measurementRetention=[{"metricName": "m", "limit": 2}])
    script = Script({M: ["S"] * 5})
    drive(run, script, until=240)
    result = run.status.result(M)
    assert result is not None
    assert run.status.phase is Phase.RUNNING
    assert len(result.measurements) == 2
    assert result.count == 5
    assert [m.started_at for m in result.measurements] == [180.0, 240.0]


def test_default_history_limit_is_ten() -> None:
    run = make_run([_m(interval="10s")])
    drive(run, Script({M: ["S"] * 15}), until=140)
    result = run.status.result(M)
    assert result is not None
    assert len(result.measurements) == 10
    assert result.count == 15


def test_completed_run_is_left_alone() -> None:
    run = make_run([_m()])
    drive(run, Script({M: ["S"]}))
    completed = run.status
    drive(run, Script({}))
    assert run.status is completed
    assert completed.completed_at == 0.0


def test_events_for_metric_and_run_completion() -> None:
    run = make_run([_m()])
    driver = AnalysisDriver(Script({M: ["F"]}))
    settled = driver.settle(run, 0.0)
    assert [(e.reason, e.message, e.type) for e in settled.events] == [
        ("MetricFailed", "Metric 'm' Completed. Result: Failed", "Warning"),
        ("AnalysisRunFailed", "Analysis Completed. Result: Failed", "Warning"),
    ]


def test_negative_count_completes_after_first_measurement_even_error() -> None:
    run = make_run([_m(count=-1, interval="10s")])
    script = Script({M: [("E", "x"), "S"]})
    drive(run, script)
    # Count >= -1 holds immediately, so the metric is assessed complete after its first measurement.
    assert run.status.phase is Phase.SUCCESSFUL
    assert script.times[M] == [0.0]
