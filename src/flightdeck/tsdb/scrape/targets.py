"""From target groups to scrape targets: Prometheus' ``PopulateLabels`` and ``Target.URL``."""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass

from flightdeck.tsdb.labels import LABEL_NAME_RE
from flightdeck.tsdb.scrape.config import ConfigError, ScrapeJob, format_duration, parse_duration_ms
from flightdeck.tsdb.scrape.discovery import LabelPairs, TargetGroup
from flightdeck.tsdb.scrape.relabel import relabel
from flightdeck.util.gofmt import go_quote

_HOST_PORT = re.compile(r"^(\[[^\]]*\]|[^:\[\]]*):([^:]*)$")


@dataclass(frozen=True)
class Target:
    job: ScrapeJob
    labels: LabelPairs  # everything after relabeling, including __address__, __scheme__, …
    discovered: LabelPairs  # before relabeling (the targets page's discoveredLabels)

    @property
    def public_labels(self) -> LabelPairs:
        """The labels added to every scraped series (``job``, ``instance``, …)."""
        return tuple((k, v) for k, v in self.labels if not k.startswith("__"))

    def get(self, name: str) -> str:
        for k, v in self.labels:
            if k == name:
                return v
        return ""

    @property
    def url(self) -> str:
        params: dict[str, list[str]] = {k: list(v) for k, v in self.job.params}
        for name, value in self.labels:
            if name.startswith("__param_"):
                key = name[len("__param_") :]
                if params.get(key):
                    params[key][0] = value
                else:
                    params[key] = [value]
        query = "&".join(
            f"{urllib.parse.quote_plus(k)}={urllib.parse.quote_plus(v)}"
            for k in sorted(params)
            for v in params[k]
        )
        path = urllib.parse.quote(self.get("__metrics_path__"), safe="/:@!$&'()*+,;=-._~")
        return f"{self.get('__scheme__')}://{self.get('__address__')}{path}" + (f"?{query}" if query else "")

    @property
    def key(self) -> str:
        """Identity within a scrape pool (Prometheus hashes the full label set and the URL)."""
        return hashlib.sha1(repr((self.labels, self.url)).encode()).hexdigest()

    @property
    def scrape_interval(self) -> float:
        return parse_duration_ms(self.get("__scrape_interval__")) / 1000.0

    @property
    def scrape_timeout(self) -> float:
        return parse_duration_ms(self.get("__scrape_timeout__")) / 1000.0


def _split_host_port(addr: str) -> tuple[str, str] | None:
    m = _HOST_PORT.match(addr)
    if m is None:
        return None
    host = m.group(1)
    if host.startswith("["):
        host = host[1:-1]
    elif ":" in host:
        return None
    return host, m.group(2)


def populate_labels(lset: dict[str, str], job: ScrapeJob) -> tuple[LabelPairs | None, LabelPairs, str]:
    """(final labels or None when dropped, labels before relabeling, error). Errors mean the target
    is skipped, as Prometheus logs and skips it."""
    lb = dict(lset)
    defaults = {
        "job": job.job_name,
        "__scrape_interval__": format_duration(job.scrape_interval),
        "__scrape_timeout__": format_duration(job.scrape_timeout),
        "__metrics_path__": job.metrics_path,
        "__scheme__": job.scheme,
    }
    for name, value in defaults.items():
        if not lset.get(name):
            lb[name] = value
    for name, values in job.params:
        if values:
            lb[f"__param_{name}"] = values[0]
    pre = tuple(sorted(lb.items()))
    out = relabel(lb, job.relabel_configs)
    if out is None:
        return None, pre, ""
    addr = out.get("__address__", "")
    if not addr:
        return None, (), "no address"
    scheme = out.get("__scheme__", "")
    if _split_host_port(addr) is None and _split_host_port(addr + ":1234") is not None:
        if scheme in ("http", ""):
            addr += ":80"
        elif scheme == "https":
            addr += ":443"
        else:
            return None, (), f"invalid scheme: {go_quote(job.scheme)}"
        out["__address__"] = addr
    if "/" in addr:
        return None, (), f"{go_quote(addr)} is not a valid hostname"
    try:
        interval = parse_duration_ms(out.get("__scrape_interval__", ""))
    except ConfigError as exc:
        return None, (), f"error parsing scrape interval: {exc}"
    if interval == 0:
        return None, (), "scrape interval cannot be 0"
    try:
        timeout = parse_duration_ms(out.get("__scrape_timeout__", ""))
    except ConfigError as exc:
        return None, (), f"error parsing scrape timeout: {exc}"
    if timeout == 0:
        return None, (), "scrape timeout cannot be 0"
    if timeout > interval:
        return (
            None,
            (),
            (
                "scrape timeout cannot be greater than scrape interval "
                f"({go_quote(out['__scrape_timeout__'])} > {go_quote(out['__scrape_interval__'])})"
            ),
        )
    final = {k: v for k, v in out.items() if not k.startswith("__meta_")}
    if not final.get("instance"):
        final["instance"] = addr
    for name in final:
        if not LABEL_NAME_RE.match(name):
            return None, (), f"invalid label name {go_quote(name)}"
    return tuple(sorted((k, v) for k, v in final.items() if v != "")), pre, ""


def targets_from_group(
    group: TargetGroup, job: ScrapeJob
) -> tuple[list[Target], list[LabelPairs], list[str]]:
    """(active targets, dropped targets' discovered labels, errors)."""
    active: list[Target] = []
    dropped: list[LabelPairs] = []
    errors: list[str] = []
    for i, target in enumerate(group.targets):
        lset = dict(group.labels)
        lset.update(dict(target))
        final, pre, err = populate_labels(lset, job)
        if err:
            errors.append(f"instance {i} in group {group.source}: {err}")
            continue
        if final is None:
            dropped.append(pre)
        else:
            active.append(Target(job, final, pre))
    return active, dropped, errors
