"""A real client: ``promtool query instant|range|series|labels`` prints the same against flightdeck's
API as against Prometheus (same data set in both, see conftest.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.tsdb import dataset
from tests.tsdb.conftest import Pair
from tests.tsdb.test_differential import SEED

pytestmark = pytest.mark.prometheus

T0 = dataset.T0
AT = str(T0 + 1800)

INSTANT = [
    'http_requests_total{job="api"}',
    'rate(http_requests_total{job="api"}[5m])',
    "sum by (job) (rate(http_requests_total[5m]))",
    "topk(3, http_requests_total)",
    "bottomk(2, rate(http_requests_total[5m]))",
    "sort_desc(sum by (region) (temperature_celsius))",
    "scalar(constant_gauge)",
    'http_requests_total{job="api", code="500"}[1m]',
    "temperature_celsius > 20",
    'count_values("v", constant_gauge)',
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    'label_replace(queue_depth, "r", "$1", "region", "(.)")',
    "temperature_celsius or queue_depth",
    *SEED,
]
RANGE = [
    'rate(http_requests_total{job="web"}[5m])',
    "sum(queue_depth)",
    "sum by (job) (rate(http_requests_total[5m]))",
    "time()",
]


def _promtool(*args: str) -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is needed")
    proc = subprocess.run([path, "query", *args], capture_output=True, text=True, timeout=60)
    return f"rc={proc.returncode}\n{proc.stdout}{proc.stderr}"


def _same(pair: Pair, *args: str) -> None:
    """``promtool query ARGS… SERVER EXPR`` against both servers."""
    *flags, expr = args
    expected = _promtool(*flags, pair.prometheus_url, expr)
    actual = _promtool(*flags, pair.flightdeck_url, expr)
    assert "rc=0" in expected
    assert actual == expected


@pytest.mark.parametrize("query", INSTANT)
@pytest.mark.parametrize("fmt", ["promql", "json"])
def test_promtool_query_instant(pair: Pair, query: str, fmt: str) -> None:
    _same(pair, "instant", f"--time={AT}", f"--format={fmt}", query)


@pytest.mark.parametrize("query", RANGE)
def test_promtool_query_range(pair: Pair, query: str) -> None:
    _same(pair, "range", f"--start={T0 + 1200}", f"--end={T0 + 1500}", "--step=1m", query)


@pytest.mark.parametrize(
    "match", ["queue_depth", 'http_requests_total{code="500",job=~"a.*"}', "nonexistent"]
)
def test_promtool_query_series(pair: Pair, match: str) -> None:
    expected = _promtool("series", f"--match={match}", pair.prometheus_url)
    actual = _promtool("series", f"--match={match}", pair.flightdeck_url)
    assert actual == expected


@pytest.mark.parametrize("name", ["job", "__name__", "region", "nonexistent"])
def test_promtool_query_labels(pair: Pair, name: str) -> None:
    expected = _promtool("labels", pair.prometheus_url, name)
    actual = _promtool("labels", pair.flightdeck_url, name)
    assert actual == expected
