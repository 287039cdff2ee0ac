"""The prometheus provider against a canned Prometheus API (spec §3, §8.3)."""

from __future__ import annotations

import base64
import json
import socket
import urllib.parse
from typing import Any

import pytest

from flightdeck.analysis.providers import ProviderError, build_provider
from flightdeck.analysis.providers.prometheus import (
    PrometheusProvider,
    endpoint_url,
    eval_time,
    is_url,
)
from flightdeck.analysis.types import Phase
from tests.analysis.providers.conftest import CannedServer, Reply, make_ctx, metric_of

NOW = 1_700_000_000.0


def prom_metric(address: str, query: str = "up", **fields: Any) -> Any:
    extra = {k: v for k, v in fields.items() if k in ("successCondition", "failureCondition")}
    spec = {"address": address, "query": query}
    spec.update({k: v for k, v in fields.items() if k not in extra})
    return metric_of({"prometheus": spec}, **extra)


def success(data: dict[str, Any], warnings: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        out["warnings"] = warnings
    return out


def vector(*values: str) -> dict[str, Any]:
    return {
        "resultType": "vector",
        "result": [{"metric": {"i": str(i)}, "value": [NOW, v]} for i, v in enumerate(values)],
    }


def scalar(value: str) -> dict[str, Any]:
    return {"resultType": "scalar", "result": [NOW, value]}


def measure(canned: CannedServer, payload: Any, status: int = 200, **fields: Any) -> Any:
    canned.json(payload, status=status)
    metric = prom_metric(canned.url, **fields)
    return PrometheusProvider(metric).run(make_ctx(NOW), metric)


# -- §8.3: response → measurement (needs conditions) ------------------------------------------------

CONDITION_ROWS = [
    (
        "vector-ok",
        success(vector("0.0123")),
        {"successCondition": "result[0] < 0.05"},
        Phase.SUCCESSFUL,
        "[0.0123]",
        "",
    ),
    (
        "vector-empty-index",
        success(vector()),
        {"successCondition": "result[0] < 0.05"},
        Phase.ERROR,
        "",
        "reflect: slice index out of range",
    ),
    ("vector-empty-nocond", success(vector()), {}, Phase.SUCCESSFUL, "[]", ""),
    ("scalar-10", success(scalar("10")), {"successCondition": "result == 10"}, Phase.SUCCESSFUL, "10", ""),
    (
        "vector-10-11",
        success(vector("10", "11")),
        {"successCondition": "10 in result", "failureCondition": "len(result) != 2"},
        Phase.SUCCESSFUL,
        "[10,11]",
        "",
    ),
    (
        "scalar-nan",
        success(scalar("NaN")),
        {"successCondition": "result >= 0.9", "failureCondition": "result < 0.9"},
        Phase.INCONCLUSIVE,
        "NaN",
        "",
    ),
    ("scalar-inf", success(scalar("+Inf")), {"failureCondition": "isInf(result)"}, Phase.FAILED, "+Inf", ""),
    (
        "vector-0.2-failed",
        success(vector("0.2")),
        {"successCondition": "result[0] < 0.05"},
        Phase.FAILED,
        "[0.2]",
        "",
    ),
    (
        "vector-nan-failure-only",
        success(vector("NaN")),
        {"failureCondition": "result[0] > 0.05"},
        Phase.SUCCESSFUL,
        "[NaN]",
        "",
    ),
    (
        "scalar-index",
        success(scalar("0.2")),
        {"successCondition": "result[0] < 0.05"},
        Phase.ERROR,
        "",
        "type float64[int] is undefined",
    ),
    (
        "vector-mismatch",
        success(vector("0.2")),
        {"successCondition": "result < 0.05"},
        Phase.ERROR,
        "",
        "invalid operation: < (mismatched types []float64 and float64)",
    ),
]


@pytest.mark.parametrize(
    ("payload", "conditions", "phase", "value", "message"),
    [row[1:] for row in CONDITION_ROWS],
    ids=[row[0] for row in CONDITION_ROWS],
)
def test_response_to_measurement(
    canned: CannedServer, payload: Any, conditions: dict[str, str], phase: Phase, value: str, message: str
) -> None:
    m = measure(canned, payload, **conditions)
    assert (m.phase, m.value, m.message) == (phase, value, message)
    assert m.started_at == NOW and m.finished_at == NOW


def test_matrix_from_range_query_is_flattened(canned: CannedServer) -> None:
    data = {
        "resultType": "matrix",
        "result": [
            {"metric": {"s": "1"}, "values": [[NOW - 60, "11"], [NOW, "12"]]},
            {"metric": {"s": "2"}, "values": [[NOW - 60, "13"], [NOW, "14"]]},
        ],
    }
    canned.json(success(data))
    metric = prom_metric(
        canned.url,
        rangeQuery={"start": 'now() - duration("5m")', "end": "now()", "step": "1m"},
        successCondition="all(result, # > 10)",
        failureCondition="all(result, # < 10)",
    )
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.value, m.message) == (Phase.SUCCESSFUL, "[11,12,13,14]", "")
    (req,) = canned.requests
    assert (req.method, req.path) == ("POST", "/api/v1/query_range")
    assert urllib.parse.parse_qs(req.body.decode()) == {
        "query": ["up"],
        "start": [str(int(NOW - 300))],
        "end": [str(int(NOW))],
        "step": ["60"],
    }


# -- values and errors that do not involve a condition ---------------------------------------------

VALUE_ROWS = [
    ("1e-10", "[0.0000000001]"),
    ("1e21", "[1000000000000000000000]"),
    ("100", "[100]"),
    ("-0", "[-0]"),
    ("2.5e-7", "[0.00000025]"),
    ("-Inf", "[-Inf]"),
]


@pytest.mark.parametrize(("sample", "value"), VALUE_ROWS)
def test_value_formatting(canned: CannedServer, sample: str, value: str) -> None:
    m = measure(canned, success(vector(sample)))
    assert (m.phase, m.value) == (Phase.SUCCESSFUL, value)


ERROR_ROWS = [
    ("503-plain", 503, "Service Unavailable", "server_error: server error: 503"),
    (
        "503-json-ignored",
        503,
        json.dumps({"status": "error", "errorType": "x", "error": "y"}),
        "server_error: server error: 503",
    ),
    ("404", 404, "404 page not found", "client_error: client error: 404"),
    (
        "400-bad-data",
        400,
        json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"}),
        "bad_data: parse error",
    ),
    (
        "422-execution",
        422,
        json.dumps({"status": "error", "errorType": "execution", "error": "query timed out"}),
        "execution: query timed out",
    ),
    (
        "400-success",
        400,
        json.dumps({"status": "success", "data": vector("1")}),
        "bad_response: inconsistent body for response code",
    ),
    ("400-not-json", 400, "oops", "bad_response: invalid character 'o' looking for beginning of value"),
    ("200-not-json", 200, "<html>", "bad_response: invalid character '<' looking for beginning of value"),
    ("200-empty", 200, "", "bad_response: unexpected end of JSON input"),
    (
        "200-error-status",
        200,
        json.dumps(
            {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
        ),
        "timeout: query timed out in expression evaluation",
    ),
    (
        "string-type",
        200,
        json.dumps(success({"resultType": "string", "result": [NOW, "x"]})),
        'unexpected value type "string"',
    ),
    (
        "unknown-type",
        200,
        json.dumps(success({"resultType": "histogram", "result": []})),
        'unknown value type "histogram"',
    ),
    ("no-data", 200, json.dumps({"status": "success"}), "unexpected end of JSON input"),
    ("empty-data", 200, json.dumps(success({})), 'unexpected value type "<ValNone>"'),
    (
        "unquoted-sample",
        200,
        json.dumps(success({"resultType": "vector", "result": [{"metric": {}, "value": [NOW, 1]}]})),
        "sample value must be a quoted string",
    ),
    (
        "bad-sample",
        200,
        json.dumps(success(vector("abc"))),
        'strconv.ParseFloat: parsing "abc": invalid syntax',
    ),
    (
        "bad-scalar",
        200,
        json.dumps(success(scalar("abc"))),
        'error parsing sample value: strconv.ParseFloat: parsing "abc": invalid syntax',
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "message"), [r[1:] for r in ERROR_ROWS], ids=[r[0] for r in ERROR_ROWS]
)
def test_http_and_decoding_errors(canned: CannedServer, status: int, body: str, message: str) -> None:
    canned.respond(lambda _: Reply(status, body.encode(), {"Content-Type": "application/json"}))
    metric = prom_metric(canned.url, successCondition="result[0] < 0.05")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.value, m.message) == (Phase.ERROR, "", message)


def test_redirect_without_location_is_bad_response(canned: CannedServer) -> None:
    canned.respond(lambda _: Reply(302, b""))
    metric = prom_metric(canned.url)
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.message) == (Phase.ERROR, "bad_response: bad response code 302")


def test_redirect_is_followed(canned: CannedServer) -> None:
    def responder(req: Any) -> Reply:
        if req.path.startswith("/old"):
            return Reply(307, b"", {"Location": "/api/v1/query"})
        return Reply(200, json.dumps(success(vector("1"))).encode())

    canned.respond(responder)
    metric = prom_metric(canned.url + "/old")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.value) == (Phase.SUCCESSFUL, "[1]")
    assert [r.method for r in canned.requests] == ["POST", "POST"]


# -- the request ------------------------------------------------------------------------------------


def test_instant_query_is_a_form_post_with_time(canned: CannedServer) -> None:
    canned.json(success(vector("1")))
    metric = prom_metric(canned.url + "/prom/", query='sum(rate(x{a="b"}[2m]))')
    PrometheusProvider(metric).run(make_ctx(1_700_000_000.25), metric)
    (req,) = canned.requests
    assert (req.method, req.path) == ("POST", "/prom/api/v1/query")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.body.decode() == "query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B2m%5D%29%29&time=1700000000.25"


@pytest.mark.parametrize("status", [403, 405, 501])
def test_get_fallback(canned: CannedServer, status: int) -> None:
    payload = json.dumps(success(vector("0.5"))).encode()
    canned.respond(lambda req: Reply(status, b"") if req.method == "POST" else Reply(200, payload))
    metric = prom_metric(canned.url, query="up == 1")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.value) == (Phase.SUCCESSFUL, "[0.5]")
    post, get = canned.requests
    assert post.method == "POST" and get.method == "GET"
    assert get.path == "/api/v1/query?query=up+%3D%3D+1&time=1700000000"


def test_get_fallback_error_is_reported(canned: CannedServer) -> None:
    canned.respond(lambda _: Reply(405, b""))
    metric = prom_metric(canned.url)
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert m.message == "client_error: client error: 405"
    assert [r.method for r in canned.requests] == ["POST", "GET"]


def test_headers_and_basic_auth(canned: CannedServer) -> None:
    canned.json(success(vector("1")))
    metric = prom_metric(
        canned.url,
        headers=[
            {"key": "x-scope-orgid", "value": "a"},
            {"key": "X-Scope-OrgID", "value": "tenant-1"},
            {"key": "X-Other", "value": "b"},
        ],
        authentication={"basicAuth": {"username": "user", "password": "s3cret"}},
    )
    PrometheusProvider(metric).run(make_ctx(NOW), metric)
    (req,) = canned.requests
    assert req.headers["x-scope-orgid"] == "tenant-1"
    assert req.headers["x-other"] == "b"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert req.headers["user-agent"] == "Go-http-client/1.1"


def test_explicit_authorization_header_wins_over_basic_auth(canned: CannedServer) -> None:
    canned.json(success(vector("1")))
    metric = prom_metric(
        canned.url,
        headers=[{"key": "Authorization", "value": "Bearer t"}],
        authentication={"basicAuth": {"username": "user", "password": "pw"}},
    )
    PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert canned.requests[0].headers["authorization"] == "Bearer t"


def test_warnings_become_metadata(canned: CannedServer) -> None:
    m = measure(canned, success(vector("1"), warnings=["w1", "w2"]))
    assert m.metadata == {"warnings": '"w1", "w2"'}


def test_metadata_is_the_resolved_query() -> None:
    metric = prom_metric("http://p:9090", query="sum(up)")
    assert PrometheusProvider(metric).metadata(metric) == {"ResolvedPrometheusQuery": "sum(up)"}
    assert build_provider(metric).kind() == "Prometheus"


# -- transport errors -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused() -> None:
    port = _closed_port()
    metric = prom_metric(f"http://127.0.0.1:{port}", successCondition="result[0] < 1")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert m.phase == Phase.ERROR and m.value == ""
    assert m.message == (
        f'Post "http://127.0.0.1:{port}/api/v1/query": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )


def test_timeout_is_context_deadline_exceeded(canned: CannedServer) -> None:
    canned.json(success(vector("1")), delay=0.6)
    metric = prom_metric(canned.url)
    provider = PrometheusProvider(metric)
    object.__setattr__(provider.config, "timeout", 0.2)  # whole seconds in YAML; shortened for the test
    m = provider.run(make_ctx(NOW), metric)
    assert (m.phase, m.message) == (
        Phase.ERROR,
        f'Post "{canned.url}/api/v1/query": context deadline exceeded',
    )


def test_timeout_zero_expires_immediately(canned: CannedServer) -> None:
    canned.json(success(vector("1")))
    metric = prom_metric(canned.url, timeout=0)
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert m.message == f'Post "{canned.url}/api/v1/query": context deadline exceeded'
    assert canned.requests == []


def test_unknown_host() -> None:
    metric = prom_metric("http://nosuchhost.invalid:9090")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert m.message.startswith(
        'Post "http://nosuchhost.invalid:9090/api/v1/query": dial tcp: lookup nosuchhost.invalid on '
    )
    assert m.message.endswith(": no such host")


def test_secrets_are_redacted(canned: CannedServer) -> None:
    canned.respond(
        lambda _: Reply(
            400,
            json.dumps(
                {"status": "error", "errorType": "bad_data", "error": 'token "hunter2" rejected'}
            ).encode(),
        )
    )
    metric = prom_metric(canned.url, query='up{token="hunter2"}')
    m = PrometheusProvider(metric).run(make_ctx(NOW, secrets={"token": "hunter2", "empty": ""}), metric)
    assert m.message == 'bad_data: token "*****" rejected'


def test_password_in_url_is_stripped_from_errors() -> None:
    port = _closed_port()
    metric = prom_metric(f"http://admin:pw@127.0.0.1:{port}")
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert m.message.startswith(f'Post "http://admin:***@127.0.0.1:{port}/api/v1/query": dial tcp')


# -- construction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ({"query": "up"}, {}, "prometheus address is not configured"),
        ({"query": "up", "address": "prometheus:9090"}, {}, "prometheus address is not is url format"),
        ({"query": "up", "address": "http://"}, {}, "prometheus address is not is url format"),
        (
            {"query": "up"},
            {"ARGO_ROLLOUTS_PROMETHEUS_ADDRESS": "not a url"},
            "prometheus address is not is url format",
        ),
        (
            {"query": "up", "address": "http://p:9090", "timeout": -1},
            {},
            "prometheus timeout should not be negative",
        ),
        (
            {"query": "up", "address": "http://p:9090", "authentication": {"basicAuth": {"password": "x"}}},
            {},
            "missing mandatory parameter in metric for basic auth setup: username",
        ),
        (
            {"query": "up", "address": "http://p:9090", "authentication": {"basicAuth": {"username": "x"}}},
            {},
            "missing mandatory parameter in metric for basic auth setup: password",
        ),
        (
            {
                "query": "up",
                "address": "http://p:9090",
                "authentication": {"oauth2": {"tokenUrl": "http://t"}},
            },
            {},
            "missing mandatory parameter in metric for OAuth2 setup",
        ),
        # address checks come before the timeout check, as in Argo
        ({"query": "up", "address": "bad", "timeout": -1}, {}, "prometheus address is not is url format"),
    ],
)
def test_construction_errors(spec: dict[str, Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ProviderError) as info:
        PrometheusProvider(metric_of({"prometheus": spec}), environ=env)
    assert str(info.value) == message


def test_address_from_environment() -> None:
    provider = PrometheusProvider(
        metric_of({"prometheus": {"query": "up"}}),
        environ={"ARGO_ROLLOUTS_PROMETHEUS_ADDRESS": "http://env:9090"},
    )
    assert provider.config.address == "http://env:9090"
    assert provider.config.timeout == 30.0


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("http://p:9090", True),
        ("https://p", True),
        ("p:9090", False),
        ("http://", False),
        ("http://p:x", False),
        ("", False),
    ],
)
def test_is_url(text: str, ok: bool) -> None:
    assert is_url(text) is ok


def test_endpoint_url_joins_paths_and_keeps_query() -> None:
    assert endpoint_url("http://p:9090", "/api/v1/query") == "http://p:9090/api/v1/query"
    assert endpoint_url("http://p:9090/a/b/", "/api/v1/query") == "http://p:9090/a/b/api/v1/query"
    assert endpoint_url("http://p/x?tenant=1", "/api/v1/query") == "http://p/x/api/v1/query?tenant=1"


# -- rangeQuery ---------------------------------------------------------------------------------------


def test_eval_time_forms() -> None:
    assert eval_time("now()", NOW) == NOW
    assert eval_time('now() - duration("5m")', NOW) == NOW - 300
    assert eval_time('now() + duration("1h30m")', NOW) == NOW + 5400
    assert eval_time('(now() - duration("1h")) - duration("30s")', NOW) == NOW - 3630
    assert eval_time('date("2023-11-14T22:13:20Z")', NOW) == 1_700_000_000.0


@pytest.mark.parametrize(
    ("range_query", "message"),
    [
        (
            {"start": 'now() - duration("5x")', "end": "now()", "step": "1m"},
            'failed to parse rangeQuery.start as time: time: unknown unit "x" in duration "5x"',
        ),
        (
            {"start": "now()", "end": "now() - now()", "step": "1m"},
            "failed to parse rangeQuery.end as time: expected time.Time, but got time.Duration",
        ),
        (
            {"start": "now()", "end": "42", "step": "1m"},
            "failed to parse rangeQuery.end as time: expected time.Time, but got int",
        ),
        (
            {"start": "foo", "end": "now()", "step": "1m"},
            "failed to parse rangeQuery.start as time: unknown name foo",
        ),
        (
            {"start": "now()", "end": "now()", "step": "??"},
            'failed to parse rangeQuery.step as duration: time: invalid duration "??"',
        ),
        (
            {"start": "now()", "end": "now()", "step": "60"},
            'failed to parse rangeQuery.step as duration: time: missing unit in duration "60"',
        ),
    ],
)
def test_range_query_errors(canned: CannedServer, range_query: dict[str, str], message: str) -> None:
    canned.json(success(vector("1")))
    metric = prom_metric(canned.url, rangeQuery=range_query)
    m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
    assert (m.phase, m.value, m.message) == (Phase.ERROR, "", message)
    assert canned.requests == []


def test_parallel_measurements_share_the_pool(canned: CannedServer) -> None:
    """Measurements of different metrics run in parallel threads (the engine's worker pool)."""
    from concurrent.futures import ThreadPoolExecutor

    canned.json(success(vector("1")))

    def one(i: int) -> tuple[Phase, str]:
        metric = prom_metric(canned.url, query=f"up{{i='{i}'}}", timeout=5 + i % 3)
        m = PrometheusProvider(metric).run(make_ctx(NOW), metric)
        return m.phase, m.value

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(40)))
    assert results == [(Phase.SUCCESSFUL, "[1]")] * 40
    assert len(canned.requests) == 40
