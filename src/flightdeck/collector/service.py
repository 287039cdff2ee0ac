"""The running collector (upstream ``otelcol.Collector`` + ``service.Service``): load → validate → build the
graph → start extensions and pipelines → serve own metrics → shut down in reverse on a signal.

``Collector.from_text(text)`` raises ConfigError with the exact otelcol text at each stage; ``start()`` /
``shutdown()`` are what ``flightdeck up`` embeds; ``run()`` is the CLI's loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from typing import Any

from flightdeck.collector import config as configmod
from flightdeck.collector import expfmt
from flightdeck.collector.component import Component, ComponentID, Kind, Logger, Registry, default_registry
from flightdeck.collector.confighttp import ServerConfig
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.graph import Built, GraphError, build, build_extensions, plan
from flightdeck.collector.httpserver import NOT_FOUND, HTTPServer, Request, Response
from flightdeck.collector.telemetry import TelemetryRegistry
from flightdeck.collector.zaplog import ZapLogger

BUILD_COMMAND = "otelcol-contrib"
BUILD_VERSION = "0.142.0"


def load_config(
    text: str,
    registry: Registry | None = None,
    env: Mapping[str, str] | None = None,
    logger: Logger | None = None,
) -> configmod.CollectorConfig:
    """Resolve + unmarshal; ConfigError ``failed to get config: …``."""
    warn = None
    if logger is not None:
        log = logger

        def warn(msg: str, name: str) -> None:
            log.warn(msg, name=name)

    return configmod.load(text, registry or default_registry(), env, warn)


def validate_config(cfg: configmod.CollectorConfig) -> None:
    """What ``otelcol validate`` checks after loading: config validation (unprefixed, as DryRun prints
    it) and the pipeline graph (``failed to build pipelines: …``), creating components without starting."""
    errors = configmod.validate(cfg)
    if errors:
        raise ConfigError("\n".join(errors))
    tel = TelemetryRegistry()
    quiet = ZapLogger(level="error")
    try:
        build(cfg, plan(cfg), tel, lambda fields: quiet)
    except GraphError as exc:
        raise ConfigError(f"failed to build pipelines: {exc}") from None


class Collector:
    """One collector: its config, components, own telemetry and lifecycle. Implements ``Host``."""

    def __init__(
        self,
        cfg: configmod.CollectorConfig,
        logger: ZapLogger | None = None,
        telemetry: TelemetryRegistry | None = None,
    ) -> None:
        self.cfg = cfg
        self.telemetry = telemetry or TelemetryRegistry(BUILD_COMMAND, BUILD_VERSION)
        base = logger or ZapLogger(level=cfg.service.telemetry.logs_level)
        self.resource_fields = dict(self.telemetry.resource)
        self.logger = base
        self._ext: dict[ComponentID, Component] = {}
        self._built: Built | None = None
        self._started: list[tuple[Kind, ComponentID, Component]] = []
        self._metrics_server: HTTPServer | None = None
        self.fatal: asyncio.Future[BaseException] | None = None
        self.metrics_port: int | None = None

    @classmethod
    def from_text(
        cls,
        text: str,
        registry: Registry | None = None,
        env: Mapping[str, str] | None = None,
        logger: ZapLogger | None = None,
    ) -> Collector:
        cfg = load_config(text, registry, env, logger)
        errors = configmod.validate(cfg)
        if errors:
            raise ConfigError("invalid configuration: " + "\n".join(errors))
        col = cls(cfg, logger)
        col.build()
        return col

    def _component_logger(self, fields: Mapping[str, object]) -> Logger:
        return self.logger.with_fields(resource=self.resource_fields, **fields)

    def build(self) -> None:
        """service.New: extensions, then pipelines."""
        self._ext = build_extensions(self.cfg, self.telemetry, self._component_logger)
        try:
            self._built = build(self.cfg, plan(self.cfg), self.telemetry, self._component_logger)
        except GraphError as exc:
            raise ConfigError(f"failed to build pipelines: {exc}") from None

    # --- Host ------------------------------------------------------------------------------------

    def report_fatal_error(self, err: BaseException) -> None:
        if self.fatal is not None and not self.fatal.done():
            self.fatal.set_result(err)

    def extensions(self) -> Mapping[ComponentID, Component]:
        return self._ext

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start everything; ConfigError with upstream's text when a component cannot start."""
        assert self._built is not None, "build() first"
        self.fatal = asyncio.get_running_loop().create_future()
        self.logger.info(f"Starting {BUILD_COMMAND}...", Version=BUILD_VERSION, NumCPU=os.cpu_count() or 1)
        await self._start_metrics_server()
        self.logger.info("Starting extensions...")
        for cid, ext in self._ext.items():
            log = self._component_logger(
                {"otelcol.component.id": str(cid), "otelcol.component.kind": "extension"}
            )
            log.info("Extension is starting...")
            try:
                await ext.start(self)
            except Exception as exc:
                await self.shutdown()
                raise ConfigError(
                    f'failed to start extensions: failed to start "{cid}" extension: {_text(exc)}'
                ) from None
            self._started.append((Kind.EXTENSION, cid, ext))
            log.info("Extension started.")
        for kind, cid, comp in self._built.start_order:
            try:
                await comp.start(self)
            except Exception as exc:
                await self.shutdown()
                raise ConfigError(
                    f'cannot start pipelines: failed to start "{cid}" {kind}: {_text(exc)}'
                ) from None
            self._started.append((kind, cid, comp))
        for ext in self._ext.values():
            ready = getattr(ext, "ready", None)
            if ready is not None:
                await ready()
        self.logger.info("Everything is ready. Begin running and processing data.")

    async def shutdown(self) -> None:
        """Receivers first, exporters last, extensions after the pipelines (upstream order)."""
        self.logger.info("Starting shutdown...")
        for ext in self._ext.values():
            not_ready = getattr(ext, "not_ready", None)
            if not_ready is not None:
                await not_ready()
        pipeline_parts = [s for s in self._started if s[0] is not Kind.EXTENSION]
        extensions = [s for s in self._started if s[0] is Kind.EXTENSION]
        for kind, cid, comp in reversed(pipeline_parts):
            try:
                await comp.shutdown()
            except Exception as exc:
                self.logger.error(
                    "Failed to shut down component", id=str(cid), kind=str(kind), error=repr(exc)
                )
        self.logger.info("Stopping extensions...")
        for _, cid, ext in reversed(extensions):
            try:
                await ext.shutdown()
            except Exception as exc:
                self.logger.error("Failed to shut down extension", id=str(cid), error=repr(exc))
        self._started.clear()
        if self._metrics_server is not None:
            await self._metrics_server.close()
            self._metrics_server = None
        self.logger.info("Shutdown complete.")

    async def _start_metrics_server(self) -> None:
        tel = self.cfg.service.telemetry
        if tel.metrics_level == "none":
            return
        host = tel.metrics_host
        endpoint = f"[{host}]:{tel.metrics_port}" if ":" in host else f"{host}:{tel.metrics_port}"
        try:
            server = await ServerConfig(endpoint=endpoint).listen(self._serve_metrics)
        except ConfigError as exc:
            # Upstream would stop here; flightdeck keeps the pipelines running and says why.
            self.logger.warn("Own telemetry server not started", endpoint=endpoint, error=str(exc))
            return
        self._metrics_server = server
        self.metrics_port = server.port

    async def _serve_metrics(self, req: Request) -> Response:
        """promhttp's handler over the collector's own metrics (negotiated format, gzip)."""
        if req.path != "/metrics":
            return NOT_FOUND
        return expfmt.serve(
            self.telemetry.families(), req.headers.get("accept", ""), req.headers.get("accept-encoding", "")
        )

    async def run(self, stop: asyncio.Event | None = None) -> BaseException | None:
        """Start, wait for SIGINT/SIGTERM (or ``stop``) or a fatal component error, shut down."""
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        received: list[str] = []

        def on_signal(name: str) -> None:
            received.append(name)
            stop.set()

        installed = []
        for sig, name in ((signal.SIGINT, "interrupt"), (signal.SIGTERM, "terminated")):
            try:
                loop.add_signal_handler(sig, on_signal, name)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await self.start()
            assert self.fatal is not None
            stop_task: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
            fatal_future: asyncio.Future[Any] = self.fatal
            done, _ = await asyncio.wait({stop_task, fatal_future}, return_when=asyncio.FIRST_COMPLETED)
            fatal: BaseException | None = None
            if self.fatal in done:
                fatal = self.fatal.result()
                self.logger.error("Fatal error reported by a component", error=str(fatal))
            stop_task.cancel()
            if received:
                self.logger.info("Received signal from OS", signal=received[0])
            await self.shutdown()
            return fatal
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
