"""The analysis demo: the seed's AnalysisTemplate, live, against a store the demo starts itself.

Pieces, all real but the traffic: an exporter publishing a canary's RED metrics from the traffic
model in :mod:`flightdeck.sim.canary`, flightdeck's Prometheus-compatible store scraping it every
5 s, and the analysis engine following the unmodified template through the store's HTTP API.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import TextIO

from flightdeck.analysis.factory import new_run
from flightdeck.analysis.live import follow
from flightdeck.analysis.types import AnalysisRun, Argument, Metric, Phase
from flightdeck.kube.objects import load_objects
from flightdeck.sim.canary import PodTraffic, publish
from flightdeck.sim.exporter import MetricsExporter

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "hotrod-gitops"
NAMESPACE = "hotrod"
STABLE_HASH = "7c9d8e6f5a"
CANARY_HASH = "6d5f8b7c9d"


@dataclasses.dataclass(frozen=True, slots=True)
class DemoOptions:
    template: Path = EXAMPLE / "hotrod" / "analysis-template.yaml"
    bad_canary: bool = False
    idle_canary: bool = False
    scrape_interval: str = "5s"


def canary_pods(options: DemoOptions) -> list[PodTraffic]:
    """Two pods at setWeight 50 (one stable, one canary), each serving about one request per second,
    as the seed's traffic generator (a request every 0.5 s) spreads over them."""
    canary_rps = 0.0 if options.idle_canary else 1.0
    return [
        PodTraffic(f"hotrod-{STABLE_HASH}-x2k4p", NAMESPACE, STABLE_HASH, requests_per_second=1.0),
        PodTraffic(
            f"hotrod-{CANARY_HASH}-q8w3z",
            NAMESPACE,
            CANARY_HASH,
            requests_per_second=canary_rps,
            error_ratio=0.2 if options.bad_canary else 0.0,
        ),
    ]


def _with_address(metric: Metric, url: str) -> Metric:
    raw = dict(metric.raw)
    provider = dict(raw.get("provider") or {})
    if isinstance(provider.get("prometheus"), dict):
        provider["prometheus"] = {**provider["prometheus"], "address": url}
        raw["provider"] = provider
    return Metric.from_dict(raw)


def build_run(options: DemoOptions, prometheus_url: str) -> AnalysisRun:
    template = load_objects([options.template]).templates[0]
    spec = template.spec
    # The template names the cluster's Prometheus; here the demo's own store answers instead.
    spec.metrics = [_with_address(m, prometheus_url) for m in spec.metrics]
    return new_run(
        f"hotrod-{CANARY_HASH}-2-1",
        NAMESPACE,
        [spec],
        [Argument("namespace", NAMESPACE), Argument("canary-hash", CANARY_HASH)],
        created_at=time.time(),
    )


def run_demo(options: DemoOptions, out: TextIO, stop: threading.Event | None = None) -> Phase:
    from flightdeck.cli.analyze import TextReport
    from flightdeck.tsdb.scrape.config import parse_config
    from flightdeck.tsdb.server import start_server

    exporter = MetricsExporter()
    exporter.start()
    publish(exporter, canary_pods(options))
    config = parse_config(
        "global:\n"
        f"  scrape_interval: {options.scrape_interval}\n"
        "scrape_configs:\n"
        "  - job_name: hotrod\n"
        "    static_configs:\n"
        f"      - targets: ['{exporter.address}']\n"
    )
    server = start_server(scrape_config=config)
    try:
        run = build_run(options, server.url)

        def say(text: str = "") -> None:
            print(text, file=out, flush=True)

        say("flightdeck demo: the seed's canary analysis, live")
        say(
            f"  metrics exporter        http://{exporter.address}/metrics  (canary {CANARY_HASH}, stable {STABLE_HASH})"
        )
        say(f"  Prometheus-compatible   {server.url}  (scraping every {options.scrape_interval})")
        variant = "bad canary: 20 % of its requests fail" if options.bad_canary else "healthy canary"
        if options.idle_canary:
            variant = "idle canary: it receives no traffic"
        say(f"  scenario                {variant}")
        say(f"  template                {options.template}")
        say()
        report = TextReport(run, out)
        report.header()
        phase = follow(run, on_measurement=report.measurement, on_wait=report.waiting, stop=stop)
        report.outcome(run)
        return phase
    finally:
        server.stop()
        exporter.stop()
