"""Command line of the traffic generator, shared by ``python -m flightdeck.apps.loadgen`` and ``flightdeck app``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from flightdeck.apps.loadgen.core import LoadGenerator, Options
from flightdeck.cli.errors import UserError
from flightdeck.kube.durations import DurationError, parse_go_duration


def _duration(text: str) -> float:
    try:
        return parse_go_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        default=os.environ.get("LOADGEN_TARGET", "http://localhost:8080"),
        help="HotROD frontend base URL (env LOADGEN_TARGET; default http://localhost:8080)",
    )
    parser.add_argument(
        "--wait", type=_duration, default=10.0, help="wait before the first request (default 10s)"
    )
    parser.add_argument(
        "--interval", type=_duration, default=0.5, help="pause after each request per worker (default 500ms)"
    )
    parser.add_argument(
        "--rate", type=float, help="open loop: requests per second in total, instead of --interval"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="parallel workers (default 1)")
    parser.add_argument("--duration", type=_duration, help="stop after this long (Go duration, e.g. 2m)")
    parser.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--timeout", type=_duration, default=30.0, help="per-request timeout (default 30s)")
    parser.add_argument(
        "--pick",
        choices=("clock", "random"),
        default="clock",
        help="endpoint choice: clock = the seed's $(date +%%s) %% 5 (default), random",
    )
    parser.add_argument("--seed", type=int, help="random seed for --pick random")
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per request, only the summary")


def run(args: argparse.Namespace) -> int:
    try:
        options = Options(
            target=args.target,
            wait=args.wait,
            interval=args.interval,
            rate=args.rate,
            concurrency=args.concurrency,
            duration=args.duration,
            requests=args.requests,
            timeout=args.timeout,
            pick=args.pick,
            seed=args.seed,
            quiet=args.quiet,
        )
        generator = LoadGenerator(options)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    stop = generator.stop

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = (
        {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    )
    try:
        summary = generator.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(summary.render(), flush=True)
    return 1 if summary.results and summary.failed == len(summary.results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loadgen", description="HotROD traffic generator (the scenario's curl loop)."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
