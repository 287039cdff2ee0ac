"""The ``driver`` service (``services/driver``): gRPC ``driver.DriverService/FindNearest`` over a simulated Redis.

``FindDriverIDs`` (~20 ms) returns 10 random drivers, then ``GetDriver`` (~10 ms) is called per driver with up
to 3 attempts. A process-wide counter makes the very first ``GetDriver`` and then every 5th one fail with
``redis timeout`` after an extra 20 ms (span status Error). The protobuf messages are built from their
descriptor at import time (``driver.proto`` has three small messages), so no generated module is needed.
"""

from __future__ import annotations

import json
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from flightdeck.apps.hotrod.config import Config
from flightdeck.apps.hotrod.delay import Simulator
from flightdeck.apps.hotrod.tracing import PROPAGATOR, Logger, Telemetry

SERVICE = "driver.DriverService"
METHOD = "FindNearest"
FULL_METHOD = f"{SERVICE}/{METHOD}"


def _message_classes() -> tuple[Any, Any, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(name="driver.proto", package="driver", syntax="proto3")
    string, optional = (
        descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    request = fdp.message_type.add(name="DriverLocationRequest")
    request.field.add(name="location", number=1, type=string, label=optional, json_name="location")
    location = fdp.message_type.add(name="DriverLocation")
    location.field.add(name="driverID", number=1, type=string, label=optional, json_name="driverID")
    location.field.add(name="location", number=2, type=string, label=optional, json_name="location")
    response = fdp.message_type.add(name="DriverLocationResponse")
    response.field.add(
        name="locations",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".driver.DriverLocation",
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
        json_name="locations",
    )
    service = fdp.service.add(name="DriverService")
    service.method.add(
        name=METHOD, input_type=".driver.DriverLocationRequest", output_type=".driver.DriverLocationResponse"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)

    def cls(name: str) -> Any:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"driver.{name}"))

    return cls("DriverLocationRequest"), cls("DriverLocation"), cls("DriverLocationResponse")


DriverLocationRequest, DriverLocation, DriverLocationResponse = _message_classes()


@dataclass(frozen=True)
class Driver:
    driver_id: str
    location: str


class RedisTimeout(Exception):
    """The simulated Redis timeout of every fifth driver lookup."""


def go_status_name(code: grpc.StatusCode) -> str:
    """``codes.Code.String()``: ``DEADLINE_EXCEEDED`` → ``DeadlineExceeded``, ``CANCELLED`` → ``Canceled``."""
    if code == grpc.StatusCode.CANCELLED:
        return "Canceled"
    if code == grpc.StatusCode.OK:
        return "OK"
    return "".join(part.capitalize() for part in code.name.split("_"))


class Redis:
    """The ``redis-manual`` service: simulated lookups with a timeout on the first and every 5th GetDriver."""

    def __init__(self, tracer: trace.Tracer, logger: Logger, sim: Simulator, config: Config) -> None:
        self._tracer = tracer
        self._logger = logger
        self._sim = sim
        self._config = config
        self._lock = threading.Lock()
        self._count_till_error = 0

    def find_driver_ids(self, ctx: Context, location: str) -> list[str]:
        span = self._tracer.start_span(
            "FindDriverIDs", context=ctx, kind=SpanKind.CLIENT, attributes={"param.driver.location": location}
        )
        try:
            self._sim.sleep(self._config.redis_find_delay, self._config.redis_find_delay_stddev)
            drivers = [f"T7{self._sim.randrange(100000):05d}C" for _ in range(10)]
            self._logger.for_ctx(trace.set_span_in_context(span, ctx)).info("Found drivers", drivers=drivers)
            return drivers
        finally:
            span.end()

    def _check_error(self) -> bool:
        with self._lock:
            self._count_till_error -= 1
            if self._count_till_error > 0:
                return False
            self._count_till_error = 5
        self._sim.sleep_exact(2 * self._config.redis_get_delay)  # more delay for the "timeout"
        return True

    def get_driver(self, ctx: Context, driver_id: str) -> Driver:
        span = self._tracer.start_span(
            "GetDriver", context=ctx, kind=SpanKind.CLIENT, attributes={"param.driverID": driver_id}
        )
        log = self._logger.for_ctx(trace.set_span_in_context(span, ctx))
        try:
            self._sim.sleep(self._config.redis_get_delay, self._config.redis_get_delay_stddev)
            if self._check_error():
                span.add_event(
                    "exception",
                    {"exception.type": "*errors.errorString", "exception.message": "redis timeout"},
                )
                span.set_status(Status(StatusCode.ERROR, "An error occurred"))
                log.error("redis timeout", driver_id=driver_id, error="redis timeout")
                raise RedisTimeout("redis timeout")
            log.info("Got driver's ID", driverID=driver_id)
            return Driver(driver_id, f"{self._sim.randrange(1000)},{self._sim.randrange(1000)}")
        finally:
            span.end()


def _peer(context: grpc.ServicerContext) -> tuple[str, int | None]:
    peer = context.peer()  # "ipv4:127.0.0.1:5555" / "ipv6:[::1]:5555"
    _, _, address = peer.partition(":")
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None


class DriverService:
    def __init__(self, config: Config, telemetry: Telemetry, logger: Logger, sim: Simulator) -> None:
        self._logger = logger.with_fields(service="driver")
        self._tracer = telemetry.tracer("driver")
        self._redis = Redis(telemetry.tracer("redis-manual"), self._logger, sim, config)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="hotrod-driver")
        )
        handler = grpc.unary_unary_rpc_method_handler(
            self._find_nearest_rpc,
            request_deserializer=DriverLocationRequest.FromString,
            response_serializer=DriverLocationResponse.SerializeToString,
        )
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),)
        )
        self.port = self._server.add_insecure_port(f"{config.driver_hostname}:{config.driver_port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {config.driver_hostname}:{config.driver_port}")

    def start(self) -> None:
        self._server.start()
        self._logger.info("Starting", address=f"driver:{self.port}", type="gRPC")

    def stop(self) -> None:
        self._server.stop(grace=None)

    def _find_nearest_rpc(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = PROPAGATOR.extract({k: v for k, v in context.invocation_metadata() if isinstance(v, str)})
        peer_host, peer_port = _peer(context)
        attributes: dict[str, str | int] = {
            "rpc.system": "grpc",
            "rpc.service": SERVICE,
            "rpc.method": METHOD,
        }
        if peer_host:
            attributes["network.peer.address"] = peer_host
        if peer_port is not None:
            attributes["network.peer.port"] = peer_port
        span = self._tracer.start_span(
            FULL_METHOD, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        try:
            locations = self.find_nearest(trace.set_span_in_context(span, parent), request.location)
        except RedisTimeout as exc:
            span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.UNKNOWN.value[0])
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.end()
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])
        span.end()
        return DriverLocationResponse(
            locations=[DriverLocation(driverID=d.driver_id, location=d.location) for d in locations]
        )

    def find_nearest(self, ctx: Context, location: str) -> list[Driver]:
        log = self._logger.for_ctx(ctx)
        log.info("Searching for nearby drivers", location=location)
        driver_ids = self._redis.find_driver_ids(ctx, location)
        drivers: list[Driver] = []
        for driver_id in driver_ids:
            error: RedisTimeout | None = None
            for attempt in range(3):
                try:
                    drivers.append(self._redis.get_driver(ctx, driver_id))
                    error = None
                    break
                except RedisTimeout as exc:
                    error = exc
                    log.error("Retrying GetDriver after error", retry_no=attempt + 1, error=str(exc))
            if error is not None:
                log.error("Failed to get driver after 3 attempts", error=str(error))
                raise error
        found = [{"driverID": d.driver_id, "location": d.location} for d in drivers]
        log.info(
            "Search successful", driver_count=len(drivers), locations=json.dumps(found, separators=(",", ":"))
        )
        return drivers


class DriverRPCError(Exception):
    """A failed ``FindNearest`` call; ``str()`` is grpc-go's ``rpc error: code = … desc = …``."""


class DriverClient:
    def __init__(self, tracer: trace.Tracer, logger: Logger, host_port: str, timeout: float) -> None:
        self._tracer = tracer
        self._logger = logger
        self._host, _, port = host_port.rpartition(":")
        self._port = int(port)
        self._timeout = timeout
        self._channel = grpc.insecure_channel(host_port)
        self._call = self._channel.unary_unary(
            f"/{FULL_METHOD}",
            request_serializer=DriverLocationRequest.SerializeToString,
            response_deserializer=DriverLocationResponse.FromString,
        )

    def close(self) -> None:
        self._channel.close()

    def find_nearest(self, ctx: Context, location: str) -> list[Driver]:
        self._logger.for_ctx(ctx).info("Finding nearest drivers", location=location)
        span = self._tracer.start_span(
            FULL_METHOD,
            context=ctx,
            kind=SpanKind.CLIENT,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": SERVICE,
                "rpc.method": METHOD,
                "server.address": self._host,
                "server.port": self._port,
            },
        )
        metadata: dict[str, str] = {}
        PROPAGATOR.inject(metadata, context=trace.set_span_in_context(span, ctx))
        try:
            response = self._call(
                DriverLocationRequest(location=location),
                timeout=self._timeout,
                metadata=tuple(metadata.items()),
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                details = "context deadline exceeded"
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            span.set_status(Status(StatusCode.ERROR, details))
            span.end()
            raise DriverRPCError(f"rpc error: code = {go_status_name(code)} desc = {details}") from exc
        span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])
        span.end()
        return [Driver(loc.driverID, loc.location) for loc in response.locations]
