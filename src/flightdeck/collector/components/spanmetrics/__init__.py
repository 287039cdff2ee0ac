"""``spanmetrics`` connector (contrib ``connector/spanmetricsconnector`` v0.142): R.E.D. metrics from spans.

Public API: :data:`FACTORY` (registered by the collector), :class:`SpanMetricsAggregator` (pure
``consume(request, now_ns)`` / ``flush(now_ns)``), :func:`load_config` / :func:`validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import Consumer, Kind, Settings, Signal, Stability
from flightdeck.collector.components.spanmetrics.aggregator import SpanMetricsAggregator
from flightdeck.collector.components.spanmetrics.config import Config, load_config, validate
from flightdeck.collector.components.spanmetrics.connector import SpanMetricsConnector
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.factory import BaseFactory

__all__ = ["FACTORY", "Config", "SpanMetricsAggregator", "SpanMetricsConnector", "load_config", "validate"]


@dataclass(frozen=True, slots=True)
class _Factory(BaseFactory):
    pairs: Mapping[tuple[Signal, Signal], Stability] = field(default_factory=dict)

    def create_connector(
        self, settings: Settings, cfg: Any, from_signal: Signal, to_signal: Signal, next_consumer: Consumer
    ) -> SpanMetricsConnector:
        if (from_signal, to_signal) not in self.pairs:
            raise ConfigError("telemetry type is not supported")
        return SpanMetricsConnector(settings, cfg, next_consumer)


FACTORY = _Factory(
    "spanmetrics",
    Kind.CONNECTOR,
    Config,
    validate,
    {(Signal.TRACES, Signal.METRICS): Stability.ALPHA},
)
