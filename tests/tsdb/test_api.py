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
    status, data = _get(api, "/api/v1/query?query=holt_winters(m[5m],0.5,0.5)")
    assert status == 400
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
