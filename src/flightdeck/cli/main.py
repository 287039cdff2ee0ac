"""``flightdeck`` entry point: one module per command group registers its sub-commands here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flightdeck import __version__
from flightdeck.cli.errors import UserError

# Each module exposes ``register(subparsers)``; the parser it adds sets ``func(args) -> int``.
_COMMAND_MODULES = (
    "flightdeck.cli.analyze",
    "flightdeck.cli.lint",
    "flightdeck.cli.prometheus",
    "flightdeck.cli.demo",
    "flightdeck.cli.app",
    "flightdeck.cli.collector",
    "flightdeck.cli.cluster",
    "flightdeck.cli.up",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flightdeck",
        description="Observability-driven progressive delivery: run Argo Rollouts analysis, "
        "an OTel spanmetrics pipeline and a Prometheus-compatible store on one machine.",
    )
    parser.add_argument("--version", action="version", version=f"flightdeck {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that command group is not part of this build yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # kubectl puts flags anywhere (``rollout set-image NAME -n NS C=IMG``); commands that accept
        # trailing positionals say so with ``late_positionals``.
        late = getattr(args, "late_positionals", None)
        if late is None or any(e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        late.extend(extra)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
