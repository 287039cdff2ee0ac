"""``flightdeck demo``: the main job, as far as it exists (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from flightdeck.cli.analyze import EXIT_CODES
from flightdeck.cli.errors import UserError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the seed's canary analysis live against a store the demo starts itself",
        description="Publish a canary's RED metrics, scrape them into flightdeck's Prometheus-compatible "
        "store and follow the seed's unmodified AnalysisTemplate to its decision (about two minutes: the "
        "template waits 90 s before measuring).",
    )
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--bad-canary", action="store_true", help="the canary fails 20 %% of its requests")
    variant.add_argument("--idle-canary", action="store_true", help="the canary receives no traffic")
    parser.add_argument("--template", type=Path, help="another AnalysisTemplate with the seed's args")
    parser.add_argument(
        "--expect", choices=[p.value for p in EXIT_CODES], help="exit 1 unless the run ends in this phase"
    )
    parser.set_defaults(func=run_command)


def run_command(ns: argparse.Namespace) -> int:
    from flightdeck.kube.objects import ManifestErrors
    from flightdeck.sim.analysis_demo import DemoOptions, run_demo

    options = DemoOptions(bad_canary=ns.bad_canary, idle_canary=ns.idle_canary)
    if ns.template is not None:
        options = DemoOptions(template=ns.template, bad_canary=ns.bad_canary, idle_canary=ns.idle_canary)
    if not options.template.exists():
        raise UserError(f"{options.template}: no such file (the demo reads the example repository)", 4)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        phase = run_demo(options, sys.stdout, stop)
    except ManifestErrors as exc:
        raise UserError(str(exc), 4) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if ns.expect:
        return 0 if phase.value == ns.expect else 1
    # The healthy demo succeeds; the failing variants demonstrate a rejection, which is their success.
    expected = "Successful" if not (ns.bad_canary or ns.idle_canary) else "Failed"
    return 0 if phase.value == expected else 1
