"""Preparing runs of one template: the shared (family) path must give what the general path gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.analysis.args import (
    ArgumentError,
    arg_values,
    compile_metric,
    plain_arg_values,
    resolve_metric,
)
from flightdeck.analysis.factory import new_run
from flightdeck.analysis.prepare import Prepared, _prepare_generally, prepare
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Argument, Metric
from flightdeck.kube.objects import load_objects
from tests.analysis.equivalence import metric

# Mostly what templates hold (plain text, resolvable tags), sometimes what makes the compiled path
# decline or the general path fail: unknown or unclosed tags, quotes, escapes, non-ASCII.
PLAIN = st.text(alphabet=st.sampled_from(list("ab =()[]{},.\n-")), max_size=10)
ODD = st.text(alphabet=st.sampled_from(list('ab {}."\\\n-é')), max_size=6)
TAG = st.sampled_from(
    [
        "{{args.ns}}",
        "{{ args.hash }}",
        "{{args.ns}}",
        "{{args.hash}}",
        "{{args.missing}}",
        "{{args.ns",
        '{{args."q"}}',
    ]
)
LEAF = st.lists(st.one_of(PLAIN, PLAIN, PLAIN, TAG, TAG, TAG, ODD), max_size=4).map("".join)
VALUE = st.sampled_from(
    ["default", "h1", "x-y", "default", "h2", "ns", "", "a}}b", 'a"b', "x\\y", "é", "{{args.ns}}"]
)


RARELY = st.sampled_from([True, False, False, False, False, False])


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": "{{args.ns}}" if draw(RARELY) else "m"}
    for key in ("successCondition", "failureCondition", "extra"):
        if draw(st.booleans()):
            raw[key] = draw(st.one_of(LEAF, st.integers(0, 3), st.none()))
    for key in ("interval", "count"):
        if draw(RARELY):
            raw[key] = draw(st.one_of(LEAF, st.integers(0, 3), st.none()))
    provider: dict[str, Any] = {"query": draw(LEAF)}
    if draw(st.booleans()):
        provider["headers"] = [
            {"key": draw(LEAF), "value": draw(LEAF)},
            draw(st.sampled_from([1, True, None])),
        ]
    if draw(RARELY):
        provider["{{args.ns}}"] = draw(LEAF)
    if draw(RARELY):
        provider["tuple"] = (draw(LEAF),)
    raw["provider"] = {"prometheus": provider}
    return raw


@settings(max_examples=1000, deadline=None)
@given(templates(), st.fixed_dictionaries({"ns": VALUE, "hash": VALUE}, optional={"q": VALUE}))
def test_compiled_resolution_is_resolve_metric(raw: dict[str, Any], values: dict[str, str]) -> None:
    """Whenever the compiled path applies, it gives resolve_metric's metric (which substitutes into
    the JSON text, or leaf by leaf where that is the same)."""
    template = Metric.from_dict(raw)
    args = [Argument(k, v) for k, v in values.items()]
    compiled = compile_metric(template)
    subst = plain_arg_values(args)
    try:
        expected: Metric | str = resolve_metric(template, args)
    except ArgumentError as exc:
        expected = str(exc)
    if compiled is None or subst is None or not compiled.applies(subst):
        return
    got = compiled.resolve(subst)
    assert not isinstance(expected, str), expected
    assert (got.name, got.raw) == (expected.name, expected.raw)
    assert subst == arg_values(args)
    assert raw == Metric.from_dict(copy.deepcopy(raw)).raw  # the template is left as it was


def test_compiled_metric_declines_what_the_general_path_must_do() -> None:
    assert compile_metric(Metric.from_dict({"name": "m", "count": "{{args.n}}"})) is None
    assert compile_metric(Metric.from_dict({"name": "m", "provider": {"web": {"url": "{{args.x"}}})) is None
    assert compile_metric(Metric.from_dict({"name": "m", "provider": {"web": {"{{args.k}}": "v"}}})) is None
    assert (
        compile_metric(Metric.from_dict({"name": "m", "provider": {"web": {"h": ("{{args.x}}",)}}})) is None
    )
    plain = compile_metric(Metric.from_dict({"name": "m", "provider": {"web": {"url": "http://x"}}}))
    assert plain is not None and plain.resolve({}) is plain.metric


def _fields(prepared: Prepared) -> tuple[Any, ...]:
    return (
        prepared.error,
        prepared.uses_secrets,
        prepared.plans,
        [(t.metric.name, t.metric.raw) for t in prepared.tasks],
        dict(prepared.by_name),
    )


SPECS: list[dict[str, Any]] = [
    {
        "metrics": [
            metric("a", interval="10s", count=3, provider={"prometheus": {"query": "up{ns='{{args.ns}}'}"}})
        ]
    },
    {"metrics": [metric("a", count=3)]},
    {"metrics": [metric("a"), metric("a")]},
    {
        "metrics": [metric("a"), metric("b")],
        "dryRun": [{"metricName": "b"}],
        "measurementRetention": [{"metricName": "a", "limit": 2}],
    },
    {"metrics": [metric("a")], "dryRun": [{"metricName": "zzz"}]},
    {"metrics": [metric("a", provider={"prometheus": {"query": "{{args.nope}}"}})]},
    {
        "metrics": [metric("a", successCondition="result > {{args.ns}}")],
        "args": [{"name": "ns", "value": '"q"'}],
    },
    {"metrics": [metric("a", interval="{{args.ns}}", count=2)], "args": [{"name": "ns", "value": "10s"}]},
    {"metrics": [metric("a")], "args": [{"name": "unused"}]},
    {
        "metrics": [metric("a", provider={"web": {"url": "{{args.t}}"}})],
        "args": [{"name": "t", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
    },
]


@pytest.mark.parametrize("raw", SPECS)
def test_family_preparation_is_the_general_one(raw: dict[str, Any]) -> None:
    raw = {**raw, "args": raw.get("args", [{"name": "ns", "value": "hotrod"}])}
    spec = AnalysisRunSpec.from_dict(raw)
    for _ in range(2):  # the second run of the family takes the cached path
        run = AnalysisRun(
            "r",
            "default",
            AnalysisRunSpec(spec.metrics, list(spec.args), False, spec.dry_run, spec.measurement_retention),
        )
        general = _prepare_generally(AnalysisRun("r", "default", run.spec))
        assert _fields(prepare(run)) == _fields(general)


def test_runs_of_the_seed_template_share_plans() -> None:
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[3] / "shared/challenge/expert-solved/hotrod/analysis-template.yaml"
    )
    template = load_objects([path]).templates[0]
    runs = [
        new_run(
            f"r{i}",
            "default",
            [template.spec],
            [Argument("namespace", "ns"), Argument("canary-hash", f"h{i}")],
        )
        for i in range(3)
    ]
    prepared = [prepare(r) for r in runs]
    assert prepared[0].plans is prepared[1].plans is prepared[2].plans
    queries = [p.tasks[0].metric.provider["prometheus"]["query"] for p in prepared]
    assert [q.count(f'rollouts_pod_template_hash="h{i}"') for i, q in enumerate(queries)] == [1, 1, 1]
    for run, p in zip(runs, prepared, strict=True):
        assert _fields(p) == _fields(_prepare_generally(AnalysisRun("x", "default", run.spec)))
