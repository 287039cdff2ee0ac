"""Collector configurations carried in ConfigMaps: checked the way the collector will check them at start.

A ConfigMap entry whose YAML has a ``service:`` section with ``pipelines`` is an OpenTelemetry
Collector configuration; a config the collector rejects makes its pod crash-loop, so lint reports the
collector's own error text (``invalid configuration: …``) at the entry's line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from flightdeck.kube.manifest import Manifest
from flightdeck.lint.diagnostics import Diagnostic, Severity, at


def _looks_like_collector_config(text: str) -> bool:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and isinstance(data.get("service"), dict) and "pipelines" in data["service"]


def lint_collector_configs(manifests: Iterable[Manifest]) -> list[Diagnostic]:
    from flightdeck.collector.errors import ConfigError
    from flightdeck.collector.service import load_config, validate_config

    out: list[Diagnostic] = []
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
                validate_config(load_config(text))
            except ConfigError as exc:
                message = str(exc)
                if not message.startswith(("failed to", "invalid configuration")):
                    message = f"invalid configuration: {message}"
                out.append(
                    at(
                        manifest,
                        ("data", str(key)),
                        Severity.ERROR,
                        f"the OpenTelemetry Collector rejects this configuration and its pod will "
                        f"crash-loop: {message}",
                    )
                )
    return out
