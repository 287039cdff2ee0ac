"""The batched driver against the one-run driver: the same runs must see the same passes.

Every settle of every run is compared: its status as Argo serialises it, the requeue time, the events
and the measurements taken. The one-run driver is the reference (its passes are ``reconcile``'s,
checked against the spec's vectors in test_run_vectors).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.analysis.batch import BatchDriver, one_by_one
from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask, reconcile
from flightdeck.analysis.rest import rest_pass
from flightdeck.analysis.types import AnalysisRun, Measurement, Phase
from tests.analysis.equivalence import Case, drive_batched, drive_one_by_one, metric, spec

SECRET = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]

CASES = [
    Case("success", spec(metric("a", interval="10s", count=3)), {"a": ["S", "S", "S"]}),
    Case("failure", spec(metric("a", interval="10s", count=5, failureLimit=1)), {"a": ["F", "S", "F"]}),
    Case(
        "inconclusive",
        spec(metric("a", interval="10s", count=4, inconclusiveLimit=1)),
        {"a": ["I", "S", "I"]},
    ),
    Case(
        "consecutive-errors",
        spec(metric("a", interval="30s", count=3, consecutiveErrorLimit=2)),
        {"a": [("E", "boom"), ("E", "boom"), ("E", "boom")]},
    ),
    Case(
        "errors-then-success",
        spec(metric("a", interval="30s", count=2)),
        {"a": [("E", "x"), ("E", "y"), "S", ("E", "z"), "S"]},
    ),
    Case(
        "dry-run",
        spec(
            metric("a", interval="10s", count=3),
            metric("b", interval="10s", count=3),
            dryRun=[{"metricName": "b"}],
        ),
        {"a": ["S", "S", "S"], "b": ["F", "F", "F"]},
    ),
    Case(
        "sibling-terminated",
        spec(metric("a", interval="10s"), metric("b", interval="15s", count=4, initialDelay="20s")),
        {"a": ["S"] * 20, "b": ["S", "F"]},
    ),
    Case(
        "seed-like",
        spec(
            metric(
                "traffic",
                interval="10s",
                count=5,
                initialDelay="90s",
                failureLimit=3,
                inconclusiveLimit=5,
                consecutiveErrorLimit=3,
            ),
            metric(
                "errors",
                interval="10s",
                count=3,
                initialDelay="60s",
                failureLimit=2,
                inconclusiveLimit=3,
                consecutiveErrorLimit=2,
            ),
            metric(
                "latency",
                interval="10s",
                count=3,
                initialDelay="90s",
                failureLimit=2,
                inconclusiveLimit=3,
                consecutiveErrorLimit=2,
            ),
        ),
        {"latency": [("E", "reflect: slice index out of range")] * 3},
    ),
    Case(
        "consecutive-success",
        spec(metric("a", interval="10s", count=6, failureLimit=-1, consecutiveSuccessLimit=2)),
        {"a": ["F", "S", "F", "S", "S"]},
    ),
    Case(
        "retention",
        spec(metric("a", interval="5s", count=14), measurementRetention=[{"metricName": "a", "limit": 3}]),
        {},
    ),
    Case("history-limit", spec(metric("a", interval="5s", count=13)), {}),
    Case("terminated", spec(metric("a", interval="10s")), {}, terminate_at=35.0),
    Case("terminated-before-start", spec(metric("a", initialDelay="60s")), {}, terminate_at=10.0),
    Case(
        "in-flight",
        spec(metric("a", interval="10s", count=3), metric("b", interval="10s", count=3)),
        {"a": ["S", ("R", 4), ("R", 3), "S", "S"]},
    ),
    Case(
        "in-flight-terminated",
        spec(metric("a", interval="10s", count=3), metric("b", interval="10s", count=2, failureLimit=0)),
        {"a": ["S", ("R", 30)], "b": ["S", "F"]},
    ),
    Case("metadata", spec(metric("a", interval="10s", count=2)), {"a": [("M", {"k": "v"}), "S"]}),
    Case(
        "answer-for-another-metric",
        spec(metric("a", interval="10s", count=3), metric("b", interval="10s", count=3)),
        {"a": ["S", ("X", "b"), "S", "S"]},
    ),
    Case("no-interval", spec(metric("a")), {"a": [("E", "e"), ("E", "e"), "S"]}),
    Case("zero-interval", spec(metric("a", interval="0s", count=4)), {}),
    Case("zero-interval-unbounded", spec(metric("a", interval="0s")), {}, until=0.0025),
    Case("zero-delay", spec(metric("a", initialDelay="0s", interval="10s", count=2)), {}),
    Case("invalid", spec(metric("a", count=3)), {}),
    Case("unresolved-arg", spec(metric("a", provider={"prometheus": {"query": "{{args.x}}"}})), {}),
    Case(
        "args",
        spec(
            metric("a", interval="10s", count=2, provider={"prometheus": {"query": 'up{ns="{{args.ns}}"}'}}),
            args=[{"name": "ns", "value": "hotrod"}],
        ),
        {},
    ),
    Case(
        "secret-args",
        spec(
            metric("a", interval="10s", count=2, provider={"web": {"url": "http://x/?t={{args.token}}"}}),
            args=SECRET,
        ),
        {"a": [("E", "GET failed"), "S", "S"]},
    ),
    Case(
        "secret-missing",
        spec(
            metric("a", provider={"web": {"url": "{{args.nope}}"}}),
            args=[{"name": "nope", "valueFrom": {"secretKeyRef": {"name": "none", "key": "k"}}}],
        ),
        {},
    ),
]


def _compare(cases: list[Case], *, chunk: int = 3, until: float = 600.0) -> None:
    one, one_runs = drive_one_by_one(cases, until)
    batched, batched_runs = drive_batched(cases, until, chunk)
    for case, a, b in zip(cases, one_runs, batched_runs, strict=True):
        assert batched[case.name] == one[case.name], case.name
        assert b.status.to_dict() == a.status.to_dict(), case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_alone(case: Case) -> None:
    _compare([case])


@pytest.mark.parametrize("chunk", [1, 4, 1000])
def test_all_cases_together(chunk: int) -> None:
    # Several copies of each case, so that runs at rest and runs on the general path share passes.
    cases = [dataclasses.replace(c, name=f"{c.name}-{i}") for c in CASES for i in range(3)]
    _compare(cases, chunk=chunk)


def test_cases_cover_every_path() -> None:
    """The table reaches each way a pass leaves the path of runs at rest, and the pass limit."""
    one, _ = drive_one_by_one(CASES)
    by_name = {c.name: one[c.name] for c in CASES}
    final = {name: trace[-1][1] for name, trace in by_name.items()}
    assert final["failure"]["phase"] == "Failed"
    assert final["inconclusive"]["phase"] == "Inconclusive"
    assert final["consecutive-errors"]["phase"] == "Error"
    assert final["dry-run"]["phase"] == "Successful"
    assert final["dry-run"]["dryRunSummary"] == {"count": 1, "failed": 1}
    assert final["sibling-terminated"]["phase"] == "Failed"
    assert final["terminated"]["message"] == "Run Terminated"
    assert final["invalid"]["phase"] == "Error"
    assert (
        final["secret-missing"]["message"] == 'Unable to resolve metric arguments: secrets "none" not found'
    )
    assert any(m[1].get("resumeAt") for t in by_name["in-flight"] for m in t[4])
    assert final["metadata"]["metricResults"][0]["metadata"] == {"k": "v"}
    # interval 0s keeps a metric due at the same instant: the driver stops after 64 passes.
    assert len(by_name["zero-interval-unbounded"][0][4]) == 64


METRIC = st.fixed_dictionaries(
    {},
    optional={
        "interval": st.sampled_from(["10s", "30s", "0s", "1m"]),
        "initialDelay": st.sampled_from(["0s", "15s", "60s"]),
        "count": st.integers(-1, 5),
        "failureLimit": st.integers(-1, 2),
        "inconclusiveLimit": st.integers(0, 2),
        "consecutiveErrorLimit": st.integers(0, 3),
        "consecutiveSuccessLimit": st.integers(0, 2),
    },
)
OUTCOME = st.one_of(
    st.sampled_from(["S", "F", "I", "E"]),
    st.tuples(st.just("E"), st.sampled_from(["boom", "reflect: slice index out of range"])),
    st.tuples(st.just("R"), st.sampled_from([0, 5, 40])),
)


@st.composite
def cases(draw: st.DrawFn, name: str) -> Case:
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    metrics = [metric(n, **draw(METRIC)) for n in names]
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["dryRun"] = [{"metricName": draw(st.sampled_from(names))}]
    if draw(st.booleans()):
        extra["measurementRetention"] = [{"metricName": names[0], "limit": draw(st.integers(1, 3))}]
    outcomes = {n: draw(st.lists(OUTCOME, max_size=8)) for n in names}
    terminate_at = draw(st.one_of(st.none(), st.sampled_from([0.0, 25.0, 70.0])))
    return Case(name, spec(*metrics, **extra), outcomes, terminate_at, draw(st.sampled_from(["S", "F", "E"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(), min_size=1, max_size=6).flatmap(
        lambda ns: st.tuples(*[cases(f"r{i}") for i in range(len(ns))])
    )
)
def test_random_runs(drawn: tuple[Case, ...]) -> None:
    _compare(list(drawn), chunk=2, until=400.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases("r"))
def test_shortcuts_equal_full_reassessment(case: Case) -> None:
    """At every pass of the one-run driver: the pass with the reconciler's shortcuts (no reassessment
    of a settled status, the quick path, ``final``) equals the pass that reassesses everything, and
    after a ``final`` pass another pass changes nothing and asks for nothing."""
    from tests.analysis.equivalence import Provider, secrets

    provider = Provider([case])
    store = secrets()
    run = case.run()
    now = 0.0
    for _ in range(80):  # instants; interval 0s keeps a run due at every one
        if now > 300.0 or run.status.phase.completed:
            break
        if case.terminate_at is not None and now >= case.terminate_at:
            run.spec.terminate = True
        finished: list[FinishedMeasurement] = []
        requeue = None
        for _ in range(64):
            full = copy.deepcopy(run)
            full.status.settled_terminate = None  # forces the full assessment
            reference = reconcile(full, now, copy.deepcopy(finished), store)
            result = reconcile(run, now, finished, store, in_place=True)
            assert result.status.to_dict() == reference.status.to_dict()
            assert (result.tasks, result.requeue_at) == (reference.tasks, reference.requeue_at)
            assert [e for e in result.events] == [e for e in reference.events]
            run.status = result.status
            requeue = result.requeue_at
            if result.final:
                again = copy.deepcopy(run)
                extra = reconcile(again, now, (), store, in_place=True)
                assert extra.status.to_dict() == result.status.to_dict()
                assert (extra.tasks, extra.requeue_at, extra.events) == ([], result.requeue_at, [])
            if result.tasks:
                finished = [provider(t, run, now) for t in result.tasks]
                continue
            if not result.changed or result.final:
                break
            finished = []
        if requeue is None:
            break
        now = requeue if requeue > now else now + 0.001


def test_rest_pass_is_reconciles_pass() -> None:
    """For runs at rest, the at-rest pass asks for what ``reconcile`` asks for, and changes nothing."""
    cases = [
        c for c in CASES if c.name in ("seed-like", "dry-run", "retention", "sibling-terminated", "args")
    ]
    _, runs = drive_batched(cases, until=45.0)
    seen = 0
    for run in runs:
        for now in (45.0, 50.0, 60.0, 100.0):
            before = run.status.to_dict()
            rest = rest_pass(run, now)
            if rest is None:
                continue
            seen += 1
            reference = reconcile(copy.deepcopy(run), now)
            assert rest.tasks() == reference.tasks
            assert rest.requeue_at == reference.requeue_at
            assert run.status.to_dict() == before
    assert seen >= 8


def test_run_to_completion_matches_one_run_driver() -> None:
    cases = [c for c in CASES if c.terminate_at is None and c.until == 600.0]
    from tests.analysis.equivalence import Provider, secrets

    one = [c.run() for c in cases]
    single = AnalysisDriver(Provider(cases), secrets=secrets())
    ends = [single.run_to_completion(run, 0.0, limit=600.0) for run in one]
    batched = [c.run() for c in cases]
    provider = Provider(cases)
    assert BatchDriver(provider.batch, secrets=secrets()).run_to_completion(batched, 0.0, limit=600.0) == ends
    assert [r.status.to_dict() for r in batched] == [r.status.to_dict() for r in one]


def test_one_by_one_adapts_a_per_task_provider() -> None:
    cases = CASES[:3]
    from tests.analysis.equivalence import Provider

    provider = Provider(cases)
    runs = [c.run() for c in cases]
    BatchDriver(one_by_one(provider)).run_to_completion(runs, 0.0)
    assert [r.status.phase for r in runs] == [Phase.SUCCESSFUL, Phase.FAILED, Phase.INCONCLUSIVE]


def test_a_provider_must_answer_every_task() -> None:
    def short(tasks: Any, runs: Any, now: float) -> list[Measurement]:
        return []

    run = Case("r", spec(metric("a")), {}).run()
    with pytest.raises(ValueError, match="the provider answered 0 of 1 measurements"):
        BatchDriver(short).settle([run], 0.0)


def test_settled_outcome_lists_events_and_measurements_per_run() -> None:
    taken: list[tuple[str, str]] = []

    def measure(tasks: list[MeasurementTask], runs: list[AnalysisRun], now: float) -> list[Measurement]:
        return [Measurement(Phase.FAILED if r.name == "bad" else Phase.SUCCESSFUL, now, now) for r in runs]

    runs = [Case(n, spec(metric("a")), {}).run() for n in ("good", "bad")]
    settled = BatchDriver(measure, on_measurement=lambda r, m: taken.append((r.name, m.metric_name))).settle(
        runs, 0.0
    )
    assert settled.taken == 2
    assert taken == [("good", "a"), ("bad", "a")]
    assert settled.requeue_at == [None, None]
    assert [(i, e.reason) for i, e in zip(settled.event_runs, settled.events, strict=True)] == [
        (0, "MetricSuccessful"),
        (0, "AnalysisRunSuccessful"),
        (1, "MetricFailed"),
        (1, "AnalysisRunFailed"),
    ]
