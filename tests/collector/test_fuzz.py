"""Hypothesis: the OTLP protobuf/JSON request path and the config loader never crash or hang — any input
ends in a response/result or the documented error type."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flightdeck.collector import otlpjson
from flightdeck.collector.component import ComponentID, FuncConsumer, Kind, Settings, Signal, default_registry
from flightdeck.collector.components.otlpreceiver import Config as ReceiverConfig
from flightdeck.collector.components.otlpreceiver.config import HTTPServerConfig, Protocols
from flightdeck.collector.components.otlpreceiver.receiver import OTLPReceiver
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.httpserver import Request
from flightdeck.collector.service import load_config, validate_config
from flightdeck.collector.telemetry import TelemetryRegistry
from flightdeck.collector.zaplog import ZapLogger

FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


async def _sink(data: Any) -> None:
    return None


RECEIVER = OTLPReceiver(
    Settings(ComponentID("otlp"), Kind.RECEIVER, ZapLogger(level="error"), TelemetryRegistry()),
    ReceiverConfig(Protocols(http=HTTPServerConfig())),
    {Signal.TRACES: FuncConsumer(_sink)},
)


def _handle(body: bytes, ctype: str, encoding: str = "") -> int:
    headers = {"content-type": ctype}
    if encoding:
        headers["content-encoding"] = encoding
    resp = asyncio.run(RECEIVER.handle_http(Request("POST", "/v1/traces", "/v1/traces", "", headers, body)))
    return resp.status


@FUZZ
@given(st.binary(max_size=2048))
def test_protobuf_bodies(body: bytes) -> None:
    assert _handle(body, "application/x-protobuf") in (200, 400)


@FUZZ
@given(st.binary(max_size=512), st.sampled_from(["gzip", "zstd", "zlib", "deflate", "snappy", "lz4", "br"]))
def test_compressed_bodies(body: bytes, encoding: str) -> None:
    assert _handle(body, "application/json", encoding) in (200, 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
otlp_keys = st.sampled_from(
    [
        "resourceSpans",
        "scopeSpans",
        "spans",
        "traceId",
        "spanId",
        "name",
        "kind",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "resource",
        "status",
        "code",
        "startTimeUnixNano",
        "events",
        "links",
    ]
)
otlp_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=40)
    | st.sampled_from(["0102", "zz", "SPAN_KIND_SERVER"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(otlp_keys, inner, max_size=5),
    max_leaves=40,
)


@FUZZ
@given(st.one_of(json_values, otlp_like))
def test_json_bodies(value: Any) -> None:
    body = json.dumps(value).encode()
    assert _handle(body, "application/json") in (200, 400)


@FUZZ
@given(otlp_like)
def test_json_decoder_raises_only_its_error(value: Any) -> None:
    with contextlib.suppress(otlpjson.OTLPJSONError):
        otlpjson.decode(json.dumps(value), ExportTraceServiceRequest)


yaml_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.text(max_size=12)
    | st.sampled_from(
        ["otlp", "debug", "0.0.0.0:4318", "traces", "metrics", "spanmetrics", "${env:X}", "5s", "batch"]
    )
)
section_keys = st.sampled_from(
    [
        "otlp",
        "otlp/2",
        "debug",
        "batch",
        "memory_limiter",
        "spanmetrics",
        "prometheus",
        "health_check",
        "x/",
        "protocols",
        "http",
        "grpc",
        "endpoint",
        "receivers",
        "exporters",
        "processors",
        "pipelines",
        "traces",
        "metrics",
    ]
)
yaml_trees = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(section_keys, inner, max_size=4),
    max_leaves=25,
)
top = st.fixed_dictionaries(
    {},
    optional={
        "receivers": yaml_trees,
        "processors": yaml_trees,
        "exporters": yaml_trees,
        "connectors": yaml_trees,
        "extensions": yaml_trees,
        "service": yaml_trees,
    },
)


@FUZZ
@given(top)
def test_config_loader(tree: dict[str, Any]) -> None:
    text = json.dumps(tree)  # JSON is YAML
    try:
        validate_config(load_config(text, REGISTRY, env={"X": "1"}))
    except ConfigError as exc:
        assert str(exc)


@FUZZ
@given(st.text(max_size=300))
def test_config_loader_on_arbitrary_text(text: str) -> None:
    try:
        validate_config(load_config(text, REGISTRY, env={}))
    except ConfigError as exc:
        assert str(exc)


REGISTRY = default_registry()
