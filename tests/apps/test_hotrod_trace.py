"""One /dispatch is one trace with the original's span tree (services, names, kinds, parents, errors)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tests.apps.conftest import Running, get


def service(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def only(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def test_dispatch_is_one_trace_with_the_original_span_tree(hotrod: Running) -> None:
    reply = get(hotrod.url + "/dispatch?customer=123", headers={"baggage": "session=42, request=42-1"})
    assert reply.status == 200
    body = json.loads(reply.body)
    assert set(body) == {"Driver", "ETA"}
    assert body["Driver"].startswith("T7") and body["Driver"].endswith("C") and len(body["Driver"]) == 8
    assert body["ETA"] % 60_000_000_000 == 0 and body["ETA"] >= 120_000_000_000

    spans = hotrod.spans()
    assert len({s.context.trace_id for s in spans if s.context}) == 1  # nothing else happened
    assert spans == hotrod.trace_of(reply)

    root = only([s for s in spans if s.parent is None])
    assert (service(root), root.name, root.kind) == ("frontend", "/dispatch", SpanKind.SERVER)
    tp = reply.headers["traceresponse"].split("-")
    assert root.context is not None
    assert (
        tp[0] == "00" and int(tp[1], 16) == root.context.trace_id and int(tp[2], 16) == root.context.span_id
    )

    # customer: frontend HTTP GET -> customer /customer -> mysql SQL SELECT
    calls = children(spans, root)
    kinds = Counter((service(s), s.name, s.kind) for s in calls)
    assert kinds == {
        ("frontend", "HTTP GET", SpanKind.CLIENT): 11,
        ("frontend", "driver.DriverService/FindNearest", SpanKind.CLIENT): 1,
    }

    def url(span: ReadableSpan) -> str:
        return str((span.attributes or {}).get("url.full", ""))

    customer_server = [only(children(spans, c)) for c in calls if "/customer?" in url(c)]
    assert [(service(s), s.name, s.kind) for s in customer_server] == [
        ("customer", "/customer", SpanKind.SERVER)
    ]
    sql = only(children(spans, customer_server[0]))
    assert (service(sql), sql.name, sql.kind) == ("mysql", "SQL SELECT", SpanKind.CLIENT)
    assert sql.attributes is not None
    assert sql.attributes["peer.service"] == "mysql"
    assert sql.attributes["sql.query"] == "SELECT * FROM customer WHERE customer_id=123"
    assert sql.attributes["request"] == "42-1"  # the session baggage reached the database

    # driver: frontend client -> driver server -> redis-manual FindDriverIDs + GetDriver (with retries)
    grpc_client = only([c for c in calls if c.name == "driver.DriverService/FindNearest"])
    grpc_server = only(children(spans, grpc_client))
    assert (service(grpc_server), grpc_server.kind) == ("driver", SpanKind.SERVER)
    assert grpc_server.attributes is not None and grpc_server.attributes["rpc.system"] == "grpc"
    redis = children(spans, grpc_server)
    assert all(service(s) == "redis-manual" and s.kind == SpanKind.CLIENT for s in redis)
    assert redis[0].name == "FindDriverIDs"
    get_driver = [s for s in redis if s.name == "GetDriver"]
    failed = [s for s in get_driver if s.status.status_code == StatusCode.ERROR]
    # a fresh process: calls 1, 6, 11 fail; each failure is retried, so 10 drivers take 13 calls
    assert len(get_driver) == 13 and len(failed) == 3
    assert [i for i, s in enumerate(get_driver) if s.status.status_code == StatusCode.ERROR] == [0, 5, 10]
    for span in failed:
        assert span.status.description == "An error occurred"
        assert [e.name for e in span.events] == ["exception", "redis timeout"]
        assert span.events[0].attributes == {
            "exception.type": "*errors.errorString",
            "exception.message": "redis timeout",
        }
    retries = [e for e in grpc_server.events if e.name == "Retrying GetDriver after error"]
    assert len(retries) == 3 and retries[0].attributes == {
        "retry_no": 1,
        "error": "redis timeout",
        "level": "error",
    }

    # route: 10 x frontend HTTP GET -> route /route
    route_servers = [only(children(spans, c)) for c in calls if "/route?" in url(c)]
    assert len(route_servers) == 10 and all(
        service(s) == "route" and s.kind == SpanKind.SERVER for s in route_servers
    )

    assert len(spans) == 1 + 2 + 1 + 2 + 1 + 13 + 20  # 40, as in the original's typical trace
    assert {service(s) for s in spans} == {"frontend", "customer", "mysql", "driver", "redis-manual", "route"}
    assert all(s.status.status_code != StatusCode.ERROR for s in spans if s.name != "GetDriver")


def test_log_lines_become_span_events(hotrod: Running) -> None:
    reply = get(hotrod.url + "/dispatch?customer=731")
    spans = hotrod.trace_of(reply)
    root = only([s for s in spans if s.parent is None])
    names = [e.name for e in root.events]
    assert names[:4] == [
        "HTTP request received",
        "Getting customer",
        "Found customer",
        "Finding nearest drivers",
    ]
    assert names.count("Finding route") == 10 and names[-2:] == ["Found routes", "Dispatch successful"]
    assert root.events[0].attributes == {"method": "GET", "url": "/dispatch?customer=731", "level": "info"}
    done = root.events[-1].attributes
    assert (
        done is not None
        and done["driver"] == json.loads(reply.body)["Driver"]
        and str(done["eta"]).endswith("m0s")
    )
    sql = only([s for s in spans if s.name == "SQL SELECT"])
    assert [e.name for e in sql.events] == ["Acquired lock; 0 transactions waiting behind"]
    assert sql.attributes is not None and sql.attributes["request"] == ""


def test_http_span_attributes(hotrod: Running) -> None:
    reply = get(hotrod.url + "/dispatch?customer=392", headers={"User-Agent": "TrafficGenerator/1.0"})
    spans = hotrod.trace_of(reply)
    root = only([s for s in spans if s.parent is None])
    attrs = dict(root.attributes or {})
    assert attrs["http.request.method"] == "GET" and attrs["url.path"] == "/dispatch"
    assert attrs["http.route"] == "/dispatch" and attrs["http.response.status_code"] == 200
    assert attrs["user_agent.original"] == "TrafficGenerator/1.0" and attrs["server.address"] == "127.0.0.1"
    client = next(s for s in spans if s.name == "HTTP GET")
    assert client.attributes is not None and client.attributes["http.response.status_code"] == 200


def test_resource_merges_the_environment_under_the_code(
    start_hotrod: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "hotrod.pod.name=hotrod-abc-1,hotrod.namespace=hotrod,hotrod.pod.hash=abc,service.version=0.0.1",
    )
    monkeypatch.setenv("OTEL_SERVICE_NAME", "overridden")
    running = start_hotrod(version="1.75.0")
    spans = running.trace_of(get(running.url + "/dispatch?customer=567"))
    services = set()
    for span in spans:
        attrs = span.resource.attributes
        assert attrs["hotrod.pod.hash"] == "abc" and attrs["hotrod.namespace"] == "hotrod"
        assert attrs["hotrod.pod.name"] == "hotrod-abc-1"
        assert attrs["service.version"] == "1.75.0"  # the code wins, as in the Go SDK
        assert attrs["telemetry.sdk.name"] == "opentelemetry"
        services.add(attrs["service.name"])
    assert services == {"frontend", "customer", "mysql", "driver", "redis-manual", "route"}


def test_unknown_customer_fails_the_trace(hotrod: Running) -> None:
    reply = get(hotrod.url + "/dispatch?customer=999")
    assert (reply.status, reply.text) == (500, "invalid customer ID\n\n")
    spans = hotrod.trace_of(reply)
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"/dispatch", "HTTP GET", "/customer", "SQL SELECT"}
    assert by_name["/dispatch"].status.status_code == StatusCode.ERROR
    assert by_name["HTTP GET"].status.status_code == StatusCode.ERROR
    assert by_name["/customer"].status.status_code == StatusCode.ERROR
    assert by_name["SQL SELECT"].status.status_code == StatusCode.UNSET


def test_baggage_feeds_the_route_expvars(hotrod: Running) -> None:
    get(hotrod.url + "/dispatch?customer=123", headers={"baggage": "session=77, request=77-1"})
    doc = json.loads(get(hotrod.url + "/debug/vars").body)
    assert set(doc["route.calc.by.customer.sec"]) == {"Rachel's_Floral_Designs"}
    assert set(doc["route.calc.by.session.sec"]) == {"77"}
    # 10 calculations of N(50ms, 12.5ms) model time each
    assert 0.2 < doc["route.calc.by.session.sec"]["77"] < 1.0
