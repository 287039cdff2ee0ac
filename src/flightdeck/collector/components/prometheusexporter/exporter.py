"""The ``prometheus`` exporter component: accumulates metrics and serves them on ``endpoint`` at
``/metrics`` (Go ServeMux: any other path is ``404 page not found``), with promhttp's content and
compression negotiation. The scrape itself (:meth:`PrometheusExporter.scrape`) is pure given ``now_ns``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from flightdeck.collector import expfmt
from flightdeck.collector.component import Host, Settings
from flightdeck.collector.components.prometheusexporter import naming
from flightdeck.collector.components.prometheusexporter.accumulator import Accumulator
from flightdeck.collector.components.prometheusexporter.config import Config
from flightdeck.collector.components.prometheusexporter.gather import GatherConfig, Gatherer, multi_error_text
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.expfmt import Family
from flightdeck.collector.httpserver import NOT_FOUND, HTTPServer, Request, Response


class PrometheusExporter:
    def __init__(self, settings: Settings, cfg: Config, clock: Callable[[], int] = time.time_ns) -> None:
        if not cfg.endpoint.strip():
            raise ConfigError("expecting a non-blank address to run the Prometheus metrics handler")
        cfg.check_supported("the prometheus exporter's HTTP server")
        if isinstance(cfg.sending_queue, dict) and cfg.sending_queue.get("enabled"):
            raise ConfigError("not supported: sending_queue on the prometheus exporter")
        self.settings = settings
        self.cfg = cfg
        self.clock = clock
        with_suffixes, utf8 = cfg.translation()
        self.accumulator = Accumulator(cfg.metric_expiration, cfg.resource_to_telemetry_conversion.enabled)
        label_namer = naming.LabelNamer(utf8_allowed=utf8)
        self.gatherer = Gatherer(
            GatherConfig(
                namespace=cfg.namespace,
                const_labels=dict(cfg.const_labels),
                send_timestamps=cfg.send_timestamps,
                metric_expiration_ns=cfg.metric_expiration,
                metric_namer=naming.MetricNamer(cfg.namespace, with_suffixes, utf8),
                label_namer=label_namer,
            ),
            log_error=lambda msg: settings.logger.error(msg),
            log_info=lambda msg, **fields: settings.logger.info(msg, **fields),
        )
        self._server: HTTPServer | None = None
        self.port: int | None = None
        self._gathered: tuple[int, list[Family], list[str], list[str]] | None = None
        self._bodies: dict[expfmt.Format, bytes] = {}

    # ---------------------------------------------------------------- consumer
    async def consume(self, data: Any) -> None:
        self.accept(data, self.clock())

    def accept(self, data: ExportMetricsServiceRequest, now_ns: int) -> int:
        """Accumulate a metrics request at ``now_ns``; returns the number of points stored."""
        return sum(self.accumulator.accumulate(rm, now_ns) for rm in data.resource_metrics)

    # ---------------------------------------------------------------- scrape
    def _gather(self, now_ns: int) -> tuple[list[Family], list[str], list[str]]:
        entries = self.accumulator.collect(now_ns)
        generation = self.accumulator.generation
        cached = self._gathered
        if cached is not None and cached[0] == generation:
            # Nothing was stored, deleted or expired since the last scrape: same families, same errors.
            _, families, errors, convert_errors = cached
            self.gatherer.touch(self.gatherer.validated, now_ns)
            for message in convert_errors:
                self.settings.logger.error(message)
            return families, errors, convert_errors
        families, errors = self.gatherer.gather(entries, now_ns)
        convert_errors = list(self.gatherer.convert_errors)
        self._gathered = (generation, families, errors, convert_errors)
        self._bodies.clear()
        return families, errors, convert_errors

    def scrape(self, accept: str, accept_encoding: str, now_ns: int) -> Response:
        families, errors, _ = self._gather(now_ns)
        if errors:
            self.settings.logger.error("error gathering metrics: " + multi_error_text(errors))
            if not families:
                body = (
                    "An error has occurred while serving metrics:\n\n" + multi_error_text(errors) + "\n"
                ).encode()
                return Response(
                    500, body, [("X-Content-Type-Options", "nosniff")], "text/plain; charset=utf-8"
                )
        fmt = expfmt.negotiate(accept, self.cfg.enable_open_metrics)
        try:
            cached = self._bodies.get(fmt)
            body = cached if cached is not None else expfmt.encode(families, fmt)
            self._bodies[fmt] = body
        except NotImplementedError as exc:
            self.settings.logger.error(str(exc))
            return Response(500, (str(exc) + "\n").encode(), content_type="text/plain; charset=utf-8")
        return expfmt.response(body, fmt, accept_encoding)

    async def handle(self, req: Request) -> Response:
        if req.path != "/metrics":
            return NOT_FOUND
        return self.scrape(
            req.headers.get("accept", ""), req.headers.get("accept-encoding", ""), self.clock()
        )

    # ---------------------------------------------------------------- lifecycle
    async def start(self, host: Host) -> None:
        server = await self.cfg.listen(
            self.handle, on_error=lambda exc: self.settings.logger.error(repr(exc))
        )
        self._server = server
        self.port = server.port

    async def shutdown(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None
