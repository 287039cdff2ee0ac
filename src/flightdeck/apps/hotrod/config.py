"""HotROD's flags and simulation constants (``cmd/flags.go`` and ``services/config/config.go`` of the original)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from flightdeck.apps.hotrod.faults import FaultConfig, parse_fault_config
from flightdeck.cli.errors import UserError
from flightdeck.kube.durations import DurationError, parse_go_duration

SERVICES = ("all", "frontend", "customer", "driver", "route")
DEFAULT_VERSION = "1.76.0"
# seconds; the standard deviation stays 1/10 of this default even when -D changes the mean
DEFAULT_MYSQL_DELAY = 0.300


@dataclass(frozen=True)
class Config:
    """Everything one HotROD process needs; durations in seconds of the *model* (before ``time_scale``)."""

    otel_exporter: str = "otlp"
    verbose: bool = False
    mysql_delay: float = DEFAULT_MYSQL_DELAY
    mysql_delay_stddev: float = DEFAULT_MYSQL_DELAY / 10
    mysql_mutex_disabled: bool = False
    route_worker_pool_size: int = 3
    redis_find_delay: float = 0.020
    redis_find_delay_stddev: float = 0.005
    redis_get_delay: float = 0.010
    redis_get_delay_stddev: float = 0.0025
    route_calc_delay: float = 0.050
    route_calc_delay_stddev: float = 0.0125
    driver_client_timeout: float = 1.0
    customer_hostname: str = "0.0.0.0"
    driver_hostname: str = "0.0.0.0"
    frontend_hostname: str = "0.0.0.0"
    route_hostname: str = "0.0.0.0"
    customer_port: int = 8081
    driver_port: int = 8082
    frontend_port: int = 8080
    route_port: int = 8083
    basepath: str = ""
    jaeger_ui: str = "http://localhost:16686"
    version: str = DEFAULT_VERSION
    # Every simulated delay (and the driver client's timeout) is multiplied by this: tests run at 0.05.
    time_scale: float = 1.0
    seed: int | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The original's flags (same short forms and defaults) plus flightdeck's version, fault and scale flags."""
    parser.add_argument("service", choices=SERVICES, metavar="{all,frontend,customer,driver,route}")
    parser.add_argument("-x", "--otel-exporter", default="otlp", help="OpenTelemetry exporter (otlp|stdout)")
    parser.add_argument(
        "-D", "--fix-db-query-delay", default="300ms", help="Average latency of MySQL DB query"
    )
    parser.add_argument(
        "-M",
        "--fix-disable-db-conn-mutex",
        action="store_true",
        help="Disables the mutex guarding db connection",
    )
    parser.add_argument(
        "-W", "--fix-route-worker-pool-size", type=int, default=3, help="Default worker pool size"
    )
    for name, port, short in (("customer", 8081, "-c"), ("driver", 8082, "-d"), ("frontend", 8080, "-f")):
        parser.add_argument(
            f"--{name}-service-hostname", default="0.0.0.0", help=f"Hostname for {name} service"
        )
        parser.add_argument(
            short, f"--{name}-service-port", type=int, default=port, help=f"Port for {name} service"
        )
    parser.add_argument("--route-service-hostname", default="0.0.0.0", help="Hostname for routing service")
    parser.add_argument("-r", "--route-service-port", type=int, default=8083, help="Port for routing service")
    parser.add_argument("-b", "--basepath", default="", help='Basepath for frontend service(default "/")')
    parser.add_argument(
        "-j",
        "--jaeger-ui",
        default="http://localhost:16686",
        help="Address of Jaeger UI to create [find trace] links",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Enables debug logging")
    parser.add_argument(
        "--version",
        dest="hotrod_version",
        default=None,
        help=f"version to report (service.version, /config, page); env HOTROD_VERSION; default {DEFAULT_VERSION}",
    )
    parser.add_argument(
        "--fault-error-rate",
        default=None,
        help="share of /dispatch requests answered with HTTP 500 (0..1); env HOTROD_FAULT_ERROR_RATE; default 0",
    )
    parser.add_argument(
        "--fault-latency",
        default=None,
        help="latency added to /dispatch: DURATION, normal:MEAN,STDDEV, exponential:MEAN or uniform:MIN,MAX; "
        "env HOTROD_FAULT_LATENCY; default none",
    )
    parser.add_argument(
        "--fault-start-delay",
        default=None,
        help="how long after start the faults begin (Go duration); env HOTROD_FAULT_START_DELAY; default 0s",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="multiply every simulated delay by this (env HOTROD_TIME_SCALE; default 1)",
    )


def _duration(flag: str, text: str) -> float:
    try:
        seconds = parse_go_duration(text)
    except DurationError as exc:
        raise UserError(f'invalid argument "{text}" for "{flag}" flag: {exc}') from exc
    return seconds


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Config:
    """Build a :class:`Config`; flags win over the ``HOTROD_*`` environment variables."""
    env = os.environ if environ is None else environ
    mysql_delay = _duration("-D, --fix-db-query-delay", args.fix_db_query_delay)
    if mysql_delay < 0:
        raise UserError(f'invalid argument "{args.fix_db_query_delay}" for "-D, --fix-db-query-delay" flag')
    if args.fix_route_worker_pool_size < 1:
        raise UserError("-W, --fix-route-worker-pool-size must be at least 1")
    scale_text = args.time_scale if args.time_scale is not None else env.get("HOTROD_TIME_SCALE", "1")
    try:
        time_scale = float(scale_text)
    except ValueError as exc:
        raise UserError(f"invalid time scale {scale_text!r}") from exc
    if not time_scale > 0:
        raise UserError(f"invalid time scale {scale_text!r}: must be > 0")
    try:
        faults = parse_fault_config(
            error_rate=args.fault_error_rate or env.get("HOTROD_FAULT_ERROR_RATE"),
            latency=args.fault_latency or env.get("HOTROD_FAULT_LATENCY"),
            start_delay=args.fault_start_delay or env.get("HOTROD_FAULT_START_DELAY"),
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    # On flightdeck's local node every pod has its own loopback address: "0.0.0.0" means that one, both
    # for the listeners and for the frontend's calls to the other services.
    pod_ip = env.get("FLIGHTDECK_POD_IP")

    def bind(host: str) -> str:
        return pod_ip if pod_ip and host == "0.0.0.0" else host

    return Config(
        otel_exporter=args.otel_exporter,
        verbose=args.verbose,
        mysql_delay=mysql_delay,
        mysql_mutex_disabled=args.fix_disable_db_conn_mutex,
        route_worker_pool_size=args.fix_route_worker_pool_size,
        customer_hostname=bind(args.customer_service_hostname),
        driver_hostname=bind(args.driver_service_hostname),
        frontend_hostname=bind(args.frontend_service_hostname),
        route_hostname=bind(args.route_service_hostname),
        customer_port=args.customer_service_port,
        driver_port=args.driver_service_port,
        frontend_port=args.frontend_service_port,
        route_port=args.route_service_port,
        basepath=args.basepath,
        jaeger_ui=args.jaeger_ui,
        version=args.hotrod_version or env.get("HOTROD_VERSION") or DEFAULT_VERSION,
        time_scale=time_scale,
        faults=faults,
    )
