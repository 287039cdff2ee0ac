"""``otlp`` receiver (core ``receiver/otlpreceiver``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightdeck.collector.component import Component, Consumer, Kind, Settings, Signal, Stability
from flightdeck.collector.components.otlpreceiver.config import Config
from flightdeck.collector.components.otlpreceiver.receiver import OTLPReceiver
from flightdeck.collector.factory import SignalFactory


def _validate(cfg: Config) -> list[str]:
    if cfg.protocols.grpc is None and cfg.protocols.http is None:
        return ["must specify at least one protocol when using the OTLP receiver"]
    return []


@dataclass(frozen=True, slots=True)
class _Factory(SignalFactory):
    def create_receiver(
        self, settings: Settings, cfg: Any, consumers: Mapping[Signal, Consumer]
    ) -> Component:
        return OTLPReceiver(settings, cfg, consumers)


FACTORY = _Factory(
    "otlp",
    Kind.RECEIVER,
    Config,
    _validate,
    {Signal.TRACES: Stability.STABLE, Signal.METRICS: Stability.STABLE, Signal.LOGS: Stability.STABLE},
)

__all__ = ["FACTORY", "Config", "OTLPReceiver"]
