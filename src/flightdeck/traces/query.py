"""Jaeger's query HTTP API (v1.76 ``cmd/query/app/http_handler.go`` + ``query_parser.go``).

Routes, parameter parsing, defaults, error texts and status codes follow Jaeger: answers are the
``structuredResponse`` envelope ``{"data","total","limit","offset","errors"}``; errors are written
with Go's ``http.Error`` (``text/plain; charset=utf-8``, body = envelope + newline).
``prettyPrint`` indents with four spaces.

Not served: the UI (Jaeger falls back to its UI for unknown paths; here they are 404), archive
storage (as in a Jaeger without one: 500 ``archive span storage was not configured``), metrics
(as in a Jaeger without a metrics backend: 501 ``metrics querying is currently disabled``), and the
sample-data endpoints ``/api/deep-dependencies`` and ``/api/quality-metrics`` (501, not supported).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flightdeck.collector.otlpjson import OTLPJSONError, decode
from flightdeck.kube.durations import DurationError, parse_go_duration
from flightdeck.traces import gojson
from flightdeck.traces.adjust import adjust
from flightdeck.traces.goparse import (
    GoError,
    clean_path,
    parse_bool,
    parse_float,
    parse_int,
    parse_query,
    query_unescape,
    trace_id_from_string,
    unmarshal_string_map,
)
from flightdeck.traces.model import Span, trace_id_string
from flightdeck.traces.store import TraceQuery, TraceStore
from flightdeck.traces.translate import TranslateError, spans_from_request
from flightdeck.traces.uimodel import trace_json

DEFAULT_QUERY_LIMIT = 100
TRACE_QUERY_LOOKBACK = 48 * 3600 * 10**9
DEPENDENCY_LOOKBACK = 24 * 3600 * 10**9
_INT64 = 1 << 63
_SPAN_KINDS = {"unspecified", "internal", "server", "client", "producer", "consumer"}

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _wrap_int64(value: int) -> int:
    """Go's silent int64 overflow in ``time.Duration(t) * units``."""
    return ((value + _INT64) % (1 << 64)) - _INT64


def _parse_error(param: str, err: object) -> ApiError:
    return ApiError(400, f"unable to parse param '{param}': {err}")


class _Form:
    """``Request.FormValue`` over the URL query."""

    def __init__(self, raw_query: str) -> None:
        self.values = parse_query(raw_query)

    def get(self, name: str) -> str:
        items = self.values.get(name)
        return items[0] if items else ""

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def has(self, name: str) -> bool:
        return name in self.values


Handler = Callable[[_Form, dict[str, str], bytes], tuple[str, int]]


class JaegerQueryAPI:
    """The routes under ``/api``; ``handle`` turns one request into one response."""

    def __init__(self, store: TraceStore, *, now: Callable[[], float] = time.time) -> None:
        self.store = store
        self._now = now
        # (method, path pattern split on "/") -> handler; "{x}" segments capture.
        self._routes: list[tuple[str, list[str], Handler]] = [
            ("GET", ["api", "traces", "{traceID}"], self._get_trace),
            ("POST", ["api", "archive", "{traceID}"], self._archive_trace),
            ("GET", ["api", "traces"], self._search),
            ("GET", ["api", "services"], self._services),
            ("GET", ["api", "operations"], self._operations),
            ("GET", ["api", "services", "{service}", "operations"], self._operations_legacy),
            ("POST", ["api", "transform"], self._transform),
            ("GET", ["api", "dependencies"], self._dependencies),
            ("GET", ["api", "deep-dependencies"], self._not_supported),
            ("GET", ["api", "metrics", "latencies"], self._latencies),
            ("GET", ["api", "metrics", "calls"], self._metrics),
            ("GET", ["api", "metrics", "errors"], self._metrics),
            ("GET", ["api", "metrics", "minstep"], self._minstep),
            ("GET", ["api", "quality-metrics"], self._not_supported),
        ]

    def now_ns(self) -> int:
        return int(self._now() * 1e9)

    # -- dispatch -----------------------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes = b"") -> Response:
        path, _, raw_query = target.partition("?")
        if "#" in raw_query:
            raw_query = raw_query.split("#", 1)[0]
        cleaned = clean_path(path)
        if cleaned != path:
            location = cleaned + ("?" + raw_query if raw_query else "")
            return Response(301, [("Location", location)])
        segments = path[1:].split("/")
        method_mismatch = False
        for route_method, pattern, handler in self._routes:
            if len(pattern) != len(segments):
                continue
            variables: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    variables[want[1:-1]] = got
                elif want != got:
                    break
            else:
                if route_method != method:
                    method_mismatch = True
                    continue
                form = _Form(raw_query)
                try:
                    text, status = handler(form, variables, body)
                except ApiError as exc:
                    return error_response(exc.status, exc.message)
                return self._write(form, text, status)
        if method_mismatch:
            return Response(405)
        return Response(
            404, [("Content-Type", TEXT), ("X-Content-Type-Options", "nosniff")], b"404 page not found\n"
        )

    def _write(self, form: _Form, text: str, status: int) -> Response:
        pretty = form.get("prettyPrint")
        if pretty and pretty != "false":
            text = gojson.indent(text)
        return Response(status, [("Content-Type", JSON)], text.encode("utf-8"))

    # -- handlers -----------------------------------------------------------------------------------

    def _services(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        services = self.store.services()
        data = "null" if not services else "[" + ",".join(gojson.string(s) for s in services) + "]"
        return _envelope(data, total=len(services)), 200

    def _operations_legacy(self, form: _Form, variables: dict[str, str], body: bytes) -> tuple[str, int]:
        try:
            service = query_unescape(variables["service"])
        except GoError:
            service = ""
        names = sorted({name for name, _kind in self.store.operations(service)})
        data = "null" if not names else "[" + ",".join(gojson.string(n) for n in names) + "]"
        return _envelope(data, total=len(names)), 200

    def _operations(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        service = form.get("service")
        if not service:
            raise ApiError(400, "parameter 'service' is required")
        ops = self.store.operations(service, form.get("spanKind"))
        data = (
            "["
            + ",".join(
                '{"name":' + gojson.string(n) + ',"spanKind":' + gojson.string(k) + "}" for n, k in ops
            )
            + "]"
        )
        return _envelope(data, total=len(ops)), 200

    def _parse_time(self, form: _Form, param: str, unit_ns: int, default_back: int) -> int:
        text = form.get(param)
        if not text:
            return self.now_ns() - default_back
        try:
            value = parse_int(text)
        except GoError as exc:
            raise _parse_error(param, exc) from None
        return _wrap_int64(value * unit_ns)

    @staticmethod
    def _parse_duration(form: _Form, param: str) -> int:
        text = form.get(param)
        if not text:
            return 0
        try:
            return round(parse_go_duration(text) * 1e9)
        except DurationError as exc:
            raise _parse_error(param, exc) from None

    def parse_trace_query(self, form: _Form) -> tuple[TraceQuery, list[int], bool]:
        """``parseTraceQueryParams``: the query, the ``traceID`` list and ``raw``; errors in Jaeger's order."""
        service = form.get("service")
        operation = form.get("operation")
        start = self._parse_time(form, "start", 1000, TRACE_QUERY_LOOKBACK)
        end = self._parse_time(form, "end", 1000, 0)
        tags: dict[str, str] = {}
        for tag in form.all("tag"):
            parts = tag.split(":")
            if len(parts) <= 1:
                raise ApiError(400, f"malformed 'tag' parameter, expecting key:value, received: {tag}")
            tags[parts[0]] = ":".join(parts[1:])
        for text in form.all("tags"):
            try:
                tags.update(unmarshal_string_map(text.encode("utf-8", "surrogateescape")))
            except GoError as exc:
                raise ApiError(400, f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
        limit = DEFAULT_QUERY_LIMIT
        if form.get("limit"):
            try:
                limit = parse_int(form.get("limit"), 32)
            except GoError as exc:
                raise ApiError(400, str(exc)) from None
        min_duration = self._parse_duration(form, "minDuration")
        max_duration = self._parse_duration(form, "maxDuration")
        trace_ids: list[int] = []
        for text in form.all("traceID"):
            try:
                trace_ids.append(trace_id_from_string(text))
            except GoError as exc:
                raise ApiError(400, f"cannot parse traceID param: {exc}") from None
        raw = False
        if form.get("raw"):
            try:
                raw = parse_bool(form.get("raw"))
            except GoError as exc:
                raise _parse_error("raw", exc) from None
        if not trace_ids and not service:
            raise ApiError(400, "parameter 'service' is required")
        if min_duration and max_duration and max_duration < min_duration:
            raise ApiError(400, "'maxDuration' should be greater than 'minDuration'")
        query = TraceQuery(
            service=service,
            operation=operation,
            tags=tags,
            start_min=start,
            start_max=end,
            duration_min=min_duration,
            duration_max=max_duration,
            limit=limit,
        )
        return query, trace_ids, raw

    def _search(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        query, trace_ids, raw = self.parse_trace_query(form)
        errors: list[str] = []
        traces: list[list[Span]] = []
        if trace_ids:
            for trace_id in trace_ids:
                found = self.store.get_trace(trace_id)
                if found is None:
                    errors.append(f'{{"msg":"trace not found","traceID":"{trace_id_string(trace_id)}"}}')
                else:
                    traces.append(found)
        else:
            traces = self.store.find_traces(query)
        data = "[" + ",".join(self._render(t, raw) for t in traces) + "]"
        return _envelope(data, errors="[" + ",".join(errors) + "]" if errors else "null"), 200

    def _render(self, spans: list[Span], raw: bool) -> str:
        if not raw:
            spans = adjust(spans)
        try:
            return trace_json(spans)
        except gojson.UnsupportedValue as exc:
            raise ApiError(
                500, f"failed writing HTTP response: failed marshalling HTTP response to JSON: {exc}"
            ) from None

    def _trace_params(self, form: _Form, variables: dict[str, str]) -> tuple[int, bool]:
        try:
            trace_id = trace_id_from_string(variables["traceID"])
        except GoError as exc:
            raise ApiError(400, str(exc)) from None
        for param in ("start", "end"):
            if form.get(param):
                try:
                    parse_int(form.get(param))
                except GoError as exc:
                    raise _parse_error(param, exc) from None
        raw = False
        if form.get("raw"):
            try:
                raw = parse_bool(form.get("raw"))
            except GoError as exc:
                raise _parse_error("raw", exc) from None
        return trace_id, raw

    def _get_trace(self, form: _Form, variables: dict[str, str], body: bytes) -> tuple[str, int]:
        trace_id, raw = self._trace_params(form, variables)
        spans = self.store.get_trace(trace_id)
        if spans is None:
            raise ApiError(404, "trace not found")
        return _envelope("[" + self._render(spans, raw) + "]"), 200

    def _archive_trace(self, form: _Form, variables: dict[str, str], body: bytes) -> tuple[str, int]:
        self._trace_params(form, variables)
        raise ApiError(500, "archive span storage was not configured")

    def _transform(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        try:
            spans = spans_from_request(decode(body, ExportTraceServiceRequest), sanitize=False)
        except (OTLPJSONError, TranslateError) as exc:
            raise ApiError(400, f"cannot unmarshal OTLP : {exc}") from None
        by_trace: dict[int, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        data = "[" + ",".join(self._render(t, True) for t in by_trace.values()) + "]"
        return _envelope(data), 200

    def _dependencies(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        end = self._parse_time(form, "endTs", 1_000_000, 0)
        lookback = DEPENDENCY_LOOKBACK
        if form.get("lookback"):
            try:
                lookback = _wrap_int64(parse_int(form.get("lookback")) * 1_000_000)
            except GoError as exc:
                raise _parse_error("lookback", exc) from None
        service = form.get("service")
        links = [
            d
            for d in self.store.dependencies(end, lookback)
            if not service or d.parent == service or d.child == service
        ]
        data = (
            "["
            + ",".join(
                '{"parent":'
                + gojson.string(d.parent)
                + ',"child":'
                + gojson.string(d.child)
                + ',"callCount":'
                + str(d.call_count)
                + "}"
                for d in links
            )
            + "]"
        )
        return _envelope(data), 200

    def _metrics_params(self, form: _Form) -> None:
        """``parseMetricsQueryParams``: validated for Jaeger's error texts, then unused."""
        if not form.has("service"):
            raise _parse_error("service", "please provide at least one service name")
        if form.get("groupByOperation"):
            try:
                parse_bool(form.get("groupByOperation"))
            except GoError as exc:
                raise _parse_error("groupByOperation", exc) from None
        for kind in form.all("spanKind") if form.has("spanKind") else []:
            if kind not in _SPAN_KINDS:
                raise _parse_error("spanKind", f"unsupported span kind: '{kind}'")
        for param in ("endTs", "lookback", "step", "ratePer"):
            if form.get(param):
                try:
                    parse_int(form.get(param))
                except GoError as exc:
                    raise _parse_error(param, exc) from None

    def _latencies(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        text = form.get("quantile")
        try:
            parse_float(text)
        except GoError as exc:
            raise _parse_error("quantile", exc) from None
        return self._metrics(form, _, body)

    def _metrics(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        self._metrics_params(form)
        raise ApiError(501, "metrics querying is currently disabled")

    def _minstep(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        raise ApiError(501, "metrics querying is currently disabled")

    def _not_supported(self, form: _Form, _: dict[str, str], body: bytes) -> tuple[str, int]:
        raise ApiError(501, "not supported: Jaeger's sample-data endpoints are not served by flightdeck")


def _envelope(data: str, *, total: int = 0, errors: str = "null") -> str:
    return '{"data":' + data + ',"total":' + str(total) + ',"limit":0,"offset":0,"errors":' + errors + "}"


def error_response(status: int, message: str) -> Response:
    """Jaeger's ``handleError``: the envelope with one error, through Go's ``http.Error``."""
    text = '{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":' + str(status)
    text += ',"msg":' + gojson.string(message) + "}]}\n"
    return Response(
        status, [("Content-Type", TEXT), ("X-Content-Type-Options", "nosniff")], text.encode("utf-8")
    )
