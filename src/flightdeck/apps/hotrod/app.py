"""Assembling and running HotROD: ``all`` runs the four services in one process, or one service alone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from opentelemetry.sdk.trace.export import SpanExporter

from flightdeck.apps.hotrod.config import Config, add_arguments, config_from_args
from flightdeck.apps.hotrod.customer import CustomerService
from flightdeck.apps.hotrod.delay import Simulator
from flightdeck.apps.hotrod.driver import DriverService
from flightdeck.apps.hotrod.frontend import FrontendService
from flightdeck.apps.hotrod.metrics import ExpvarMaps, RpcMetrics
from flightdeck.apps.hotrod.route import RouteService
from flightdeck.apps.hotrod.tracing import ExporterError, Logger, Telemetry, otel_exporter_factory
from flightdeck.cli.errors import UserError
from flightdeck.runtime import resolver


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class HotRod:
    """One HotROD process. ``exporter`` replaces the ``-x`` exporter (tests pass an in-memory one).

    Ports may be 0: ``start()`` binds the back-ends first and points the frontend at the ports they got.
    """

    def __init__(
        self,
        config: Config,
        service: str = "all",
        exporter: SpanExporter | None = None,
        log_out: TextIO | None = None,
    ) -> None:
        self.config = config
        self.service = service
        self.metrics = RpcMetrics()
        self.expvars = ExpvarMaps()
        self.logger = Logger(log_out, verbose=config.verbose)
        try:
            factory = None if exporter is not None else otel_exporter_factory(config.otel_exporter)
        except ExporterError as exc:
            raise UserError(f"cannot create exporter: {exc}", exit_code=1) from exc
        self.telemetry = Telemetry(
            config.version, [self.metrics], exporter=exporter, exporter_factory=factory
        )
        self.sim = Simulator(config.time_scale, config.seed)
        self.customer: CustomerService | None = None
        self.driver: DriverService | None = None
        self.route: RouteService | None = None
        self.frontend: FrontendService | None = None

    def _runs(self, name: str) -> bool:
        return self.service in ("all", name)

    def start(self) -> HotRod:
        c = self.config
        try:
            if self._runs("customer"):
                self.customer = CustomerService(c, self.telemetry, self.logger, self.sim)
                self.customer.start()
            if self._runs("driver"):
                self.driver = DriverService(c, self.telemetry, self.logger, self.sim)
                self.driver.start()
            if self._runs("route"):
                self.route = RouteService(c, self.telemetry, self.logger, self.sim, self.expvars)
                self.route.start()
            if self._runs("frontend"):
                self.frontend = FrontendService(
                    c,
                    self.telemetry,
                    self.logger,
                    self.sim,
                    self.metrics,
                    self.expvars,
                    _host_port(
                        c.customer_hostname, self.customer.http.port if self.customer else c.customer_port
                    ),
                    _host_port(c.driver_hostname, self.driver.port if self.driver else c.driver_port),
                    _host_port(c.route_hostname, self.route.http.port if self.route else c.route_port),
                )
                self.frontend.start()
        except OSError as exc:
            self.stop()
            raise UserError(f"Unable to start HotROD: {exc}", exit_code=1) from exc
        return self

    @property
    def frontend_url(self) -> str:
        assert self.frontend is not None
        return f"http://127.0.0.1:{self.frontend.http.port}{self.config.basepath}"

    def stop(self) -> None:
        if self.frontend is not None:
            self.frontend.stop()
        if self.route is not None:
            self.route.http.stop()
        if self.driver is not None:
            self.driver.stop()
        if self.customer is not None:
            self.customer.http.stop()
        self.telemetry.shutdown()


def build_parser(prog: str = "hotrod") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="HotR.O.D. - A tracing demo application.")
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; the parsed arguments come from :func:`add_arguments`."""
    resolver.install()  # cluster names (FLIGHTDECK_CLUSTER_HOSTS) when run as a pod on flightdeck's node
    config = config_from_args(args)
    app = HotRod(config, args.service)
    if args.service == "all":
        app.logger.info("Starting all services")
    app.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.wait(3600):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
