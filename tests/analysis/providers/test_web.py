"""The web provider against a local HTTP server (Argo's webmetric.go behaviour and texts)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from flightdeck.analysis.providers import ProviderError, build_provider
from flightdeck.analysis.providers.web import WebMetricProvider, go_json_marshal, go_json_unmarshal
from flightdeck.analysis.types import Phase
from tests.analysis.providers.conftest import CannedServer, Reply, make_ctx, metric_of

BODY = {"a": 1, "b": True, "c": [1, 2, 3, 4], "d": None, "data": {"ok": True, "rate": 0.01, "name": "x<y"}}


def web_metric(url: str, **fields: Any) -> Any:
    conditions = {k: v for k, v in fields.items() if k in ("successCondition", "failureCondition")}
    spec = {"url": url, **{k: v for k, v in fields.items() if k not in conditions}}
    return metric_of({"web": spec}, **conditions)


def run(canned: CannedServer, **fields: Any) -> Any:
    metric = web_metric(canned.url + "/metrics", **fields)
    return WebMetricProvider(metric).run(make_ctx(), metric)


def test_default_jsonpath_is_the_whole_document(canned: CannedServer) -> None:
    canned.json(BODY)
    m = run(canned)
    assert m.phase == Phase.SUCCESSFUL
    assert (
        m.value == '{"a":1,"b":true,"c":[1,2,3,4],"d":null,"data":{"name":"x\\u003cy","ok":true,"rate":0.01}}'
    )
    (req,) = canned.requests
    assert (req.method, req.path, req.body) == ("GET", "/metrics", b"")


@pytest.mark.parametrize(
    ("json_path", "condition", "phase", "value"),
    [
        ("{$.data.ok}", "result == true", Phase.SUCCESSFUL, "true"),
        ("{$.data.rate}", "result < 0.05", Phase.SUCCESSFUL, "0.01"),
        ("{$.data.rate}", "result > 0.05", Phase.FAILED, "0.01"),
        ("{$.c[-1]}", "result == 4", Phase.SUCCESSFUL, "4"),
        ("{$.c[*]}", "result == 1", Phase.SUCCESSFUL, "1"),
        ("{$.c}", "len(result) == 4", Phase.SUCCESSFUL, "[1,2,3,4]"),
        ("{$.data.name}", "", Phase.SUCCESSFUL, '"x\\u003cy"'),
        ("{$.d}", "", Phase.SUCCESSFUL, "null"),
    ],
)
def test_jsonpath_selection_and_conditions(
    canned: CannedServer, json_path: str, condition: str, phase: Phase, value: str
) -> None:
    canned.json(BODY)
    fields: dict[str, Any] = {"jsonPath": json_path}
    if condition:
        fields["successCondition"] = condition
    m = run(canned, **fields)
    assert (m.phase, m.value, m.message) == (phase, value, "")


def test_post_with_body_and_headers(canned: CannedServer) -> None:
    canned.json({"ok": True})
    m = run(
        canned,
        method="POST",
        body="raw=1",
        headers=[{"key": "x-token", "value": "a"}, {"key": "X-Token", "value": "b"}],
        jsonPath="{$.ok}",
    )
    assert (m.phase, m.value) == (Phase.SUCCESSFUL, "true")
    (req,) = canned.requests
    assert (req.method, req.body, req.headers["x-token"]) == ("POST", b"raw=1", "b")
    assert "content-type" not in req.headers


def test_put_with_json_body_sets_content_type(canned: CannedServer) -> None:
    canned.json({"ok": True})
    m = run(canned, method="PUT", jsonBody={"key2": {"key3": "value3"}, "key1": "value1", "n": 1})
    assert m.phase == Phase.SUCCESSFUL
    (req,) = canned.requests
    assert req.method == "PUT"
    assert req.headers["content-type"] == "application/json"
    assert req.body == b'{"key1":"value1","key2":{"key3":"value3"},"n":1}'


def test_non_json_body_is_the_value_and_successful(canned: CannedServer) -> None:
    canned.text("test: notJson")
    m = run(canned, successCondition="result == 'never'")
    assert (m.phase, m.value, m.message) == (Phase.SUCCESSFUL, "test: notJson", "")


@pytest.mark.parametrize(
    ("fields", "reply", "message"),
    [
        ({}, Reply(404, b"nope"), "received non 2xx response code: 404"),
        ({}, Reply(500, b"{}"), "received non 2xx response code: 500"),
        ({"jsonPath": "{$.data.missing}"}, None, "Could not find JSONPath in body: missing is not found"),
        (
            {"jsonPath": "{$.c[9]}"},
            None,
            "Could not find JSONPath in body: array index out of bounds: index 9, length 4",
        ),
        ({"jsonPath": "{$.c[1:1]}"}, None, "result of web metric produced no value"),
        (
            {"body": "x", "jsonBody": {"a": 1}, "method": "POST"},
            None,
            "use either Body or JSONBody; both cannot exists for WebMetric payload",
        ),
        ({"body": "x"}, None, "Body/JSONBody can only be used with POST or PUT WebMetric Method types"),
        (
            {"jsonBody": {"a": 1}},
            None,
            "Body/JSONBody can only be used with POST or PUT WebMetric Method types",
        ),
        (
            {"jsonPath": "{$.c[0]}", "successCondition": "result[0] == 1"},
            None,
            "type float64[int] is undefined",
        ),
    ],
)
def test_errors(canned: CannedServer, fields: dict[str, Any], reply: Reply | None, message: str) -> None:
    if reply is None:
        canned.json(BODY)
    else:
        canned.respond(lambda _: reply)
    m = run(canned, **fields)
    assert (m.phase, m.value, m.message) == (Phase.ERROR, "", message)


def test_timeout(canned: CannedServer) -> None:
    canned.json(BODY, delay=0.6)
    metric = web_metric(canned.url + "/slow")
    provider = WebMetricProvider(metric)
    object.__setattr__(provider.config, "timeout", 0.2)
    m = provider.run(make_ctx(), metric)
    assert m.message == (
        f'Get "{canned.url}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    )


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    metric = web_metric(f"http://127.0.0.1:{port}/x", method="POST")
    m = WebMetricProvider(metric).run(make_ctx(), metric)
    assert (
        m.message
        == f'Post "http://127.0.0.1:{port}/x": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", 'Get "": unsupported protocol scheme ""'),
        ("localhost:8080/x", 'Get "localhost:8080/x": unsupported protocol scheme "localhost"'),
        ("ftp://h/x", 'Get "ftp://h/x": unsupported protocol scheme "ftp"'),
        ("http://h:port/x", 'parse "http://h:port/x": invalid port ":port" after host'),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    metric = web_metric(url)
    m = WebMetricProvider(metric).run(make_ctx(), metric)
    assert (m.phase, m.message) == (Phase.ERROR, message)


def test_secrets_are_redacted(canned: CannedServer) -> None:
    canned.json(BODY)
    m = run(canned, jsonPath="{$.token-abc123}")
    assert m.message == "Could not find JSONPath in body: token-abc123 is not found"
    metric = web_metric(canned.url, jsonPath="{$.token-abc123}")
    m = WebMetricProvider(metric).run(make_ctx(secrets={"t": "abc123"}), metric)
    assert m.message == "Could not find JSONPath in body: token-***** is not found"


def test_construction() -> None:
    metric = web_metric("http://h/x")
    provider = build_provider(metric)
    assert provider.kind() == "Web" and provider.metadata(metric) is None
    assert WebMetricProvider(metric).config.timeout == 10.0
    assert WebMetricProvider(web_metric("http://h", timeoutSeconds=3)).config.timeout == 3.0
    with pytest.raises(ProviderError, match=r"^unclosed action$"):
        WebMetricProvider(web_metric("http://h", jsonPath="{$.a"))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5e-7, "1.5e-7"),
        (1e21, "1e+21"),
        (123456789.0, "123456789"),
        ('a"b\\c\n<&>\u2028', '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u2028"'),
        ({"b": 1, "a": [None, False]}, '{"a":[null,false],"b":1}'),
    ],
)
def test_go_json_marshal(value: Any, text: str) -> None:
    assert go_json_marshal(value) == text


def test_go_json_unmarshal_rejects_what_go_rejects() -> None:
    assert go_json_unmarshal(b'{"a": 1}') == (True, {"a": 1.0})
    assert isinstance(go_json_unmarshal(b"[1]")[1][0], float)
    assert go_json_unmarshal(b"NaN") == (False, None)
    assert go_json_unmarshal(b"1e400") == (False, None)
    assert go_json_unmarshal(b"") == (False, None)
    assert json.loads("1e400") == float("inf")  # Python alone would accept it
