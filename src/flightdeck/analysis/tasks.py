"""What the reconciler asks a driver to do, and what the driver hands back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flightdeck.analysis.types import Measurement, Metric, slot_setters


@dataclasses.dataclass(frozen=True, slots=True)
class MeasurementTask:
    """A measurement the driver must take (or resume/terminate) now."""

    metric: Metric
    """The metric with every argument, secrets included, substituted."""
    incomplete: Measurement | None = None
    terminate: bool = False
    secrets: tuple[str, ...] = ()
    """Secret values to redact (``*****``) from the measurement's message."""


@dataclasses.dataclass(frozen=True, slots=True)
class FinishedMeasurement:
    """What a driver hands back for one task."""

    metric_name: str
    measurement: Measurement
    metadata: Mapping[str, str] | None = None
    resumed: bool = False
    """True when ``measurement`` replaces the last (in-flight) one instead of being appended."""


def _task_init() -> Any:
    s0, s1, s2, s3 = slot_setters(MeasurementTask, ("metric", "incomplete", "terminate", "secrets"))

    def __init__(
        self: MeasurementTask,
        metric: Metric,
        incomplete: Measurement | None = None,
        terminate: bool = False,
        secrets: tuple[str, ...] = (),
    ) -> None:
        s0(self, metric)
        s1(self, incomplete)
        s2(self, terminate)
        s3(self, secrets)

    __init__.__qualname__ = "MeasurementTask.__init__"
    return __init__


def _finished_init() -> Any:
    names = ("metric_name", "measurement", "metadata", "resumed")
    s0, s1, s2, s3 = slot_setters(FinishedMeasurement, names)

    def __init__(
        self: FinishedMeasurement,
        metric_name: str,
        measurement: Measurement,
        metadata: Mapping[str, str] | None = None,
        resumed: bool = False,
    ) -> None:
        s0(self, metric_name)
        s1(self, measurement)
        s2(self, metadata)
        s3(self, resumed)

    __init__.__qualname__ = "FinishedMeasurement.__init__"
    return __init__


# Both are created per run or per measurement (see types.slot_setters).
MeasurementTask.__init__ = _task_init()  # type: ignore[method-assign]
FinishedMeasurement.__init__ = _finished_init()  # type: ignore[method-assign]

__all__ = ["FinishedMeasurement", "MeasurementTask"]
