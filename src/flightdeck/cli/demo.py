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
        help="roll HotROD from 1.75.0 to 1.76.0 from a git repository, on this machine (make demo)",
        description="Copy examples/hotrod-gitops into a fresh git repository, run `flightdeck up` on it, wait "
        "until every app is Healthy on 1.75.0, commit the image bump to 1.76.0 and follow the canary (setWeight "
        "50, the seed's unmodified analysis, setWeight 100) until Argo's decision. About four minutes: the "
        "template waits 90 s before measuring.",
    )
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument(
        "--bad-canary", action="store_true", help="1.76.0 fails 80 %% of its dispatches: aborted"
    )
    variant.add_argument(
        "--idle-canary", action="store_true", help="the traffic generator stops: no promotion"
    )
    variant.add_argument(
        "--broken",
        action="store_true",
        help="the challenge's broken repository: the collector crash-loops, the analysis ends Error; then lint",
    )
    parser.add_argument("--keep", action="store_true", help="keep the platform running after the decision")
    parser.add_argument(
        "--analysis-only",
        action="store_true",
        help="only the analysis: publish a canary's RED metrics into the embedded store and follow the template",
    )
    parser.add_argument("--template", type=Path, help="(--analysis-only) another AnalysisTemplate")
    parser.add_argument(
        "--expect",
        choices=[p.value for p in EXIT_CODES],
        help="(--analysis-only) exit 1 unless the run ends in this phase",
    )
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--prometheus-listen", default="127.30.0.1:9090", help=argparse.SUPPRESS)
    parser.add_argument("--jaeger-listen", default="127.30.0.2:16686", help=argparse.SUPPRESS)
    parser.set_defaults(func=run_command)


def run_command(ns: argparse.Namespace) -> int:
    if ns.analysis_only:
        return _analysis_only(ns)
    from flightdeck.server.demo import DemoVariant
    from flightdeck.server.demo import run_demo as run_gitops_demo

    variant = DemoVariant(
        bad_canary=ns.bad_canary,
        idle_canary=ns.idle_canary,
        broken=ns.broken,
        fast=ns.fast,
        keep=ns.keep,
        state_dir=ns.state_dir,
        prometheus_listen=ns.prometheus_listen,
        jaeger_listen=ns.jaeger_listen,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        return run_gitops_demo(variant, sys.stdout, stop)
    finally:
        signal.signal(signal.SIGINT, previous)


def _analysis_only(ns: argparse.Namespace) -> int:
    if ns.broken:
        raise UserError("--broken runs the whole platform; it cannot be combined with --analysis-only", 4)
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
