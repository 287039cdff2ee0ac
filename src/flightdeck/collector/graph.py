"""The pipeline graph (upstream ``service/internal/graph``): connector checks, cycle detection, creating the
component instances and wiring them with fan-out consumers, and the start/shutdown order.

Errors raised here are GraphError with upstream's text; the caller prefixes ``failed to build pipelines: ``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flightdeck.collector.component import (
    Component,
    ComponentID,
    ConnectorFactory,
    Consumer,
    ConsumerError,
    ConsumingComponent,
    ExporterFactory,
    ExtensionFactory,
    Host,
    Kind,
    Logger,
    PipelineID,
    ProcessorFactory,
    ReceiverFactory,
    Settings,
    Signal,
    Telemetry,
)
from flightdeck.collector.config import CollectorConfig
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.pdata import ITEM_NAMES, count_items


class GraphError(ConfigError):
    """A pipeline-graph problem; ``str()`` is upstream's text without ``failed to build pipelines: ``."""


NOT_SUPPORTED = "telemetry type is not supported"


def combine_errors(errors: list[ConsumerError]) -> ConsumerError:
    """multierr semantics: messages joined by ``; ``; permanent if any is permanent."""
    if len(errors) == 1:
        return errors[0]
    retry = [e.retry_after for e in errors if e.retry_after is not None]
    codes = [e.grpc_code for e in errors if e.grpc_code is not None]
    return ConsumerError(
        "; ".join(e.message for e in errors),
        permanent=any(e.permanent for e in errors),
        retry_after=max(retry) if retry else None,
        grpc_code=codes[0] if codes else None,
    )


class FanOut:
    """Hands the same (read-only) message to every consumer in turn; errors are combined, not short-cut."""

    __slots__ = ("consumers",)

    def __init__(self, consumers: Iterable[Consumer]) -> None:
        self.consumers = tuple(consumers)

    async def consume(self, data: Any) -> None:
        errors: list[ConsumerError] = []
        for consumer in self.consumers:
            try:
                await consumer.consume(data)
            except ConsumerError as exc:
                errors.append(exc)
        if errors:
            raise combine_errors(errors)


def fan_out(consumers: list[Consumer]) -> Consumer:
    return consumers[0] if len(consumers) == 1 else FanOut(consumers)


class ObservedExporter:
    """Counts ``otelcol_exporter_sent_*`` / ``send_failed_*`` around an exporter that does not count itself
    (exporterhelper's obsReportSender, for exporters without a sending queue)."""

    __slots__ = ("_failed", "_sent", "_signal", "inner")

    def __init__(
        self, inner: ConsumingComponent, signal: Signal, telemetry: Telemetry, cid: ComponentID
    ) -> None:
        self.inner = inner
        self._signal = signal
        word = ITEM_NAMES[signal]
        labels = {"exporter": str(cid)}
        self._sent = telemetry.counter(f"otelcol_exporter_sent_{word}", _SENT_HELP[signal], labels)
        self._failed = telemetry.counter(f"otelcol_exporter_send_failed_{word}", _FAILED_HELP[signal], labels)

    async def start(self, host: Host) -> None:
        await self.inner.start(host)

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def consume(self, data: Any) -> None:
        n = count_items(self._signal, data)
        try:
            await self.inner.consume(data)
        except ConsumerError:
            self._failed.add(n)
            raise
        self._sent.add(n)


_SENT_HELP = {
    Signal.TRACES: "Number of spans successfully sent to destination. [Alpha]",
    Signal.METRICS: "Number of metric points successfully sent to destination. [Alpha]",
    Signal.LOGS: "Number of log record successfully sent to destination. [Alpha]",
}
_FAILED_HELP = {
    Signal.TRACES: "Number of spans in failed attempts to send to destination. [Alpha]",
    Signal.METRICS: "Number of metric points in failed attempts to send to destination. [Alpha]",
    Signal.LOGS: "Number of log records in failed attempts to send to destination. [Alpha]",
}


@dataclass(slots=True)
class Plan:
    """Which pipelines exist, which connectors join which pipelines, in what order to build/start."""

    pipelines: dict[PipelineID, Any]
    # connector id → supported (exporter pipeline, receiver pipeline) pairs
    connectors: dict[ComponentID, list[tuple[PipelineID, PipelineID]]] = field(default_factory=dict)
    # pipelines, downstream ones first (a connector's receiver pipelines before its exporter pipelines)
    order: list[PipelineID] = field(default_factory=list)


def _go_list(items: Iterable[object]) -> str:
    return "[" + " ".join(str(i) for i in items) + "]"


def plan(cfg: CollectorConfig) -> Plan:
    """createNodes' connector checks and the cycle check."""
    connectors_cfg = cfg.components[Kind.CONNECTOR]
    pipes = cfg.service.pipelines
    as_exporter: dict[ComponentID, list[PipelineID]] = {}
    as_receiver: dict[ComponentID, list[PipelineID]] = {}
    for pid, pipe in pipes.items():
        for ref in pipe.receivers:
            if ref in connectors_cfg:
                as_receiver.setdefault(ref, []).append(pid)
        for ref in pipe.exporters:
            if ref in connectors_cfg:
                as_exporter.setdefault(ref, []).append(pid)
    result = Plan(dict(pipes))
    for cid in [*as_exporter, *(c for c in as_receiver if c not in as_exporter)]:
        factory = cast(ConnectorFactory | None, cfg.registry.get(Kind.CONNECTOR, cid.type))
        if factory is None:
            raise GraphError(f'connector factory not available for: "{cid.type}"')
        exp_ids = as_exporter.get(cid, [])
        rec_ids = as_receiver.get(cid, [])
        exp_types = {p.signal: False for p in exp_ids}
        rec_types = {p.signal: False for p in rec_ids}
        for e in exp_types:
            for r in rec_types:
                if (e, r) in factory.pairs:
                    exp_types[e] = rec_types[r] = True
        for e, ok in exp_types.items():
            if not ok:
                names = _go_list(p for p in exp_ids if p.signal is e)
                raise GraphError(
                    f'connector "{cid}" used as exporter in {names} pipeline '
                    "but not used in any supported receiver pipeline"
                )
        for r, ok in rec_types.items():
            if not ok:
                names = _go_list(p for p in rec_ids if p.signal is r)
                raise GraphError(
                    f'connector "{cid}" used as receiver in {names} pipeline '
                    "but not used in any supported exporter pipeline"
                )
        result.connectors[cid] = [
            (e, r) for e in exp_ids for r in rec_ids if (e.signal, r.signal) in factory.pairs
        ]
    result.order = _pipeline_order(cfg, result)
    return result


def _pipeline_order(cfg: CollectorConfig, p: Plan) -> list[PipelineID]:
    downstream: dict[PipelineID, list[tuple[ComponentID, PipelineID]]] = {pid: [] for pid in p.pipelines}
    for cid, pairs in p.connectors.items():
        for e, r in pairs:
            downstream[e].append((cid, r))
    order: list[PipelineID] = []
    state: dict[PipelineID, int] = {}  # 1 = on the DFS stack, 2 = done
    stack: list[tuple[PipelineID, ComponentID | None]] = []

    def visit(pid: PipelineID, via: ComponentID | None) -> None:
        if state.get(pid) == 2:
            return
        if state.get(pid) == 1:
            raise GraphError(_cycle_message(cfg, stack, pid, via))
        state[pid] = 1
        stack.append((pid, via))
        for cid, nxt in downstream[pid]:
            visit(nxt, cid)
        stack.pop()
        state[pid] = 2
        order.append(pid)

    for pid in p.pipelines:
        visit(pid, None)
    return order


def _cycle_message(
    cfg: CollectorConfig,
    stack: list[tuple[PipelineID, ComponentID | None]],
    again: PipelineID,
    via: ComponentID | None,
) -> str:
    start = next(i for i, (pid, _) in enumerate(stack) if pid == again)
    loop = [*stack[start:], (again, via)]
    parts: list[str] = []
    # Each hop: connector (from-signal to to-signal), then the processors of the pipeline it feeds.
    for (prev_pid, _), (pid, conn) in itertools.pairwise(loop):
        parts.append(f'connector "{conn}" ({prev_pid.signal} to {pid.signal})')
        for proc in cfg.service.pipelines[pid].processors:
            parts.append(f'processor "{proc}" in pipeline "{pid}"')
    parts.append(parts[0])
    return "cycle detected: " + " -> ".join(parts)


@dataclass(slots=True)
class Built:
    """Component instances and how data enters each pipeline."""

    receivers: dict[ComponentID, Component] = field(default_factory=dict)
    exporters: dict[tuple[ComponentID, Signal], ConsumingComponent] = field(default_factory=dict)
    connectors: dict[tuple[ComponentID, Signal, Signal], ConsumingComponent] = field(default_factory=dict)
    processors: dict[PipelineID, list[tuple[ComponentID, ConsumingComponent]]] = field(default_factory=dict)
    entries: dict[PipelineID, Consumer] = field(default_factory=dict)
    start_order: list[tuple[Kind, ComponentID, Component]] = field(default_factory=list)


LoggerFor = Callable[[Mapping[str, object]], Logger]


def build(cfg: CollectorConfig, p: Plan, telemetry: Telemetry, logger_for: LoggerFor) -> Built:
    """Create every component used by a pipeline (exporters first, receivers last, as upstream's reverse
    topological build does) and wire them."""
    out = Built()
    pipes = cfg.service.pipelines

    def settings(kind: Kind, cid: ComponentID, **fields: object) -> Settings:
        log_fields: dict[str, object] = {
            "otelcol.component.id": str(cid),
            "otelcol.component.kind": str(kind),
        }
        log_fields.update(fields)
        return Settings(cid, kind, logger_for(log_fields), telemetry)

    # Exporters: one per (id, signal).
    for pid in p.order:
        for ref in pipes[pid].exporters:
            key = (ref, pid.signal)
            if ref in cfg.components[Kind.CONNECTOR] or key in out.exporters:
                continue
            factory = cast(ExporterFactory, cfg.factory(Kind.EXPORTER, ref))
            if pid.signal not in factory.signals:
                raise GraphError(
                    f'failed to create "{ref}" exporter for data type "{pid.signal}": {NOT_SUPPORTED}'
                )
            st = settings(Kind.EXPORTER, ref, **{"otelcol.signal": str(pid.signal)})
            try:
                inst = factory.create_exporter(st, cfg.components[Kind.EXPORTER][ref], pid.signal)
            except ConfigError as exc:
                raise GraphError(
                    f'failed to create "{ref}" exporter for data type "{pid.signal}": {exc}'
                ) from None
            if not getattr(inst, "reports_telemetry", False):
                inst = ObservedExporter(inst, pid.signal, telemetry, ref)
            out.exporters[key] = inst

    # Pipelines downstream-first, so a connector's next consumers exist when it is created.
    for pid in p.order:
        pipe = pipes[pid]
        fan: list[Consumer] = []
        for ref in pipe.exporters:
            if ref not in cfg.components[Kind.CONNECTOR]:
                fan.append(out.exporters[(ref, pid.signal)])
                continue
            targets = [r for e, r in p.connectors.get(ref, []) if e == pid]
            by_signal: dict[Signal, list[PipelineID]] = {}
            for r in targets:
                by_signal.setdefault(r.signal, []).append(r)
            for to_signal, _rpids in by_signal.items():
                ckey = (ref, pid.signal, to_signal)
                conn = out.connectors.get(ckey)
                if conn is None:
                    factory_c = cast(ConnectorFactory, cfg.factory(Kind.CONNECTOR, ref))
                    st = settings(
                        Kind.CONNECTOR,
                        ref,
                        **{"otelcol.signal": str(pid.signal), "otelcol.signal.output": str(to_signal)},
                    )
                    # every receiver pipeline of this connector with that signal
                    all_r = [
                        r for e, r in p.connectors[ref] if e.signal is pid.signal and r.signal is to_signal
                    ]
                    nxt = fan_out([out.entries[r] for r in dict.fromkeys(all_r)])
                    try:
                        conn = factory_c.create_connector(
                            st, cfg.components[Kind.CONNECTOR][ref], pid.signal, to_signal, nxt
                        )
                    except ConfigError as exc:
                        raise GraphError(str(exc)) from None
                    out.connectors[ckey] = conn
                fan.append(conn)
        entry: Consumer = fan_out(fan)
        procs: list[tuple[ComponentID, ConsumingComponent]] = []
        for ref in reversed(pipe.processors):
            factory_p = cast(ProcessorFactory, cfg.factory(Kind.PROCESSOR, ref))
            if pid.signal not in factory_p.signals:
                raise GraphError(f'failed to create "{ref}" processor, in pipeline "{pid}": {NOT_SUPPORTED}')
            st = settings(
                Kind.PROCESSOR, ref, **{"otelcol.pipeline.id": str(pid), "otelcol.signal": str(pid.signal)}
            )
            try:
                proc = factory_p.create_processor(st, cfg.components[Kind.PROCESSOR][ref], pid.signal, entry)
            except ConfigError as exc:
                raise GraphError(f'failed to create "{ref}" processor, in pipeline "{pid}": {exc}') from None
            procs.append((ref, proc))
            entry = proc
        procs.reverse()
        out.processors[pid] = procs
        out.entries[pid] = entry

    # Receivers: one instance per id with a fan-out per signal over its pipelines.
    per_receiver: dict[ComponentID, dict[Signal, list[PipelineID]]] = {}
    for pid, pipe in pipes.items():
        for ref in pipe.receivers:
            if ref in cfg.components[Kind.CONNECTOR]:
                continue
            per_receiver.setdefault(ref, {}).setdefault(pid.signal, []).append(pid)
    for ref, signals in per_receiver.items():
        factory_r = cast(ReceiverFactory, cfg.factory(Kind.RECEIVER, ref))
        for sig in signals:
            if sig not in factory_r.signals:
                raise GraphError(f'failed to create "{ref}" receiver for data type "{sig}": {NOT_SUPPORTED}')
        consumers = {sig: fan_out([out.entries[r] for r in rpids]) for sig, rpids in signals.items()}
        st = settings(Kind.RECEIVER, ref)
        try:
            out.receivers[ref] = factory_r.create_receiver(st, cfg.components[Kind.RECEIVER][ref], consumers)
        except ConfigError as exc:
            sig = next(iter(signals))
            raise GraphError(f'failed to create "{ref}" receiver for data type "{sig}": {exc}') from None

    # Start order: downstream pipelines' exporters/connectors and processors first, receivers last.
    started: set[int] = set()

    def add(kind: Kind, cid: ComponentID, comp: Component) -> None:
        if id(comp) not in started:
            started.add(id(comp))
            out.start_order.append((kind, cid, comp))

    for pid in p.order:
        for ref in pipes[pid].exporters:
            if ref in cfg.components[Kind.CONNECTOR]:
                for (cid, frm, _), conn in out.connectors.items():
                    if cid == ref and frm is pid.signal:
                        add(Kind.CONNECTOR, cid, conn)
            else:
                add(Kind.EXPORTER, ref, out.exporters[(ref, pid.signal)])
        for ref, proc in reversed(out.processors[pid]):
            add(Kind.PROCESSOR, ref, proc)
    for ref, rcv in out.receivers.items():
        add(Kind.RECEIVER, ref, rcv)
    return out


def build_extensions(
    cfg: CollectorConfig, telemetry: Telemetry, logger_for: LoggerFor
) -> dict[ComponentID, Component]:
    out: dict[ComponentID, Component] = {}
    for ref in cfg.service.extensions:
        factory = cast(ExtensionFactory, cfg.factory(Kind.EXTENSION, ref))
        fields = {"otelcol.component.id": str(ref), "otelcol.component.kind": "extension"}
        st = Settings(ref, Kind.EXTENSION, logger_for(fields), telemetry)
        try:
            out[ref] = factory.create_extension(st, cfg.components[Kind.EXTENSION][ref])
        except ConfigError as exc:
            raise ConfigError(
                f'failed to build extensions: failed to create extension "{ref}": {exc}'
            ) from None
    return out
