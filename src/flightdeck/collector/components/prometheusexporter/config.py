"""The ``prometheus`` exporter's configuration (contrib v0.142 ``exporter/prometheusexporter/config.go``,
``factory.go``; the HTTP server keys come from the embedded ``confighttp.ServerConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.confdecode import DurationNs
from flightdeck.collector.confighttp import ServerConfig

UNDERSCORE_ESCAPING_WITH_SUFFIXES = "UnderscoreEscapingWithSuffixes"
UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES = "UnderscoreEscapingWithoutSuffixes"
NO_UTF8_ESCAPING_WITH_SUFFIXES = "NoUTF8EscapingWithSuffixes"
NO_TRANSLATION = "NoTranslation"
TRANSLATION_STRATEGIES = (
    UNDERSCORE_ESCAPING_WITH_SUFFIXES,
    UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES,
    NO_UTF8_ESCAPING_WITH_SUFFIXES,
    NO_TRANSLATION,
)


@dataclass(slots=True)
class ResourceToTelemetry:
    enabled: bool = False


@dataclass(slots=True)
class Config(ServerConfig):
    # confighttp.ServerConfig is squashed into the exporter's config (the fields above these)
    # exporterhelper.QueueBatchConfig; meaningless for a pull exporter, off by default
    sending_queue: Any = None
    namespace: str = ""
    const_labels: dict[str, str] = field(default_factory=dict)
    send_timestamps: bool = False
    metric_expiration: DurationNs = 300_000_000_000
    resource_to_telemetry_conversion: ResourceToTelemetry = field(default_factory=ResourceToTelemetry)
    enable_open_metrics: bool = False
    add_metric_suffixes: bool = True
    translation_strategy: str = ""

    def translation(self) -> tuple[bool, bool]:
        """(with suffixes, UTF-8 allowed) per translation_strategy, else add_metric_suffixes."""
        strategy = self.translation_strategy
        if strategy:
            return {
                UNDERSCORE_ESCAPING_WITH_SUFFIXES: (True, False),
                UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES: (False, False),
                NO_UTF8_ESCAPING_WITH_SUFFIXES: (True, True),
                NO_TRANSLATION: (False, True),
            }.get(strategy, (True, False))
        return self.add_metric_suffixes, False


def validate(cfg: Config) -> list[str]:
    if cfg.translation_strategy and cfg.translation_strategy not in TRANSLATION_STRATEGIES:
        return [f"invalid translation_strategy: {cfg.translation_strategy}"]
    return []
