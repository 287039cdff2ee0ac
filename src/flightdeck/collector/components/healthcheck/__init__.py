"""``health_check`` extension (contrib ``extension/healthcheckextension``, legacy handler): 503 until the
pipelines are ready, 200 with the up-since time and uptime after, 503 again once shutdown begins."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import Host, Kind, Settings, Stability
from flightdeck.collector.confdecode import format_go_duration_ns
from flightdeck.collector.confighttp import ServerConfig
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import BaseFactory
from flightdeck.collector.httpserver import HTTPServer, Request, Response
from flightdeck.kube.durations import DurationError, parse_go_duration


@dataclass(slots=True)
class ResponseBody:
    healthy: str = ""
    unhealthy: str = ""


@dataclass(slots=True)
class CheckCollectorPipeline:
    enabled: bool = False
    interval: str = "5m"
    exporter_failure_threshold: int = 5


@dataclass(slots=True)
class Config(ServerConfig):
    endpoint: str = "localhost:13133"
    path: str = "/"
    response_body: ResponseBody | None = None
    check_collector_pipeline: CheckCollectorPipeline = field(default_factory=CheckCollectorPipeline)


def _validate(cfg: Config) -> list[str]:
    try:
        parse_go_duration(cfg.check_collector_pipeline.interval)
    except DurationError as exc:
        return [str(exc)]
    if cfg.endpoint == "":
        return ["bad config: endpoint must be specified"]
    if cfg.check_collector_pipeline.exporter_failure_threshold <= 0:
        return ["bad config: exporter_failure_threshold expects a positive number"]
    if not cfg.path.startswith("/"):
        return ["bad config: path must start with /"]
    return []


def rfc3339nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


class HealthCheck:
    def __init__(self, settings: Settings, cfg: Config) -> None:
        cfg.check_supported("the health_check server")
        if cfg.check_collector_pipeline.enabled:
            raise ConfigError("not supported: check_collector_pipeline (deprecated upstream)")
        self.settings = settings
        self.cfg = cfg
        self.ready_since_ns: int | None = None  # wall clock, for upSince
        self._ready_mono: int = 0
        self._server: HTTPServer | None = None
        self.port: int | None = None

    def _matches(self, path: str) -> bool:
        # Go ServeMux: a pattern ending in "/" matches its whole subtree, others only themselves.
        want = self.cfg.path
        return path.startswith(want) if want.endswith("/") else path == want

    async def handle(self, req: Request) -> Response:
        if not self._matches(req.path):
            return Response(
                404,
                b"404 page not found\n",
                [("X-Content-Type-Options", "nosniff")],
                "text/plain; charset=utf-8",
            )
        body_cfg = self.cfg.response_body
        ready = self.ready_since_ns is not None
        if body_cfg is not None:
            text = body_cfg.healthy if ready else body_cfg.unhealthy
            return Response(200 if ready else 503, text.encode(), content_type="text/plain; charset=utf-8")
        if ready:
            assert self.ready_since_ns is not None
            up = time.monotonic_ns() - self._ready_mono
            body = {
                "status": "Server available",
                "upSince": rfc3339nano(self.ready_since_ns),
                "uptime": format_go_duration_ns(up),
            }
            return Response(
                200, json.dumps(body, separators=(",", ":")).encode(), content_type="application/json"
            )
        body = {"status": "Server not available", "upSince": "0001-01-01T00:00:00Z", "uptime": ""}
        return Response(
            503, json.dumps(body, separators=(",", ":")).encode(), content_type="application/json"
        )

    async def start(self, host: Host) -> None:
        server = await self.cfg.listen(self.handle)
        self._server = server
        self.port = server.port
        self.settings.logger.info("Starting health_check extension", config=_describe(self.cfg))
        self._set(False)

    def _set(self, ready: bool) -> None:
        if ready:
            if self.ready_since_ns is None:
                self.ready_since_ns = time.time_ns()
                self._ready_mono = time.monotonic_ns()
        else:
            self.ready_since_ns = None
        self.settings.logger.info("Health Check state change", status="ready" if ready else "unavailable")

    async def ready(self) -> None:
        self._set(True)

    async def not_ready(self) -> None:
        self._set(False)

    async def shutdown(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None


def _describe(cfg: Config) -> dict[str, Any]:
    return {"Endpoint": cfg.endpoint, "Path": cfg.path}


@dataclass(frozen=True, slots=True)
class _Factory(BaseFactory):
    stability: Stability = Stability.BETA

    def create_extension(self, settings: Settings, cfg: Any) -> HealthCheck:
        return HealthCheck(settings, cfg)


FACTORY = _Factory("health_check", Kind.EXTENSION, Config, _validate)
