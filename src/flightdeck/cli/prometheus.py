"""``flightdeck prometheus``: run the embedded Prometheus-compatible store (scrape + HTTP API)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from flightdeck.cli.errors import UserError


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f'invalid --listen address "{text}": want HOST:PORT')
    return (host or "0.0.0.0"), int(port)


def run(args: argparse.Namespace) -> int:
    from flightdeck.tsdb.scrape.config import ConfigError, load_config
    from flightdeck.tsdb.server import TSDBServer
    from flightdeck.tsdb.storage import Storage

    host, port = _listen(args.listen)
    config = None
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise UserError(f'couldn\'t load configuration (--config.file="{path}"): file not found')
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise UserError(f'couldn\'t load configuration (--config.file="{path}"): {exc}') from exc
    retention_ms = int(args.retention_hours * 3600 * 1000)
    storage = Storage(retention_ms=retention_ms)
    try:
        server = TSDBServer(storage, host, port, scrape_config=config)
    except OSError as exc:
        raise UserError(f"listen tcp {host}:{port}: {exc.strerror or exc}") from exc
    server.start()
    print(f"flightdeck prometheus: serving the Prometheus HTTP API on {server.url}", flush=True)
    done = threading.Event()

    def _stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not done.wait(60):
            storage.apply_retention()
    finally:
        server.stop()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prometheus",
        help="run the embedded Prometheus-compatible metrics store",
        description="Scrape the static targets of a prometheus.yml and serve Prometheus' HTTP query API.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="prometheus.yml (global + scrape_configs with static_configs)"
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:9090", metavar="HOST:PORT", help="default: %(default)s"
    )
    parser.add_argument(
        "--retention-hours",
        type=float,
        default=15 * 24,
        metavar="H",
        help="keep samples this long (default: 15 days)",
    )
    parser.set_defaults(func=run)
