"""``flightdeck collector --config FILE`` runs an OpenTelemetry-Collector-compatible pipeline;
``flightdeck collector validate --config FILE`` checks a config like ``otelcol validate``.

FILE is a collector YAML or a Kubernetes ConfigMap manifest (the key is the one the workload mounting it
reads, or ``--config-key``). Errors print as otelcol prints them: ``Error: <text>`` and the
``collector server run finished with error`` log line, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from flightdeck.collector.errors import ConfigError
from flightdeck.collector.service import Collector, load_config, validate_config
from flightdeck.collector.source import read_config
from flightdeck.collector.zaplog import ZapLogger


def _add_config_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--config", required=required, metavar="FILE", help="collector YAML or ConfigMap manifest"
    )
    parser.add_argument(
        "--config-key", metavar="KEY", help="the ConfigMap data key holding the collector YAML"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "collector",
        help="run an OTel-Collector-compatible pipeline (otlp → spanmetrics → prometheus …)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="collector_command", metavar="SUBCOMMAND")
    validate = sub.add_parser("validate", help="validate the config without running the collector")
    _add_config_args(validate)
    validate.set_defaults(func=_validate)
    # Not required at argparse level, so ``collector validate --config F`` parses; _run checks it.
    _add_config_args(parser, required=False)
    parser.set_defaults(func=_run)


def _fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    print(f"{stamp} collector server run finished with error: {message}", file=sys.stderr)
    return 1


def _validate(args: argparse.Namespace) -> int:
    try:
        source = read_config(args.config, args.config_key)
        cfg = load_config(source.text)
        validate_config(cfg)
    except ConfigError as exc:
        return _fail(str(exc))
    return 0


def _run(args: argparse.Namespace) -> int:
    if not args.config:
        # otelcol's own wording when no --config is given
        return _fail("at least one config flag must be provided")
    try:
        source = read_config(args.config, args.config_key)
    except ConfigError as exc:
        return _fail(str(exc))
    return asyncio.run(_serve(source.text))


async def _serve(text: str) -> int:
    logger = ZapLogger()
    try:
        collector = Collector.from_text(text, logger=logger)
        fatal = await collector.run()
    except ConfigError as exc:
        return _fail(str(exc))
    if fatal is not None:
        return _fail(str(fatal))
    return 0
