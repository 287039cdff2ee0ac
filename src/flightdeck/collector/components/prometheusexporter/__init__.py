"""``prometheus`` exporter (contrib ``exporter/prometheusexporter`` v0.142): accumulate OTLP metrics and
serve them for scraping in the Prometheus text, OpenMetrics or protobuf exposition format.

Public API: :data:`FACTORY` (registered by the collector) and :class:`PrometheusExporter`
(``accept(request, now_ns)``, ``scrape(accept, accept_encoding, now_ns)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flightdeck.collector.component import Kind, Settings, Signal, Stability
from flightdeck.collector.components.prometheusexporter.config import Config, validate
from flightdeck.collector.components.prometheusexporter.exporter import PrometheusExporter
from flightdeck.collector.factory import SignalFactory

__all__ = ["FACTORY", "Config", "PrometheusExporter", "validate"]


@dataclass(frozen=True, slots=True)
class _Factory(SignalFactory):
    def create_exporter(self, settings: Settings, cfg: Any, signal: Signal) -> PrometheusExporter:
        return PrometheusExporter(settings, cfg)


FACTORY = _Factory("prometheus", Kind.EXPORTER, Config, validate, {Signal.METRICS: Stability.BETA})
