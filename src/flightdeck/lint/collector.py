"""Collector configurations carried in ConfigMaps: checked the way the collector will check them at start.

A ConfigMap entry whose YAML has a ``service:`` section with ``pipelines`` is an OpenTelemetry
Collector configuration; a config the collector rejects makes its pod crash-loop, so lint reports the
collector's own error text (``invalid configuration: …``) at the entry's line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

from flightdeck.kube.manifest import Manifest
from flightdeck.lint.diagnostics import Diagnostic, Severity, at

if TYPE_CHECKING:
    from flightdeck.collector.config import CollectorConfig


def _looks_like_collector_config(text: str) -> bool:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and isinstance(data.get("service"), dict) and "pipelines" in data["service"]


@dataclasses.dataclass(frozen=True, slots=True)
class CollectorEntry:
    """One collector configuration found in a ConfigMap, loaded as the collector loads it."""

    manifest: Manifest
    key: str
    """The ConfigMap ``data`` key holding the configuration."""
    text: str
    config: CollectorConfig | None
    """The loaded, validated configuration; None when the collector rejects it."""
    error: str = ""
    """The collector's text when it rejects the configuration."""


def collector_configs(manifests: Iterable[Manifest]) -> list[CollectorEntry]:
    """Every collector configuration in the ConfigMaps among ``manifests``, loaded and validated once
    (lint's several checks share the result)."""
    from flightdeck.collector.errors import ConfigError
    from flightdeck.collector.service import load_config, validate_config

    out: list[CollectorEntry] = []
    for manifest in manifests:
        if manifest.kind != "ConfigMap":
            continue
        data = manifest.obj.get("data")
        if not isinstance(data, dict):
            continue
        for key, text in data.items():
            if not isinstance(text, str) or not _looks_like_collector_config(text):
                continue
            try:
                config = load_config(text)
                validate_config(config)
            except ConfigError as exc:
                out.append(CollectorEntry(manifest, str(key), text, None, str(exc)))
            else:
                out.append(CollectorEntry(manifest, str(key), text, config))
    return out


def lint_collector_configs(entries: Iterable[CollectorEntry]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for entry in entries:
        if entry.config is not None:
            continue
        message = entry.error
        if not message.startswith(("failed to", "invalid configuration")):
            message = f"invalid configuration: {message}"
        out.append(
            at(
                entry.manifest,
                ("data", entry.key),
                Severity.ERROR,
                f"the OpenTelemetry Collector rejects this configuration and its pod will "
                f"crash-loop: {message}",
            )
        )
    return out
