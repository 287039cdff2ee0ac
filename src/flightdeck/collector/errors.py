"""Errors of the collector: configuration problems carry upstream's exact text."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem; ``str()`` is the text otelcol would print after ``Error: ``.

    Component code raises it with the *relative* message (e.g. ``'histogram' has invalid keys: foo``);
    the config loader adds upstream's wrapping (``failed to get config: …``, ``error decoding 'connectors': …``).
    """


class NotSupportedError(ConfigError):
    """A construct flightdeck does not implement yet; the text starts with ``not supported: ``."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not supported: {what}")
