"""The ``web`` metric provider: Argo Rollouts' ``metricproviders/webmetric`` in Python.

One measurement is one HTTP request (``GET`` by default, or ``POST``/``PUT`` with ``body`` or
``jsonBody``). A JSON response is decoded the way Go's ``encoding/json`` decodes into ``any``
(every number a float64), ``jsonPath`` (Kubernetes JSONPath, default ``{$}``) selects a value, and
that value is both the conditions' ``result`` and, re-encoded as Go's ``json.Marshal`` would, the
measurement ``value``. A body that is not JSON is kept verbatim as the value and the measurement
is ``Successful`` without evaluating any condition (Argo's behaviour).
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightdeck.analysis.evaluate import ConditionError, evaluate_result
from flightdeck.analysis.providers import gohttp
from flightdeck.analysis.providers.base import MeasureContext, ProviderError, register_provider
from flightdeck.analysis.providers.jsonpath import JSONPath, JSONPathError
from flightdeck.analysis.types import Measurement, Metric, Phase
from flightdeck.util.gofmt import format_float

DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_JSONPATH = "{$}"
CLIENT_TIMEOUT_REASON = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
BODY_TIMEOUT_REASON = (
    "Received no bytes in response: "
    "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class WebMetricError(Exception):
    """``str()`` is the measurement message Argo would record."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    url: str
    method: str
    headers: list[tuple[str, str]]
    body: str
    json_body: Any
    has_json_body: bool
    timeout: float
    insecure: bool
    json_path: JSONPath


def parse_config(metric: Metric) -> WebConfig:
    """Argo's ``NewWebMetricHttpClient`` + ``NewWebMetricJsonParser``; raises ProviderError."""
    spec = metric.provider.get("web")
    spec = spec if isinstance(spec, Mapping) else {}
    try:
        seconds = int(spec.get("timeoutSeconds") or 0)
    except (TypeError, ValueError):
        seconds = 0
    timeout = float(seconds if seconds > 0 else DEFAULT_TIMEOUT_SECONDS)
    auth = spec.get("authentication")
    oauth2 = auth.get("oauth2") if isinstance(auth, Mapping) else None
    if isinstance(oauth2, Mapping) and oauth2.get("tokenUrl"):
        if not oauth2.get("clientId") or not oauth2.get("clientSecret"):
            raise ProviderError("missing mandatory parameter in metric for OAuth2 setup")
        raise ProviderError("flightdeck: web authentication.oauth2 is not supported yet")
    try:
        json_path = JSONPath(str(spec.get("jsonPath") or "") or DEFAULT_JSONPATH)
    except JSONPathError as exc:
        raise ProviderError(str(exc)) from None
    headers: list[tuple[str, str]] = []
    for entry in spec.get("headers") or []:
        if isinstance(entry, Mapping):
            value = entry.get("value")
            headers.append((str(entry.get("key") or ""), "" if value is None else str(value)))
    return WebConfig(
        url=str(spec.get("url") or ""),
        method=str(spec.get("method") or "") or "GET",
        headers=headers,
        body=str(spec.get("body") or ""),
        json_body=spec.get("jsonBody"),
        has_json_body=spec.get("jsonBody") is not None,
        timeout=timeout,
        insecure=bool(spec.get("insecure")),
        json_path=json_path,
    )


class WebMetricProvider:
    """``provider.web``; built per measurement by the engine."""

    def __init__(self, metric: Metric) -> None:
        self.config = parse_config(metric)

    def kind(self) -> str:
        return "Web"

    def metadata(self, metric: Metric) -> dict[str, str] | None:
        return None

    def resume(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement

    def terminate(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement

    def run(self, ctx: MeasureContext, metric: Metric) -> Measurement:
        started = ctx.now
        try:
            value, phase = self._measure(metric)
        except (WebMetricError, gohttp.GoHTTPError, ConditionError) as exc:
            return Measurement(
                phase=Phase.ERROR,
                started_at=started,
                finished_at=ctx.now,
                message=gohttp.redact(str(exc), ctx.secrets.values()),
            )
        return Measurement(phase=phase, started_at=started, finished_at=ctx.now, value=value)

    def _measure(self, metric: Metric) -> tuple[str, Phase]:
        cfg = self.config
        if cfg.body and cfg.has_json_body:
            raise WebMetricError("use either Body or JSONBody; both cannot exists for WebMetric payload")
        if (cfg.body or cfg.has_json_body) and cfg.method == "GET":
            raise WebMetricError("Body/JSONBody can only be used with POST or PUT WebMetric Method types")
        content: bytes | None = None
        if cfg.body:
            content = cfg.body.encode()
        elif cfg.has_json_body:
            content = go_json_marshal(cfg.json_body).encode()
        if not _TOKEN.match(cfg.method):
            raise WebMetricError(f'net/http: invalid method "{cfg.method}"')
        parse_error = _go_url_parse_error(cfg.url)
        if parse_error:
            raise WebMetricError(parse_error)

        headers: dict[str, str] = {}
        gohttp.set_go_headers(headers, [{"key": k, "value": v} for k, v in cfg.headers])
        if cfg.has_json_body:
            gohttp.set_go_headers(headers, [{"key": "Content-Type", "value": "application/json"}])
        headers.pop("Host", None)  # Go's client takes the host from the URL, never from Header

        client = gohttp.shared_client(insecure=cfg.insecure, timeout=cfg.timeout)
        response = gohttp.send(
            client,
            cfg.method,
            cfg.url,
            headers=headers,
            content=content,
            deadline=time.monotonic() + cfg.timeout,
            timeout_reason=CLIENT_TIMEOUT_REASON,
            body_timeout_reason=BODY_TIMEOUT_REASON,
        )
        if response.status < 200 or response.status >= 300:
            raise WebMetricError(f"received non 2xx response code: {response.status}")

        ok, data = go_json_unmarshal(response.body)
        if not ok:
            return response.body.decode("utf-8", errors="replace"), Phase.SUCCESSFUL
        try:
            found, result = cfg.json_path.first(data)
        except JSONPathError as exc:
            raise WebMetricError(f"Could not find JSONPath in body: {exc}") from None
        if not found:
            raise WebMetricError("result of web metric produced no value")
        value = go_json_marshal(result)
        return value, evaluate_result(result, metric)


def _go_url_parse_error(url: str) -> str:
    """The few ``url.Parse`` failures ``http.NewRequest`` reports (``parse "…": …``)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return f'parse "{url}": net/url: invalid control character in URL'
    if url.startswith(":"):
        return f'parse "{url}": missing protocol scheme'
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        if "[" in url and "]" not in url:
            return f"parse \"{url}\": missing ']' in host"
        host = url.split("//", 1)[-1].split("/", 1)[0].rpartition("@")[2]
        port = host.rpartition(":")[2] if ":" in host else ""
        return f'parse "{url}": invalid port ":{port}" after host'
    if " " in parts.netloc:
        return f'parse "{url}": invalid character " " in host name'
    return ""


# -- Go's encoding/json ----------------------------------------------------------------------------


def go_json_unmarshal(body: bytes) -> tuple[bool, Any]:
    """``json.Unmarshal(body, &any)``: (False, None) when Go would fail to decode."""
    text = body.decode("utf-8", errors="replace")

    def reject(_: str) -> Any:
        raise ValueError("not JSON")

    def number(raw: str) -> float:
        value = float(raw)
        if math.isinf(value):
            raise ValueError("out of range")
        return value

    try:
        return True, json.loads(text, parse_int=number, parse_float=number, parse_constant=reject)
    except ValueError:
        return False, None


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _go_json_string(text: str) -> str:
    out = ['"']
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _go_json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise WebMetricError(f"json: unsupported value: {format_float(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = repr(value)
        return re.sub(r"e([+-])0(\d)$", r"e\1\2", text) if "e-0" in text else text
    return format_float(value)


def go_json_marshal(value: Any) -> str:
    """``json.Marshal`` of a decoded JSON value: compact, sorted keys, HTML-safe escapes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json_marshal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_go_json_string(k)}:{go_json_marshal(v)}" for k, v in items) + "}"
    return _go_json_string(str(value))


def _factory(metric: Metric) -> WebMetricProvider:
    return WebMetricProvider(metric)


register_provider("web", _factory)
