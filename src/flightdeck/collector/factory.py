"""Small factory base classes: the config plumbing every built-in component shares (defaults from a
dataclass, overlay with :mod:`confdecode`, a validate function). Components only add their create
function. Satisfies the factory protocols of :mod:`flightdeck.collector.component`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector.component import Kind, Signal, Stability
from flightdeck.collector.confdecode import decode


@dataclass(frozen=True, slots=True)
class BaseFactory:
    type: str
    kind: Kind
    config_type: Callable[[], Any]
    validator: Callable[[Any], list[str]] | None = None

    def default_config(self) -> Any:
        return self.config_type()

    def load_config(self, raw: Mapping[str, Any] | None) -> Any:
        return decode(raw, self.default_config())

    def validate(self, cfg: Any) -> list[str]:
        return self.validator(cfg) if self.validator is not None else []


@dataclass(frozen=True, slots=True)
class SignalFactory(BaseFactory):
    signals: Mapping[Signal, Stability] = field(default_factory=dict)
