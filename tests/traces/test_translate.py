"""OTLP → Jaeger spans: the contrib translator plus Jaeger's ingest sanitizers."""

from __future__ import annotations

import json

import pytest

from flightdeck.traces.model import BINARY, BOOL, CHILD_OF, FLOAT64, FOLLOWS_FROM, INT64, STRING, KeyValue
from flightdeck.traces.translate import TranslateError, spans_from_request
from flightdeck.traces.uimodel import trace_json
from tests.traces.otlp import T0, attrs, request, span


def test_tags_in_translator_order() -> None:
    req = request(
        [
            span(
                1,
                2,
                "/dispatch",
                kind=2,
                attributes={"http.method": "GET", "n": 5, "ratio": 0.25, "ok": True},
                status=(2, "boom"),
                trace_state="k=v",
            )
        ],
        scope=("hotrod", "1.76.0"),
    )
    (s,) = spans_from_request(req)
    assert s.tags == [
        KeyValue("otel.scope.name", STRING, "hotrod"),
        KeyValue("otel.scope.version", STRING, "1.76.0"),
        KeyValue("http.method", STRING, "GET"),
        KeyValue("n", INT64, 5),
        KeyValue("ratio", FLOAT64, 0.25),
        KeyValue("ok", BOOL, True),
        KeyValue("span.kind", STRING, "server"),
        KeyValue("otel.status_code", STRING, "ERROR"),
        KeyValue("error", BOOL, True),
        KeyValue("otel.status_description", STRING, "boom"),
        KeyValue("w3c.tracestate", STRING, "k=v"),
    ]


@pytest.mark.parametrize(
    ("kind", "tag"),
    [(0, None), (1, "internal"), (2, "server"), (3, "client"), (4, "producer"), (5, "consumer")],
)
def test_span_kind_tag(kind: int, tag: str | None) -> None:
    (s,) = spans_from_request(request([span(1, 2, "op", kind=kind)]))
    assert s.find_tag("span.kind") == (None if tag is None else KeyValue("span.kind", STRING, tag))
    assert s.span_kind() == (tag or "")


def test_status_ok_has_no_error_tag() -> None:
    (s,) = spans_from_request(request([span(1, 2, "op", status=(1, ""))]))
    assert s.tags == [KeyValue("otel.status_code", STRING, "OK")]


def test_resource_becomes_process() -> None:
    req = request([span(1, 2, "op")], resource={"host.name": "h", "service.name": "frontend", "pid": 7})
    (s,) = spans_from_request(req)
    assert s.process.service_name == "frontend"
    assert s.process.tags == [KeyValue("host.name", STRING, "h"), KeyValue("pid", INT64, 7)]


@pytest.mark.parametrize(
    ("resource", "service"),
    [
        ({}, "missing-service-name"),
        ({"host.name": "h"}, "missing-service-name"),
        ({"service.name": ""}, "empty-service-name"),
        ({"service.name": 3}, "service-name-wrong-type"),
    ],
)
def test_service_name_sanitizer(resource: dict[str, object], service: str) -> None:
    (s,) = spans_from_request(request([span(1, 2, "op")], resource=resource))
    assert s.process.service_name == service


def test_raw_translator_without_sanitizers() -> None:
    (s,) = spans_from_request(request([span(1, 2, "op")], resource={}), sanitize=False)
    assert s.process.service_name == "OTLPResourceNoServiceName"


def test_events_become_logs_with_event_field_first() -> None:
    req = request(
        [span(1, 2, "op", events=[(T0 + 5, "retry", {"attempt": 2}), (T0 + 9, "x", {"event": "y"})])]
    )
    (s,) = spans_from_request(req)
    assert s.logs[0].timestamp == T0 + 5
    assert s.logs[0].fields == [KeyValue("event", STRING, "retry"), KeyValue("attempt", INT64, 2)]
    # an explicit "event" attribute wins over the event name
    assert s.logs[1].fields == [KeyValue("event", STRING, "y")]


def test_parent_and_links_become_references() -> None:
    req = request(
        [
            span(
                1,
                2,
                "op",
                parent=9,
                links=[
                    (1, 9, {"opentracing.ref_type": "follows_from"}),
                    (5, 6, {}),
                    (7, 8, {"opentracing.ref_type": "child_of"}),
                ],
            )
        ]
    )
    (s,) = spans_from_request(req)
    # the link to the parent overrides the parent reference's type instead of adding one
    assert [(r.ref_type, r.trace_id, r.span_id) for r in s.references] == [
        (FOLLOWS_FROM, 1, 9),
        (FOLLOWS_FROM, 5, 6),
        (CHILD_OF, 7, 8),
    ]


def test_map_and_array_attributes_are_json_strings() -> None:
    req = request(
        [
            span(
                1,
                2,
                "op",
                attributes={"arr": [1, "a", True, 1.5], "kv": {"b": 1, "a": "<x>"}, "bin": b"\x01\x02"},
            )
        ]
    )
    (s,) = spans_from_request(req)
    assert s.find_tag("arr") == KeyValue("arr", STRING, '[1,"a",true,1.5]')
    # Go's encoding/json sorts map keys and escapes HTML characters
    assert s.find_tag("kv") == KeyValue("kv", STRING, '{"a":"\\u003cx\\u003e","b":1}')
    assert s.find_tag("bin") == KeyValue("bin", BINARY, b"\x01\x02")


def test_negative_and_zero_durations_are_sanitized() -> None:
    start = 1_706_678_909_209_712_000
    (s,) = spans_from_request(request([span(1, 2, "op", start=start, duration=-5)]))
    assert s.duration == 1
    assert s.warnings == [
        "Negative duration detected, sanitizing end timestamp. Original end timestamp: "
        "2024-01-31 05:28:29.209711995 +0000 UTC, adjusted to: 2024-01-31 05:28:29.209712001 +0000 UTC"
    ]
    (z,) = spans_from_request(request([span(1, 3, "op", start=start, duration=0)]))
    assert z.duration == 1 and z.warnings is not None


def test_warnings_attribute_moves_to_warnings() -> None:
    (s,) = spans_from_request(
        request([span(1, 2, "op", attributes={"@jaeger@warnings": ["w1", "w2"], "a": 1})])
    )
    assert s.warnings == ["w1", "w2"]
    assert [t.key for t in s.tags] == ["a"]


@pytest.mark.parametrize(("field", "size", "what"), [("trace_id", 5, "TraceID"), ("span_id", 3, "SpanID")])
def test_bad_id_length_is_refused(field: str, size: int, what: str) -> None:
    req = request([span(1, 2, "op")])
    setattr(req.resource_spans[0].scope_spans[0].spans[0], field, b"\x01" * size)
    with pytest.raises(TranslateError, match=f"unmarshal: invalid {what} length"):
        spans_from_request(req)


def test_ui_json_matches_jaeger_fixture_shape() -> None:
    # jaeger v1.76 cmd/query/app/fixture/otlp2jaeger-{in,out}.json, first span
    req = request(
        [
            span(
                0x83A9EFD15C1C98A977E0711CC93EE28B,
                0xE127AF99E3B3E074,
                "okey-dokey-0",
                parent=0x909541B92CF05311,
                kind=2,
                start=1706678909209712000,
                duration=123000,
                attributes={"net.peer.ip": "1.2.3.4", "peer.service": "telemetrygen-client"},
            )
        ],
        resource={"service.name": "telemetrygen"},
        scope=("telemetrygen", ""),
    )
    got = json.loads(trace_json(spans_from_request(req, sanitize=False)))
    assert got == {
        "traceID": "83a9efd15c1c98a977e0711cc93ee28b",
        "spans": [
            {
                "traceID": "83a9efd15c1c98a977e0711cc93ee28b",
                "spanID": "e127af99e3b3e074",
                "operationName": "okey-dokey-0",
                "references": [
                    {
                        "refType": "CHILD_OF",
                        "traceID": "83a9efd15c1c98a977e0711cc93ee28b",
                        "spanID": "909541b92cf05311",
                    }
                ],
                "startTime": 1706678909209712,
                "duration": 123,
                "tags": [
                    {"key": "otel.scope.name", "type": "string", "value": "telemetrygen"},
                    {"key": "net.peer.ip", "type": "string", "value": "1.2.3.4"},
                    {"key": "peer.service", "type": "string", "value": "telemetrygen-client"},
                    {"key": "span.kind", "type": "string", "value": "server"},
                ],
                "logs": [],
                "processID": "p1",
                "warnings": None,
            }
        ],
        "processes": {"p1": {"serviceName": "telemetrygen", "tags": []}},
        "warnings": None,
    }


def test_ui_values_by_type() -> None:
    req = request(
        [span(0x1234, 1, "op", attributes={"big": 2**60, "small": -(2**53) + 1, "bin": b"\xff", "f": 1e21})]
    )
    text = trace_json(spans_from_request(req))
    # a 64-bit trace ID with a zero high half is printed with 16 digits
    assert text.startswith('{"traceID":"0000000000001234"')
    assert '{"key":"big","type":"int64","value":"1152921504606846976"}' in text
    assert '{"key":"small","type":"int64","value":-9007199254740991}' in text
    assert '{"key":"bin","type":"binary","value":"/w=="}' in text
    assert '{"key":"f","type":"float64","value":1e+21}' in text


def test_process_ids_in_order_of_first_appearance() -> None:
    req = request([span(1, 1, "a")], resource={"service.name": "one"})
    req.resource_spans.extend(request([span(1, 2, "b")], resource={"service.name": "two"}).resource_spans)
    req.resource_spans.extend(request([span(1, 3, "c")], resource={"service.name": "one"}).resource_spans)
    doc = json.loads(trace_json(spans_from_request(req)))
    assert [s["processID"] for s in doc["spans"]] == ["p1", "p2", "p1"]
    assert doc["processes"] == {
        "p1": {"serviceName": "one", "tags": []},
        "p2": {"serviceName": "two", "tags": []},
    }


def test_attrs_helper_round_trip() -> None:
    assert [kv.key for kv in attrs({"a": 1, "b": "x"})] == ["a", "b"]
