"""The ``customer`` service (``services/customer``): ``GET /customer?customer=ID`` backed by a simulated MySQL.

The database sleeps ``N(-D, 30ms)`` per query behind one process-wide connection (a FIFO mutex) unless
``-M``: concurrent dispatches queue there, which is where HotROD's latency under load comes from.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import asdict, dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from flightdeck.apps.hotrod.config import Config
from flightdeck.apps.hotrod.delay import Simulator
from flightdeck.apps.hotrod.tracing import Logger, SpanLogger, Telemetry, baggage_item
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

_GO_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Customer:
    """A customer record; the field names are the original's JSON keys."""

    ID: str
    Name: str
    Location: str


CUSTOMERS = {
    123: Customer("123", "Rachel's_Floral_Designs", "115,277"),
    567: Customer("567", "Amazing_Coffee_Roasters", "211,653"),
    392: Customer("392", "Trom_Chocolatier", "577,322"),
    731: Customer("731", "Japanese_Desserts", "728,326"),
}


class CustomerNotFound(Exception):
    """An unknown customer id; the customer service answers with the original's error text."""


def go_atoi(text: str) -> int | None:
    """``strconv.Atoi``: ASCII digits with an optional sign, within int64; ``None`` when it would fail."""
    if not _GO_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else None


def customer_param(req: Request, log: SpanLogger) -> int | Response:
    """The ``customer`` parameter both HTTP handlers take, or the 400 the original answers."""
    try:
        value = req.form_value("customer")
    except FormError as exc:
        log.error("bad request", error=str(exc))
        return http_error(str(exc), 400)
    if value == "":
        return http_error("Missing required 'customer' parameter", 400)
    customer_id = go_atoi(value)
    if customer_id is None:
        return http_error("Parameter 'customer' is not an integer", 400)
    return customer_id


class _FifoLock:
    """A mutex granting the lock in arrival order (Go's mutex turns FIFO once waiters starve >1 ms)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False

    def acquire(self) -> None:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                self._cond.wait()
            self._queue.popleft()
            self._held = True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


class TracedMutex:
    """``tracing.Mutex``: logs who it waits behind, keyed by the ``request`` baggage item."""

    def __init__(self, session_baggage_key: str = "request") -> None:
        self._key = session_baggage_key
        self._lock = _FifoLock()
        self._waiters: list[str] = []
        self._waiters_lock = threading.Lock()
        self._holder = ""

    def lock(self, ctx: Context, log: SpanLogger) -> None:
        session = baggage_item(ctx, self._key)
        trace.get_current_span(ctx).set_attribute(self._key, session)
        with self._waiters_lock:
            if self._waiters:
                log.info(
                    f"Waiting for lock behind {len(self._waiters)} transactions",
                    blockers="[" + " ".join(self._waiters) + "]",
                )
            self._waiters.append(session)
        self._lock.acquire()
        self._holder = session
        with self._waiters_lock:
            behind = self._waiters[1:]
        log.info(
            f"Acquired lock; {len(behind)} transactions waiting behind", waiters="[" + " ".join(behind) + "]"
        )

    def unlock(self) -> None:
        with self._waiters_lock:
            if self._holder in self._waiters:
                self._waiters.remove(self._holder)
        self._lock.release()


class Database:
    def __init__(self, tracer: trace.Tracer, logger: Logger, sim: Simulator, config: Config) -> None:
        self._tracer = tracer
        self._logger = logger
        self._sim = sim
        self._config = config
        self._mutex = TracedMutex("request")

    def get(self, ctx: Context, customer_id: int) -> Customer:
        self._logger.for_ctx(ctx).info("Loading customer", customer_id=customer_id)
        span = self._tracer.start_span(
            "SQL SELECT",
            context=ctx,
            kind=SpanKind.CLIENT,
            attributes={
                "peer.service": "mysql",
                "sql.query": f"SELECT * FROM customer WHERE customer_id={customer_id}",
            },
        )
        ctx = trace.set_span_in_context(span, ctx)
        try:
            locked = not self._config.mysql_mutex_disabled
            if locked:
                # a misconfigured connection pool that hands out one connection at a time
                self._mutex.lock(ctx, self._logger.for_ctx(ctx))
            try:
                self._sim.sleep(self._config.mysql_delay, self._config.mysql_delay_stddev)
            finally:
                if locked:
                    self._mutex.unlock()
            customer = CUSTOMERS.get(customer_id)
            if customer is None:
                raise CustomerNotFound("invalid customer ID")
            return customer
        finally:
            span.end()


class CustomerService:
    def __init__(self, config: Config, telemetry: Telemetry, logger: Logger, sim: Simulator) -> None:
        self._logger = logger.with_fields(service="customer")
        self._database = Database(
            telemetry.tracer("mysql"), self._logger.with_fields(component="mysql"), sim, config
        )
        mux = Mux(telemetry.tracer("customer"))
        mux.handle("/customer", self.customer)
        self.http = HTTPService("customer", config.customer_hostname, config.customer_port, mux)

    def start(self) -> None:
        self.http.start()
        self._logger.info("Starting", address=f"http://{self.http.name}:{self.http.port}")

    def customer(self, req: Request) -> Response:
        log = self._logger.for_ctx(req.ctx)
        log.info("HTTP request received", method=req.method, url=req.url)
        customer_id = customer_param(req, log)
        if isinstance(customer_id, Response):
            return customer_id
        try:
            customer = self._database.get(req.ctx, customer_id)
        except CustomerNotFound as exc:
            log.error("request failed", error=str(exc))
            return http_error(str(exc), 500)
        return json_response(asdict(customer))


class CustomerClient:
    def __init__(self, client: TracedHTTPClient, logger: Logger, host_port: str) -> None:
        self._client = client
        self._logger = logger
        self._host_port = host_port

    def get(self, ctx: Context, customer_id: int) -> Customer:
        self._logger.for_ctx(ctx).info("Getting customer", customer_id=customer_id)
        data = self._client.get_json(ctx, f"http://{self._host_port}/customer?customer={customer_id}")
        return Customer(str(data["ID"]), str(data["Name"]), str(data["Location"]))
