"""The metric-provider interface and its registry.

A provider is built for one (already argument-resolved) metric and takes measurements of it.
Construction problems (a bad address, a negative timeout) raise :class:`ProviderError`; the engine
then records an ``Error`` measurement with exactly that text, as Argo does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flightdeck.analysis.types import Measurement, Metric


class ProviderError(Exception):
    """A provider could not be built or could not measure; ``str()`` is the user-visible text."""


class ClusterClient(Protocol):
    """The object-store calls a provider that creates cluster objects (``job``) makes.

    :class:`flightdeck.kube.store.ObjectStore` satisfies it; errors are its ``ApiError``s.
    """

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, kind: str, namespace: str | None = None, selector: Any = None) -> list[dict[str, Any]]: ...

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete(self, kind: str, namespace: str, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class MeasureContext:
    """What a provider may know about the run it measures for."""

    run_name: str
    namespace: str
    now: float
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Resolved secret values, so providers can redact them (``*****``) from messages."""
    run_uid: str = ""
    ordinal: int = 1
    """This measurement's number for the metric: measurements taken so far (``count`` + ``error``) + 1,
    which Argo's job provider puts in the Job's name."""
    cluster: ClusterClient | None = None
    """The local cluster, for providers that run objects in it; None outside ``flightdeck up``."""


class Provider(Protocol):
    def kind(self) -> str: ...

    def run(self, ctx: MeasureContext, metric: Metric) -> Measurement:
        """Take one measurement. Synchronous providers return a finished measurement."""
        ...

    def resume(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        """Check on an unfinished measurement (asynchronous providers such as ``job``)."""
        ...

    def terminate(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        """Stop an unfinished measurement because the run is terminating."""
        ...

    def metadata(self, metric: Metric) -> dict[str, str] | None:
        """Metadata stored once on the metric result (e.g. ``ResolvedPrometheusQuery``)."""
        ...


ProviderFactory = Callable[[Metric], Provider]

_REGISTRY: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``provider.<name>`` in a metric resolve to providers built by ``factory``."""
    _REGISTRY[name] = factory


def known_providers() -> list[str]:
    return sorted(_REGISTRY)


def build_provider(metric: Metric) -> Provider:
    """Build the provider for ``metric``; raises :class:`ProviderError` for unknown provider types."""
    kind = metric.provider_type
    factory = _REGISTRY.get(kind)
    if factory is None:
        raise ProviderError(
            f"unknown metric provider {kind!r}: flightdeck knows {', '.join(known_providers())}"
        )
    return factory(metric)
