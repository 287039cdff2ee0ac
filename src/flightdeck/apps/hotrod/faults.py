"""Fault injection on ``/dispatch`` for canary tests: an error rate, added latency, and a delay before either starts.

Off by default. Latency specs: ``250ms`` (fixed), ``normal:MEAN,STDDEV``, ``exponential:MEAN``,
``uniform:MIN,MAX`` (Go durations). A sampled latency below zero is clamped to zero.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from flightdeck.kube.durations import DurationError, parse_go_duration

LATENCY_KINDS = ("fixed", "normal", "exponential", "uniform")


@dataclass(frozen=True)
class LatencySpec:
    kind: str
    a: float  # fixed value, mean, or minimum (seconds)
    b: float = 0.0  # stddev or maximum (seconds)

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "normal":
            value = rng.gauss(self.a, self.b)
        elif self.kind == "exponential":
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        else:
            value = rng.uniform(self.a, self.b)
        return max(0.0, value)


@dataclass(frozen=True)
class FaultConfig:
    error_rate: float = 0.0
    latency: LatencySpec | None = None
    start_delay: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.error_rate > 0 or self.latency is not None


def _seconds(what: str, text: str) -> float:
    try:
        value = parse_go_duration(text.strip())
    except DurationError as exc:
        raise ValueError(f"invalid {what} {text!r}: {exc}") from exc
    if value < 0:
        raise ValueError(f"invalid {what} {text!r}: must not be negative")
    return value


def parse_latency(text: str) -> LatencySpec:
    kind, sep, rest = text.partition(":")
    if not sep:
        return LatencySpec("fixed", _seconds("fault latency", text))
    params = [p for p in rest.split(",")]
    if kind == "normal" and len(params) == 2:
        return LatencySpec(
            "normal", _seconds("fault latency", params[0]), _seconds("fault latency", params[1])
        )
    if kind == "exponential" and len(params) == 1:
        return LatencySpec("exponential", _seconds("fault latency", params[0]))
    if kind == "uniform" and len(params) == 2:
        low, high = _seconds("fault latency", params[0]), _seconds("fault latency", params[1])
        if high < low:
            raise ValueError(f"invalid fault latency {text!r}: maximum below minimum")
        return LatencySpec("uniform", low, high)
    raise ValueError(
        f"invalid fault latency {text!r}: want DURATION, normal:MEAN,STDDEV, exponential:MEAN or uniform:MIN,MAX"
    )


def parse_fault_config(error_rate: str | None, latency: str | None, start_delay: str | None) -> FaultConfig:
    rate = 0.0
    if error_rate:
        try:
            rate = float(error_rate)
        except ValueError as exc:
            raise ValueError(f"invalid fault error rate {error_rate!r}: not a number") from exc
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"invalid fault error rate {error_rate!r}: must be between 0 and 1")
    return FaultConfig(
        error_rate=rate,
        latency=parse_latency(latency) if latency else None,
        start_delay=_seconds("fault start delay", start_delay) if start_delay else 0.0,
    )
