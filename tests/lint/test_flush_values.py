"""The abstract evaluation of young span metrics agrees with the PromQL engine (flightdeck.tsdb, itself
checked against Prometheus 2.42) on stores that hold exactly what a young canary has."""

from __future__ import annotations

import math

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.lint.flush_values import EMPTY, Empty, Value, rate_calls, young_value
from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.storage import Storage

CALLS = "traces_span_metrics_calls_total"
BUCKET = "traces_span_metrics_duration_milliseconds_bucket"
NOW_MS = 600_000
SCRAPE_MS = 15_000


class Connector:
    """The default connector's names (what lint.spanmetrics derives from a config)."""

    names = frozenset({CALLS, BUCKET, "traces_span_metrics_duration_milliseconds_count"})

    def produces(self, name: str) -> bool:
        return name in self.names or name.startswith("traces_span_metrics_")

    def matches(self, pattern: str) -> bool:
        import re

        return any(re.fullmatch(pattern, n) for n in self.names)


CONNECTOR = Connector()


def store(stage: str) -> Storage:
    """``empty``: before the first flush (no span metrics); ``zero``: after it, one cumulative value
    scraped several times. Another counter (``hotrod_requests_total``) grows either way."""
    s = Storage()
    times = list(range(NOW_MS - 8 * SCRAPE_MS, NOW_MS + 1, SCRAPE_MS))
    for pod in ("a", "b"):
        s.append_series(
            {"__name__": "hotrod_requests_total", "pod": pod}, times, [float(i) for i in range(len(times))]
        )
        if stage == "zero":
            recent = times[-4:]
            for service in ("frontend", "driver"):
                labels = {"service_name": service, "pod": pod}
                s.append_series({"__name__": CALLS, **labels}, recent, [7.0] * len(recent))
                for le in ("100", "1000", "+Inf"):
                    s.append_series({"__name__": BUCKET, "le": le, **labels}, recent, [7.0] * len(recent))
    return s


STORES = {"empty": store("empty"), "zero": store("zero")}
STAGE_VALUE: dict[str, float | Empty] = {"empty": EMPTY, "zero": 0.0}


def engine_value(query: str, stage: str) -> tuple[str, list[float]]:
    result = Engine(STORES[stage]).instant_query(query, NOW_MS)
    if result.result_type == "scalar":
        return "scalar", [result.value[1]]
    return "vector", [v for _, _, v in result.value]


def agrees(predicted: Value, kind: str, actual: list[float]) -> bool:
    if predicted is None:
        return True
    if isinstance(predicted, Empty):
        return kind == "vector" and actual == []
    return bool(actual) and all(v == predicted or (math.isnan(v) and math.isnan(predicted)) for v in actual)


RATES = [
    f"rate({CALLS}[2m])",
    f"increase({CALLS}[2m])",
    f"irate({CALLS}[2m])",
    f"deriv({CALLS}[2m])",
    f'rate({{__name__=~"{CALLS}"}}[2m])',
    f"rate({CALLS}[2m:15s])",
]
OTHER = ["rate(hotrod_requests_total[2m])", "hotrod_requests_total", f"{CALLS}", "vector(0)", "vector(1)"]


@st.composite
def vectors(draw: st.DrawFn, depth: int = 0) -> str:
    leaf = st.sampled_from(RATES + OTHER)
    if depth >= 3:
        return draw(leaf)
    inner = vectors(depth + 1)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(leaf)
    if choice in (1, 2):
        agg = draw(
            st.sampled_from(["sum", "avg", "max", "min", "count", "group", "stddev", "topk", "quantile"])
        )
        by = draw(st.sampled_from(["", " by (service_name)", " by (le)", " without (pod)"]))
        param = {"topk": "1, ", "quantile": "0.9, "}.get(agg, "")
        return f"{agg}{by} ({param}{draw(inner)})"
    if choice == 3:
        by = draw(st.sampled_from(["(le)", "(le, service_name)"]))
        q = draw(st.sampled_from(["0.5", "0.95"]))
        return f"histogram_quantile({q}, sum by {by} (rate({BUCKET}[2m])))"
    if choice == 4:
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", ">", "<", "==", ">=", "> bool", "< bool"]))
        number = draw(st.sampled_from(["0", "1", "100", "0.5", "scalar"]))
        if number == "scalar":
            number = f"scalar({draw(inner)})"
        left = draw(st.booleans())
        return f"({draw(inner)}) {op} {number}" if left else f"{number} {op} ({draw(inner)})"
    if choice in (5, 6):
        op = draw(st.sampled_from(["+", "-", "*", "/", ">", "<=", "and", "or", "unless", "> bool"]))
        matching = draw(st.sampled_from(["", " on()", " ignoring(pod)"]))
        return f"({draw(inner)}) {op}{matching} ({draw(inner)})"
    if choice == 7:
        fn = draw(st.sampled_from(["abs", "ceil", "floor", "round", "sgn", "sort", "absent"]))
        return f"{fn}({draw(inner)})"
    if choice == 8:
        fn = draw(st.sampled_from(["clamp_min", "clamp_max"]))
        return f"{fn}({draw(inner)}, {draw(st.sampled_from(['0', '1', '-1']))})"
    fn = draw(st.sampled_from(["max_over_time", "sum_over_time", "avg_over_time", "last_over_time"]))
    return f"{fn}(({draw(inner)})[1m:15s])"


def check(query: str) -> None:
    try:
        node = promql_parser.parse(query)
        kinds = {stage: engine_value(query, stage) for stage in STORES}
    except Exception:  # type errors the grammar can produce (e.g. a scalar where a vector is needed)
        return
    for stage, (kind, actual) in kinds.items():
        predicted = young_value(node, CONNECTOR, STAGE_VALUE[stage])
        assert agrees(predicted, kind, actual), (query, stage, predicted, actual)


@settings(max_examples=400, deadline=None)
@given(vectors())
def test_young_values_agree_with_the_engine(query: str) -> None:
    check(query)


@pytest.mark.parametrize(
    ("query", "zero", "empty"),
    [
        # The seed's latency check: NaN after the first flush, no data before it.
        (f"histogram_quantile(0.95, sum by (le) (rate({BUCKET}[2m])))", math.nan, EMPTY),
        (f"sum(rate({CALLS}[2m]))", 0.0, EMPTY),
        (f"sum(rate({CALLS}[2m])) / sum(rate({CALLS}[2m]))", math.nan, EMPTY),
        (f"sum(rate({CALLS}[2m])) or vector(0)", 0.0, 0.0),
        (f"scalar(sum(rate({CALLS}[2m])))", 0.0, math.nan),
        (f"absent({CALLS})", None, None),
        # Mixed with another metric, or a vector without a rate: not determined.
        (f"sum(rate({CALLS}[2m])) / sum(rate(hotrod_requests_total[2m]))", None, EMPTY),
        (f"max_over_time({BUCKET}[2m])", None, None),
    ],
)
def test_known_values(query: str, zero: Value, empty: Value) -> None:
    node = promql_parser.parse(query)
    for stage, expected in (("zero", zero), ("empty", empty)):
        got = young_value(node, CONNECTOR, STAGE_VALUE[stage])
        if isinstance(expected, float) and math.isnan(expected):
            assert isinstance(got, float) and math.isnan(got)
        else:
            assert got == expected, (query, stage)
        assert agrees(got, *engine_value(query, stage))


def test_rate_calls_name_the_functions_and_series() -> None:
    node = promql_parser.parse(
        f'histogram_quantile(0.9, sum by (le) (increase({BUCKET}[5m]))) + sum(rate({{__name__=~"{CALLS}"}}[1m]))'
        " + sum(rate(hotrod_requests_total[1m]))"
    )
    assert [(c.function, c.metric) for c in rate_calls(node, CONNECTOR)] == [
        ("increase", BUCKET),
        ("rate", f'{{__name__=~"{CALLS}"}}'),
    ]
