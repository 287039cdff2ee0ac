"""Fault injection on /dispatch: off by default; error rate, added latency, delayed start."""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Callable

import pytest

from flightdeck.apps.hotrod.config import add_arguments, config_from_args
from flightdeck.apps.hotrod.faults import FaultConfig, LatencySpec, parse_fault_config, parse_latency
from flightdeck.apps.hotrod.frontend import FAULT_ERROR_TEXT
from flightdeck.cli.errors import UserError
from tests.apps.conftest import Running, get


def parse(*argv: str, env: dict[str, str] | None = None) -> FaultConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(["all", *argv]), env or {}).faults


def test_off_by_default_and_from_flags_or_env() -> None:
    assert parse() == FaultConfig() and not FaultConfig().enabled
    assert parse("--fault-error-rate", "0.2").error_rate == 0.2
    env = {
        "HOTROD_FAULT_ERROR_RATE": "0.5",
        "HOTROD_FAULT_LATENCY": "normal:200ms,50ms",
        "HOTROD_FAULT_START_DELAY": "1m",
    }
    assert parse(env=env) == FaultConfig(0.5, LatencySpec("normal", 0.2, 0.05), 60.0)
    assert parse("--fault-error-rate", "0.1", env=env).error_rate == 0.1  # the flag wins
    with pytest.raises(UserError, match="between 0 and 1"):
        parse("--fault-error-rate", "1.5")
    with pytest.raises(UserError, match="invalid fault latency"):
        parse("--fault-latency", "gamma:1s")


def test_latency_distributions() -> None:
    rng = random.Random(3)
    assert parse_latency("250ms").sample(rng) == 0.25
    normal = [parse_latency("normal:200ms,20ms").sample(rng) for _ in range(5000)]
    assert abs(statistics.fmean(normal) - 0.2) < 0.003
    expo = [parse_latency("exponential:100ms").sample(rng) for _ in range(5000)]
    assert abs(statistics.fmean(expo) - 0.1) < 0.008
    uniform = [parse_latency("uniform:100ms,300ms").sample(rng) for _ in range(2000)]
    assert min(uniform) >= 0.1 and max(uniform) <= 0.3
    assert parse_fault_config(None, None, None) == FaultConfig()


def test_error_rate_fails_dispatches(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod(faults=FaultConfig(error_rate=1.0))
    reply = get(running.url + "/dispatch?customer=123")
    assert (reply.status, reply.text) == (500, FAULT_ERROR_TEXT + "\n")
    metrics = get(running.url + "/metrics").text
    assert 'hotrod_requests_total{endpoint="/dispatch",error="true"} 1' in metrics
    assert get(running.url + "/dispatch").status == 400  # argument errors come first
    assert get(running.url + "/config").status == 200  # only /dispatch is affected


def test_added_latency_and_delayed_start(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod(faults=FaultConfig(latency=LatencySpec("fixed", 0.2)))
    reply = get(running.url + "/dispatch?customer=123")
    root = next(s for s in running.trace_of(reply) if s.parent is None)
    assert (root.end_time or 0) - (root.start_time or 0) >= 0.2e9
    assert any(e.name == "fault: injected latency" for e in root.events)

    later = start_hotrod(faults=FaultConfig(error_rate=1.0, start_delay=3600))
    assert get(later.url + "/dispatch?customer=123").status == 200
