"""OTLP into the trace store, through the collector's own ``otlp`` receiver.

Jaeger v1.76 embeds the collector's ``otlpreceiver`` for its OTLP ports, so the trace store reuses
flightdeck's implementation of that receiver (:mod:`flightdeck.collector.components.otlpreceiver`)
unchanged: same routes, status codes, error bodies, decompression and gRPC service. Only the
consumer differs: it translates to Jaeger spans and writes them to the :class:`TraceStore`.

The receiver is asyncio-based; :class:`OTLPIngest` runs it on a private event loop in one daemon
thread, so the rest of flightdeck can stay thread-based.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, TextIO

from flightdeck.collector.component import (
    Component,
    ComponentID,
    ConsumerError,
    Kind,
    Settings,
    Signal,
    Telemetry,
)
from flightdeck.collector.components.otlpreceiver import Config, OTLPReceiver
from flightdeck.collector.components.otlpreceiver.config import GRPCServerConfig, HTTPServerConfig, Protocols
from flightdeck.collector.telemetry import TelemetryRegistry
from flightdeck.collector.zaplog import ZapLogger
from flightdeck.traces.store import TraceStore
from flightdeck.traces.translate import TranslateError, spans_from_request

_INVALID_ARGUMENT = 3


class StoreConsumer:
    """The pipeline end: OTLP request → Jaeger spans → store.

    A request with a malformed ID is refused as a whole with InvalidArgument (HTTP 400), the
    outcome Jaeger gives when pdata refuses to unmarshal it (``unmarshal: invalid TraceID length``).
    """

    def __init__(self, store: TraceStore) -> None:
        self.store = store
        self.refused_requests = 0

    async def consume(self, data: Any) -> None:
        try:
            spans = spans_from_request(data)
        except TranslateError as exc:
            self.refused_requests += 1
            raise ConsumerError(str(exc), permanent=True, grpc_code=_INVALID_ARGUMENT) from None
        self.store.write_spans(spans)


class _Host:
    def __init__(self, telemetry: Telemetry, on_fatal: list[BaseException]) -> None:
        self._telemetry = telemetry
        self._fatal = on_fatal

    @property
    def telemetry(self) -> Telemetry:
        return self._telemetry

    def report_fatal_error(self, err: BaseException) -> None:
        self._fatal.append(err)

    def extensions(self) -> Mapping[ComponentID, Component]:
        return {}


class OTLPIngest:
    """OTLP/HTTP and/or OTLP/gRPC listeners feeding ``store``.

    ``http_endpoint`` / ``grpc_endpoint`` are ``host:port`` (port 0 picks a free one) or None to
    disable that protocol. After :meth:`start`, ``http_port`` and ``grpc_port`` are the bound ports.
    """

    def __init__(
        self,
        store: TraceStore,
        *,
        http_endpoint: str | None = "127.0.0.1:0",
        grpc_endpoint: str | None = "127.0.0.1:0",
        log_stream: TextIO | None = None,
    ) -> None:
        if http_endpoint is None and grpc_endpoint is None:
            raise ValueError("must specify at least one protocol when using the OTLP receiver")
        self.consumer = StoreConsumer(store)
        protocols = Protocols(
            grpc=None if grpc_endpoint is None else GRPCServerConfig(endpoint=grpc_endpoint),
            http=None if http_endpoint is None else HTTPServerConfig(endpoint=http_endpoint),
        )
        self.telemetry = TelemetryRegistry(service_name="jaeger", service_version="1.76.0")
        self.fatal_errors: list[BaseException] = []
        logger = ZapLogger({"kind": "receiver", "name": "otlp", "data_type": "traces"}, log_stream)
        settings = Settings(ComponentID("otlp"), Kind.RECEIVER, logger, self.telemetry)
        self.receiver = OTLPReceiver(settings, Config(protocols=protocols), {Signal.TRACES: self.consumer})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def http_port(self) -> int | None:
        return self.receiver.http_port

    @property
    def grpc_port(self) -> int | None:
        return self.receiver.grpc_port

    def start(self, timeout: float = 10.0) -> OTLPIngest:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="traces-otlp", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        host = _Host(self.telemetry, self.fatal_errors)
        started: Future[None] = asyncio.run_coroutine_threadsafe(self.receiver.start(host), loop)
        try:
            started.result(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self.receiver.shutdown(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
        self._loop = None
        self._thread = None
