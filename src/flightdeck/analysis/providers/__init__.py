"""Metric providers, registered by the name used under ``provider:`` in a metric."""

from flightdeck.analysis.providers.base import (
    MeasureContext,
    Provider,
    ProviderError,
    build_provider,
    known_providers,
    register_provider,
)

__all__ = [
    "MeasureContext",
    "Provider",
    "ProviderError",
    "build_provider",
    "known_providers",
    "register_provider",
]
