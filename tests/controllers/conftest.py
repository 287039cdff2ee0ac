from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from flightdeck.controllers import ControllerManager, register_builtin
from flightdeck.kube.store import ObjectStore
from flightdeck.util.clock import VirtualClock
from tests.controllers.kubelet import run_kubelet


@dataclass
class Cluster:
    clock: VirtualClock
    store: ObjectStore
    manager: ControllerManager

    def settle(self) -> int:
        return self.manager.settle()

    def kubelet(self, **kwargs: object) -> int:
        return run_kubelet(self.store, self.clock.now(), **kwargs)  # type: ignore[arg-type]

    def tick(self, seconds: float = 1.0) -> None:
        """Advance the clock, let the kubelet make pods ready, and let the controllers settle."""
        self.clock.advance(seconds)
        self.settle()
        self.kubelet()
        self.settle()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    clock = VirtualClock(1_700_000_000)
    store = ObjectStore(None, clock=clock)
    manager = ControllerManager(store, clock)
    register_builtin(manager)
    yield Cluster(clock, store, manager)
    manager.close()
