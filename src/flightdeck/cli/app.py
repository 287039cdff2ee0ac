"""``flightdeck app hotrod|loadgen …``: run the workloads flightdeck ships, with their own flags."""

from __future__ import annotations

import argparse

from flightdeck.apps.hotrod import app as hotrod_app
from flightdeck.apps.hotrod.config import add_arguments as add_hotrod_arguments
from flightdeck.apps.loadgen import cli as loadgen_cli


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("app", help="run a built-in workload (hotrod, loadgen)")
    apps = parser.add_subparsers(dest="app", metavar="APP", required=True)
    hotrod = apps.add_parser(
        "hotrod",
        help="HotROD, Jaeger's demo app (all|frontend|customer|driver|route)",
        description=hotrod_app.__doc__,
    )
    add_hotrod_arguments(hotrod)
    hotrod.set_defaults(func=hotrod_app.run)
    loadgen = apps.add_parser("loadgen", help="the scenario's traffic generator")
    loadgen_cli.add_arguments(loadgen)
    loadgen.set_defaults(func=loadgen_cli.run)
