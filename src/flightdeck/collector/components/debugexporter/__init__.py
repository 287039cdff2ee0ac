"""``debug`` exporter (core ``exporter/debugexporter``): logs a summary per request and, at ``normal`` or
``detailed`` verbosity, a dump of the data in upstream's layout."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import Host, Kind, Logger, Settings, Signal, Stability
from flightdeck.collector.components.debugexporter import text
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import SignalFactory
from flightdeck.collector.pdata import count_data_points, count_log_records, count_spans

_LEVELS = {"none": "None", "basic": "Basic", "normal": "Normal", "detailed": "Detailed"}


def _level(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected type 'configtelemetry.Level', got unconvertible type '{type(value).__name__}'"
        )
    low = value.lower()
    if low not in _LEVELS:
        raise ValueError(f'unknown metrics level "{low}"')
    return low


@dataclass(slots=True)
class Config:
    verbosity: str = field(default="basic", metadata={"decode": _level})
    sampling_initial: int = 2
    sampling_thereafter: int = 1
    use_internal_logger: bool = True
    sending_queue: Any = None


def _validate(cfg: Config) -> list[str]:
    if cfg.verbosity not in ("basic", "normal", "detailed"):
        return [f'verbosity level "{_LEVELS[cfg.verbosity]}" is not supported']
    return []


class _Sampler:
    """zap's sampler: per message and 1 s tick, the first ``initial`` entries, then every ``thereafter``-th."""

    def __init__(self, initial: int, thereafter: int) -> None:
        self.initial = initial
        self.thereafter = thereafter
        self.tick = 0
        self.counts: dict[str, int] = {}

    def allow(self, msg: str) -> bool:
        now = int(time.monotonic())
        if now != self.tick:
            self.tick = now
            self.counts.clear()
        n = self.counts.get(msg, 0) + 1
        self.counts[msg] = n
        if n <= self.initial:
            return True
        return self.thereafter > 0 and (n - self.initial) % self.thereafter == 0


class DebugExporter:
    def __init__(self, settings: Settings, cfg: Config, signal: Signal) -> None:
        self.logger: Logger = settings.logger
        self.cfg = cfg
        self.signal = signal
        self.sampler = _Sampler(cfg.sampling_initial, cfg.sampling_thereafter)
        if cfg.sending_queue is not None:
            raise ConfigError("not supported: sending_queue on the debug exporter")

    async def start(self, host: Host) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _log(self, msg: str, **fields: object) -> None:
        if self.sampler.allow(msg):
            self.logger.info(msg, **fields)

    async def consume(self, data: Any) -> None:
        sig = self.signal
        if sig is Signal.TRACES:
            self._log("Traces", **{"resource spans": len(data.resource_spans), "spans": count_spans(data)})
        elif sig is Signal.METRICS:
            metrics = sum(len(sm.metrics) for rm in data.resource_metrics for sm in rm.scope_metrics)
            self._log(
                "Metrics",
                **{
                    "resource metrics": len(data.resource_metrics),
                    "metrics": metrics,
                    "data points": count_data_points(data),
                },
            )
        else:
            self._log(
                "Logs", **{"resource logs": len(data.resource_logs), "log records": count_log_records(data)}
            )
        if self.cfg.verbosity == "basic":
            return
        render = {
            ("normal", Signal.TRACES): text.normal_traces,
            ("normal", Signal.METRICS): text.normal_metrics,
            ("normal", Signal.LOGS): text.normal_logs,
            ("detailed", Signal.TRACES): text.detailed_traces,
            ("detailed", Signal.METRICS): text.detailed_metrics,
            ("detailed", Signal.LOGS): text.detailed_logs,
        }[(self.cfg.verbosity, sig)]
        self._log(render(data))


@dataclass(frozen=True, slots=True)
class _Factory(SignalFactory):
    def create_exporter(self, settings: Settings, cfg: Any, signal: Signal) -> DebugExporter:
        return DebugExporter(settings, cfg, signal)


FACTORY = _Factory(
    "debug",
    Kind.EXPORTER,
    Config,
    _validate,
    {
        Signal.TRACES: Stability.DEVELOPMENT,
        Signal.METRICS: Stability.DEVELOPMENT,
        Signal.LOGS: Stability.DEVELOPMENT,
    },
)
