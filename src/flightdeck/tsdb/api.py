"""Prometheus-compatible HTTP API (``/api/v1/...``) over a :class:`Storage`.

:class:`PrometheusAPI` is a pure request → response function (easy to test without sockets);
:func:`make_server` wraps it in the stdlib ``ThreadingHTTPServer``: the scrape loop runs in its own
threads, queries are CPU-bound numpy work under the GIL anyway, and a thread-per-request server embeds
in-process (tests, ``make demo``) without owning an event loop.
"""

from __future__ import annotations

import datetime as _dt
import http.server
import json
import math
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import promql_parser

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.labels import LABEL_NAME_RE, Labels, labels_json
from flightdeck.tsdb.promql import Engine, PromQLError, QueryParseError, QueryResult
from flightdeck.tsdb.regex import RegexError
from flightdeck.tsdb.storage import Storage
from flightdeck.util.gofmt import format_float

PROMETHEUS_VERSION = "2.42.0"
_MIN_TIME_MS = -9223372036854775808 // 1000 // 1000 * 1000  # math.MinInt64 / 1000 seconds
_MAX_TIME_MS = 9223372036854775807 // 1000 // 1000 * 1000
_MIN_TIME_FORMATTED = "-292273086-05-16T16:47:06Z"
_MAX_TIME_FORMATTED = "292277025-08-18T07:12:54.999999999Z"

_STATUS = {
    "bad_data": 400,
    "execution": 422,
    "canceled": 503,
    "timeout": 503,
    "internal": 500,
    "not_found": 404,
}

_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class ApiError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(s, 64)`` (enough of it for API parameters)."""
    if not text or text != text.strip() or "_" in text:
        return None
    body = text.lstrip("+-")
    if body.lower() in ("inf", "infinity", "nan"):
        return float(text)
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F.]+[pP][+-]?\d+", body):
        return None
    try:
        return float.fromhex(text) if body[:2].lower() == "0x" else float(text)
    except (ValueError, OverflowError):
        return None


def parse_time(text: str) -> int:
    """Prometheus' ``parseTime``: float seconds or RFC 3339; returns ms."""
    value = _go_parse_float(text)
    if value is not None:
        if math.isnan(value) or math.isinf(value) or abs(value) > 9.2e15:
            # Go converts these to the edges of int64; we reject instead of returning nonsense.
            raise ValueError(f'cannot parse "{text}" to a valid timestamp')
        seconds = math.trunc(value)
        frac = round((value - seconds) * 1000) / 1000
        return int(seconds) * 1000 + round(frac * 1000)
    m = _RFC3339.match(text)
    if m:
        try:
            year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
            frac_text = (m.group(7) or ".")[1:]
            tz = m.group(8)
            offset = _dt.timedelta(0)
            if tz not in ("Z", "z"):
                sign = 1 if tz[0] == "+" else -1
                offset = sign * _dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
            moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.UTC) - offset
            ms = int(frac_text[:3].ljust(3, "0")) if frac_text else 0
            return int(moment.timestamp()) * 1000 + ms
        except (ValueError, OverflowError):
            pass
    if text == _MIN_TIME_FORMATTED:
        return _MIN_TIME_MS
    if text == _MAX_TIME_FORMATTED:
        return _MAX_TIME_MS
    raise ValueError(f'cannot parse "{text}" to a valid timestamp')


def parse_duration(text: str) -> int:
    """Prometheus' API ``parseDuration``: float seconds or a Prometheus duration; returns ms."""
    value = _go_parse_float(text)
    if value is not None:
        ns = value * 1e9
        if math.isnan(ns) or ns > 9.223372036854775807e18 or ns < -9.223372036854775808e18:
            raise ValueError(f'cannot parse "{text}" to a valid duration. It overflows int64')
        return int(ns) // 1_000_000
    m = _PROM_DURATION.match(text)
    if m and text not in ("", "0") and any(m.groups()):
        mult = [365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1]
        return sum(int(g) * k for g, k in zip(m.groups(), mult, strict=True) if g)
    if text == "0":
        return 0
    raise ValueError(f'cannot parse "{text}" to a valid duration')


def format_timestamp(ms: int) -> str:
    """``jsonutil.MarshalTimestamp``: seconds with exactly the millisecond digits needed."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    whole, frac = divmod(ms, 1000)
    return f"{sign}{whole}" + (f".{frac:03d}" if frac else "")


def _point(ms: int, value: float) -> str:
    return f'[{format_timestamp(ms)},"{format_float(value)}"]'


def render_result(result: QueryResult) -> str:
    kind = result.result_type
    if kind == "vector":
        body = ",".join(
            f'{{"metric":{labels_json(lset)},"value":{_point(t, v)}}}' for lset, t, v in result.value
        )
        inner = f"[{body}]"
    elif kind == "matrix":
        parts = []
        for lset, ts, vs in result.value:
            points = ",".join(_point(t, v) for t, v in zip(ts, vs, strict=True))
            parts.append(f'{{"metric":{labels_json(lset)},"values":[{points}]}}')
        inner = "[" + ",".join(parts) + "]"
    elif kind == "scalar":
        t, v = result.value
        inner = _point(t, v)
    else:
        t, s = result.value
        inner = f"[{format_timestamp(t)},{json.dumps(s)}]"
    return f'{{"status":"success","data":{{"resultType":"{kind}","result":{inner}}}}}'


def _parse_selector(text: str) -> list[LabelMatcher]:
    try:
        node: Any = promql_parser.parse(text)
    except ValueError as exc:
        raise ValueError(f"parse error: {exc}") from exc
    if type(node).__name__ != "VectorSelector":
        raise ValueError("parse error: expected vector selector")
    out: list[LabelMatcher] = []
    if node.name:
        out.append(LabelMatcher("__name__", "=", node.name))
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    for m in node.matchers.matchers:
        try:
            out.append(LabelMatcher(m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value))
        except RegexError as exc:
            raise ValueError(str(exc)) from exc
    return out


class PrometheusAPI:
    def __init__(
        self,
        storage: Storage,
        engine: Engine | None = None,
        *,
        now: Callable[[], float] = time.time,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.storage = storage
        self.engine = engine or Engine(storage)
        self.now = now
        self.ready = ready

    # -- plumbing -----------------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, body: bytes = b"", content_type: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        parsed = urllib.parse.urlsplit(target)
        path = parsed.path
        params: dict[str, list[str]] = {}
        if method == "POST" and content_type.split(";")[0].strip() == "application/x-www-form-urlencoded":
            for k, v in urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(k, []).append(v)
        for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            params.setdefault(k, []).append(v)
        if path in ("/-/healthy", "/-/ready"):
            if method not in ("GET", "HEAD"):
                return 405, {"Content-Type": "text/plain"}, b"Method Not Allowed\n"
            if path == "/-/ready" and not self.ready():
                return 503, {"Content-Type": "text/plain; charset=utf-8"}, b"Service Unavailable"
            text = (
                "Prometheus Server is Healthy.\n" if path == "/-/healthy" else "Prometheus Server is Ready.\n"
            )
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
        routes: dict[str, Callable[[dict[str, list[str]]], str]] = {
            "/api/v1/query": self.query,
            "/api/v1/query_range": self.query_range,
            "/api/v1/series": self.series,
            "/api/v1/labels": self.labels,
            "/api/v1/status/buildinfo": self.buildinfo,
        }
        handler = routes.get(path)
        if handler is None and path.startswith("/api/v1/label/") and path.endswith("/values"):
            name = urllib.parse.unquote(path[len("/api/v1/label/") : -len("/values")])

            def handler(p: dict[str, list[str]]) -> str:
                return self.label_values(name, p)

        if handler is None:
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 page not found\n"
        if method not in ("GET", "POST"):
            return 405, {"Content-Type": "text/plain"}, b"Method Not Allowed\n"
        headers = {"Content-Type": "application/json"}
        try:
            text = handler(params)
            return 200, headers, text.encode()
        except ApiError as exc:
            err = json.dumps({"status": "error", "errorType": exc.error_type, "error": str(exc)})
            return _STATUS.get(exc.error_type, 500), headers, err.encode()

    @staticmethod
    def _first(params: dict[str, list[str]], name: str) -> str:
        values = params.get(name)
        return values[0] if values else ""

    @staticmethod
    def _bad(param: str, message: str) -> ApiError:
        return ApiError("bad_data", f'invalid parameter "{param}": {message}')

    def _timeout(self, params: dict[str, list[str]]) -> float | None:
        text = self._first(params, "timeout")
        if not text:
            return None
        try:
            return parse_duration(text) / 1000.0
        except ValueError as exc:
            raise self._bad("timeout", str(exc)) from exc

    def _run(self, fn: Callable[[], QueryResult], bad_param: str) -> str:
        try:
            return render_result(fn())
        except QueryParseError as exc:
            if bad_param:
                raise self._bad(bad_param, str(exc)) from exc
            raise ApiError("bad_data", str(exc)) from exc
        except PromQLError as exc:
            if exc.error_type == "bad_data":
                raise self._bad("query", str(exc)) from exc
            raise ApiError(exc.error_type, str(exc)) from exc

    # -- endpoints ----------------------------------------------------------------------------------
    def query(self, params: dict[str, list[str]]) -> str:
        text = self._first(params, "time")
        if text:
            try:
                t_ms = parse_time(text)
            except ValueError as exc:
                raise self._bad("time", f"Invalid time value for 'time': {exc}") from exc
        else:
            t_ms = int(self.now() * 1000)
        timeout = self._timeout(params)
        query = self._first(params, "query")
        return self._run(lambda: self.engine.instant_query(query, t_ms, timeout), "query")

    def query_range(self, params: dict[str, list[str]]) -> str:
        try:
            start = parse_time(self._first(params, "start"))
        except ValueError as exc:
            raise self._bad("start", str(exc)) from exc
        try:
            end = parse_time(self._first(params, "end"))
        except ValueError as exc:
            raise self._bad("end", str(exc)) from exc
        if end < start:
            raise self._bad("end", "end timestamp must not be before start time")
        try:
            step = parse_duration(self._first(params, "step"))
        except ValueError as exc:
            raise self._bad("step", str(exc)) from exc
        if step <= 0:
            raise self._bad(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            )
        if (end - start) // step > 11000:
            raise ApiError(
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            )
        timeout = self._timeout(params)
        query = self._first(params, "query")
        try:
            Engine.parse(query)
        except QueryParseError as exc:
            raise ApiError("bad_data", str(exc)) from exc
        return self._run(lambda: self.engine.range_query(query, start, end, step, timeout), "")

    def _range(self, params: dict[str, list[str]]) -> tuple[int | None, int | None]:
        out: list[int | None] = []
        for name in ("start", "end"):
            text = self._first(params, name)
            if not text:
                out.append(None)
                continue
            try:
                out.append(parse_time(text))
            except ValueError as exc:
                raise self._bad(name, str(exc)) from exc
        return out[0], out[1]

    def _matchers(self, params: dict[str, list[str]]) -> list[list[LabelMatcher]]:
        sets = []
        for text in params.get("match[]", []):
            try:
                matchers = _parse_selector(text)
            except ValueError as exc:
                raise self._bad("match[]", str(exc)) from exc
            if all(m.matches("") for m in matchers):
                raise ApiError("bad_data", "match[] must contain at least one non-empty matcher")
            sets.append(matchers)
        return sets

    def series(self, params: dict[str, list[str]]) -> str:
        if not params.get("match[]"):
            raise ApiError("bad_data", "no match[] parameter provided")
        start, end = self._range(params)
        sets = self._matchers(params)
        found: list[Labels] = self.storage.series_labels(sets, start, end)
        return '{"status":"success","data":[' + ",".join(labels_json(s) for s in found) + "]}"

    def labels(self, params: dict[str, list[str]]) -> str:
        start, end = self._range(params)
        names = self.storage.label_names(self._matchers(params), start, end)
        return json.dumps({"status": "success", "data": names}, separators=(",", ":"))

    def label_values(self, name: str, params: dict[str, list[str]]) -> str:
        if not LABEL_NAME_RE.match(name):
            raise ApiError("bad_data", f'invalid label name: "{name}"')
        start, end = self._range(params)
        values = self.storage.label_values(name, self._matchers(params), start, end)
        return json.dumps({"status": "success", "data": values}, separators=(",", ":"))

    def buildinfo(self, params: dict[str, list[str]]) -> str:
        data: dict[str, Any] = {
            "version": PROMETHEUS_VERSION,
            "revision": "flightdeck",
            "branch": "flightdeck",
            "buildUser": "flightdeck",
            "buildDate": "",
            "goVersion": "python",
        }
        return json.dumps({"status": "success", "data": data}, separators=(",", ":"))


def make_handler(api: PrometheusAPI) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = api.handle(
                method, self.path, body, self.headers.get("Content-Type", "")
            )
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def make_server(api: PrometheusAPI, host: str, port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((host, port), make_handler(api))
    server.daemon_threads = True
    return server
