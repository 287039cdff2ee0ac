"""The loaded ``prometheus.yml`` rendered the way Prometheus' ``/api/v1/status/config`` does: every
default filled in, go-yaml v2's layout (sequences not indented, ``source_labels`` in flow style) and
its quoting (a string that would read back as a number, boolean or null is double-quoted)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from flightdeck.tsdb.scrape.config import _BYTE_UNITS, ScrapeConfigFile, ScrapeJob, format_duration
from flightdeck.tsdb.scrape.relabel import RelabelConfig

_GO_BOOL = {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "true",
    "True",
    "TRUE",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
}
_GO_BOOL |= {"false", "False", "FALSE", "off", "Off", "OFF"}
_GO_NULL = {"", "~", "null", "Null", "NULL"}
_GO_SPECIAL = {
    ".nan",
    ".NaN",
    ".NAN",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
    "<<",
}
_GO_INT = re.compile(r"^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0[0-7_]+|[0-9][0-9_]*)$")
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_GO_TIMESTAMP = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$")


class _Quoted(str):
    """A string go-yaml would double-quote (it would read back as another type)."""


class _Flow(list[str]):
    """A sequence go-yaml writes in flow style (``[a, b]``)."""


class _Dumper(yaml.SafeDumper):
    """A SafeDumper of our own, so the representers registered below do not leak into PyYAML's."""


def _repr_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    # PyYAML's emitter decides plain vs single-quoted like libyaml (and so go-yaml) does.
    node = yaml.ScalarNode("tag:yaml.org,2002:str", data, style=None)
    return node


def _repr_quoted(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


def _repr_flow(dumper: yaml.SafeDumper, data: list[str]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", [_s(x) for x in data], flow_style=True)


_Dumper.add_representer(str, _repr_str)
_Dumper.add_representer(_Quoted, _repr_quoted)
_Dumper.add_representer(_Flow, _repr_flow)


def _s(text: str) -> str:
    """Mark strings go-yaml v2 would not write plain (they resolve to bool/int/float/null)."""
    if (
        text in _GO_BOOL
        or text in _GO_NULL
        or text in _GO_SPECIAL
        or _GO_INT.match(text)
        or _GO_FLOAT.match(text)
        or _GO_BASE60.match(text)
        or _GO_TIMESTAMP.match(text)
    ):
        return _Quoted(text)
    return text


def _relabel_yaml(rc: RelabelConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rc.source_labels:
        out["source_labels"] = _Flow(rc.source_labels)
    out["separator"] = _s(rc.separator)
    out["regex"] = _s(rc.regex)
    if rc.modulus:
        out["modulus"] = rc.modulus
    if rc.target_label:
        out["target_label"] = _s(rc.target_label)
    out["replacement"] = _s(rc.replacement)
    out["action"] = rc.action
    return out


def _job_yaml(job: ScrapeJob) -> dict[str, Any]:
    out: dict[str, Any] = {"job_name": _s(job.job_name)}
    if job.honor_labels:
        out["honor_labels"] = True
    out["honor_timestamps"] = job.honor_timestamps
    if job.params:
        out["params"] = {_s(k): [_s(v) for v in vs] for k, vs in job.params}
    out["scrape_interval"] = format_duration(job.scrape_interval)
    out["scrape_timeout"] = format_duration(job.scrape_timeout)
    out["metrics_path"] = _s(job.metrics_path)
    out["scheme"] = _s(job.scheme)
    if job.body_size_limit:
        out["body_size_limit"] = _format_bytes(job.body_size_limit)
    for key in (
        "sample_limit",
        "target_limit",
        "label_limit",
        "label_name_length_limit",
        "label_value_length_limit",
    ):
        if getattr(job, key):
            out[key] = getattr(job, key)
    out["follow_redirects"] = job.follow_redirects
    out["enable_http2"] = job.enable_http2
    if job.relabel_configs:
        out["relabel_configs"] = [_relabel_yaml(r) for r in job.relabel_configs]
    if job.metric_relabel_configs:
        out["metric_relabel_configs"] = [_relabel_yaml(r) for r in job.metric_relabel_configs]
    if job.file_sd_configs:
        out["file_sd_configs"] = [
            {"files": [_s(x) for x in c.files], "refresh_interval": format_duration(c.refresh_interval)}
            for c in job.file_sd_configs
        ]
    if job.http_sd_configs:
        out["http_sd_configs"] = [
            {
                "follow_redirects": True,
                "enable_http2": True,
                "refresh_interval": format_duration(c.refresh_interval),
                "url": _s(c.url),
            }
            for c in job.http_sd_configs
        ]
    if job.kubernetes_sd_configs:
        k8s = []
        for c in job.kubernetes_sd_configs:
            entry: dict[str, Any] = {
                "role": c.role,
                "kubeconfig_file": "",
                "follow_redirects": True,
                "enable_http2": True,
            }
            if c.namespaces or c.own_namespace:
                entry["namespaces"] = {
                    "own_namespace": c.own_namespace,
                    "names": [_s(n) for n in c.namespaces],
                }
            k8s.append(entry)
        out["kubernetes_sd_configs"] = k8s
    if job.static_configs:
        groups = []
        for sc in job.static_configs:
            g: dict[str, Any] = {"targets": [_s(t) for t in sc.targets]}
            if sc.labels:
                g["labels"] = {_s(k): _s(v) for k, v in sc.labels}
            groups.append(g)
        out["static_configs"] = groups
    return out


def _format_bytes(n: int) -> str:
    for unit in ("EiB", "PiB", "TiB", "GiB", "MiB", "KiB"):
        size = _BYTE_UNITS[unit]
        if n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def render_yaml(cfg: ScrapeConfigFile) -> str:
    glob: dict[str, Any] = {
        "scrape_interval": format_duration(cfg.scrape_interval),
        "scrape_timeout": format_duration(cfg.scrape_timeout),
        "evaluation_interval": format_duration(cfg.evaluation_interval),
    }
    if cfg.external_labels:
        glob["external_labels"] = {_s(k): _s(v) for k, v in cfg.external_labels}
    doc: dict[str, Any] = {"global": glob}
    if cfg.jobs:
        doc["scrape_configs"] = [_job_yaml(j) for j in cfg.jobs]
    if cfg.has_storage:
        doc["storage"] = {"tsdb": {"out_of_order_time_window": format_duration(cfg.out_of_order_time_window)}}
    return str(
        yaml.dump(
            doc, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30
        )
    )
