"""Jaeger's query API: routes, answers and its exact 400 texts."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.traces.query import JaegerQueryAPI, Response
from flightdeck.traces.store import TraceStore
from flightdeck.traces.translate import spans_from_request
from tests.traces.otlp import T0, request, span

NOW = T0 / 1e9 + 60
TRACE = 0xA1B2C3D4E5F60718293A4B5C6D7E8F90


@pytest.fixture(scope="module")
def api() -> JaegerQueryAPI:
    store = TraceStore()
    spans = [
        span(TRACE, 1, "/dispatch", kind=2, duration=50_000_000, attributes={"http.status_code": 200}),
        span(TRACE, 2, "SQL SELECT", parent=1, kind=3, start=T0 + 1_000_000, duration=20_000_000),
    ]
    store.write_spans(spans_from_request(request(spans[:1], resource={"service.name": "frontend"})))
    store.write_spans(spans_from_request(request(spans[1:], resource={"service.name": "mysql"})))
    store.write_spans(
        spans_from_request(
            request([span(7, 3, "HGET", kind=3, duration=2_000_000)], resource={"service.name": "redis"})
        )
    )
    return JaegerQueryAPI(store, now=lambda: NOW)


def get(api: JaegerQueryAPI, target: str) -> tuple[Response, object]:
    response = api.handle("GET", target)
    body = response.body.decode()
    doc = json.loads(body) if response.body[:1] == b"{" else body
    return response, doc


def error_of(api: JaegerQueryAPI, target: str) -> tuple[int, str]:
    response, doc = get(api, target)
    assert dict(response.headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert response.body.endswith(b"\n")
    assert isinstance(doc, dict)
    (err,) = doc["errors"]
    assert doc["data"] is None and err["code"] == response.status
    return response.status, err["msg"]


def test_services_sorted(api: JaegerQueryAPI) -> None:
    response, doc = get(api, "/api/services")
    assert dict(response.headers)["Content-Type"] == "application/json"
    assert doc == {
        "data": ["frontend", "mysql", "redis"],
        "total": 3,
        "limit": 0,
        "offset": 0,
        "errors": None,
    }


def test_empty_store_services_is_null() -> None:
    response = JaegerQueryAPI(TraceStore()).handle("GET", "/api/services")
    assert response.body == b'{"data":null,"total":0,"limit":0,"offset":0,"errors":null}'


def test_operations(api: JaegerQueryAPI) -> None:
    assert get(api, "/api/services/frontend/operations")[1] == {
        "data": ["/dispatch"],
        "total": 1,
        "limit": 0,
        "offset": 0,
        "errors": None,
    }
    doc = get(api, "/api/operations?service=mysql&spanKind=client")[1]
    assert doc["data"] == [{"name": "SQL SELECT", "spanKind": "client"}]  # type: ignore[index]
    assert get(api, "/api/operations?service=mysql&spanKind=server")[1]["data"] == []  # type: ignore[index]
    assert error_of(api, "/api/operations") == (400, "parameter 'service' is required")


def test_search(api: JaegerQueryAPI) -> None:
    doc = get(api, "/api/traces?service=frontend&lookback=1h&limit=20")[1]
    assert isinstance(doc, dict)
    (trace,) = doc["data"]
    assert trace["traceID"] == f"{TRACE:032x}"
    assert {s["operationName"] for s in trace["spans"]} == {"/dispatch", "SQL SELECT"}
    assert {p["serviceName"] for p in trace["processes"].values()} == {"frontend", "mysql"}
    assert (doc["total"], doc["limit"], doc["offset"], doc["errors"]) == (0, 0, 0, None)
    tag = urllib.parse.quote('{"http.status_code":"200"}')
    assert len(get(api, f"/api/traces?service=frontend&tags={tag}")[1]["data"]) == 1  # type: ignore[index]
    assert get(api, "/api/traces?service=frontend&tag=http.status_code:500")[1]["data"] == []  # type: ignore[index]
    assert get(api, "/api/traces?service=frontend&minDuration=60ms")[1]["data"] == []  # type: ignore[index]
    assert len(get(api, "/api/traces?service=frontend&operation=/dispatch&maxDuration=1s")[1]["data"]) == 1  # type: ignore[index]
    # start/end are microseconds since the epoch
    start = (T0 // 1000) + 10
    assert get(api, f"/api/traces?service=frontend&start={start}")[1]["data"] == []  # type: ignore[index]


def test_search_by_trace_ids(api: JaegerQueryAPI) -> None:
    doc = get(api, f"/api/traces?traceID={TRACE:x}&traceID=abc")[1]
    assert isinstance(doc, dict)
    assert len(doc["data"]) == 1
    assert doc["errors"] == [{"msg": "trace not found", "traceID": "0000000000000abc"}]


def test_get_trace(api: JaegerQueryAPI) -> None:
    doc = get(api, f"/api/traces/{TRACE:x}")[1]
    assert isinstance(doc, dict) and doc["data"][0]["traceID"] == f"{TRACE:032x}"
    assert error_of(api, "/api/traces/123") == (404, "trace not found")
    assert error_of(api, "/api/traces/xyz") == (400, 'strconv.ParseUint: parsing "xyz": invalid syntax')
    assert error_of(api, "/api/traces/" + "1" * 33) == (
        400,
        "TraceID cannot be longer than 32 hex characters: " + "1" * 33,
    )


def test_pretty_print(api: JaegerQueryAPI) -> None:
    body = api.handle("GET", "/api/services?prettyPrint=true").body.decode()
    assert body.startswith('{\n    "data": [\n        "frontend",')
    assert api.handle("GET", "/api/services?prettyPrint=false").body.startswith(b'{"data":[')


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "parameter 'service' is required"),
        (
            "service=a&start=abc",
            "unable to parse param 'start': strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            "service=a&end=1.5",
            "unable to parse param 'end': strconv.ParseInt: parsing \"1.5\": invalid syntax",
        ),
        ("service=a&limit=x", 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("service=a&limit=99999999999", 'strconv.ParseInt: parsing "99999999999": value out of range'),
        ("service=a&minDuration=abc", "unable to parse param 'minDuration': time: invalid duration \"abc\""),
        (
            "service=a&maxDuration=10",
            "unable to parse param 'maxDuration': time: missing unit in duration \"10\"",
        ),
        ("service=a&minDuration=2s&maxDuration=1s", "'maxDuration' should be greater than 'minDuration'"),
        ("service=a&tag=foo", "malformed 'tag' parameter, expecting key:value, received: foo"),
        (
            "service=a&tags=" + urllib.parse.quote("{bad"),
            "malformed 'tags' parameter, cannot unmarshal JSON: invalid character 'b' looking for beginning of object key string",
        ),
        ("traceID=zz", 'cannot parse traceID param: strconv.ParseUint: parsing "zz": invalid syntax'),
        (
            "service=a&raw=maybe",
            "unable to parse param 'raw': strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
    ],
)
def test_search_errors(api: JaegerQueryAPI, query: str, message: str) -> None:
    assert error_of(api, "/api/traces?" + query) == (400, message)


def test_dependencies(api: JaegerQueryAPI) -> None:
    end_ms = int(NOW * 1000)
    doc = get(api, f"/api/dependencies?endTs={end_ms}&lookback=3600000")[1]
    assert doc == {
        "data": [{"parent": "frontend", "child": "mysql", "callCount": 1}],
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": None,
    }
    assert error_of(api, "/api/dependencies?endTs=x") == (
        400,
        "unable to parse param 'endTs': strconv.ParseInt: parsing \"x\": invalid syntax",
    )


def test_routing_edges(api: JaegerQueryAPI) -> None:
    missing = api.handle("GET", "/api/nothing")
    assert (missing.status, missing.body) == (404, b"404 page not found\n")
    assert api.handle("POST", "/api/services").status == 405
    moved = api.handle("GET", "/api//services?x=1")
    assert (moved.status, dict(moved.headers)["Location"]) == (301, "/api/services?x=1")
    assert error_of(api, "/api/metrics/calls?service=a") == (501, "metrics querying is currently disabled")
    assert error_of(api, "/api/metrics/latencies?service=a") == (
        400,
        "unable to parse param 'quantile': strconv.ParseFloat: parsing \"\": invalid syntax",
    )
    assert api.handle("POST", f"/api/archive/{TRACE:x}").status == 500


def test_transform(api: JaegerQueryAPI) -> None:
    body = json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "t"}}]},
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": "83a9efd15c1c98a977e0711cc93ee28b",
                                    "spanId": "e127af99e3b3e074",
                                    "name": "x",
                                    "kind": 2,
                                    "startTimeUnixNano": "1706678909209712000",
                                    "endTimeUnixNano": "1706678909209835000",
                                }
                            ]
                        }
                    ],
                }
            ]
        }
    ).encode()
    response = api.handle("POST", "/api/transform", body)
    doc = json.loads(response.body)
    assert doc["data"][0]["spans"][0]["duration"] == 123
    bad = api.handle("POST", "/api/transform", b"[")
    assert bad.status == 400 and b"cannot unmarshal OTLP : " in bad.body


_PARAMS = st.sampled_from(
    [
        "service",
        "operation",
        "start",
        "end",
        "limit",
        "minDuration",
        "maxDuration",
        "tag",
        "tags",
        "traceID",
        "raw",
        "lookback",
        "prettyPrint",
        "spanKind",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_PARAMS, st.text(max_size=12)), max_size=6),
    st.sampled_from(["/api/traces", "/api/operations", "/api/dependencies", "/api/services/x/operations"]),
)
def test_query_parsing_never_fails_badly(
    api: JaegerQueryAPI, params: list[tuple[str, str]], path: str
) -> None:
    target = path + "?" + urllib.parse.urlencode(params)
    response = api.handle("GET", target)
    assert response.status in (200, 400)
    doc = json.loads(response.body)
    assert set(doc) == {"data", "total", "limit", "offset", "errors"}
    if response.status == 400:
        assert doc["errors"][0]["code"] == 400 and doc["errors"][0]["msg"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="/%?&=;+#abc0123456789", max_size=30))
def test_any_target_is_answered(api: JaegerQueryAPI, tail: str) -> None:
    response = api.handle("GET", "/api/" + tail)
    assert 200 <= response.status < 600
