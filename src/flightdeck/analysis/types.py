"""The AnalysisRun data model (Argo Rollouts ``v1alpha1`` analysis types) as Python values.

Spec fields stay close to their YAML/JSON shape because arguments are substituted into the
JSON text of a metric before it is interpreted (`{{args.x}}` may stand in ``count`` or
``interval``). Status values are small mutable records that the reconciler copies on write;
measurements are immutable and shared between copies.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from flightdeck.util.timefmt import rfc3339


class Phase(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"

    completed: bool
    """Successful, Failed, Error or Inconclusive; a plain attribute because passes read it often."""


_COMPLETED = frozenset({Phase.SUCCESSFUL, Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE})
for _phase in Phase:
    _phase.completed = _phase in _COMPLETED

# Best to worst, as Argo orders run phases (utils/analysis/helpers.go): Failed is the worst.
PHASE_SEVERITY: Mapping[Phase, int] = {
    Phase.SUCCESSFUL: 0,
    Phase.RUNNING: 1,
    Phase.PENDING: 2,
    Phase.INCONCLUSIVE: 3,
    Phase.ERROR: 4,
    Phase.FAILED: 5,
}


def int_or_string(value: Any) -> int | None:
    """apimachinery ``IntOrString.IntValue``: strings go through ``Atoi``; anything unparsable is 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value)
    body = text[1:] if text and text[0] in "+-" else text
    if body.isascii() and body.isdigit():
        return int(text)
    return 0


@dataclasses.dataclass(frozen=True, slots=True)
class Metric:
    """One entry of ``spec.metrics``; ``raw`` keeps the JSON shape for templating and providers."""

    name: str
    raw: Mapping[str, Any]
    json_text: str | None = dataclasses.field(default=None, compare=False, repr=False)
    """The metric's JSON text, cached by templating once needed (``raw`` is never mutated)."""

    @property
    def interval(self) -> str:
        return str(self.raw.get("interval") or "")

    @property
    def initial_delay(self) -> str:
        return str(self.raw.get("initialDelay") or "")

    @property
    def count(self) -> int | None:
        return int_or_string(self.raw.get("count"))

    @property
    def success_condition(self) -> str:
        return str(self.raw.get("successCondition") or "")

    @property
    def failure_condition(self) -> str:
        return str(self.raw.get("failureCondition") or "")

    @property
    def failure_limit(self) -> int:
        value = int_or_string(self.raw.get("failureLimit"))
        return 0 if value is None else value

    @property
    def inconclusive_limit(self) -> int:
        value = int_or_string(self.raw.get("inconclusiveLimit"))
        return 0 if value is None else value

    @property
    def consecutive_error_limit(self) -> int:
        value = int_or_string(self.raw.get("consecutiveErrorLimit"))
        return 4 if value is None else value

    @property
    def consecutive_success_limit(self) -> int:
        value = int_or_string(self.raw.get("consecutiveSuccessLimit"))
        return 0 if value is None else value

    @property
    def provider(self) -> Mapping[str, Any]:
        value = self.raw.get("provider")
        return value if isinstance(value, Mapping) else {}

    @property
    def provider_type(self) -> str:
        """The provider's key (``prometheus``, ``web``, …); empty when none or several are given."""
        keys = [k for k, v in self.provider.items() if v is not None]
        return keys[0] if len(keys) == 1 else ""

    def effective_count(self) -> int | None:
        """Argo's ``EffectiveCount``: None means unbounded."""
        count = self.count
        if not count:
            return None if self.interval else 1
        return count

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Metric:
        return cls(name=str(raw.get("name") or ""), raw=raw)


@dataclasses.dataclass(frozen=True, slots=True)
class Measurement:
    phase: Phase
    started_at: float | None = None
    finished_at: float | None = None
    value: str = ""
    message: str = ""
    metadata: Mapping[str, str] | None = None
    resume_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": self.phase.value}
        if self.message:
            out["message"] = self.message
        if self.started_at is not None:
            out["startedAt"] = rfc3339(self.started_at)
        if self.finished_at is not None:
            out["finishedAt"] = rfc3339(self.finished_at)
        if self.value:
            out["value"] = self.value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.resume_at is not None:
            out["resumeAt"] = rfc3339(self.resume_at)
        return out


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The slot writers of a frozen slots dataclass whose fields are ``names``, for a hand-written
    ``__init__``: the generated frozen one goes through ``object.__setattr__`` per field; writing
    the slots directly takes about half the time, which counts for values created per measurement."""
    if tuple(f.name for f in dataclasses.fields(cls)) != names:
        raise AssertionError(f"{cls.__name__}'s fields changed: update its __init__")
    return tuple(getattr(cls, name).__set__ for name in names)


def _measurement_init() -> Any:
    names = ("phase", "started_at", "finished_at", "value", "message", "metadata", "resume_at")
    s0, s1, s2, s3, s4, s5, s6 = slot_setters(Measurement, names)

    def __init__(
        self: Measurement,
        phase: Phase,
        started_at: float | None = None,
        finished_at: float | None = None,
        value: str = "",
        message: str = "",
        metadata: Mapping[str, str] | None = None,
        resume_at: float | None = None,
    ) -> None:
        s0(self, phase)
        s1(self, started_at)
        s2(self, finished_at)
        s3(self, value)
        s4(self, message)
        s5(self, metadata)
        s6(self, resume_at)

    __init__.__qualname__ = "Measurement.__init__"
    return __init__


def _metric_init() -> Any:
    s0, s1, s2 = slot_setters(Metric, ("name", "raw", "json_text"))

    def __init__(self: Metric, name: str, raw: Mapping[str, Any], json_text: str | None = None) -> None:
        s0(self, name)
        s1(self, raw)
        s2(self, json_text)

    __init__.__qualname__ = "Metric.__init__"
    return __init__


Measurement.__init__ = _measurement_init()  # type: ignore[method-assign]
Metric.__init__ = _metric_init()  # type: ignore[method-assign]


@dataclasses.dataclass(slots=True)
class MetricResult:
    name: str
    phase: Phase = Phase.RUNNING
    message: str = ""
    measurements: list[Measurement] = dataclasses.field(default_factory=list)
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    consecutive_success: int = 0
    dry_run: bool = False
    metadata: dict[str, str] | None = None

    def copy(self) -> MetricResult:
        # Positional construction: the reconciler copies results on every pass, and
        # dataclasses.replace costs several times more.
        return MetricResult(
            self.name,
            self.phase,
            self.message,
            list(self.measurements),
            self.count,
            self.successful,
            self.failed,
            self.inconclusive,
            self.error,
            self.consecutive_error,
            self.consecutive_success,
            self.dry_run,
            None if self.metadata is None else dict(self.metadata),
        )

    def last_measurement(self) -> Measurement | None:
        return self.measurements[-1] if self.measurements else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "phase": self.phase.value}
        if self.message:
            out["message"] = self.message
        out["measurements"] = [m.to_dict() for m in self.measurements]
        for key, value in (
            ("count", self.count),
            ("successful", self.successful),
            ("failed", self.failed),
            ("inconclusive", self.inconclusive),
            ("error", self.error),
            ("consecutiveError", self.consecutive_error),
            ("consecutiveSuccess", self.consecutive_success),
        ):
            if value:
                out[key] = value
        if self.dry_run:
            out["dryRun"] = True
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


@dataclasses.dataclass(slots=True)
class RunSummary:
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0

    def to_dict(self) -> dict[str, int]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v}

    def copy(self) -> RunSummary:
        return RunSummary(self.count, self.successful, self.failed, self.inconclusive, self.error)


@dataclasses.dataclass(slots=True)
class AnalysisRunStatus:
    phase: Phase = Phase.PENDING
    message: str = ""
    metric_results: list[MetricResult] = dataclasses.field(default_factory=list)
    started_at: float | None = None
    completed_at: float | None = None
    run_summary: RunSummary = dataclasses.field(default_factory=RunSummary)
    dry_run_summary: RunSummary | None = None
    settled_terminate: bool | None = dataclasses.field(default=None, compare=False, repr=False)
    """Set by the reconciler when assessing this status again (with ``spec.terminate`` equal to the
    value stored) cannot change it; a copy forgets it, so anything that edits a copy is reassessed."""
    passes: int = dataclasses.field(default=0, compare=False, repr=False)
    """How many ``reconcile`` passes edited this status object: data derived from it tells by this
    whether it is stale. A copy starts again at 0 (and without ``rest``)."""
    rest: object = dataclasses.field(default=None, compare=False, repr=False)
    """What the at-rest passes (:mod:`flightdeck.analysis.rest`) derived from this status for the
    next one; valid while ``passes`` is what it was derived at."""

    def copy(self) -> AnalysisRunStatus:
        # Everything the reconciler edits in place is copied (measurements are immutable, so shared).
        dry = self.dry_run_summary
        return AnalysisRunStatus(
            self.phase,
            self.message,
            [r.copy() for r in self.metric_results],
            self.started_at,
            self.completed_at,
            self.run_summary.copy(),
            None if dry is None else dry.copy(),
        )

    def result(self, name: str) -> MetricResult | None:
        for r in self.metric_results:
            if r.name == name:
                return r
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": self.phase.value}
        if self.message:
            out["message"] = self.message
        if self.metric_results:
            out["metricResults"] = [r.to_dict() for r in self.metric_results]
        if self.started_at is not None:
            out["startedAt"] = rfc3339(self.started_at)
        if self.completed_at is not None:
            out["completedAt"] = rfc3339(self.completed_at)
        out["runSummary"] = self.run_summary.to_dict()
        if self.dry_run_summary is not None:
            out["dryRunSummary"] = self.dry_run_summary.to_dict()
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Argument:
    """``spec.args[]``: a value, or a reference resolved at measurement time."""

    name: str
    value: str | None = None
    value_from: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Argument:
        value = raw.get("value")
        return cls(
            name=str(raw.get("name") or ""),
            value=None if value is None else str(value),
            value_from=raw.get("valueFrom") or None,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.value is not None:
            out["value"] = self.value
        if self.value_from is not None:
            out["valueFrom"] = dict(self.value_from)
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class MetricRule:
    """A ``dryRun`` or ``measurementRetention`` entry: an unanchored RE2 pattern on metric names."""

    metric_name: str
    limit: int = 0


@dataclasses.dataclass(slots=True)
class AnalysisRunSpec:
    metrics: list[Metric]
    args: list[Argument] = dataclasses.field(default_factory=list)
    terminate: bool = False
    dry_run: list[MetricRule] = dataclasses.field(default_factory=list)
    measurement_retention: list[MetricRule] = dataclasses.field(default_factory=list)
    ttl_strategy: Mapping[str, int] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AnalysisRunSpec:
        return cls(
            metrics=[Metric.from_dict(m) for m in raw.get("metrics") or []],
            args=[Argument.from_dict(a) for a in raw.get("args") or []],
            terminate=bool(raw.get("terminate")),
            dry_run=[MetricRule(str(r.get("metricName") or "")) for r in raw.get("dryRun") or []],
            measurement_retention=[
                MetricRule(str(r.get("metricName") or ""), int_or_string(r.get("limit")) or 0)
                for r in raw.get("measurementRetention") or []
            ],
            ttl_strategy=raw.get("ttlStrategy"),
        )


@dataclasses.dataclass(slots=True)
class AnalysisRun:
    """An AnalysisRun object: Kubernetes metadata plus the typed spec and status."""

    name: str
    namespace: str
    spec: AnalysisRunSpec
    status: AnalysisRunStatus = dataclasses.field(default_factory=AnalysisRunStatus)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    created_at: float | None = None
    prepared: object = dataclasses.field(default=None, repr=False, compare=False)
    """Derived data the reconciler caches (resolved and validated metrics); never serialised."""
    uid: str = ""
    """``metadata.uid`` when the run is a stored object (Argo's job provider names Jobs after it)."""
