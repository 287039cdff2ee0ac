"""The kubelet's restart back-off on a virtual clock."""

from __future__ import annotations

import itertools

import pytest

from flightdeck.runtime.backoff import (
    Backoff,
    backoff_until,
    crash_loop_message,
    next_backoff,
    should_restart,
)


def crash_loop(run_for: float, crashes: int) -> tuple[list[float], list[str]]:
    """Start times of a container that crashes ``run_for`` seconds after every start, as the kubelet
    schedules it, and the back-off shown while it waits (the virtual clock jumps to each next event)."""
    now = 0.0
    entry: Backoff | None = None
    starts = [now]
    waits: list[str] = []
    for _ in range(crashes):
        finished = now + run_for
        now = finished
        until = backoff_until(entry, finished)
        if until is not None and now < until:
            assert entry is not None
            waits.append(crash_loop_message(entry, "c", "p", "ns", "u"))
            now = until
        entry = next_backoff(entry, finished, now)
        starts.append(now)
    return starts, waits


def test_delays_double_from_10s_to_5m() -> None:
    starts, waits = crash_loop(run_for=1.0, crashes=9)
    gaps = [round(b - a - 1.0, 3) for a, b in itertools.pairwise(starts)]
    assert gaps == [0, 10, 20, 40, 80, 160, 300, 300, 300]
    assert [w.split()[1] for w in waits] == ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s", "5m0s"]
    assert waits[0] == "back-off 10s restarting failed container=c pod=p_ns(u)"


def test_reset_after_ten_minutes_of_running() -> None:
    entry = Backoff(300.0, last_update=1000.0)  # restarted at t=1000 with the delay at its cap
    # ran for 10 min exactly: still "recent", the next wait is the cap
    assert backoff_until(entry, 1600.0) == 1900.0
    assert next_backoff(entry, 1600.0, 1900.0) == Backoff(300.0, 1900.0)
    # ran a little longer than twice the cap: stable, restart at once and start again from 10 s
    assert backoff_until(entry, 1600.5) is None
    assert next_backoff(entry, 1600.5, 1600.5) == Backoff(10.0, 1600.5)


def test_finished_long_after_back_off_restarts_at_once() -> None:
    entry = Backoff(40.0, last_update=100.0)
    assert backoff_until(entry, 105.0) == 145.0
    assert next_backoff(entry, 105.0, 145.0).delay == 80.0


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 1, False),
        ("Never", 0, False),
    ],
)
def test_restart_policy(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart
