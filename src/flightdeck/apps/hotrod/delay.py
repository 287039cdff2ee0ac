"""The simulation's clock: ``delay.Sleep(mean, stddev)`` of the original, scalable in time and seedable."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from random import Random


class Simulator:
    """Random numbers and sleeps for the simulated back-ends.

    ``sleep(mean, sd)`` sleeps ``max(1ns, N(mean, sd)) * scale`` like the original's ``delay.Sleep``;
    ``scale`` shrinks every simulated delay at once so tests run the same model in a fraction of the time.
    """

    def __init__(
        self,
        scale: float = 1.0,
        seed: int | None = None,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scale = scale
        self._rng = Random(seed)
        self._lock = threading.Lock()  # random.Random is not documented as thread-safe
        self._sleeper = sleeper

    def gauss(self, mean: float, stddev: float) -> float:
        with self._lock:
            return self._rng.gauss(mean, stddev)

    def randrange(self, stop: int) -> int:
        with self._lock:
            return self._rng.randrange(stop)

    def random(self) -> float:
        with self._lock:
            return self._rng.random()

    @property
    def rng(self) -> Random:
        return self._rng

    def sample_delay(self, mean: float, stddev: float) -> float:
        """Model seconds of one delay: ``max(1ns, N(mean, stddev))``."""
        return max(1e-9, self.gauss(mean, stddev))

    def sleep(self, mean: float, stddev: float = 0.0) -> float:
        """Sleep one sampled delay (scaled); returns the model seconds it stood for."""
        seconds = self.sample_delay(mean, stddev)
        self._sleeper(seconds * self.scale)
        return seconds

    def sleep_exact(self, seconds: float) -> None:
        """Sleep a model duration with no randomness (scaled)."""
        if seconds > 0:
            self._sleeper(seconds * self.scale)
