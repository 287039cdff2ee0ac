"""Metric providers, registered by the name used under ``provider:`` in a metric."""

# Importing a provider module registers it under its YAML name.
from flightdeck.analysis.providers import job as job
from flightdeck.analysis.providers import prometheus as prometheus
from flightdeck.analysis.providers import web as web
from flightdeck.analysis.providers.base import (
    ClusterClient,
    MeasureContext,
    Provider,
    ProviderError,
    build_provider,
    known_providers,
    register_provider,
)

__all__ = [
    "ClusterClient",
    "MeasureContext",
    "Provider",
    "ProviderError",
    "build_provider",
    "known_providers",
    "register_provider",
]
