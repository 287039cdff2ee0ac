"""The ``frontend`` service (``services/frontend``): the web page, ``/dispatch``, ``/config``, ``/debug/vars``,
``/metrics``.

One ``/dispatch`` asks ``customer`` for the customer (HTTP), ``driver`` for 10 nearby drivers (gRPC, 1 s
timeout), then ``route`` for each driver's ETA through a worker pool of ``-W`` workers shared by all requests
(jobs are handed over one by one, like Go's unbuffered channel), and answers the driver with the best ETA.
"""

from __future__ import annotations

import html
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry import baggage
from opentelemetry.context import Context

from flightdeck.apps.hotrod.config import Config
from flightdeck.apps.hotrod.customer import CUSTOMERS, Customer, CustomerClient, customer_param
from flightdeck.apps.hotrod.delay import Simulator
from flightdeck.apps.hotrod.driver import Driver, DriverClient
from flightdeck.apps.hotrod.metrics import ExpvarMaps, RpcMetrics, process_exposition
from flightdeck.apps.hotrod.route import MINUTE_NS, RouteClient
from flightdeck.apps.hotrod.tracing import Logger, Telemetry
from flightdeck.apps.hotrod.web import (
    HTTPService,
    Mux,
    Request,
    Response,
    TracedHTTPClient,
    go_json,
    http_error,
    json_response,
)

FAULT_ERROR_TEXT = "injected fault: dispatch failed"


class WorkerPool:
    """``pool.Pool``: ``size`` workers; ``execute`` blocks until a worker has taken the job."""

    def __init__(self, size: int) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], None], threading.Event] | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._work, name=f"hotrod-route-worker-{i}", daemon=True)
            for i in range(size)
        ]
        for worker in self._workers:
            worker.start()

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, taken = item
            taken.set()
            job()

    def execute(self, job: Callable[[], None]) -> None:
        taken = threading.Event()
        self._jobs.put((job, taken))
        taken.wait()

    def stop(self) -> None:
        for _ in self._workers:
            self._jobs.put(None)


def go_minutes(eta_ns: int) -> str:
    """``time.Duration.String()`` for a whole number of minutes: ``3m0s``, ``1h2m0s``."""
    minutes = eta_ns // MINUTE_NS
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m0s" if hours else f"{minutes}m0s"


class DispatchError(Exception):
    """A /dispatch that fails (fault injection or a back-end error); answered with 500."""


@dataclass
class _RouteResult:
    driver: str
    eta: int | None
    error: Exception | None


class BestETA:
    def __init__(
        self,
        customer: CustomerClient,
        driver: DriverClient,
        route: RouteClient,
        pool: WorkerPool,
        logger: Logger,
    ) -> None:
        self._customer = customer
        self._driver = driver
        self._route = route
        self._pool = pool
        self._logger = logger

    def get(self, ctx: Context, customer_id: int) -> dict[str, object] | None:
        """The best driver and ETA; ``None`` reproduces the original's ``return nil, nil`` when a route failed."""
        customer = self._customer.get(ctx, customer_id)
        self._logger.for_ctx(ctx).info("Found customer")  # zap.Any fields never reach the span
        ctx = baggage.set_baggage("customer", customer.Name, ctx)
        drivers = self._driver.find_nearest(ctx, customer.Location)
        self._logger.for_ctx(ctx).info("Found drivers")
        results = self._get_routes(ctx, customer, drivers)
        self._logger.for_ctx(ctx).info("Found routes")
        best_driver, best_eta = "", (1 << 63) - 1
        for result in results:
            if result.error is not None or result.eta is None:
                return None
            if result.eta < best_eta:
                best_driver, best_eta = result.driver, result.eta
        if not best_driver:
            raise DispatchError("no routes found")
        self._logger.for_ctx(ctx).info("Dispatch successful", driver=best_driver, eta=go_minutes(best_eta))
        return {"Driver": best_driver, "ETA": best_eta}

    def _get_routes(self, ctx: Context, customer: Customer, drivers: list[Driver]) -> list[_RouteResult]:
        results: list[_RouteResult] = []
        lock = threading.Lock()
        done = threading.Semaphore(0)

        def job_for(driver: Driver) -> Callable[[], None]:
            def job() -> None:
                eta: int | None = None
                error: Exception | None = None
                try:
                    eta = self._route.find_route(ctx, driver.location, customer.Location)
                except Exception as exc:
                    error = exc
                with lock:
                    results.append(_RouteResult(driver.driver_id, eta, error))
                done.release()

            return job

        for driver in drivers:
            self._pool.execute(job_for(driver))
        for _ in drivers:
            done.acquire()
        return results


class FrontendService:
    def __init__(
        self,
        config: Config,
        telemetry: Telemetry,
        logger: Logger,
        sim: Simulator,
        metrics: RpcMetrics,
        expvars: ExpvarMaps,
        customer_host_port: str,
        driver_host_port: str,
        route_host_port: str,
    ) -> None:
        self._config = config
        self._logger = logger.with_fields(service="frontend")
        self._sim = sim
        self._metrics = metrics
        self._expvars = expvars
        self._started = time.monotonic()
        tracer = telemetry.tracer("frontend")
        client = TracedHTTPClient(tracer)
        self._pool = WorkerPool(config.route_worker_pool_size)
        self._driver_client = DriverClient(
            tracer,
            self._logger.with_fields(component="driver_client"),
            driver_host_port,
            timeout=config.driver_client_timeout * config.time_scale,
        )
        self._best_eta = BestETA(
            CustomerClient(client, self._logger.with_fields(component="customer_client"), customer_host_port),
            self._driver_client,
            RouteClient(client, self._logger.with_fields(component="route_client"), route_host_port),
            self._pool,
            self._logger,
        )
        base = "/" + config.basepath.strip("/") if config.basepath.strip("/") else "/"
        prefix = "" if base == "/" else base
        self._prefix = prefix
        mux = Mux(tracer)
        mux.handle(base, self.static)
        mux.handle(f"{prefix}/dispatch", self.dispatch)
        mux.handle(f"{prefix}/config", self.config)
        mux.handle(f"{prefix}/debug/vars", self.debug_vars)
        mux.handle(f"{prefix}/metrics", self.prometheus)
        self.http = HTTPService("frontend", config.frontend_hostname, config.frontend_port, mux)

    def start(self) -> None:
        self.http.start()
        self._logger.info("Starting", address=f"http://frontend:{self.http.port}{self._config.basepath}")

    def stop(self) -> None:
        self.http.stop()
        self._pool.stop()
        self._driver_client.close()

    # ---------------------------------------------------------------------------------------- handlers
    def static(self, req: Request) -> Response:
        rest = req.path[len(self._prefix) :]
        if rest in ("", "/"):
            page = render_page(self._config.version).encode()
            return Response(200, page, [("Content-Type", "text/html; charset=utf-8")])
        if rest == "/index.html":
            return Response(301, b"", [("Location", "./")])
        return http_error("404 page not found", 404)

    def config(self, req: Request) -> Response:
        return json_response({"jaeger": self._config.jaeger_ui, "version": self._config.version})

    def debug_vars(self, req: Request) -> Response:
        return Response(
            200, self._expvars.render().encode(), [("Content-Type", "application/json; charset=utf-8")]
        )

    def prometheus(self, req: Request) -> Response:
        body = self._metrics.exposition() + process_exposition()
        return Response(200, body.encode(), [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])

    def dispatch(self, req: Request) -> Response:
        log = self._logger.for_ctx(req.ctx)
        log.info("HTTP request received", method=req.method, url=req.url)
        customer_id = customer_param(req, log)
        if isinstance(customer_id, Response):
            return customer_id
        fault = self._inject_fault(req)
        if fault is not None:
            return fault
        try:
            response = self._best_eta.get(req.ctx, customer_id)
        # every failure of a back-end call is a 500 with its message, as the original
        except Exception as exc:
            log.error("request failed", error=str(exc))
            return http_error(str(exc), 500)
        return Response(200, go_json(response), [("Content-Type", "application/json")])

    def _inject_fault(self, req: Request) -> Response | None:
        faults = self._config.faults
        if not faults.enabled or time.monotonic() - self._started < faults.start_delay:
            return None
        log = self._logger.for_ctx(req.ctx)
        if faults.latency is not None:
            latency = faults.latency.sample(self._sim.rng)
            log.info("fault: injected latency", latency_ms=round(latency * 1000, 3))
            time.sleep(latency)
        if faults.error_rate > 0 and self._sim.random() < faults.error_rate:
            log.error("request failed", error=FAULT_ERROR_TEXT)
            return http_error(FAULT_ERROR_TEXT, 500)
        return None


def render_page(version: str) -> str:
    """The HotROD page: one button per customer; a click dispatches a car and shows driver, ETA, trace links."""
    buttons = "\n".join(
        f'      <button class="hotrod-button" data-customer="{cid}">{html.escape(c.Name.replace("_", " "))}</button>'
        for cid, c in sorted(CUSTOMERS.items(), key=lambda item: [123, 392, 731, 567].index(item[0]))
    )
    return _PAGE.replace("{{VERSION}}", html.escape(version)).replace("{{BUTTONS}}", buttons)


_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>HotROD - Rides On Demand</title>
    <style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; text-align: center; }
.hotrod-button { padding: 20px; margin: 10px; cursor: pointer; font-size: 1.1em; min-width: 12em; }
.hotrod-button:hover { filter: brightness(85%); }
#hotrod-log { margin-top: 15px; text-align: left; }
.version { color: #777; }
    </style>
  </head>
  <body>
    <div class="uuid"></div>
    <h1>Hot R.O.D.</h1>
    <h4><em>Rides On Demand</em> <span class="version">v{{VERSION}}</span></h4>
    <div>
{{BUTTONS}}
    </div>
    <div id="tip">Click on customer name above to order a car.</div>
    <div id="hotrod-log"></div>
    <script>
const clientUUID = Math.round(Math.random() * 10000);
let lastRequestID = 0;
document.querySelector(".uuid").innerHTML = "Your web client's id: <strong>" + clientUUID + "</strong>";
const pathPrefix = window.location.pathname !== "/" ? window.location.pathname.replace(/\\/$/, "") : "";
function traceID(value) {
  const m = /^\\s?([\\da-f]{2})-([\\da-f]{32})-([\\da-f]{16})-([\\da-f]{2})(-.*)?\\s?$/.exec(value || "");
  return m ? m[2] : null;
}
document.querySelectorAll(".hotrod-button").forEach(function (button) {
  button.addEventListener("click", async function () {
    lastRequestID++;
    const requestID = clientUUID + "-" + lastRequestID;
    const entry = document.createElement("div");
    entry.innerHTML = "<em>Dispatching a car...[req: " + requestID + "]</em>";
    document.getElementById("hotrod-log").prepend(entry);
    const before = Date.now();
    let config = {};
    try { config = await (await fetch(pathPrefix + "/config?nonse=" + Math.random())).json(); } catch (e) {}
    const res = await fetch(pathPrefix + "/dispatch?customer=" + button.dataset.customer + "&nonse=" + Math.random(),
      {headers: {"baggage": "session=" + clientUUID + ", request=" + requestID}});
    const latency = Date.now() - before;
    if (!res.ok) {
      entry.textContent = "Dispatch failed: " + res.status + " " + (await res.text()) + " [req: " + requestID + "]";
      return;
    }
    const data = await res.json();
    const id = traceID(res.headers.get("traceresponse"));
    let links = "";
    if (config.jaeger) {
      links = ' [<a href="' + config.jaeger + '/search?limit=20&lookback=1h&service=frontend&tags=%7B%22driver%22%3A%22' +
        data.Driver + '%22%7D" target="_blank">find trace</a>]';
      if (id) { links += ' [<a href="' + config.jaeger + "/trace/" + id + '" target="_blank">open trace</a>]'; }
    }
    entry.innerHTML = "HotROD <b>" + data.Driver + "</b> arriving in " + Math.round(data.ETA / 60e9) + "min [req: " +
      requestID + ", latency: " + latency + "ms]" + links;
  });
});
    </script>
  </body>
</html>
"""
