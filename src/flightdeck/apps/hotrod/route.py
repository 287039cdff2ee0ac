"""The ``route`` service (``services/route``): ``GET /route?pickup=..&dropoff=..`` with a ~50 ms calculation.

The ETA is ``max(2, N(5, 3))`` minutes, truncated to whole minutes. The seconds spent calculating are added
to the expvar maps ``route.calc.by.customer.sec`` / ``route.calc.by.session.sec`` under the request's
``customer`` / ``session`` baggage items.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from opentelemetry.context import Context

from flightdeck.apps.hotrod.config import Config
from flightdeck.apps.hotrod.delay import Simulator
from flightdeck.apps.hotrod.metrics import ExpvarMaps
from flightdeck.apps.hotrod.tracing import Logger, Telemetry, baggage_item
from flightdeck.apps.hotrod.web import (
    FormError,
    HTTPService,
    Mux,
    Request,
    Response,
    TracedHTTPClient,
    http_error,
    json_response,
)

MINUTE_NS = 60_000_000_000


class RouteService:
    def __init__(
        self, config: Config, telemetry: Telemetry, logger: Logger, sim: Simulator, expvars: ExpvarMaps
    ) -> None:
        self._config = config
        self._logger = logger.with_fields(service="route")
        self._sim = sim
        self._expvars = expvars
        mux = Mux(telemetry.tracer("route"))
        mux.handle("/route", self.route)
        mux.handle("/debug/vars", self.moved_to_frontend)
        mux.handle("/metrics", self.moved_to_frontend)
        self.http = HTTPService("route", config.route_hostname, config.route_port, mux)

    def start(self) -> None:
        self.http.start()
        self._logger.info("Starting", address=f"http://route:{self.http.port}")

    def moved_to_frontend(self, req: Request) -> Response:
        return http_error("endpoint moved to the frontend service", 404)

    def route(self, req: Request) -> Response:
        log = self._logger.for_ctx(req.ctx)
        log.info("HTTP request received", method=req.method, url=req.url)
        try:
            form = req.form()
        except FormError as exc:
            log.error("bad request", error=str(exc))
            return http_error(str(exc), 400)
        pickup = (form.get("pickup") or [""])[0]
        if pickup == "":
            return http_error("Missing required 'pickup' parameter", 400)
        dropoff = (form.get("dropoff") or [""])[0]
        if dropoff == "":
            return http_error("Missing required 'dropoff' parameter", 400)
        return json_response(self.compute_route(req.ctx, pickup, dropoff))

    def compute_route(self, ctx: Context, pickup: str, dropoff: str) -> dict[str, Any]:
        start = time.monotonic()
        # the expensive calculation
        self._sim.sleep(self._config.route_calc_delay, self._config.route_calc_delay_stddev)
        minutes = int(max(2.0, self._sim.gauss(5.0, 3.0)))
        model_seconds = (time.monotonic() - start) / self._sim.scale
        seconds = int(model_seconds * 1000) / 1000.0  # float64(delay/time.Millisecond) / 1000.0
        for name, key in zip(ExpvarMaps.NAMES, ("customer", "session"), strict=True):
            value = baggage_item(ctx, key)
            if value:
                self._expvars.add(name, value, seconds)
        return {"Pickup": pickup, "Dropoff": dropoff, "ETA": minutes * MINUTE_NS}


class RouteClient:
    def __init__(self, client: TracedHTTPClient, logger: Logger, host_port: str) -> None:
        self._client = client
        self._logger = logger
        self._host_port = host_port

    def find_route(self, ctx: Context, pickup: str, dropoff: str) -> int:
        """The route's ETA in nanoseconds."""
        log = self._logger.for_ctx(ctx)
        log.info("Finding route", pickup=pickup, dropoff=dropoff)
        query = urllib.parse.urlencode(sorted({"pickup": pickup, "dropoff": dropoff}.items()))
        try:
            data = self._client.get_json(ctx, f"http://{self._host_port}/route?{query}")
        except Exception as exc:
            log.error("Error getting route", error=str(exc))
            raise
        return int(data["ETA"])
