"""The component contract of ``flightdeck collector``: what receivers, processors, connectors, exporters and
extensions implement, and the registry that finds them by the type name used in the YAML.

How to add a component (e.g. the ``spanmetrics`` connector or the ``prometheus`` exporter)
-----------------------------------------------------------------------------------------
1. In your package (``flightdeck.collector.components.<pkg>``) define a factory object that satisfies one of
   :class:`ReceiverFactory`, :class:`ProcessorFactory`, :class:`ExporterFactory`, :class:`ConnectorFactory`,
   :class:`ExtensionFactory` (structural typing: no base class needed), and expose it as the module-level
   name ``FACTORY`` in ``flightdeck/collector/components/<pkg>/__init__.py``.
2. The module is listed in :data:`BUILTIN_MODULES` below (``spanmetrics`` and ``prometheusexporter`` already
   are); :func:`default_registry` imports every listed module that exists and registers its ``FACTORY``.
3. Config: ``default_config()`` returns a fresh config object (a dataclass is the natural choice);
   ``load_config(raw)`` overlays the user's mapping (``None`` when the YAML value is empty) on the defaults
   and raises :class:`~flightdeck.collector.errors.ConfigError` with the mapstructure-style detail only
   (``'' has invalid keys: foo``, ``'histogram' has invalid keys: bar``,
   ``unknown Unit "h", allowed units are "ms" and "s"``); the loader adds upstream's wrapping
   (``error decoding 'connectors': error reading configuration for "spanmetrics": …``).
   :mod:`flightdeck.collector.confdecode` does the overlay for dataclasses with upstream's texts.
   ``validate(cfg)`` returns the messages of upstream's ``Config.Validate`` (relative, no ``connectors::id: ``
   prefix; the loader adds it and the ``invalid configuration: `` head).
4. A connector factory lists its ``(exporter-side signal, receiver-side signal)`` pairs in ``pairs``
   (spanmetrics: ``{(Signal.TRACES, Signal.METRICS): Stability.ALPHA}``) and builds the instance in
   ``create_connector(settings, cfg, Signal.TRACES, Signal.METRICS, next_consumer)``; ``next_consumer``
   fans out to every metrics pipeline the connector feeds. An exporter factory lists ``signals`` and builds
   one instance per (id, signal) in ``create_exporter``; raising ConfigError there becomes
   ``failed to build pipelines: failed to create "<id>" exporter for data type "<signal>": <msg>``.
5. Data between components are the opentelemetry-proto request messages (:data:`TracesData`,
   :data:`MetricsData`, :data:`LogsData`; upb-backed). A consumer **must not mutate** what it receives —
   fan-out hands the same object to several consumers; build new messages instead.
6. Lifecycle: ``await start(host)`` (bind listeners, start tickers with ``asyncio.create_task``) and
   ``await shutdown()`` (stop them; must be safe if start never ran). Everything runs on one asyncio loop.
   Listeners bind through :func:`flightdeck.collector.netaddr.listen_address` (honours FLIGHTDECK_POD_IP);
   outbound endpoints resolve through :func:`flightdeck.collector.netaddr.dial_address`.
   Log through ``settings.logger`` (zap-style console lines), count through ``host.telemetry``.
7. Need the wire bytes of a request (e.g. to scan it without the Python message API)? :func:`encoded`
   returns the exact bytes a receiver parsed the message from (no copy, no re-serialization) while that
   request is in the pipeline, and falls back to ``SerializeToString()`` otherwise.
8. Exporters are wrapped by the graph to count ``otelcol_exporter_sent_*``/``send_failed_*`` unless the
   instance sets ``reports_telemetry = True`` (the queued exporters count at the real send). Extensions
   may define ``async ready()`` / ``async not_ready()``: called when all pipelines started / shutdown begins.
9. ``load_config`` may see :class:`flightdeck.collector.expand.Expanded` values where the YAML had a whole
   ``${env:X}`` reference (string fields take ``.original``, others ``.value``); confdecode handles them.
"""

from __future__ import annotations

import enum
import importlib
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flightdeck.util.gofmt import go_quote

TracesData: TypeAlias = ExportTraceServiceRequest
MetricsData: TypeAlias = ExportMetricsServiceRequest
LogsData: TypeAlias = ExportLogsServiceRequest
Data: TypeAlias = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest


# id(message) → (message, wire bytes), set by receivers for the duration of one consume call.
_ENCODED: dict[int, tuple[Any, bytes]] = {}


def encoded(data: Data) -> bytes:
    """The protobuf encoding of ``data``: free when it came straight from a receiver, else serialized."""
    entry = _ENCODED.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    return bytes(data.SerializeToString())


def remember_encoding(data: Data, raw: bytes) -> None:
    """Receivers: ``data`` was parsed from ``raw``; call :func:`forget_encoding` when consume returns."""
    _ENCODED[id(data)] = (data, raw)


def forget_encoding(data: Data) -> None:
    _ENCODED.pop(id(data), None)


class Signal(enum.Enum):
    """A pipeline's data type; the value is the word used in pipeline IDs and messages."""

    TRACES = "traces"
    METRICS = "metrics"
    LOGS = "logs"

    def __str__(self) -> str:
        return self.value


SIGNAL_TYPES: Mapping[Signal, type[Data]] = {
    Signal.TRACES: ExportTraceServiceRequest,
    Signal.METRICS: ExportMetricsServiceRequest,
    Signal.LOGS: ExportLogsServiceRequest,
}


class Kind(enum.Enum):
    """A component's kind; ``section`` is its top-level config key."""

    RECEIVER = "receiver"
    PROCESSOR = "processor"
    EXPORTER = "exporter"
    CONNECTOR = "connector"
    EXTENSION = "extension"

    @property
    def section(self) -> str:
        return self.value + "s"

    def __str__(self) -> str:
        return self.value


class Stability(enum.Enum):
    UNDEVELOPED = "Undeveloped"
    DEVELOPMENT = "Development"
    ALPHA = "Alpha"
    BETA = "Beta"
    STABLE = "Stable"
    DEPRECATED = "Deprecated"
    UNMAINTAINED = "Unmaintained"


_TYPE_RE = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")


def _name_char_ok(ch: str) -> bool:
    # Upstream's name regexp is ``^[^\pZ\pC\pS]+$``: no separators, control/format, or symbols.
    return unicodedata.category(ch)[0] not in "ZCS"


def split_id(text: str) -> tuple[str, str]:
    """The common part of component and pipeline ID parsing; ``ValueError`` with upstream's text."""
    type_part, sep, name_part = text.partition("/")
    type_part = type_part.strip()
    if not type_part:
        if sep:
            raise ValueError(f"in {go_quote(text)} id: the part before / should not be empty")
        raise ValueError("id must not be empty")
    if sep:
        name_part = name_part.strip()
        if not name_part:
            raise ValueError(f"in {go_quote(text)} id: the part after / should not be empty")
        if len(name_part.encode()) > 1024:
            raise ValueError(
                f"in {go_quote(name_part)} id: name {go_quote(name_part)} is longer than 1024 characters "
                f"({len(name_part.encode())} characters)"
            )
        if not all(_name_char_ok(c) for c in name_part):
            raise ValueError(
                f"in {go_quote(name_part)} id: invalid character(s) in name {go_quote(name_part)}"
            )
    return type_part, name_part


@dataclass(frozen=True, slots=True, order=True)
class ComponentID:
    """``type[/name]`` as written in the config (upstream ``component.ID``)."""

    type: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type

    @classmethod
    def parse(cls, text: str) -> ComponentID:
        """Parse a config key; ``ValueError`` carries upstream's exact text."""
        type_part, name_part = split_id(text)
        if not _TYPE_RE.match(type_part):
            raise ValueError(f"in {go_quote(text)} id: invalid character(s) in type {go_quote(type_part)}")
        return cls(type_part, name_part)


@dataclass(frozen=True, slots=True, order=True)
class PipelineID:
    """``signal[/name]`` (upstream ``pipeline.ID``)."""

    signal: Signal
    name: str = ""

    def __str__(self) -> str:
        return f"{self.signal.value}/{self.name}" if self.name else self.signal.value

    @classmethod
    def parse(cls, text: str) -> PipelineID:
        signal_part, name_part = split_id(text)
        try:
            signal = Signal(signal_part)
        except ValueError:
            if signal_part == "profiles":
                # Recognised upstream, but only behind a feature gate flightdeck does not offer.
                raise ValueError(f"in {go_quote(text)} id: not supported: profiles pipelines") from None
            raise ValueError(
                f"in {go_quote(text)} id: unknown pipeline signal: {go_quote(signal_part)}"
            ) from None
        return cls(signal, name_part)


class ConsumerError(Exception):
    """A consumer refused data.

    ``permanent``: retrying the same data cannot succeed (upstream ``consumererror.NewPermanent``);
    the OTLP receiver answers 500/Internal, otherwise 503/Unavailable.
    ``grpc_code``: an explicit gRPC status code (e.g. 8 RESOURCE_EXHAUSTED → HTTP 429) that overrides the above.
    ``retry_after``: seconds for ``Retry-After`` / RetryInfo on 429/503.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        grpc_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.grpc_code = grpc_code


@runtime_checkable
class Consumer(Protocol):
    """Takes one request message; raises :class:`ConsumerError` to refuse it. Must not mutate ``data``."""

    async def consume(self, data: Any) -> None: ...


class Logger(Protocol):
    """Structured logger; fields print as upstream's zap console JSON object."""

    def debug(self, msg: str, **fields: object) -> None: ...
    def info(self, msg: str, **fields: object) -> None: ...
    def warn(self, msg: str, **fields: object) -> None: ...
    def error(self, msg: str, **fields: object) -> None: ...


class Counter(Protocol):
    def add(self, value: float = 1.0) -> None: ...


class Telemetry(Protocol):
    """The collector's own metrics (served on :8888 ``/metrics``).

    ``name`` is the exposition family name (e.g. ``otelcol_exporter_sent_spans_total``); ``labels`` are
    the series' labels. Asking twice for the same name+labels returns the same counter.
    """

    def counter(self, name: str, description: str, labels: Mapping[str, str]) -> Counter: ...

    def gauge(
        self, name: str, description: str, labels: Mapping[str, str], read: Callable[[], float]
    ) -> None: ...


class Host(Protocol):
    @property
    def telemetry(self) -> Telemetry: ...

    def report_fatal_error(self, err: BaseException) -> None:
        """Stop the collector with this error (upstream ``componentstatus.ReportStatus`` fatal)."""
        ...

    def extensions(self) -> Mapping[ComponentID, Component]: ...


class Component(Protocol):
    async def start(self, host: Host) -> None: ...
    async def shutdown(self) -> None: ...


class ConsumingComponent(Component, Consumer, Protocol):
    """Processors, exporters and connectors: a component that is also a consumer."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What every create function gets: its ID, a logger that already carries the component's fields."""

    id: ComponentID
    kind: Kind
    logger: Logger
    telemetry: Telemetry


class Factory(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def kind(self) -> Kind: ...

    def default_config(self) -> Any: ...

    def load_config(self, raw: Mapping[str, Any] | None) -> Any:
        """Defaults overlaid with ``raw``; raise ConfigError (mapstructure-style detail) on bad keys/values."""
        ...

    def validate(self, cfg: Any) -> list[str]:
        """Upstream ``Validate()`` messages, relative to the component (empty list = valid)."""
        ...


class ReceiverFactory(Factory, Protocol):
    @property
    def signals(self) -> Mapping[Signal, Stability]: ...

    def create_receiver(
        self, settings: Settings, cfg: Any, consumers: Mapping[Signal, Consumer]
    ) -> Component:
        """One instance per receiver ID, shared by all its pipelines; ``consumers`` has one fan-out per signal."""
        ...


class ProcessorFactory(Factory, Protocol):
    @property
    def signals(self) -> Mapping[Signal, Stability]: ...

    def create_processor(
        self, settings: Settings, cfg: Any, signal: Signal, next_consumer: Consumer
    ) -> ConsumingComponent:
        """One instance per (pipeline, processor ID)."""
        ...


class ExporterFactory(Factory, Protocol):
    @property
    def signals(self) -> Mapping[Signal, Stability]: ...

    def create_exporter(self, settings: Settings, cfg: Any, signal: Signal) -> ConsumingComponent:
        """One instance per (exporter ID, signal)."""
        ...


class ConnectorFactory(Factory, Protocol):
    @property
    def pairs(self) -> Mapping[tuple[Signal, Signal], Stability]:
        """Supported (exporter-side signal, receiver-side signal) pairs."""
        ...

    def create_connector(
        self,
        settings: Settings,
        cfg: Any,
        from_signal: Signal,
        to_signal: Signal,
        next_consumer: Consumer,
    ) -> ConsumingComponent:
        """One instance per (connector ID, from_signal, to_signal)."""
        ...


class ExtensionFactory(Factory, Protocol):
    @property
    def stability(self) -> Stability: ...

    def create_extension(self, settings: Settings, cfg: Any) -> Component: ...


AnyFactory: TypeAlias = (
    ReceiverFactory | ProcessorFactory | ExporterFactory | ConnectorFactory | ExtensionFactory
)

# Modules whose ``FACTORY`` is registered by default; a module that is not part of this build is skipped.
BUILTIN_MODULES: tuple[str, ...] = (
    "flightdeck.collector.components.otlpreceiver",
    "flightdeck.collector.components.batchprocessor",
    "flightdeck.collector.components.memorylimiter",
    "flightdeck.collector.components.otlpexporter",
    "flightdeck.collector.components.otlphttpexporter",
    "flightdeck.collector.components.debugexporter",
    "flightdeck.collector.components.healthcheck",
    "flightdeck.collector.components.spanmetrics",
    "flightdeck.collector.components.prometheusexporter",
)


class Registry:
    """Factories keyed by (kind, type name)."""

    def __init__(self, factories: Sequence[AnyFactory] = ()) -> None:
        self._by_kind: dict[Kind, dict[str, AnyFactory]] = {k: {} for k in Kind}
        for factory in factories:
            self.register(factory)

    def register(self, factory: AnyFactory) -> None:
        table = self._by_kind[factory.kind]
        if factory.type in table:
            raise ValueError(f"duplicate {factory.kind} factory {factory.type!r}")
        table[factory.type] = factory

    def get(self, kind: Kind, type_name: str) -> AnyFactory | None:
        return self._by_kind[kind].get(type_name)

    def types(self, kind: Kind) -> list[str]:
        return sorted(self._by_kind[kind])

    def unknown_type_message(self, kind: Kind, cid: ComponentID) -> str:
        """Upstream's text for an ID whose type has no factory (configunmarshaler ``errorUnknownType``)."""
        if kind is Kind.EXPORTER and cid.type == "logging":
            return "the logging exporter has been deprecated, use the debug exporter instead"
        known = " ".join(self.types(kind))
        return f'unknown type: "{cid.type}" for id: "{cid}" (valid values: [{known}])'


def default_registry() -> Registry:
    """A registry with every built-in component of this build."""
    registry = Registry()
    for name in BUILTIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that component is not part of this build yet
            raise
        factory = getattr(module, "FACTORY", None)
        if factory is not None:  # a package without FACTORY is still being written
            registry.register(factory)
    return registry


# A coroutine function usable as a Consumer without writing a class.
ConsumeFunc: TypeAlias = Callable[[Any], Awaitable[None]]


class FuncConsumer:
    """Adapts ``async def f(data)`` to :class:`Consumer` (handy in tests)."""

    __slots__ = ("_func",)

    def __init__(self, func: ConsumeFunc) -> None:
        self._func = func

    async def consume(self, data: Any) -> None:
        await self._func(data)
