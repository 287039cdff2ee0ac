"""A local cluster for AnalysisRun controller tests: object store, controller manager, virtual clock, and a
scripted provider registered through the real provider registry (as ``provider.plugin``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from flightdeck.analysis.controller import AnalysisRunController, inline_executor
from flightdeck.analysis.providers import MeasureContext, base, register_provider
from flightdeck.analysis.types import Measurement, Metric, Phase
from flightdeck.controllers.manager import ControllerManager
from flightdeck.kube.store import ObjectStore
from flightdeck.util.clock import VirtualClock

T0 = 1_700_000_000.0
_CODES = {"S": Phase.SUCCESSFUL, "F": Phase.FAILED, "I": Phase.INCONCLUSIVE, "E": Phase.ERROR}


@dataclass
class Scripted:
    """Outcomes per metric name ("S", "F", "I", "E" or ("E", message)); records every call."""

    outcomes: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[tuple[str, float, str]] = field(default_factory=list)
    seen_metrics: list[Metric] = field(default_factory=list)

    def factory(self, metric: Metric) -> ScriptedProvider:
        return ScriptedProvider(self)


class ScriptedProvider:
    def __init__(self, script: Scripted) -> None:
        self.script = script

    def kind(self) -> str:
        return "Scripted"

    def metadata(self, metric: Metric) -> dict[str, str] | None:
        return None

    def run(self, ctx: MeasureContext, metric: Metric) -> Measurement:
        self.script.calls.append((metric.name, ctx.now, "run"))
        self.script.seen_metrics.append(metric)
        queue = self.script.outcomes.get(metric.name)
        if not queue:
            raise AssertionError(f"unexpected measurement of {metric.name!r}")
        outcome = queue.pop(0)
        code, message = (outcome, "") if isinstance(outcome, str) else outcome
        return Measurement(_CODES[code], started_at=ctx.now, finished_at=ctx.now, value="1", message=message)

    def resume(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement

    def terminate(self, ctx: MeasureContext, metric: Metric, measurement: Measurement) -> Measurement:
        return measurement


@contextlib.contextmanager
def registered(name: str, factory: Any) -> Iterator[None]:
    """Register ``factory`` as provider ``name`` for the duration of a test, then restore."""
    old = base._REGISTRY.get(name)
    register_provider(name, factory)
    try:
        yield
    finally:
        if old is None:
            base._REGISTRY.pop(name, None)
        else:
            register_provider(name, old)


def scripted_metric(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "provider": {"plugin": {"flightdeck.test/scripted": {}}}, **fields}


class Cluster:
    def __init__(self, executor: Executor | None = None, start: float = T0, resolver: Any = None) -> None:
        self.clock = VirtualClock(start)
        self.store = ObjectStore(None, clock=self.clock)
        self.manager = ControllerManager(self.store, self.clock)
        self.controller = AnalysisRunController(
            self.store, self.clock.now, executor=executor or inline_executor(), resolver=resolver
        )
        self.controller.register(self.manager)

    def create_run(
        self, metrics: Sequence[Mapping[str, Any]], name: str = "run", namespace: str = "default", **spec: Any
    ) -> dict[str, Any]:
        return self.store.create(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AnalysisRun",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"metrics": list(metrics), **spec},
            }
        )

    def run(self, name: str = "run", namespace: str = "default") -> dict[str, Any]:
        obj = self.store.get("AnalysisRun", namespace, name)
        assert obj is not None
        return obj

    def status(self, name: str = "run") -> dict[str, Any]:
        return dict(self.run(name).get("status") or {})

    def advance_until_idle(self, limit: float = 3600.0) -> float:
        """Settle, then jump the virtual clock to the next due key, until nothing is due."""
        end = self.clock.now() + limit
        while True:
            self.manager.settle()
            due = self.manager.next_due()
            if due is None or due > end:
                return self.clock.now() - T0
            self.clock.set(max(due, self.clock.now()))

    def events(self, name: str = "run") -> list[tuple[str, str, str]]:
        return [
            (e["type"], e["reason"], e["message"])
            for e in self.store.events_for("AnalysisRun", "default", name)
        ]
