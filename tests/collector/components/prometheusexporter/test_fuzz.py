"""Arbitrary attribute names and values never crash the aggregator or the exposition, and the exposition
always parses (flightdeck's text parser for every example, the real ``promtool`` on a sample)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.collector.components.spanmetrics import SpanMetricsAggregator, load_config
from flightdeck.tsdb.scrape.textparse import parse_text
from tests.collector.components.spanmetrics.helpers import S, SpanSpec, exporter, request

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_scalar = st.one_of(
    _text,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
)
_value = st.one_of(_scalar, st.lists(_scalar, max_size=3))
_attrs = st.dictionaries(_text, _value, max_size=4)


@st.composite
def scenario(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], list[SpanSpec]]], dict[str, Any]]:
    dims = draw(
        st.lists(
            _text.filter(lambda n: n not in ("service.name", "span.name", "span.kind", "status.code")),
            max_size=3,
            unique=True,
        )
    )
    connector = {"dimensions": [{"name": n} for n in dims]}
    resources = []
    for _ in range(draw(st.integers(1, 3))):
        res = draw(_attrs)
        if draw(st.booleans()):
            res["service.name"] = draw(_value)
        spans = [
            SpanSpec(
                draw(_text),
                draw(st.integers(-(10**12), 10**13)),
                kind=draw(st.integers(0, 7)),
                status=draw(st.integers(0, 3)),
                attrs=draw(_attrs) | ({dims[0]: draw(_value)} if dims and draw(st.booleans()) else {}),
            )
            for _ in range(draw(st.integers(0, 4)))
        ]
        resources.append((res, spans))
    exporter_cfg = draw(
        st.sampled_from(
            [
                {},
                {"resource_to_telemetry_conversion": {"enabled": True}},
                {"namespace": "ns"},
                {"const_labels": {"env": "x"}},
            ]
        )
    )
    return connector, resources, exporter_cfg


def render(
    connector: dict[str, Any],
    resources: list[tuple[dict[str, Any], list[SpanSpec]]],
    exporter_cfg: dict[str, Any],
    accept: str = "",
) -> str:
    agg = SpanMetricsAggregator(load_config(connector))
    agg.consume(request(resources), S)
    exp = exporter(exporter_cfg)
    exp.accept(agg.flush(S + 1), S + 1)
    resp = exp.scrape(accept, "", S + 2)
    assert resp.status == 200
    return resp.body.decode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_arbitrary_attributes_give_parseable_exposition(case: tuple[Any, Any, Any]) -> None:
    connector, resources, exporter_cfg = case
    text = render(connector, resources, exporter_cfg)
    samples, _types = parse_text(text)
    expected = sum(len(spans) for res, spans in resources if "service.name" in res)
    calls = [s for s in samples if s.name.endswith("calls_total")]
    assert sum(s.value for s in calls) <= expected
    om = render(
        connector,
        resources,
        {**exporter_cfg, "enable_open_metrics": True},
        "application/openmetrics-text;version=1.0.0",
    )
    assert om.endswith("# EOF\n")


def test_promtool_accepts_a_rich_sample() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    resources = [
        (
            {"service.name": "frontend", "service.instance.id": "i-1", "weird key é": 'v"\\\n', "n": 3},
            [
                SpanSpec(
                    'GET /a"b\\c\nd', 12_500_000, attrs={"dim.a": ["x", 1.5, True], "dim.b": b"\x00\xff"}
                ),
                SpanSpec("slow", 1_234_567_000_000, kind=3, status=2),
                SpanSpec("", 0, kind=9),
            ],
        )
    ]
    text = render({"dimensions": [{"name": "dim.a"}, {"name": "dim.b"}, {"name": "1st"}]}, resources, {})
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode != 1, output
    assert "error while linting" not in output
    assert "traces_span_metrics_calls_total" in text and "target_info" in text
