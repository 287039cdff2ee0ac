"""The parts of ``prometheus.yml`` flightdeck understands (static scrape targets)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flightdeck.tsdb.scrape.relabel import RelabelConfig, RelabelConfigError, relabel

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_MULT = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)


class ConfigError(ValueError):
    pass


def parse_prom_duration(text: str) -> float:
    """Prometheus' ``model.ParseDuration`` (``1h30m``, ``15s``, ``1d``); returns seconds."""
    if text == "0":
        return 0.0
    m = _DURATION.match(text)
    if not text or m is None or not any(m.groups()):
        raise ConfigError(f'not a valid duration string: "{text}"')
    return sum(int(g) * k for g, k in zip(m.groups(), _MULT, strict=True) if g)


@dataclass(frozen=True)
class StaticConfig:
    targets: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScrapeJob:
    job_name: str
    scrape_interval: float
    scrape_timeout: float
    metrics_path: str = "/metrics"
    scheme: str = "http"
    honor_labels: bool = False
    honor_timestamps: bool = True
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    static_configs: tuple[StaticConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()


@dataclass(frozen=True)
class Target:
    job: ScrapeJob
    labels: tuple[tuple[str, str], ...]  # final target labels (job, instance, static labels)
    url: str


@dataclass(frozen=True)
class ScrapeConfigFile:
    scrape_interval: float = 60.0
    scrape_timeout: float = 10.0
    evaluation_interval: float = 60.0
    jobs: tuple[ScrapeJob, ...] = field(default_factory=tuple)

    def targets(self) -> list[Target]:
        out: list[Target] = []
        for job in self.jobs:
            for sc in job.static_configs:
                for addr in sc.targets:
                    base: dict[str, str] = {
                        "job": job.job_name,
                        "__address__": addr,
                        "__scheme__": job.scheme,
                        "__metrics_path__": job.metrics_path,
                        "__scrape_interval__": _fmt_duration(job.scrape_interval),
                        "__scrape_timeout__": _fmt_duration(job.scrape_timeout),
                    }
                    for name, values in job.params:
                        if values:
                            base[f"__param_{name}"] = values[0]
                    base.update(dict(sc.labels))
                    final = relabel(base, job.relabel_configs)
                    if final is None:
                        continue
                    address = final.get("__address__")
                    if not address:
                        raise ConfigError("no address")
                    final.setdefault("instance", address)
                    params = {k[len("__param_") :]: v for k, v in final.items() if k.startswith("__param_")}
                    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
                    url = f"{final.get('__scheme__', 'http')}://{address}{final.get('__metrics_path__', '/metrics')}"
                    if query:
                        url += "?" + query
                    visible = tuple(sorted((k, v) for k, v in final.items() if not k.startswith("__") and v))
                    out.append(Target(job, visible, url))
        return out


def _fmt_duration(seconds: float) -> str:
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (
        ("y", 365 * 86400_000),
        ("w", 7 * 86400_000),
        ("d", 86400_000),
        ("h", 3600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ):
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def _duration(raw: Mapping[str, Any], key: str, default: float) -> float:
    if key not in raw or raw[key] is None:
        return default
    return parse_prom_duration(str(raw[key]))


def parse_config(text: str) -> ScrapeConfigFile:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"parsing YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError("configuration must be a mapping")
    glob = raw.get("global") or {}
    interval = _duration(glob, "scrape_interval", 60.0)
    timeout = _duration(glob, "scrape_timeout", min(10.0, interval))
    evaluation = _duration(glob, "evaluation_interval", 60.0)
    if timeout > interval:
        raise ConfigError("global scrape timeout greater than scrape interval")
    jobs: list[ScrapeJob] = []
    names: set[str] = set()
    for sc in raw.get("scrape_configs") or []:
        name = sc.get("job_name")
        if not name:
            raise ConfigError("job_name is empty")
        if name in names:
            raise ConfigError(f'found multiple scrape configs with job name "{name}"')
        names.add(name)
        job_interval = _duration(sc, "scrape_interval", interval)
        if "scrape_timeout" in sc:
            job_timeout = _duration(sc, "scrape_timeout", timeout)
            if job_timeout > job_interval:
                raise ConfigError(
                    f'scrape timeout greater than scrape interval for scrape config with job name "{name}"'
                )
        else:
            job_timeout = min(timeout, job_interval)
        statics = []
        for st in sc.get("static_configs") or []:
            labels = tuple(sorted((str(k), str(v)) for k, v in (st.get("labels") or {}).items()))
            statics.append(StaticConfig(tuple(str(t) for t in st.get("targets") or ()), labels))
        unsupported = {
            k
            for k in sc
            if k.endswith("_sd_configs") or k in ("basic_auth", "authorization", "oauth2", "tls_config")
        }
        if unsupported:
            raise ConfigError(
                f"scrape config {name!r}: {', '.join(sorted(unsupported))} not supported by flightdeck"
            )
        try:
            relabels = tuple(RelabelConfig.from_dict(r) for r in sc.get("relabel_configs") or [])
            metric_relabels = tuple(
                RelabelConfig.from_dict(r) for r in sc.get("metric_relabel_configs") or []
            )
        except RelabelConfigError as exc:
            raise ConfigError(f"scrape config {name!r}: {exc}") from exc
        params = tuple(
            sorted((str(k), tuple(str(x) for x in v)) for k, v in (sc.get("params") or {}).items())
        )
        scheme = str(sc.get("scheme", "http"))
        if scheme not in ("http", "https"):
            raise ConfigError(f"URL scheme must be 'http' or 'https' not '{scheme}'")
        jobs.append(
            ScrapeJob(
                job_name=str(name),
                scrape_interval=job_interval,
                scrape_timeout=job_timeout,
                metrics_path=str(sc.get("metrics_path", "/metrics")),
                scheme=scheme,
                honor_labels=bool(sc.get("honor_labels", False)),
                honor_timestamps=bool(sc.get("honor_timestamps", True)),
                params=params,
                static_configs=tuple(statics),
                relabel_configs=relabels,
                metric_relabel_configs=metric_relabels,
            )
        )
    return ScrapeConfigFile(interval, timeout, evaluation, tuple(jobs))


def load_config(path: str | Path) -> ScrapeConfigFile:
    return parse_config(Path(path).read_text())
