"""Prometheus-compatible HTTP API (``/api/v1/...``) over a :class:`Storage`.

:class:`PrometheusAPI` is a pure request → response function (tests call it without sockets);
:func:`make_server` wraps it in the stdlib ``ThreadingHTTPServer``: scraping runs in its own threads,
queries are numpy work, and a thread-per-request server embeds in-process without owning an event loop.

Methods are those Prometheus 2.42 registers: GET and POST for query, query_range, labels and series,
GET only for the rest (POST answers 405 with an ``Allow`` header, as Prometheus' router does), POST
for the remote-write receiver. Errors have Prometheus' shape and status codes (``bad_data`` 400,
``execution`` 422, ``timeout``/``canceled`` 503, ``internal`` 500).
"""

from __future__ import annotations

import http.server
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.labels import LABEL_NAME_RE, Labels, go_json_string, labels_json
from flightdeck.tsdb.params import (
    ApiError,
    parse_duration,
    parse_selector,
    parse_time,
)
from flightdeck.tsdb.promql import Engine, PromQLError, QueryParseError, QueryResult
from flightdeck.tsdb.remotewrite import RemoteWriteReceiver
from flightdeck.tsdb.render import format_timestamp, go_json, go_json_float, go_time, render_result
from flightdeck.tsdb.storage import Storage

if TYPE_CHECKING:
    from flightdeck.tsdb.scrape.config import ScrapeConfigFile
    from flightdeck.tsdb.scrape.manager import ScrapeManager

__all__ = [
    "ApiError",
    "BuildInfo",
    "PrometheusAPI",
    "format_timestamp",
    "make_server",
    "parse_duration",
    "parse_time",
    "render_result",
]

PROMETHEUS_VERSION = "2.42.0"

_STATUS = {
    "bad_data": 400,
    "execution": 422,
    "canceled": 503,
    "timeout": 503,
    "internal": 500,
    "not_found": 404,
    "unavailable": 503,
}
_GET_POST = ("GET", "OPTIONS", "POST")
_GET = ("GET", "OPTIONS")
_LOCALHOSTS = ("127.0.0.1", "localhost", "::1")

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class BuildInfo:
    version: str = PROMETHEUS_VERSION
    revision: str = "flightdeck"
    branch: str = "flightdeck"
    build_user: str = "flightdeck"
    build_date: str = ""
    go_version: str = "python"


def _json(data: Any) -> str:
    return '{"status":"success","data":' + go_json(data) + "}"


def _labels_obj(pairs: Labels) -> str:
    return labels_json(tuple(sorted(pairs)))


def _split_host_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, rest.lstrip(":")
    if hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
        return host, port
    return hostport, ""


class PrometheusAPI:
    def __init__(
        self,
        storage: Storage,
        engine: Engine | None = None,
        *,
        now: Callable[[], float] = time.time,
        ready: Callable[[], bool] = lambda: True,
        scrape: ScrapeManager | None = None,
        config: ScrapeConfigFile | None = None,
        query_timeout_s: float = 120.0,
        external_url: str = "",
        listen_address: str = "",
        build_info: BuildInfo | None = None,
        enable_remote_write: bool = True,
    ) -> None:
        self.storage = storage
        self.engine = engine or Engine(storage)
        self.now = now
        self.ready = ready
        self.scrape = scrape
        self.config = config
        self.query_timeout_s = query_timeout_s
        self.listen_address = listen_address
        self.external_url = external_url or self.default_external_url(listen_address)
        self.build_info = build_info or BuildInfo()
        self.receiver = RemoteWriteReceiver(storage) if enable_remote_write else None

    @staticmethod
    def default_external_url(listen_address: str) -> str:
        """Prometheus' default ``--web.external-url``: this host's name and the listen port."""
        return f"http://{socket.gethostname()}:{_split_host_port(listen_address)[1] or '9090'}/"

    # -- plumbing -----------------------------------------------------------------------------------
    def handle(self, method: str, target: str, body: bytes = b"", content_type: str = "") -> Response:
        parsed = urllib.parse.urlsplit(target)
        path = parsed.path
        if path in ("/-/healthy", "/-/ready"):
            return self._health(method, path)
        if path == "/api/v1/write":
            if method != "POST":
                return self._not_allowed(("OPTIONS", "POST"))
            return self._write(body)
        params: dict[str, list[str]] = {}
        if (
            method == "POST"
            and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
        ):
            for k, v in urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(k, []).append(v)
        for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            params.setdefault(k, []).append(v)
        routes: dict[str, tuple[tuple[str, ...], Callable[[dict[str, list[str]]], str]]] = {
            "/api/v1/query": (_GET_POST, self.query),
            "/api/v1/query_range": (_GET_POST, self.query_range),
            "/api/v1/series": (_GET_POST, self.series),
            "/api/v1/labels": (_GET_POST, self.labels),
            "/api/v1/targets": (_GET, self.targets),
            "/api/v1/targets/metadata": (_GET, self.target_metadata),
            "/api/v1/metadata": (_GET, self.metadata),
            "/api/v1/scrape_pools": (_GET, self.scrape_pools),
            "/api/v1/status/buildinfo": (_GET, self.buildinfo),
            "/api/v1/status/config": (_GET, self.status_config),
        }
        route = routes.get(path)
        if route is None and path.startswith("/api/v1/label/") and path.endswith("/values"):
            name = urllib.parse.unquote(path[len("/api/v1/label/") : -len("/values")])

            def label_values(p: dict[str, list[str]]) -> str:
                return self.label_values(name, p)

            route = (_GET, label_values)
        if route is None:
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 page not found\n"
        methods, handler = route
        if method == "OPTIONS":
            return 204, {}, b""
        if method not in methods:
            return self._not_allowed(methods)
        headers = {"Content-Type": "application/json"}
        try:
            return 200, headers, handler(params).encode()
        except ApiError as exc:
            err = (
                f'{{"status":"error","errorType":{go_json_string(exc.error_type)},'
                f'"error":{go_json_string(str(exc))}}}'
            )
            return _STATUS.get(exc.error_type, 500), headers, err.encode()

    @staticmethod
    def _not_allowed(methods: tuple[str, ...]) -> Response:
        return (
            405,
            {
                "Allow": ", ".join(methods),
                "Content-Type": "text/plain; charset=utf-8",
                "X-Content-Type-Options": "nosniff",
            },
            b"Method Not Allowed\n",
        )

    def _health(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return self._not_allowed(("GET", "HEAD", "OPTIONS"))
        if path == "/-/ready" and not self.ready():
            return 503, {"Content-Type": "text/plain; charset=utf-8"}, b"Service Unavailable"
        text = "Prometheus Server is Healthy.\n" if path == "/-/healthy" else "Prometheus Server is Ready.\n"
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()

    def _write(self, body: bytes) -> Response:
        if self.receiver is None:
            return (
                404,
                {"Content-Type": "text/plain; charset=utf-8"},
                b"remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n",
            )
        outcome = self.receiver.handle(body)
        if outcome.status == 204:
            return 204, {}, b""
        return (
            outcome.status,
            {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
            (outcome.message + "\n").encode(),
        )

    @staticmethod
    def _first(params: dict[str, list[str]], name: str) -> str:
        values = params.get(name)
        return values[0] if values else ""

    @staticmethod
    def _bad(param: str, message: str) -> ApiError:
        return ApiError("bad_data", f'invalid parameter "{param}": {message}')

    def _timeout(self, params: dict[str, list[str]]) -> float:
        text = self._first(params, "timeout")
        if not text:
            return self.query_timeout_s
        try:
            requested = parse_duration(text) / 1000.0
        except ValueError as exc:
            raise self._bad("timeout", str(exc)) from exc
        return min(requested, self.query_timeout_s)

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

    # -- queries --------------------------------------------------------------------------------------
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

    # -- series metadata ------------------------------------------------------------------------------
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
                raise self._bad(name, f"Invalid time value for '{name}': {exc}") from exc
        return out[0], out[1]

    def _matchers(self, params: dict[str, list[str]], *, wrap: bool = False) -> list[list[LabelMatcher]]:
        """``parseMatchersParam``; the series endpoint reports its errors as a bad parameter."""
        sets = []
        try:
            for text in params.get("match[]", []):
                sets.append(parse_selector(text))
            for matchers in sets:
                if all(m.matches("") for m in matchers):
                    raise ValueError("match[] must contain at least one non-empty matcher")
        except ValueError as exc:
            raise (self._bad("match[]", str(exc)) if wrap else ApiError("bad_data", str(exc))) from exc
        return sets

    def series(self, params: dict[str, list[str]]) -> str:
        if not params.get("match[]"):
            raise ApiError("bad_data", "no match[] parameter provided")
        start, end = self._range(params)
        sets = self._matchers(params, wrap=True)
        found = self.storage.series_labels(sets, start, end)
        return '{"status":"success","data":[' + ",".join(labels_json(s) for s in found) + "]}"

    def labels(self, params: dict[str, list[str]]) -> str:
        start, end = self._range(params)
        return _json(self.storage.label_names(self._matchers(params), start, end))

    def label_values(self, name: str, params: dict[str, list[str]]) -> str:
        if not LABEL_NAME_RE.match(name):
            raise ApiError("bad_data", f'invalid label name: "{name}"')
        start, end = self._range(params)
        return _json(self.storage.label_values(name, self._matchers(params), start, end))

    # -- scraping ---------------------------------------------------------------------------------------
    def _global_url(self, url: str) -> str:
        parsed = urllib.parse.urlsplit(url)
        host, port = _split_host_port(parsed.netloc)
        if host not in _LOCALHOSTS:
            return url
        ext = urllib.parse.urlsplit(self.external_url)
        ext_host, _ = _split_host_port(ext.netloc)
        _, own_port = _split_host_port(self.listen_address)
        if port and port == own_port:
            netloc, scheme = ext.netloc, ext.scheme
        else:
            netloc = f"{ext_host}:{port}" if port else ext_host
            scheme = parsed.scheme
        return urllib.parse.urlunsplit((scheme, netloc, parsed.path, parsed.query, parsed.fragment))

    def targets(self, params: dict[str, list[str]]) -> str:
        pool_filter = self._first(params, "scrapePool")
        state = self._first(params, "state").lower()
        show_active = state in ("", "any", "active")
        show_dropped = state in ("", "any", "dropped")
        active: list[str] = []
        dropped: list[str] = []
        if self.scrape is not None:
            if show_active:
                for pool, states in sorted(self.scrape.active_targets().items()):
                    if pool_filter and pool != pool_filter:
                        continue
                    for st in states:
                        t = st.target
                        url = t.url
                        active.append(
                            "{"
                            + f'"discoveredLabels":{_labels_obj(t.discovered)},'
                            + f'"labels":{_labels_obj(t.public_labels)},'
                            + f'"scrapePool":{go_json_string(pool)},'
                            + f'"scrapeUrl":{go_json_string(url)},'
                            + f'"globalUrl":{go_json_string(self._global_url(url))},'
                            + f'"lastError":{go_json_string(st.last_error)},'
                            + f'"lastScrape":"{go_time(st.last_scrape)}",'
                            + f'"lastScrapeDuration":{go_json_float(st.last_duration)},'
                            + f'"health":"{st.health}",'
                            + f'"scrapeInterval":{go_json_string(t.get("__scrape_interval__"))},'
                            + f'"scrapeTimeout":{go_json_string(t.get("__scrape_timeout__"))}'
                            + "}"
                        )
            if show_dropped:
                for pool, groups in sorted(self.scrape.dropped_targets().items()):
                    if pool_filter and pool != pool_filter:
                        continue
                    dropped.extend(f'{{"discoveredLabels":{_labels_obj(d)}}}' for d in groups)
        return (
            '{"status":"success","data":{"activeTargets":['
            + ",".join(active)
            + '],"droppedTargets":['
            + ",".join(dropped)
            + "]}}"
        )

    def scrape_pools(self, params: dict[str, list[str]]) -> str:
        names = sorted(self.scrape.pools) if self.scrape is not None else []
        return _json({"scrapePools": names})

    @staticmethod
    def _limit(params: dict[str, list[str]]) -> int:
        text = PrometheusAPI._first(params, "limit")
        if not text:
            return -1
        try:
            return int(text)
        except ValueError as exc:
            raise ApiError("bad_data", "limit must be a number") from exc

    def metadata(self, params: dict[str, list[str]]) -> str:
        limit = self._limit(params)
        metric = self._first(params, "metric")
        found: dict[str, set[tuple[str, str, str]]] = {}
        if self.scrape is not None:
            for st in self.scrape.states:
                for name, md in list(st.metadata.items()):
                    if metric and name != metric:
                        continue
                    found.setdefault(name, set()).add((md.type, md.help, md.unit))
        out: dict[str, list[dict[str, str]]] = {}
        for name in sorted(found):
            if limit >= 0 and len(out) >= limit:
                break
            out[name] = [{"type": t, "help": h, "unit": u} for t, h, u in sorted(found[name])]
        return _json(out)

    def target_metadata(self, params: dict[str, list[str]]) -> str:
        limit = self._limit(params)
        match_target = self._first(params, "match_target")
        matchers: list[LabelMatcher] = []
        if match_target:
            try:
                matchers = parse_selector(match_target)
            except ValueError as exc:
                raise self._bad("match_target", str(exc)) from exc
        metric = self._first(params, "metric")
        out: list[str] = []
        if self.scrape is not None:
            for st in self.scrape.states:
                if limit >= 0 and len(out) >= limit:
                    break
                labels = dict(st.target.public_labels)
                if not all(m.matches(labels.get(m.name, "")) for m in matchers):
                    continue
                target_json = _labels_obj(st.target.public_labels)
                for name, md in sorted(st.metadata.items()):
                    if metric and name != metric:
                        continue
                    metric_part = "" if metric else f'"metric":{go_json_string(name)},'
                    out.append(
                        f'{{"target":{target_json},{metric_part}"type":{go_json_string(md.type)},'
                        f'"help":{go_json_string(md.help)},"unit":{go_json_string(md.unit)}}}'
                    )
        return '{"status":"success","data":[' + ",".join(out) + "]}"

    def buildinfo(self, params: dict[str, list[str]]) -> str:
        b = self.build_info
        return _json(
            {
                "version": b.version,
                "revision": b.revision,
                "branch": b.branch,
                "buildUser": b.build_user,
                "buildDate": b.build_date,
                "goVersion": b.go_version,
            }
        )

    def status_config(self, params: dict[str, list[str]]) -> str:
        from flightdeck.tsdb.scrape.config import ScrapeConfigFile

        cfg = self.config or ScrapeConfigFile()
        return _json({"yaml": cfg.to_yaml()})


def make_handler(api: PrometheusAPI) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self, method: str) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.send_error(400, "Bad Request")
                return
            body = self.rfile.read(length) if length else b""
            status, headers, payload = api.handle(
                method, self.path, body, self.headers.get("Content-Type", "")
            )
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if status != 204:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if method != "HEAD" and status != 204:
                self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_OPTIONS(self) -> None:
            self._serve("OPTIONS")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def make_server(api: PrometheusAPI, host: str, port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((host, port), make_handler(api))
    server.daemon_threads = True
    return server
