"""``flightdeck prometheus``: run the embedded Prometheus-compatible store (scrape + HTTP API).

Flags follow Prometheus' names where they exist (``--config.file``, ``--web.listen-address``,
``--storage.tsdb.path``, ``--storage.tsdb.retention.time``, ``--query.timeout``,
``--query.max-samples``); ``--config`` and ``--listen`` are short aliases.
"""

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


def _duration_s(flag: str, text: str) -> float:
    from flightdeck.tsdb.scrape.config import ConfigError, parse_prom_duration

    try:
        return parse_prom_duration(text)
    except ConfigError as exc:
        raise UserError(f"{flag}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from flightdeck.tsdb.persist import DataDirError, DurableStorage
    from flightdeck.tsdb.scrape.config import ConfigError, load_config
    from flightdeck.tsdb.server import TSDBServer
    from flightdeck.tsdb.storage import Storage

    host, port = _listen(args.listen)
    config = None
    config_dir = None
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise UserError(
                f'couldn\'t load configuration (--config.file="{path}"): open {path}: no such file or directory'
            )
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise UserError(f'couldn\'t load configuration (--config.file="{path}"): {exc}') from exc
        config_dir = path.resolve().parent
    if args.retention_hours is not None:
        retention_s = args.retention_hours * 3600
    else:
        retention_s = _duration_s("--storage.tsdb.retention.time", args.retention_time)
    ooo_ms = int((config.out_of_order_time_window if config else 0) * 1000)
    storage_args: dict[str, Any] = {"retention_ms": int(retention_s * 1000), "out_of_order_window_ms": ooo_ms}
    durable = None
    if args.storage_path:
        # Like Prometheus' head: nothing older than an hour behind the newest sample (or the OOO window).
        storage_args["out_of_bounds_ms"] = max(3_600_000, ooo_ms)
        try:
            durable = DurableStorage(args.storage_path, fsync=args.wal_fsync, **storage_args)
        except DataDirError as exc:
            raise UserError(str(exc)) from exc
        storage = durable.storage
        stats = durable.replay_stats
        print(
            f"flightdeck prometheus: storage {args.storage_path}: {storage.num_series} series, "
            f"{storage.num_samples} samples ({stats.samples} replayed from the WAL)",
            flush=True,
        )
    else:
        storage = Storage(**storage_args)
    try:
        server = TSDBServer(
            storage,
            host,
            port,
            scrape_config=config,
            durable=durable,
            query_timeout_s=_duration_s("--query.timeout", args.query_timeout),
            max_samples=args.max_samples,
            snapshot_interval_s=_duration_s("--storage.tsdb.snapshot-interval", args.snapshot_interval),
            config_dir=config_dir,
            external_url=args.external_url or "",
        )
    except OSError as exc:
        if durable is not None:
            durable.close(snapshot=False)
        raise UserError(f"listen tcp {host}:{port}: {exc.strerror or exc}") from exc
    server.start()
    print(f"flightdeck prometheus: serving the Prometheus HTTP API on {server.url}", flush=True)
    done = threading.Event()

    def _stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        done.wait()
    finally:
        server.stop()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prometheus",
        help="run the embedded Prometheus-compatible metrics store",
        description="Scrape the targets of a prometheus.yml, receive remote writes and serve Prometheus' HTTP API.",
    )
    parser.add_argument("--config", "--config.file", metavar="FILE", help="prometheus.yml")
    parser.add_argument(
        "--listen",
        "--web.listen-address",
        default="127.0.0.1:9090",
        metavar="HOST:PORT",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--storage.tsdb.path",
        dest="storage_path",
        metavar="DIR",
        help="keep data durable under DIR (write-ahead log + snapshots); in memory when absent",
    )
    parser.add_argument(
        "--storage.tsdb.retention.time",
        dest="retention_time",
        default="15d",
        metavar="DURATION",
        help="default: %(default)s",
    )
    parser.add_argument("--retention-hours", type=float, default=None, metavar="H", help=argparse.SUPPRESS)
    parser.add_argument(
        "--storage.tsdb.wal-fsync",
        dest="wal_fsync",
        choices=("always", "interval", "never"),
        default="interval",
        help="when WAL writes reach the disk: every commit, at most once a second (default), or only on "
        "rotation; every acknowledged write is in the kernel before the acknowledgement either way",
    )
    parser.add_argument(
        "--storage.tsdb.snapshot-interval",
        dest="snapshot_interval",
        default="5m",
        metavar="DURATION",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--query.timeout", dest="query_timeout", default="2m", metavar="DURATION", help="default: %(default)s"
    )
    parser.add_argument(
        "--query.max-samples",
        dest="max_samples",
        type=int,
        default=50_000_000,
        metavar="N",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--web.external-url", dest="external_url", metavar="URL", help="default: http://HOSTNAME:PORT/"
    )
    parser.set_defaults(func=run)
