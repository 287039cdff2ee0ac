"""Differential tests: the same data in real Prometheus 2.42 and in flightdeck; same answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.tsdb import dataset
from tests.tsdb.conftest import Pair
from tests.tsdb.diffutil import diff, fetch

pytestmark = pytest.mark.prometheus

T0 = dataset.T0
INSTANTS = [T0 + 1800.5, T0 + 610, T0 + 3599, T0 + 3700, T0 + 4000]
RANGE = {"start": str(T0 + 1200), "end": str(T0 + 2400), "step": "60"}

SEED = [
    'sum(rate(hotrod_requests_total{namespace="hotrod",rollouts_pod_template_hash="canary1"}[2m]))',
    'sum(rate(hotrod_requests_total{namespace="hotrod",rollouts_pod_template_hash="canary1",error="true"}[2m])) / '
    'sum(rate(hotrod_requests_total{namespace="hotrod",rollouts_pod_template_hash="canary1"}[2m]))',
    "histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket"
    '{hotrod_namespace="hotrod",hotrod_pod_hash="canary1"}[2m])))',
]

CORPUS = [
    *SEED,
    # selectors
    "http_requests_total",
    'http_requests_total{job="api"}',
    'http_requests_total{job!="api"}',
    'http_requests_total{code=~"5.."}',
    'http_requests_total{code!~"2.*",method="get"}',
    'http_requests_total{job=~"api|web",instance=~".*:80"}',
    '{__name__=~"temperature.*"}',
    '{__name__="queue_depth",region=""}',
    'queue_depth{region=~""}',
    'queue_depth{nonexistent=""}',
    'path_hits{path=~"/api/.*"}',
    'path_hits{path=~"/api/v[12]/users"}',
    'path_hits{path!~"/api.*|/healthz"}',
    "temperature_celsius offset 5m",
    "temperature_celsius offset -2m",
    f"temperature_celsius @ {T0 + 900}",
    f"temperature_celsius @ {T0 + 900} offset 1m",
    "sparse_gauge",
    "nonexistent_metric",
    "temperature_celsius[1m]",
    "http_requests_total[2m] offset 1m",
    "constant_gauge[1m]",
    # rate family
    "rate(http_requests_total[1m])",
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[10m])",
    "rate(http_requests_total[30s])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[5m])",
    "increase(http_requests_total[1h])",
    "delta(temperature_celsius[5m])",
    "idelta(temperature_celsius[5m])",
    "rate(http_requests_total[5m] offset 10m)",
    f"rate(http_requests_total[5m] @ {T0 + 1000})",
    "rate(sparse_gauge[5m])",
    "rate(sparse_gauge[10m])",
    "rate(signed_gauge[5m])",
    "increase(signed_gauge[3m])",
    "deriv(temperature_celsius[10m])",
    "deriv(constant_gauge[10m])",
    "predict_linear(temperature_celsius[10m], 3600)",
    "predict_linear(http_requests_total[5m], 600)",
    # over_time
    "avg_over_time(temperature_celsius[10m])",
    "sum_over_time(queue_depth[5m])",
    "min_over_time(signed_gauge[5m])",
    "max_over_time(signed_gauge[5m])",
    "count_over_time(queue_depth[10m])",
    "last_over_time(queue_depth[10m])",
    "present_over_time(queue_depth[10m])",
    "stddev_over_time(temperature_celsius[10m])",
    "stdvar_over_time(temperature_celsius[10m])",
    "quantile_over_time(0.9, temperature_celsius[10m])",
    "quantile_over_time(0, temperature_celsius[10m])",
    "quantile_over_time(1.5, temperature_celsius[10m])",
    "quantile_over_time(-1, temperature_celsius[10m])",
    "changes(sparse_gauge[30m])",
    "changes(constant_gauge[30m])",
    "resets(http_requests_total[1h])",
    "avg_over_time(nan_gauge[5m])",
    "max_over_time(nan_gauge[5m])",
    "min_over_time(nan_gauge[5m])",
    "sum_over_time(nan_gauge[5m])",
    "changes(nan_gauge[5m])",
    "absent_over_time(queue_depth[1m])",
    'absent_over_time(nonexistent{job="x"}[5m])',
    'absent_over_time(queue_depth{region="ap"}[2m])',
    # aggregation
    "sum(http_requests_total)",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "avg by (code) (http_requests_total)",
    "min by (job) (http_requests_total)",
    "max without (method, code) (http_requests_total)",
    "count(http_requests_total)",
    "count by (job, code) (http_requests_total)",
    "group by (job) (http_requests_total)",
    "stddev(temperature_celsius)",
    "stdvar by (region) (temperature_celsius)",
    "stddev without (region) (temperature_celsius)",
    "topk(3, http_requests_total)",
    "bottomk(2, http_requests_total)",
    "topk by (job) (1, rate(http_requests_total[5m]))",
    "bottomk without (instance) (1, http_requests_total)",
    "quantile(0.5, temperature_celsius)",
    "quantile by (job) (0.9, rate(http_requests_total[5m]))",
    'count_values("value", constant_gauge)',
    'count_values("code", http_requests_total{job="api"} > 1e9)',
    'count_values by (kind) ("v", sparse_gauge)',
    "sum(nonexistent_metric)",
    'sum by (__name__) ({__name__=~"temperature_celsius|queue_depth"})',
    "avg(nan_gauge)",
    "max(nan_gauge)",
    "sum(queue_depth) by (region)",
    "topk(0, http_requests_total)",
    # binary operators
    "http_requests_total * 2",
    "2 * http_requests_total",
    "http_requests_total / 0",
    "-http_requests_total",
    "-temperature_celsius + 10",
    "http_requests_total % 7",
    "temperature_celsius ^ 2",
    "2 ^ queue_depth",
    "http_requests_total > 5000",
    "5000 < http_requests_total",
    "http_requests_total > bool 5000",
    "5000 >= bool http_requests_total",
    "temperature_celsius == 20",
    "temperature_celsius != bool 20",
    "1 + 2 * 3",
    "2 ^ 3 ^ 2",
    "10 % 3",
    "1 > bool 2",
    "(1 + 2) / 0",
    "-(-1)",
    "temperature_celsius - queue_depth",
    "temperature_celsius - on(region) queue_depth",
    "temperature_celsius / ignoring(__name__) queue_depth",
    'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])',
    "sum by (job) (rate(http_requests_total[5m])) / on(job) group_left sum by (job) (rate(http_requests_total[10m]))",
    "rate(http_requests_total[5m]) / on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
    "sum by (job, instance) (rate(http_requests_total[5m])) / on(job, instance) group_right rate(http_requests_total[5m])",
    "http_requests_total * on(instance) group_left(os, version) node_info",
    "node_info * on(instance) group_right(os) http_requests_total",
    "http_requests_total > on(job, instance, code, method) http_requests_total offset 5m",
    "http_requests_total > bool on(job, instance, code, method) http_requests_total offset 5m",
    "http_requests_total and http_requests_total > 3000",
    'http_requests_total and on(job) http_requests_total{job="api", code="500"}',
    'http_requests_total{job="api"} or http_requests_total{code="500"}',
    "temperature_celsius or queue_depth",
    "temperature_celsius or on(region) queue_depth",
    "http_requests_total unless http_requests_total > 3000",
    'http_requests_total unless on(code) http_requests_total{code="500"}',
    "temperature_celsius unless ignoring(__name__) queue_depth",
    'queue_depth{region="ap"} or vector(0)',
    "sum(queue_depth) + sum(temperature_celsius)",
    "sum(queue_depth) > bool 10",
    "temperature_celsius atan2 queue_depth",
    "http_requests_total + 1 > 100",
    # errors
    "http_requests_total / on(job) http_requests_total",
    "http_requests_total + ignoring(code) http_requests_total",
    "http_requests_total * on(job) group_left http_requests_total",
    "rate(dup_a[5m]) or rate(dup_b[5m])",
    'rate({__name__=~"dup_.*"}[5m])',
    '-{__name__=~"dup_.*"}',
    '{__name__=~"dup_.*"} * 2',
    'abs({__name__=~"dup_.*"})',
    'label_replace(http_requests_total, "code", "x", "", "")',
    'label_replace(http_requests_total, "1bad", "x", "code", "(.*)")',
    'label_replace(http_requests_total, "x", "x", "code", "(")',
    "sum(",
    "rate(http_requests_total)",
    "foo{",
    'count_values("1bad", constant_gauge)',
    # functions
    "abs(signed_gauge)",
    "ceil(signed_gauge)",
    "floor(signed_gauge)",
    "round(signed_gauge)",
    "round(temperature_celsius, 5)",
    "round(temperature_celsius, 0.1)",
    "clamp(signed_gauge, -2, 2)",
    "clamp(signed_gauge, 2, -2)",
    "clamp_min(signed_gauge, 0)",
    "clamp_max(signed_gauge, 0)",
    "exp(signed_gauge)",
    "ln(queue_depth)",
    "log2(queue_depth)",
    "log10(queue_depth)",
    "sqrt(queue_depth)",
    "sgn(signed_gauge)",
    "time()",
    "time() - 100",
    "timestamp(temperature_celsius)",
    "timestamp(temperature_celsius offset 2m)",
    "timestamp(sum(temperature_celsius))",
    "vector(1)",
    "vector(time())",
    "scalar(constant_gauge)",
    "scalar(temperature_celsius)",
    "scalar(nonexistent_metric)",
    "constant_gauge * scalar(constant_gauge)",
    "absent(nonexistent_metric)",
    'absent(nonexistent_metric{job="a", code=~"5.."})',
    'absent(nonexistent_metric{job="a", job="b"})',
    "absent(temperature_celsius)",
    "absent(sum(nonexistent_metric))",
    'label_replace(http_requests_total, "short", "$1", "instance", "(.*):.*")',
    'label_replace(http_requests_total, "short", "${1}x", "instance", "(.*):(.*)")',
    'label_replace(http_requests_total, "job", "", "job", ".*")',
    'label_replace(http_requests_total, "nomatch", "$1", "instance", "zzz(.*)")',
    'label_replace(http_requests_total, "n", "$name-$2", "instance", "(?P<name>.*):(\\\\d+)")',
    'label_join(http_requests_total, "combined", "-", "job", "code", "method")',
    'label_join(http_requests_total, "job", "", "nonexistent")',
    "sort(temperature_celsius)",
    "sort_desc(temperature_celsius)",
    "sort(nan_gauge)",
    "histogram_quantile(0.5, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.99, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(1, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(1.5, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(-0.5, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.9, request_duration_seconds_bucket)",
    'histogram_quantile(0.9, request_duration_seconds_bucket{le="+Inf"})',
    'histogram_quantile(0.9, request_duration_seconds_bucket{le!="+Inf"})',
    'histogram_quantile(0.9, request_duration_seconds_bucket{le=~"0.1|+Inf"})',
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]) * 0)",
    "histogram_quantile(0.75, sum by (le, hotrod_pod_hash) (rate(traces_span_metrics_duration_milliseconds_bucket[2m])))",
    "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
    "day_of_month()",
    "day_of_week()",
    "day_of_year()",
    "days_in_month()",
    "hour()",
    "minute()",
    "month()",
    "year()",
    "hour(timestamp(temperature_celsius))",
    "minute(constant_gauge * 1000000)",
    "days_in_month(vector(1706745600))",
    "day_of_week(vector(1700000000))",
    # subqueries
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "avg_over_time(temperature_celsius[10m:])",
    "rate(http_requests_total[5m:30s])",
    "sum_over_time(sum(queue_depth)[5m:1m] offset 5m)",
    "min_over_time(deriv(temperature_celsius[5m])[15m:2m])",
    f"max_over_time(temperature_celsius[10m:1m] @ {T0 + 1500})",
    "count_over_time(vector(1)[5m:1m])",
    # trigonometry and friends
    "acos(clamp(signed_gauge / 10, -1, 1))",
    "acos(signed_gauge)",
    "acosh(constant_gauge)",
    "asin(clamp(signed_gauge / 10, -1, 1))",
    "asinh(signed_gauge)",
    "atan(signed_gauge)",
    "atanh(clamp(signed_gauge / 11, -0.99, 0.99))",
    "cos(signed_gauge)",
    "cosh(signed_gauge)",
    "sin(temperature_celsius)",
    "sinh(signed_gauge)",
    "tan(signed_gauge)",
    "tanh(signed_gauge)",
    "deg(signed_gauge)",
    "rad(temperature_celsius)",
    "pi()",
    "pi() * 2",
    "holt_winters(temperature_celsius[10m], 0.5, 0.5)",
    "holt_winters(http_requests_total[5m], 0.1, 0.9)",
    "holt_winters(sparse_gauge[10m], 0.3, 0.3)",
    "holt_winters(queue_depth[5m], 1, 0.5)",
    "holt_winters(queue_depth[5m], 0.5, 0)",
    "histogram_count(request_duration_seconds_bucket)",
    "histogram_sum(rate(request_duration_seconds_count[5m]))",
    "histogram_fraction(0, 0.5, request_duration_seconds_bucket)",
    "ln(signed_gauge)",
    "sqrt(signed_gauge)",
    "signed_gauge % -3",
    "temperature_celsius > on(region) queue_depth",
    "temperature_celsius < bool ignoring(__name__) queue_depth",
    "queue_depth >= 5",
    "queue_depth <= bool 5",
    "queue_depth == bool queue_depth",
    "http_requests_total ^ 0",
    "temperature_celsius atan2 2",
    "sum by (job) (http_requests_total) % on(job) sum by (job) (http_requests_total offset 5m)",
    "mad_over_time(queue_depth[5m])",
    # literals
    "42",
    "-3.5",
    '"hello"',
    "Inf",
    "-Inf",
    "NaN",
    "0x1f",
    "1e3",
    "(((temperature_celsius)))",
]

RANGE_CORPUS = [
    *SEED,
    "http_requests_total",
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "queue_depth",
    'queue_depth{region="ap"}',
    'absent(queue_depth{region="ap"})',
    'absent_over_time(queue_depth{region="ap"}[1m])',
    "topk(2, temperature_celsius)",
    "bottomk(1, temperature_celsius)",
    "temperature_celsius > 20",
    "temperature_celsius or queue_depth",
    'queue_depth{region="ap"} or vector(0)',
    "scalar(temperature_celsius)",
    "time()",
    "1 + 1",
    "vector(time())",
    "timestamp(queue_depth)",
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
    'count_values("v", round(temperature_celsius))',
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    f"temperature_celsius @ {T0 + 900}",
    "temperature_celsius @ start()",
    "rate(http_requests_total[5m] @ end())",
    "predict_linear(queue_depth[10m] @ end(), 60)",
    'label_replace(queue_depth, "r", "$1", "region", "(.)")',
    "hour()",
    "sort_desc(temperature_celsius)",
    "rate(dup_a[5m]) or rate(dup_b[5m])",
    "temperature_celsius[5m]",
    "changes(queue_depth[10m])",
    "deriv(queue_depth[10m])",
    "quantile(0.3, queue_depth)",
    # every function and operator once more, over a range
    "abs(signed_gauge)",
    "ceil(signed_gauge)",
    "floor(signed_gauge)",
    "round(temperature_celsius, 0.5)",
    "clamp(signed_gauge, -2, 2)",
    "clamp_min(signed_gauge, 0)",
    "clamp_max(signed_gauge, 0)",
    "exp(signed_gauge)",
    "ln(queue_depth)",
    "log2(queue_depth)",
    "log10(queue_depth)",
    "sqrt(queue_depth)",
    "sgn(signed_gauge)",
    "acos(clamp(signed_gauge / 10, -1, 1))",
    "acosh(constant_gauge)",
    "asin(clamp(signed_gauge / 10, -1, 1))",
    "asinh(signed_gauge)",
    "atan(signed_gauge)",
    "atanh(clamp(signed_gauge / 11, -0.99, 0.99))",
    "cos(signed_gauge)",
    "cosh(signed_gauge)",
    "sin(temperature_celsius)",
    "sinh(signed_gauge)",
    "tan(signed_gauge)",
    "tanh(signed_gauge)",
    "deg(signed_gauge)",
    "rad(signed_gauge)",
    "pi()",
    "scalar(sum(queue_depth))",
    "vector(1)",
    "absent(nonexistent_metric)",
    'label_join(queue_depth, "x", "-", "region", "__name__")',
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[5m])",
    "delta(temperature_celsius[5m])",
    "idelta(temperature_celsius[5m])",
    "avg_over_time(temperature_celsius[10m])",
    "sum_over_time(queue_depth[5m])",
    "min_over_time(signed_gauge[5m])",
    "max_over_time(signed_gauge[5m])",
    "count_over_time(queue_depth[10m])",
    "last_over_time(queue_depth[10m])",
    "present_over_time(queue_depth[10m])",
    "stddev_over_time(temperature_celsius[10m])",
    "stdvar_over_time(temperature_celsius[10m])",
    "quantile_over_time(0.5, temperature_celsius[10m])",
    "resets(http_requests_total[30m])",
    "holt_winters(temperature_celsius[10m], 0.3, 0.7)",
    "predict_linear(temperature_celsius[10m], 600)",
    "histogram_count(request_duration_seconds_bucket)",
    "histogram_sum(request_duration_seconds_bucket)",
    "histogram_fraction(0, 1, request_duration_seconds_bucket)",
    "histogram_quantile(0.5, sum by (le, service) (rate(request_duration_seconds_bucket[5m])))",
    "day_of_week()",
    "day_of_month()",
    "day_of_year()",
    "days_in_month()",
    "minute()",
    "month()",
    "year()",
    "avg(temperature_celsius)",
    "min by (job) (http_requests_total)",
    "max without (code, method) (http_requests_total)",
    "count(http_requests_total)",
    "group by (job) (http_requests_total)",
    "stddev(temperature_celsius)",
    "stdvar by (region) (temperature_celsius)",
    "sum(http_requests_total)",
    "quantile by (job) (0.9, rate(http_requests_total[5m]))",
    "http_requests_total % 7",
    "temperature_celsius ^ 2",
    "temperature_celsius - on(region) queue_depth",
    "temperature_celsius >= bool 20",
    "temperature_celsius != 20",
    "temperature_celsius < 20",
    "temperature_celsius <= bool on(region) queue_depth",
    "queue_depth == bool queue_depth",
    "http_requests_total and http_requests_total > 3000",
    "http_requests_total unless http_requests_total > 3000",
    "rate(http_requests_total[5m]) / on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
    "node_info * on(instance) group_right(os) http_requests_total",
    "temperature_celsius atan2 queue_depth",
    "-temperature_celsius",
    "temperature_celsius offset 5m",
    "rate(http_requests_total[5m] offset 10m)",
    "avg_over_time(temperature_celsius[10m:1m])",
    "min_over_time(deriv(temperature_celsius[5m])[15m:2m])",
    "timestamp(temperature_celsius offset 2m)",
    "sum(queue_depth) * 2 - 1",
    "10 / sum(queue_depth)",
    "sort(temperature_celsius)",
]

ORDERED_PREFIXES = ("sort(", "sort_desc(")


def _walk(node: Any, found: set[str]) -> None:
    """Collect every function, aggregation, operator and modifier a query uses."""
    kind = type(node).__name__
    if kind == "Call":
        name = node.func.name
        found.add("fn:" + ("holt_winters" if name == "double_exponential_smoothing" else name))
        for a in node.args:
            _walk(a, found)
    elif kind == "AggregateExpr":
        found.add(f"agg:{node.op}")
        if node.modifier is not None:
            found.add(f"agg-mod:{str(node.modifier.type).rsplit('.', 1)[-1]}")
        _walk(node.expr, found)
        if node.param is not None:
            _walk(node.param, found)
    elif kind == "BinaryExpr":
        op = str(node.op)
        found.add(f"op:{op}")
        mod = node.modifier
        if mod is not None:
            if mod.return_bool:
                found.add(f"op-bool:{op}")
            if mod.matching is not None:
                found.add(f"match:{str(mod.matching.type).rsplit('.', 1)[-1]}")
            if mod.card is not None:
                found.add(f"card:{str(mod.card).rsplit('.', 1)[-1]}")
        _walk(node.lhs, found)
        _walk(node.rhs, found)
    elif kind in ("ParenExpr", "UnaryExpr"):
        if kind == "UnaryExpr":
            found.add("op:unary-")
        _walk(node.expr, found)
    elif kind == "MatrixSelector":
        _walk(node.vector_selector, found)
    elif kind == "SubqueryExpr":
        found.add("subquery")
        _walk(node.expr, found)
    elif kind == "VectorSelector":
        if node.offset is not None:
            found.add("offset")
        if node.at is not None:
            found.add("@")


def _coverage(queries: list[str]) -> set[str]:
    from flightdeck.tsdb.promql import Engine

    found: set[str] = set()
    for q in queries:
        try:
            _walk(Engine.parse(q), found)
        except Exception:  # queries that are meant to fail parsing
            continue
    return found


def test_corpus_covers_every_function_and_operator() -> None:
    from flightdeck.tsdb.promql.functions import PROMETHEUS_2_FUNCTIONS

    assert len(set(CORPUS) | set(RANGE_CORPUS)) >= 300
    wanted = {f"fn:{f}" for f in PROMETHEUS_2_FUNCTIONS}
    wanted |= {f"agg:{a}" for a in ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk",
                                    "bottomk", "quantile", "count_values")}  # fmt: skip
    wanted |= {f"op:{o}" for o in ("+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=",
                                   "and", "or", "unless", "unary-")}  # fmt: skip
    wanted |= {f"op-bool:{o}" for o in ("==", "!=", ">", "<", ">=", "<=")}
    wanted |= {
        "match:Include",
        "match:Exclude",
        "card:ManyToOne",
        "card:OneToMany",
        "agg-mod:By",
        "agg-mod:Without",
    }
    wanted |= {"offset", "@", "subquery"}
    instant = _coverage(CORPUS)
    assert wanted - instant == set(), "instant corpus misses"
    range_wanted = {w for w in wanted if w.startswith(("fn:", "agg:", "op:"))}
    assert range_wanted - _coverage(RANGE_CORPUS) == set(), "range corpus misses"


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def _check(
    client: httpx.Client, pair: Pair, path: str, params: dict[str, str], ordered: bool = False
) -> None:
    expected = fetch(client, pair.prometheus_url, path, params)
    actual = fetch(client, pair.flightdeck_url, path, params)
    problem = diff(expected, actual, ordered=ordered)
    assert problem is None, f"{path} {params}: {problem}"


@pytest.mark.parametrize("query", CORPUS)
def test_instant(client: httpx.Client, pair: Pair, query: str) -> None:
    failures = []
    for t in INSTANTS:
        try:
            _check(
                client,
                pair,
                "/api/v1/query",
                {"query": query, "time": str(t)},
                query.startswith(ORDERED_PREFIXES),
            )
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("query", RANGE_CORPUS)
def test_range(client: httpx.Client, pair: Pair, query: str) -> None:
    _check(client, pair, "/api/v1/query_range", {"query": query, **RANGE})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/series", {"match[]": "queue_depth"}),
        ("/api/v1/series", {"match[]": 'http_requests_total{job="api",code=~"5.."}'}),
        ("/api/v1/series", {"match[]": "nonexistent"}),
        ("/api/v1/labels", {}),
        ("/api/v1/label/job/values", {}),
        ("/api/v1/label/__name__/values", {}),
        ("/api/v1/label/nonexistent/values", {}),
        ("/api/v1/query_range", {"query": "time()", "start": "1", "end": "0", "step": "1"}),
        ("/api/v1/query_range", {"query": "time()", "start": "0", "end": "10", "step": "0"}),
        ("/api/v1/query_range", {"query": "time()", "start": "x", "end": "10", "step": "1"}),
        ("/api/v1/query_range", {"query": "time()", "start": "0", "end": "100000", "step": "1"}),
        ("/api/v1/query_range", {"query": "http_requests_total[5m]", "start": "0", "end": "10", "step": "1"}),
        ("/api/v1/query", {"query": "time()", "time": "abc"}),
        ("/api/v1/query", {"query": "time()", "time": "2023-11-14T22:13:20.5Z"}),
        ("/api/v1/query", {"query": "time()", "time": "2023-11-14T23:13:20+01:00"}),
        ("/api/v1/query", {"query": "time()", "time": "1700000000.1234"}),
        (
            "/api/v1/query_range",
            {"query": "time()", "start": "1700000000", "end": "1700000100", "step": "30s"},
        ),
        (
            "/api/v1/query_range",
            {"query": "time()", "start": "1700000000", "end": "1700003600", "step": "1m30s"},
        ),
        ("/api/v1/query", {"query": "time()", "time": "1700000000", "timeout": "bad"}),
    ],
)
def test_api_endpoints(client: httpx.Client, pair: Pair, path: str, params: dict[str, str]) -> None:
    expected = fetch(client, pair.prometheus_url, path, params)
    actual = fetch(client, pair.flightdeck_url, path, params)
    if path.startswith("/api/v1/query"):
        problem = diff(expected, actual)
        assert problem is None, problem
        if expected[1]["status"] == "error" and "parse error" not in expected[1]["error"]:
            assert expected[1]["error"] == actual[1]["error"]
    else:
        assert expected == actual
