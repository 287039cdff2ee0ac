from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.tsdb.api import PrometheusAPI, format_timestamp, parse_duration, parse_time
from flightdeck.tsdb.storage import Storage


@pytest.fixture
def api() -> PrometheusAPI:
    s = Storage()
    s.append({"__name__": "m", "a": "x"}, 1_700_000_000_000, 0.5)
    return PrometheusAPI(s, now=lambda: 1_700_000_000.123)


def _get(api: PrometheusAPI, target: str) -> tuple[int, dict[str, object]]:
    status, _, body = api.handle("GET", target)
    return status, json.loads(body)


def test_vector_shape_is_byte_exact(api: PrometheusAPI) -> None:
    status, _, body = api.handle("GET", "/api/v1/query?query=m")
    assert status == 200
    assert body == (
        b'{"status":"success","data":{"resultType":"vector","result":'
        b'[{"metric":{"__name__":"m","a":"x"},"value":[1700000000.123,"0.5"]}]}}'
    )


def test_post_form(api: PrometheusAPI) -> None:
    status, _, body = api.handle(
        "POST", "/api/v1/query", b"query=m%2B1&time=1700000000", "application/x-www-form-urlencoded"
    )
    assert status == 200 and b'"value":[1700000000,"1.5"]' in body


def test_errors(api: PrometheusAPI) -> None:
    status, data = _get(api, "/api/v1/query?query=sum(")
    assert status == 400 and data["errorType"] == "bad_data"
    assert str(data["error"]).startswith('invalid parameter "query": ')
    status, data = _get(api, "/api/v1/query?query=time()&time=abc")
    assert data["error"] == (
        'invalid parameter "time": Invalid time value for \'time\': cannot parse "abc" to a valid timestamp'
    )
    status, data = _get(api, '/api/v1/query?query=label_replace(m,"1","","a","")')
    assert status == 422 and data["errorType"] == "execution"
    status, data = _get(api, "/api/v1/query?query=mad_over_time(m[5m])")
    assert status == 400 and 'unknown function with name "mad_over_time"' in str(data["error"])
    status, data = _get(api, "/api/v1/query?query=sort_by_label(m)")
    assert status == 400 and "sort_by_label" in str(data["error"])


def test_formatting() -> None:
    assert format_timestamp(1_700_000_000_500) == "1700000000.500"
    assert format_timestamp(1_700_000_000_050) == "1700000000.050"
    assert format_timestamp(1_700_000_000_000) == "1700000000"
    assert format_timestamp(-1500) == "-1.500"
    assert parse_time("1700000000.1234") == 1_700_000_000_123
    assert parse_time("2023-11-14T22:13:20.5Z") == 1_700_000_000_500
    assert parse_duration("1m30s") == 90_000
    assert parse_duration("0.5") == 500
    assert parse_duration("1d") == 86_400_000


def test_misc_endpoints(api: PrometheusAPI) -> None:
    assert api.handle("GET", "/-/healthy")[0] == 200
    assert api.handle("GET", "/-/ready")[0] == 200
    assert _get(api, "/api/v1/status/buildinfo")[1]["data"]["version"] == "2.42.0"  # type: ignore[index]
    assert _get(api, "/api/v1/labels")[1]["data"] == ["__name__", "a"]
    assert _get(api, "/api/v1/label/a/values")[1]["data"] == ["x"]
    assert _get(api, "/api/v1/series?match[]=m")[1]["data"] == [{"__name__": "m", "a": "x"}]
    assert _get(api, "/api/v1/series")[1]["error"] == "no match[] parameter provided"
    assert api.handle("GET", "/nope")[0] == 404


_param_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_param_text, _param_text, _param_text, _param_text)
def test_api_params_never_crash(query: str, start: str, end: str, step: str) -> None:
    api = PrometheusAPI(Storage(), now=lambda: 1.0)
    from urllib.parse import urlencode

    for target in (
        "/api/v1/query?" + urlencode({"query": query, "time": start, "timeout": step}),
        "/api/v1/query_range?" + urlencode({"query": query, "start": start, "end": end, "step": step}),
        "/api/v1/series?" + urlencode({"match[]": query, "start": start}),
        "/api/v1/label/" + urlencode({"x": query})[2:] + "/values",
    ):
        status, _, body = api.handle("GET", target)
        assert status in (200, 400, 404, 422, 503)
        json.loads(body) if status != 404 else None


def test_cli_serves_and_scrapes(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.exporter import MetricsExporter
    from tests.support.prometheus import free_port

    exporter = MetricsExporter()
    exporter.set("demo_gauge", {"k": "v"}, 3.0)
    address = exporter.start()
    config = Path(str(tmp_path)) / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{address}']\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flightdeck.cli.main",
            "prometheus",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        result: list[object] = []
        while time.monotonic() < deadline and not result:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": "demo_gauge"})
                result = resp.json()["data"]["result"]
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert result and result[0]["value"][1] == "3"  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        exporter.stop()


def test_cli_user_errors(tmp_path: object) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "bad.yml"
    bad.write_text("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flightdeck.cli.main",
            "prometheus",
            "--config",
            str(bad),
            "--listen",
            "127.0.0.1:0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "scrape timeout greater than scrape interval" in proc.stderr


def test_methods_like_prometheus(api: PrometheusAPI) -> None:
    for path in (
        "/api/v1/query?query=m",
        "/api/v1/query_range?query=m&start=1&end=2&step=1",
        "/api/v1/labels",
    ):
        assert api.handle("POST", path, b"", "application/x-www-form-urlencoded")[0] in (200, 400)
    for path in ("/api/v1/targets", "/api/v1/metadata", "/api/v1/status/config", "/api/v1/label/a/values"):
        status, headers, body = api.handle("POST", path)
        assert (status, body, headers["Allow"]) == (405, b"Method Not Allowed\n", "GET, OPTIONS")
    assert api.handle("OPTIONS", "/api/v1/query")[0] == 204
    status, headers, _ = api.handle("PUT", "/api/v1/query")
    assert status == 405 and headers["Allow"] == "GET, OPTIONS, POST"
    assert api.handle("GET", "/api/v1/write")[0] == 405


def test_status_and_scrape_pages_without_scraping(api: PrometheusAPI) -> None:
    assert _get(api, "/api/v1/targets")[1] == {
        "status": "success",
        "data": {"activeTargets": [], "droppedTargets": []},
    }
    assert _get(api, "/api/v1/metadata")[1] == {"status": "success", "data": {}}
    assert _get(api, "/api/v1/metadata?limit=x")[1]["error"] == "limit must be a number"
    config = _get(api, "/api/v1/status/config")[1]["data"]["yaml"]  # type: ignore[index]
    assert config.startswith("global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n")  # type: ignore[union-attr]


def test_label_values_escape_like_go() -> None:
    s = Storage()
    s.append({"__name__": "m", "v": "<a&b>"}, 1000, 1.0)
    _status, _, body = PrometheusAPI(s).handle("GET", "/api/v1/label/v/values")
    assert body == b'{"status":"success","data":["\\u003ca\\u0026b\\u003e"]}'


def test_query_limits() -> None:
    from flightdeck.tsdb.promql import Engine

    s = Storage()
    for i in range(50):
        s.append({"__name__": "m", "i": str(i)}, 1_000_000, 1.0)
    api = PrometheusAPI(s, Engine(s, max_samples=10))
    status, data = _get(api, "/api/v1/query?query=m&time=1000")
    assert status == 422 and data["errorType"] == "execution"
    assert data["error"] == "query processing would load too many samples into memory in query execution"
    slow = PrometheusAPI(s, query_timeout_s=0.0)
    status, data = _get(slow, "/api/v1/query?query=sum(m)&time=1000")
    assert (status, data["errorType"], data["error"]) == (
        503,
        "timeout",
        "query timed out in expression evaluation",
    )


def test_remote_write_through_the_api() -> None:
    import numpy as np

    from flightdeck.tsdb.remotewrite import compress, encode_write_request

    s = Storage()
    api = PrometheusAPI(s)
    body = compress(encode_write_request([([("__name__", "rw")], np.array([5000]), np.array([2.0]))]))
    assert api.handle("POST", "/api/v1/write", body)[0] == 204
    status, headers, text = api.handle("POST", "/api/v1/write", b"nope")
    assert (status, text, headers["Content-Type"]) == (
        400,
        b"snappy: corrupt input\n",
        "text/plain; charset=utf-8",
    )
    assert _get(api, "/api/v1/query?query=rw&time=5")[1]["data"]["result"][0]["value"] == [5, "2"]  # type: ignore[index]


_any_text = st.text(max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
                     "/api/v1/label/job/values", "/api/v1/metadata", "/api/v1/targets", "/api/v1/targets/metadata"]),
    st.dictionaries(
        st.sampled_from(["query", "time", "start", "end", "step", "timeout", "match[]", "limit", "metric",
                         "match_target", "state", "scrapePool"]),
        _any_text,
        max_size=6,
    ),
    st.sampled_from(["GET", "POST"]),
)  # fmt: skip
def test_any_parameters_give_a_prometheus_shaped_answer(
    path: str, params: dict[str, str], method: str
) -> None:
    from urllib.parse import urlencode

    s = Storage()
    s.append({"__name__": "m", "job": "j"}, 1_000, 1.0)
    api = PrometheusAPI(s, now=lambda: 1.0)
    if method == "POST":
        status, _headers, body = api.handle(
            "POST", path, urlencode(params).encode(), "application/x-www-form-urlencoded"
        )
    else:
        status, _headers, body = api.handle("GET", path + "?" + urlencode(params))
    if status == 405:
        return
    data = json.loads(body)
    assert data["status"] in ("success", "error")
    if data["status"] == "error":
        assert data["errorType"] in ("bad_data", "execution", "timeout", "internal")
        assert (
            status == {"bad_data": 400, "execution": 422, "timeout": 503, "internal": 500}[data["errorType"]]
        )
