"""The ``prometheus`` metric provider: Argo Rollouts' ``metricproviders/prometheus`` in Python.

One measurement is one PromQL query against the Prometheus HTTP API, sent the way
``prometheus/client_golang`` sends it (form POST, GET fallback) and decoded the way it decodes it,
so that results, values and error texts read exactly as in Argo Rollouts v1.9:

* scalar → ``result`` is a float, ``value`` ``0.0123``;
* vector → ``result`` is a ``[]float64`` of the sample values in response order, ``value`` ``[0.0123]``;
* matrix → all sample values of all series, flattened in order;
* anything else, HTTP and transport failures, and condition errors → an ``Error`` measurement
  whose message is the Go error text and whose value is empty.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightdeck.analysis.evaluate import ConditionError, evaluate_result
from flightdeck.analysis.providers import gohttp
from flightdeck.analysis.providers.base import MeasureContext, ProviderError, register_provider
from flightdeck.analysis.types import Measurement, Metric, Phase
from flightdeck.expr import Float64Slice
from flightdeck.kube.durations import DurationError, parse_go_duration
from flightdeck.util.gofmt import format_float
from flightdeck.util.gojson import json_kind

ENV_ADDRESS = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"
RESOLVED_QUERY_KEY = "ResolvedPrometheusQuery"
DEFAULT_TIMEOUT_SECONDS = 30
# client_golang's DoGetFallback: 405/501 up to v1.22 (Argo v1.9.x), 403 added in v1.23 (Argo master).
GET_FALLBACK_STATUSES = frozenset({403, 405, 501})


class PrometheusQueryError(Exception):
    """A query failed; ``str()`` is client_golang's error text."""


@dataclass(frozen=True, slots=True)
class RangeQuery:
    start: str
    end: str
    step: str


@dataclass(frozen=True, slots=True)
class PrometheusConfig:
    address: str
    query: str
    timeout: float
    insecure: bool
    headers: dict[str, str]
    range_query: RangeQuery | None


def parse_config(metric: Metric, environ: Mapping[str, str] | None = None) -> PrometheusConfig:
    """Build the provider configuration; raises :class:`ProviderError` with Argo's texts.

    The order of checks is Argo's: address (``NewPrometheusAPI``), authentication, then timeout
    (``NewPrometheusProvider``).
    """
    env = os.environ if environ is None else environ
    spec = metric.provider.get("prometheus")
    spec = spec if isinstance(spec, Mapping) else {}
    address = str(spec.get("address") or "")
    if address:
        if not is_url(address):
            raise ProviderError("prometheus address is not is url format")
    elif env.get(ENV_ADDRESS):
        address = env[ENV_ADDRESS]
        if not is_url(address):
            raise ProviderError("prometheus address is not is url format")
    else:
        raise ProviderError("prometheus address is not configured")

    headers: dict[str, str] = {}
    gohttp.set_go_headers(headers, spec.get("headers"))
    auth = spec.get("authentication")
    auth = auth if isinstance(auth, Mapping) else {}
    basic = auth.get("basicAuth")
    basic = basic if isinstance(basic, Mapping) else {}
    username = str(basic.get("username") or "")
    password = str(basic.get("password") or "")
    basic_header: str | None = None
    if username or password:
        if not username:
            raise ProviderError("missing mandatory parameter in metric for basic auth setup: username")
        if not password:
            raise ProviderError("missing mandatory parameter in metric for basic auth setup: password")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        basic_header = f"Basic {token}"
    oauth2 = auth.get("oauth2")
    if isinstance(oauth2, Mapping) and oauth2.get("tokenUrl"):
        if not oauth2.get("clientId") or not oauth2.get("clientSecret"):
            raise ProviderError("missing mandatory parameter in metric for OAuth2 setup")
        raise ProviderError("flightdeck: prometheus authentication.oauth2 is not supported yet")
    if basic_header is not None and not any(k.lower() == "authorization" for k in headers):
        # prometheus/common's BasicAuthRoundTripper leaves an explicit Authorization header alone.
        headers["Authorization"] = basic_header

    raw_timeout = spec.get("timeout")
    timeout = float(DEFAULT_TIMEOUT_SECONDS)
    if raw_timeout is not None:
        seconds = _int64(raw_timeout)
        if seconds < 0:
            raise ProviderError("prometheus timeout should not be negative")
        timeout = float(seconds)

    range_query = None
    raw_range = spec.get("rangeQuery")
    if isinstance(raw_range, Mapping):
        range_query = RangeQuery(
            start=str(raw_range.get("start") or ""),
            end=str(raw_range.get("end") or ""),
            step=str(raw_range.get("step") or ""),
        )
    return PrometheusConfig(
        address=address,
        query=str(spec.get("query") or ""),
        timeout=timeout,
        insecure=bool(spec.get("insecure")),
        headers=headers,
        range_query=range_query,
    )


def _int64(value: object) -> int:
    if isinstance(value, bool):
        raise ProviderError(
            f"json: cannot unmarshal bool into Go struct field timeout of type int64 ({value})"
        )
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ProviderError(f"json: cannot unmarshal {value!r} into Go struct field timeout of type int64")


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_url(text: str) -> bool:
    """Argo's ``IsUrl``: Go's ``url.Parse`` succeeds and there is a scheme and a host."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) or not _SCHEME.match(text):
        return False
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises on a non-numeric port, as Go's parser does
    except ValueError:
        return False
    host = parts.netloc.rpartition("@")[2]
    if " " in host:
        return False
    return bool(parts.scheme) and bool(host)


def endpoint_url(address: str, endpoint: str) -> str:
    """client_golang's ``URL``: ``path.Join`` of the address path and the endpoint; query kept."""
    parts = urllib.parse.urlsplit(address)
    joined = _path_join(parts.path.rstrip("/"), endpoint)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, joined, parts.query, ""))


def _path_join(base: str, endpoint: str) -> str:
    segments: list[str] = []
    for part in f"{base}/{endpoint}".split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if segments:
                segments.pop()
            continue
        segments.append(part)
    return "/" + "/".join(segments)


# ---------------------------------------------------------------------------------------------------
# rangeQuery times: the subset of expr that Argo's documentation shows (``now()``, ``duration("5m")``,
# ``date("…")``, ``+``/``-``, parentheses). ``now()`` is the measurement clock (the virtual clock in
# simulation), not the wall clock.


class TimeExprError(Exception):
    """A ``{{…}}`` time expression in a Prometheus query that does not evaluate."""


_TIME_TOKEN = re.compile(
    r"""\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(?P<op>[-+()*,/]))"""
)


@dataclass(frozen=True, slots=True)
class _TValue:
    kind: str  # time | duration | int | float64 | string
    value: Any

    @property
    def go_type(self) -> str:
        return {"time": "time.Time", "duration": "time.Duration"}.get(self.kind, self.kind)


class _TimeParser:
    def __init__(self, source: str, now: float) -> None:
        self.tokens = self._lex(source)
        self.pos = 0
        self.now = now

    @staticmethod
    def _lex(source: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(source):
            if source[pos:].strip() == "":
                break
            match = _TIME_TOKEN.match(source, pos)
            if not match or match.end() == pos:
                char = source[pos:].lstrip()[:1]
                raise TimeExprError(f"unrecognized character: U+{ord(char):04X} '{char}'")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise TimeExprError("unexpected token EOF")
        self.pos += 1
        return token

    def parse(self) -> _TValue:
        value = self._sum()
        token = self._peek()
        if token is not None:
            raise TimeExprError(f'unexpected token Operator("{token[1]}")')
        return value

    def _sum(self) -> _TValue:
        left = self._unary()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in "+-":
            self.pos += 1
            left = _arith(token[1], left, self._unary())
        return left

    def _unary(self) -> _TValue:
        token = self._peek()
        if token is not None and token == ("op", "-"):
            self.pos += 1
            operand = self._unary()
            if operand.kind in ("duration", "int", "float64"):
                return _TValue(operand.kind, -operand.value)
            raise TimeExprError(f"invalid operation: - ({operand.go_type})")
        return self._primary()

    def _primary(self) -> _TValue:
        kind, text = self._take()
        if kind == "num":
            if re.fullmatch(r"\d+", text):
                return _TValue("int", int(text))
            return _TValue("float64", float(text))
        if kind == "str":
            return _TValue("string", _unquote(text))
        if kind == "op" and text == "(":
            value = self._sum()
            if self._take() != ("op", ")"):
                raise TimeExprError("unexpected token, expected )")
            return value
        if kind == "name":
            token = self._peek()
            if token != ("op", "("):
                raise TimeExprError(f"unknown name {text}")
            self.pos += 1
            args: list[_TValue] = []
            if self._peek() != ("op", ")"):
                args.append(self._sum())
                while self._peek() == ("op", ","):
                    self.pos += 1
                    args.append(self._sum())
            if self._take() != ("op", ")"):
                raise TimeExprError("unexpected token, expected )")
            return self._call(text, args)
        raise TimeExprError(f'unexpected token Operator("{text}")')

    def _call(self, name: str, args: list[_TValue]) -> _TValue:
        if name == "now":
            if args:
                raise TimeExprError("too many arguments to call now")
            return _TValue("time", self.now)
        if name in ("duration", "date"):
            if len(args) != 1:
                raise TimeExprError(
                    f"not enough arguments to call {name}"
                    if not args
                    else f"too many arguments to call {name}"
                )
            if args[0].kind != "string":
                raise TimeExprError(f"cannot use {args[0].go_type} as argument (type string) to call {name} ")
            if name == "duration":
                try:
                    return _TValue("duration", parse_go_duration(args[0].value))
                except DurationError as exc:
                    raise TimeExprError(str(exc)) from None
            return _TValue("time", _parse_date(args[0].value))
        raise TimeExprError(f"unknown func {name}")


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)


def _parse_date(text: str) -> float:
    candidate = text.strip()
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(candidate)
    except ValueError:
        raise TimeExprError(f'parsing time "{text}": cannot parse') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _arith(op: str, left: _TValue, right: _TValue) -> _TValue:
    kinds = (left.kind, right.kind)
    sign = 1 if op == "+" else -1
    if kinds == ("time", "duration"):
        return _TValue("time", left.value + sign * right.value)
    if kinds == ("duration", "time") and op == "+":
        return _TValue("time", right.value + left.value)
    if kinds == ("time", "time") and op == "-":
        return _TValue("duration", left.value - right.value)
    if kinds == ("duration", "duration"):
        return _TValue("duration", left.value + sign * right.value)
    if left.kind in ("int", "float64") and right.kind in ("int", "float64"):
        kind = "int" if kinds == ("int", "int") else "float64"
        return _TValue(kind, left.value + sign * right.value)
    if kinds == ("string", "string") and op == "+":
        return _TValue("string", left.value + right.value)
    raise TimeExprError(f"invalid operation: {op} (mismatched types {left.go_type} and {right.go_type})")


def eval_time(source: str, now: float) -> float:
    """Argo's ``EvalTime`` for the documented forms; returns unix seconds or raises TimeExprError."""
    value = _TimeParser(source, now).parse()
    if value.kind != "time":
        raise TimeExprError(f"expected time.Time, but got {value.go_type}")
    return float(value.value)


# ---------------------------------------------------------------------------------------------------
# the client_golang side: request, API envelope, query result


def _go_json_loads(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")

    def reject(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as exc:
        raise PrometheusQueryError(_go_json_error(text, exc.pos, exc.msg)) from None
    except ValueError as exc:
        start = text.find(str(exc))
        raise PrometheusQueryError(_go_json_error(text, max(start, 0), "Expecting value")) from None


def _go_json_error(text: str, pos: int, msg: str) -> str:
    """encoding/json's syntax error texts for the common cases."""
    if pos >= len(text) or not text.strip():
        return "unexpected end of JSON input"
    char = text[pos]
    quoted = "'\\''" if char == "'" else f"'{char}'"
    if msg.startswith("Extra data"):
        return f"invalid character {quoted} after top-level value"
    if pos == len(text) - len(text.lstrip()):
        return f"invalid character {quoted} looking for beginning of value"
    return f"invalid character {quoted} looking for beginning of value"


@dataclass(frozen=True, slots=True)
class _ApiResult:
    data: Any
    has_data: bool
    warnings: list[str]


_MISSING = object()


def _decode_envelope(response: gohttp.GoResponse) -> _ApiResult:
    """client_golang ``apiClientImpl.Do`` on an HTTP response."""
    code = response.status
    api_error_code = code in (400, 422)
    if code // 100 != 2 and not api_error_code:
        if code // 100 == 4:
            raise PrometheusQueryError(f"client_error: client error: {code}")
        if code // 100 == 5:
            raise PrometheusQueryError(f"server_error: server error: {code}")
        raise PrometheusQueryError(f"bad_response: bad response code {code}")
    envelope: Mapping[str, Any] = {}
    if code != 204:
        try:
            parsed = _go_json_loads(response.body)
        except PrometheusQueryError as exc:
            raise PrometheusQueryError(f"bad_response: {exc}") from None
        if parsed is None:
            parsed = {}
        if not isinstance(parsed, Mapping):
            raise PrometheusQueryError(
                f"bad_response: json: cannot unmarshal {json_kind(parsed)} into Go value of type v1.apiResponse"
            )
        for field in ("status", "errorType", "error"):
            value = parsed.get(field)
            if value is not None and not isinstance(value, str):
                raise PrometheusQueryError(
                    f"bad_response: json: cannot unmarshal {json_kind(value)} into Go struct field "
                    f"apiResponse.{field} of type string"
                )
        envelope = parsed
    status = envelope.get("status") or ""
    if api_error_code and status == "success":
        raise PrometheusQueryError("bad_response: inconsistent body for response code")
    if status == "error":
        raise PrometheusQueryError(f"{envelope.get('errorType') or ''}: {envelope.get('error') or ''}")
    warnings_raw = envelope.get("warnings")
    warnings = [str(w) for w in warnings_raw] if isinstance(warnings_raw, list) else []
    data = envelope.get("data", _MISSING)
    return _ApiResult(data=data, has_data=data is not _MISSING, warnings=warnings)


def _parse_go_float(text: str) -> float:
    """``strconv.ParseFloat(s, 64)`` (decimal, hex, inf/nan spellings), with Go's error text."""
    lowered = text.lower()
    body = lowered[1:] if lowered[:1] in "+-" else lowered
    try:
        if text != text.strip() or "_" in text:
            raise ValueError
        if body.startswith("0x"):
            value = float.fromhex(text)
        elif body in ("inf", "infinity"):
            value = math.inf if lowered[0] != "-" else -math.inf
        elif body == "nan":
            value = math.nan
        elif re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            value = float(text)
        else:
            raise ValueError
    except ValueError:
        raise PrometheusQueryError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None
    if math.isinf(value) and body not in ("inf", "infinity"):
        raise PrometheusQueryError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def _sample_value(raw: object) -> float:
    if not isinstance(raw, str):
        raise PrometheusQueryError("sample value must be a quoted string")
    return _parse_go_float(raw)


def _pair_value(raw: object) -> float:
    if not isinstance(raw, list) or len(raw) < 2:
        raise PrometheusQueryError("sample value must be a quoted string")
    return _sample_value(raw[1])


@dataclass(frozen=True, slots=True)
class QueryValue:
    """A decoded query result: a scalar, or the (flattened) sample values of a vector or matrix."""

    kind: str  # scalar | vector | matrix
    values: list[float]


def decode_query_result(api: _ApiResult) -> QueryValue:
    """client_golang ``queryResult.UnmarshalJSON`` + the model types."""
    if not api.has_data:
        raise PrometheusQueryError("unexpected end of JSON input")
    data = api.data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PrometheusQueryError(
            f"json: cannot unmarshal {json_kind(data)} into Go value of type struct "
            '{ Type model.ValueType "json:\\"resultType\\""; Result json.RawMessage "json:\\"result\\"" }'
        )
    result_type = data.get("resultType")
    if result_type is None:
        result_type = "<ValNone>"
    if not isinstance(result_type, str):
        raise PrometheusQueryError(
            f"json: cannot unmarshal {json_kind(result_type)} into Go value of type string"
        )
    if result_type not in ("<ValNone>", "scalar", "vector", "matrix", "string"):
        raise PrometheusQueryError(f'unknown value type "{result_type}"')
    if result_type not in ("scalar", "vector", "matrix"):
        raise PrometheusQueryError(f'unexpected value type "{result_type}"')
    if "result" not in data:
        raise PrometheusQueryError("unexpected end of JSON input")
    result = data["result"]
    if result_type == "scalar":
        if not isinstance(result, list) or len(result) < 2 or not isinstance(result[1], str):
            raise PrometheusQueryError("json: cannot unmarshal into Go value of type model.Scalar")
        try:
            return QueryValue("scalar", [_parse_go_float(result[1])])
        except PrometheusQueryError as exc:
            raise PrometheusQueryError(f"error parsing sample value: {exc}") from None
    if result is None:
        result = []
    if not isinstance(result, list):
        raise PrometheusQueryError(
            f"json: cannot unmarshal {json_kind(result)} into Go value of type model.{result_type.capitalize()}"
        )
    values: list[float] = []
    for item in result:
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise PrometheusQueryError(
                f"json: cannot unmarshal {json_kind(item)} into Go value of type model.Sample"
            )
        if result_type == "vector":
            if item.get("histogram") is not None:
                values.append(0.0)  # native histogram samples carry no float value
            elif item.get("value") is None:
                values.append(0.0)
            else:
                values.append(_pair_value(item["value"]))
        else:
            for pair in item.get("values") or []:
                values.append(_pair_value(pair))
    return QueryValue(result_type, values)


# ---------------------------------------------------------------------------------------------------
# the provider


class PrometheusProvider:
    """``provider.prometheus``; built per measurement by the engine."""

    def __init__(self, metric: Metric, environ: Mapping[str, str] | None = None) -> None:
        self.config = parse_config(metric, environ)

    def kind(self) -> str:
        return "Prometheus"

    def metadata(self, metric: Metric) -> dict[str, str] | None:
        spec = metric.provider.get("prometheus")
        query = str(spec.get("query") or "") if isinstance(spec, Mapping) else ""
        return {RESOLVED_QUERY_KEY: query} if query else {}

    def run(self, ctx: MeasureContext, metric: Metric) -> Measurement:
        started = ctx.now
        try:
            api = self._execute(ctx)
            query_value = decode_query_result(api)
            value, phase = process_response(query_value, metric)
        except (PrometheusQueryError, gohttp.GoHTTPError, ConditionError) as exc:
            return Measurement(
                phase=Phase.ERROR,
                started_at=started,
                finished_at=ctx.now,
                message=gohttp.redact(str(exc), ctx.secrets.values()),
            )
        metadata = None
        if api.warnings:
            metadata = {"warnings": ", ".join(f'"{w}"' for w in api.warnings)}
        return Measurement(
            phase=phase, started_at=started, finished_at=ctx.now, value=value, metadata=metadata
        )

    def resume(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement

    def terminate(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement

    # -- the request -----------------------------------------------------------------------------
    def _execute(self, ctx: MeasureContext) -> _ApiResult:
        cfg = self.config
        deadline = time.monotonic() + cfg.timeout
        if cfg.range_query is not None:
            rq = cfg.range_query
            try:
                start = eval_time(rq.start, ctx.now)
            except TimeExprError as exc:
                raise PrometheusQueryError(f"failed to parse rangeQuery.start as time: {exc}") from None
            try:
                end = eval_time(rq.end, ctx.now)
            except TimeExprError as exc:
                raise PrometheusQueryError(f"failed to parse rangeQuery.end as time: {exc}") from None
            try:
                step = parse_go_duration(rq.step)
            except DurationError as exc:
                raise PrometheusQueryError(f"failed to parse rangeQuery.step as duration: {exc}") from None
            args = {
                "query": cfg.query,
                "start": format_float(start),
                "end": format_float(end),
                "step": format_float(step),
            }
            url = endpoint_url(cfg.address, "/api/v1/query_range")
        else:
            args = {"query": cfg.query, "time": format_float(ctx.now)}
            url = endpoint_url(cfg.address, "/api/v1/query")
        return self._do_get_fallback(url, args, deadline)

    def _do_get_fallback(self, url: str, args: dict[str, str], deadline: float) -> _ApiResult:
        client = gohttp.shared_client(insecure=self.config.insecure, timeout=self.config.timeout)
        encoded = urllib.parse.urlencode(sorted(args.items()))  # url.Values.Encode sorts by key
        headers = dict(self.config.headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = gohttp.send(
            client, "POST", url, headers=headers, content=encoded.encode(), deadline=deadline
        )
        if response.status in GET_FALLBACK_STATUSES:
            parts = urllib.parse.urlsplit(url)
            get_url = urllib.parse.urlunsplit(parts._replace(query=encoded))
            response = gohttp.send(
                client, "GET", get_url, headers=dict(self.config.headers), content=None, deadline=deadline
            )
        return _decode_envelope(response)


def process_response(query_value: QueryValue, metric: Metric) -> tuple[str, Phase]:
    """Argo's ``processResponse``: the measurement value and the phase from the conditions."""
    if query_value.kind == "scalar":
        scalar = query_value.values[0]
        return format_float(scalar), evaluate_result(scalar, metric)
    value = "[" + ",".join(format_float(v) for v in query_value.values) + "]"
    return value, evaluate_result(Float64Slice(list(query_value.values)), metric)


def _factory(metric: Metric) -> PrometheusProvider:
    return PrometheusProvider(metric)


register_provider("prometheus", _factory)
