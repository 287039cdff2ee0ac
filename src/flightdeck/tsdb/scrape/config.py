"""``prometheus.yml``: strict parsing with Prometheus 2.42's defaults, checks and error texts.

Prometheus decodes its configuration with go-yaml's strict mode: an unknown field is an error
("line N: field X not found in type T"), a value of the wrong type too; then each section validates
itself ("job_name is empty", "scrape timeout greater than scrape interval for scrape config with job
name …"). This module walks the YAML node tree so every such error carries the same text and line.
Sections Prometheus knows but flightdeck does not implement (rules, alerting, remote write/read,
authentication, other service discoveries) are refused with a "not supported by flightdeck" error.

:meth:`ScrapeConfigFile.to_yaml` renders the loaded configuration the way Prometheus' config API does
(defaults filled in, go-yaml's layout and quoting; see :mod:`flightdeck.tsdb.scrape.configyaml`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flightdeck.tsdb.labels import LABEL_NAME_RE
from flightdeck.tsdb.scrape.relabel import RelabelConfig, RelabelConfigError

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_MULT_MS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)
_FILE_SD_NAME = re.compile(r"^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$")
_BYTES = re.compile(r"^(\d+)(B|KB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)$")
_BYTE_UNITS = {
    "B": 1,
    "KB": 1 << 10,
    "MB": 1 << 20,
    "GB": 1 << 30,
    "TB": 1 << 40,
    "PB": 1 << 50,
    "EB": 1 << 60,
}
_BYTE_UNITS.update({k[0] + "iB": v for k, v in _BYTE_UNITS.items() if k != "B"})

T_CONFIG = "config.plain"
T_GLOBAL = "config.plain"
T_SCRAPE = "config.ScrapeConfig"
T_GROUP = 'struct { Targets []string "yaml:\\"targets\\""; Labels model.LabelSet "yaml:\\"labels\\"" }'
T_RELABEL = "relabel.plain"
T_FILE_SD = "file.plain"
T_HTTP_SD = "http.plain"
T_K8S_SD = "kubernetes.plain"
T_STORAGE = "config.StorageConfig"
T_TSDB = "config.TSDBConfig"

# Fields of Prometheus' configuration that flightdeck refuses explicitly.
_UNSUPPORTED_TOP = ("alerting", "rule_files", "remote_write", "remote_read", "tracing")
_HTTP_CLIENT_UNSUPPORTED = (
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header",
)  # fmt: skip
_HTTP_CLIENT_ACCEPTED = ("follow_redirects", "enable_http2")
_OTHER_SD = (
    "azure_sd_configs", "consul_sd_configs", "digitalocean_sd_configs", "docker_sd_configs",
    "dockerswarm_sd_configs", "dns_sd_configs", "ec2_sd_configs", "eureka_sd_configs", "gce_sd_configs",
    "hetzner_sd_configs", "ionos_sd_configs", "kuma_sd_configs", "lightsail_sd_configs",
    "linode_sd_configs", "marathon_sd_configs", "nerve_sd_configs", "nomad_sd_configs",
    "openstack_sd_configs", "ovhcloud_sd_configs", "puppetdb_sd_configs", "scaleway_sd_configs",
    "serverset_sd_configs", "triton_sd_configs", "uyuni_sd_configs", "vultr_sd_configs",
)  # fmt: skip
_K8S_ROLES = ("pod", "service", "endpoints", "endpointslice", "node", "ingress")


class ConfigError(ValueError):
    """An invalid prometheus.yml; ``str()`` is Prometheus' message."""


def parse_prom_duration(text: str) -> float:
    """Prometheus' ``model.ParseDuration`` (``1h30m``, ``15s``, ``1d``); returns seconds."""
    return parse_duration_ms(text) / 1000.0


def parse_duration_ms(text: str) -> int:
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if not text or m is None or not any(m.groups()):
        raise ConfigError(f'not a valid duration string: "{text}"')
    return sum(int(g) * k for g, k in zip(m.groups(), _MULT_MS, strict=True) if g)


def format_duration(seconds: float) -> str:
    """``model.Duration.String()``: ``1m``, ``1h30m``, ``0s``."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _MULT_MS, strict=True):
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


# -- configuration objects -------------------------------------------------------------------------
@dataclass(frozen=True)
class StaticConfig:
    targets: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FileSDConfig:
    files: tuple[str, ...]
    refresh_interval: float = 300.0


@dataclass(frozen=True)
class HTTPSDConfig:
    url: str
    refresh_interval: float = 60.0


@dataclass(frozen=True)
class KubernetesSDConfig:
    """``kubernetes_sd_configs`` served by an external provider (flightdeck's local runtime)."""

    role: str
    namespaces: tuple[str, ...] = ()
    own_namespace: bool = False


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
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    http_sd_configs: tuple[HTTPSDConfig, ...] = ()
    kubernetes_sd_configs: tuple[KubernetesSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()
    sample_limit: int = 0
    target_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    body_size_limit: int = 0
    follow_redirects: bool = True
    enable_http2: bool = True
    # Which of the optional fields were written (for rendering like Prometheus).
    explicit: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScrapeConfigFile:
    scrape_interval: float = 60.0
    scrape_timeout: float = 10.0
    evaluation_interval: float = 60.0
    jobs: tuple[ScrapeJob, ...] = field(default_factory=tuple)
    external_labels: tuple[tuple[str, str], ...] = ()
    out_of_order_time_window: float = 0.0
    has_storage: bool = False

    def job(self, name: str) -> ScrapeJob:
        for j in self.jobs:
            if j.job_name == name:
                return j
        raise KeyError(name)

    def to_yaml(self) -> str:
        from flightdeck.tsdb.scrape.configyaml import render_yaml

        return render_yaml(self)


# -- node decoding -----------------------------------------------------------------------------------
def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _tag_name(node: yaml.Node) -> str:
    tag = node.tag or ""
    return "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag


class _Decoder:
    """Collects go-yaml style unmarshal errors; section checks raise immediately."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def type_error(self, node: yaml.Node, go_type: str) -> None:
        value = node.value if isinstance(node, yaml.ScalarNode) else ""
        shown = f"`{value}`" if isinstance(node, yaml.ScalarNode) else ""
        self.errors.append(
            f"line {_line(node)}: cannot unmarshal {_tag_name(node)} {shown} into {go_type}".replace(
                "  ", " "
            )
        )

    def mapping(self, node: yaml.Node, go_type: str, known: tuple[str, ...]) -> dict[str, yaml.Node] | None:
        if _is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.type_error(node, go_type.replace(".plain", "." + go_type.split(".")[0].capitalize()))
            return None
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name not in known:
                self.errors.append(f"line {_line(key)}: field {name} not found in type {go_type}")
                continue
            if name in out:
                self.errors.append(f'line {_line(key)}: key "{name}" already set in map')
                continue
            out[name] = value
        return out

    def string(self, node: yaml.Node) -> str:
        if _is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.type_error(node, "string")
            return ""
        return str(node.value)

    def boolean(self, node: yaml.Node) -> bool | None:
        if isinstance(node, yaml.ScalarNode):
            text = str(node.value)
            if text in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"):
                return True
            if text in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"):
                return False
        self.type_error(node, "bool")
        return None

    def uint(self, node: yaml.Node) -> int:
        if isinstance(node, yaml.ScalarNode) and re.fullmatch(r"\+?\d+", str(node.value)):
            return int(node.value)
        self.type_error(node, "uint")
        return 0

    def duration(self, node: yaml.Node) -> float:
        return parse_duration_ms(self.string(node)) / 1000.0

    def strings(self, node: yaml.Node, go_type: str = "[]string") -> list[str]:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.type_error(node, go_type)
            return []
        return [self.string(item) for item in node.value]

    def label_set(self, node: yaml.Node, go_type: str = "model.LabelSet") -> dict[str, str]:
        if _is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.type_error(node, go_type)
            return {}
        out: dict[str, str] = {}
        for key, value in node.value:
            out[str(key.value)] = self.string(value)
        return out

    def sequence(self, node: yaml.Node, go_type: str) -> list[yaml.Node]:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.type_error(node, go_type)
            return []
        return list(node.value)

    def raise_collected(self) -> None:
        if self.errors:
            raise ConfigError("yaml: unmarshal errors:\n  " + "\n  ".join(self.errors))


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


_SCRAPE_FIELDS = (
    "job_name", "honor_labels", "honor_timestamps", "params", "scrape_interval", "scrape_timeout",
    "metrics_path", "scheme", "body_size_limit", "sample_limit", "target_limit", "label_limit",
    "label_name_length_limit", "label_value_length_limit", "relabel_configs", "metric_relabel_configs",
    "static_configs", "file_sd_configs", "http_sd_configs", "kubernetes_sd_configs",
    *_HTTP_CLIENT_ACCEPTED, *_HTTP_CLIENT_UNSUPPORTED, *_OTHER_SD,
)  # fmt: skip
_RELABEL_FIELDS = ("source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action")


def _relabels(d: _Decoder, node: yaml.Node, what: str) -> tuple[RelabelConfig, ...]:
    out: list[RelabelConfig] = []
    for item in d.sequence(node, "[]*relabel.Config"):
        if _is_null(item):
            raise ConfigError(f"empty or null {what} relabeling rule in scrape config")
        fields = d.mapping(item, T_RELABEL, _RELABEL_FIELDS)
        if fields is None:
            continue
        raw: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "source_labels":
                raw[name] = d.strings(value, "model.LabelNames")
            elif name == "modulus":
                raw[name] = d.uint(value)
            else:
                raw[name] = d.string(value)
        if d.errors:
            continue
        try:
            out.append(RelabelConfig.from_dict(raw))
        except RelabelConfigError as exc:
            raise ConfigError(str(exc)) from exc
    return tuple(out)


def _static(d: _Decoder, node: yaml.Node) -> tuple[StaticConfig, ...]:
    out = []
    for item in d.sequence(node, "discovery.StaticConfig"):
        fields = d.mapping(item, T_GROUP, ("targets", "labels"))
        if fields is None:
            continue
        targets = d.strings(fields["targets"]) if "targets" in fields else []
        labels = d.label_set(fields["labels"]) if "labels" in fields else {}
        for name, value in labels.items():
            if not LABEL_NAME_RE.match(name):
                raise ConfigError(f'"{name}" is not a valid label name')
            _check_value(value)
        out.append(StaticConfig(tuple(targets), tuple(sorted(labels.items()))))
    return tuple(out)


def _check_value(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(f'"{value}" is not a valid label value') from exc


def _file_sd(d: _Decoder, node: yaml.Node) -> tuple[FileSDConfig, ...]:
    out = []
    for item in d.sequence(node, "[]*file.SDConfig"):
        fields = d.mapping(item, T_FILE_SD, ("files", "refresh_interval"))
        if fields is None:
            continue
        files = d.strings(fields["files"]) if "files" in fields else []
        refresh = d.duration(fields["refresh_interval"]) if "refresh_interval" in fields else 300.0
        if d.errors:
            continue
        if not files:
            raise ConfigError("file service discovery config must contain at least one path name")
        for name in files:
            if not _FILE_SD_NAME.match(name):
                raise ConfigError(f'path name "{name}" is not valid for file discovery')
        out.append(FileSDConfig(tuple(files), refresh or 300.0))
    return tuple(out)


def _http_sd(d: _Decoder, node: yaml.Node, job: str) -> tuple[HTTPSDConfig, ...]:
    out = []
    known = ("url", "refresh_interval", *_HTTP_CLIENT_ACCEPTED, *_HTTP_CLIENT_UNSUPPORTED)
    for item in d.sequence(node, "[]*http.SDConfig"):
        fields = d.mapping(item, T_HTTP_SD, known)
        if fields is None:
            continue
        for name in _HTTP_CLIENT_UNSUPPORTED:
            if name in fields:
                raise ConfigError(f'not supported by flightdeck: {name} in http_sd_configs of job "{job}"')
        url = d.string(fields["url"]) if "url" in fields else ""
        refresh = d.duration(fields["refresh_interval"]) if "refresh_interval" in fields else 60.0
        if d.errors:
            continue
        if not url:
            raise ConfigError("URL is missing")
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            raise ConfigError("URL scheme must be 'http' or 'https'")
        if not rest.split("/", 1)[0].split("?", 1)[0]:
            raise ConfigError("host is missing in URL")
        out.append(HTTPSDConfig(url, refresh or 60.0))
    return tuple(out)


def _kubernetes_sd(d: _Decoder, node: yaml.Node, job: str) -> tuple[KubernetesSDConfig, ...]:
    out = []
    known = (
        "api_server", "role", "kubeconfig_file", "namespaces", "selectors", "attach_metadata",
        *_HTTP_CLIENT_ACCEPTED, *_HTTP_CLIENT_UNSUPPORTED,
    )  # fmt: skip
    for item in d.sequence(node, "[]*kubernetes.SDConfig"):
        fields = d.mapping(item, T_K8S_SD, known)
        if fields is None:
            continue
        role = d.string(fields["role"]) if "role" in fields else ""
        names: list[str] = []
        own = False
        if "namespaces" in fields:
            ns = d.mapping(fields["namespaces"], "kubernetes.NamespaceDiscovery", ("own_namespace", "names"))
            if ns:
                names = d.strings(ns["names"]) if "names" in ns else []
                own = bool(d.boolean(ns["own_namespace"])) if "own_namespace" in ns else False
        if d.errors:
            continue
        if role and role not in _K8S_ROLES:
            raise ConfigError(f'unknown Kubernetes SD role "{role}"')
        if not role:
            raise ConfigError("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")
        for name in (
            "api_server",
            "kubeconfig_file",
            "selectors",
            "attach_metadata",
            *_HTTP_CLIENT_UNSUPPORTED,
        ):
            if name in fields and not _is_null(fields[name]):
                raise ConfigError(
                    f'not supported by flightdeck: {name} in kubernetes_sd_configs of job "{job}" '
                    "(targets come from flightdeck's own runtime)"
                )
        if own:
            raise ConfigError(
                f'not supported by flightdeck: namespaces.own_namespace in kubernetes_sd_configs of job "{job}"'
            )
        if role != "pod":
            raise ConfigError(
                f'not supported by flightdeck: kubernetes_sd_configs role "{role}" in job "{job}" (only role: pod)'
            )
        out.append(KubernetesSDConfig(role, tuple(names), own))
    return tuple(out)


def _scrape_job(d: _Decoder, node: yaml.Node, glob: ScrapeConfigFile) -> ScrapeJob | None:
    if _is_null(node):
        raise ConfigError("empty or null scrape config section")
    errors_before = len(d.errors)
    fields = d.mapping(node, T_SCRAPE, _SCRAPE_FIELDS)
    if fields is None:
        return None
    f = fields
    name = d.string(f["job_name"]) if "job_name" in f else ""

    def opt(key: str, fn: Callable[[yaml.Node], Any], default: Any) -> Any:
        return fn(f[key]) if key in f and not _is_null(f[key]) else default

    honor_labels = opt("honor_labels", d.boolean, False)
    honor_timestamps = opt("honor_timestamps", d.boolean, True)
    interval = opt("scrape_interval", d.duration, 0.0)
    timeout = opt("scrape_timeout", d.duration, 0.0)
    metrics_path = opt("metrics_path", d.string, "/metrics") or "/metrics"
    scheme = opt("scheme", d.string, "http") or "http"
    params: dict[str, list[str]] = {}
    if "params" in f and not _is_null(f["params"]):
        pnode = f["params"]
        if isinstance(pnode, yaml.MappingNode):
            for key, value in pnode.value:
                params[str(key.value)] = d.strings(value)
        else:
            d.type_error(pnode, "url.Values")
    limits = {
        key: opt(key, d.uint, 0)
        for key in (
            "sample_limit",
            "target_limit",
            "label_limit",
            "label_name_length_limit",
            "label_value_length_limit",
        )
    }
    body_limit = 0
    if "body_size_limit" in f:
        text = d.string(f["body_size_limit"])
        m = _BYTES.match(text)
        if text and m is None:
            raise ConfigError(f"units: unknown unit {text!r}")
        body_limit = int(m.group(1)) * _BYTE_UNITS[m.group(2)] if m else 0
    follow = opt("follow_redirects", d.boolean, True)
    http2 = opt("enable_http2", d.boolean, True)
    relabels = _relabels(d, f["relabel_configs"], "target") if "relabel_configs" in f else ()
    metric_relabels = (
        _relabels(d, f["metric_relabel_configs"], "metric") if "metric_relabel_configs" in f else ()
    )
    statics = _static(d, f["static_configs"]) if "static_configs" in f else ()
    file_sd = _file_sd(d, f["file_sd_configs"]) if "file_sd_configs" in f else ()
    http_sd = _http_sd(d, f["http_sd_configs"], name) if "http_sd_configs" in f else ()
    k8s_sd = _kubernetes_sd(d, f["kubernetes_sd_configs"], name) if "kubernetes_sd_configs" in f else ()
    if len(d.errors) > errors_before:
        return None
    if not name:
        raise ConfigError("job_name is empty")
    for key in (*_HTTP_CLIENT_UNSUPPORTED, *_OTHER_SD):
        if key in f and not _is_null(f[key]):
            raise ConfigError(f'not supported by flightdeck: {key} in scrape config with job name "{name}"')
    if not relabels:
        for sc in statics:
            for target in sc.targets:
                if "/" in target:
                    raise ConfigError(f'"{target}" is not a valid hostname')
    # Global defaults, as Config.UnmarshalYAML applies them.
    if interval == 0:
        interval = glob.scrape_interval
    if timeout > interval:
        raise ConfigError(
            f'scrape timeout greater than scrape interval for scrape config with job name "{name}"'
        )
    if timeout == 0:
        timeout = interval if glob.scrape_timeout > interval else glob.scrape_timeout
    return ScrapeJob(
        job_name=name,
        scrape_interval=interval,
        scrape_timeout=timeout,
        metrics_path=metrics_path,
        scheme=scheme,
        honor_labels=bool(honor_labels),
        honor_timestamps=bool(honor_timestamps),
        params=tuple(sorted((k, tuple(v)) for k, v in params.items())),
        static_configs=statics,
        file_sd_configs=file_sd,
        http_sd_configs=http_sd,
        kubernetes_sd_configs=k8s_sd,
        relabel_configs=relabels,
        metric_relabel_configs=metric_relabels,
        body_size_limit=body_limit,
        follow_redirects=bool(follow),
        enable_http2=bool(http2),
        explicit=frozenset(k for k in f if not _is_null(f[k])),
        **limits,
    )


def _global(d: _Decoder, node: yaml.Node | None) -> ScrapeConfigFile:
    if node is None or _is_null(node):
        return ScrapeConfigFile()
    known = ("scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels", "query_log_file")
    fields = d.mapping(node, T_GLOBAL, known)
    if fields is None:
        return ScrapeConfigFile()
    interval = d.duration(fields["scrape_interval"]) if "scrape_interval" in fields else 0.0
    timeout = d.duration(fields["scrape_timeout"]) if "scrape_timeout" in fields else 0.0
    evaluation = d.duration(fields["evaluation_interval"]) if "evaluation_interval" in fields else 0.0
    external = d.label_set(fields["external_labels"], "labels.Labels") if "external_labels" in fields else {}
    if "query_log_file" in fields and d.string(fields["query_log_file"]):
        raise ConfigError("not supported by flightdeck: global.query_log_file")
    for name, value in external.items():
        if not LABEL_NAME_RE.match(name):
            raise ConfigError(f'"{name}" is not a valid label name')
        _check_value(value)
    if interval == 0:
        interval = 60.0
    if timeout > interval:
        raise ConfigError("global scrape timeout greater than scrape interval")
    if timeout == 0:
        timeout = interval if interval < 10.0 else 10.0
    return ScrapeConfigFile(
        interval, timeout, evaluation or 60.0, (), tuple(sorted((k, v) for k, v in external.items() if v))
    )


def parse_config(text: str) -> ScrapeConfigFile:
    """Parse a ``prometheus.yml``; raises :class:`ConfigError` with Prometheus' message."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"yaml: {where}{problem}") from exc
    d = _Decoder()
    if root is None or _is_null(root):
        return ScrapeConfigFile()
    known = (
        "global",
        "alerting",
        "rule_files",
        "scrape_configs",
        "storage",
        "tracing",
        "remote_write",
        "remote_read",
    )
    top = d.mapping(root, T_CONFIG, known)
    if top is None:
        d.raise_collected()
        return ScrapeConfigFile()
    glob = _global(d, top.get("global"))
    ooo = 0.0
    has_storage = False
    if "storage" in top and not _is_null(top["storage"]):
        storage = d.mapping(top["storage"], T_STORAGE, ("tsdb", "exemplars"))
        if storage:
            if "exemplars" in storage and not _is_null(storage["exemplars"]):
                raise ConfigError("not supported by flightdeck: storage.exemplars")
            if "tsdb" in storage and not _is_null(storage["tsdb"]):
                tsdb = d.mapping(storage["tsdb"], T_TSDB, ("out_of_order_time_window",))
                if tsdb and "out_of_order_time_window" in tsdb:
                    ooo = d.duration(tsdb["out_of_order_time_window"])
                    has_storage = True
    for key in _UNSUPPORTED_TOP:
        node = top.get(key)
        if (
            node is not None
            and not _is_null(node)
            and not (isinstance(node, yaml.SequenceNode) and not node.value)
        ):
            raise ConfigError(f"not supported by flightdeck: {key}")
    jobs: list[ScrapeJob] = []
    names: set[str] = set()
    for item in (
        d.sequence(top["scrape_configs"], "[]*config.ScrapeConfig") if "scrape_configs" in top else []
    ):
        job = _scrape_job(d, item, glob)
        if job is None:
            continue
        jobs.append(job)
    d.raise_collected()
    for job in jobs:
        if job.job_name in names:
            raise ConfigError(f'found multiple scrape configs with job name "{job.job_name}"')
        names.add(job.job_name)
    return ScrapeConfigFile(
        glob.scrape_interval,
        glob.scrape_timeout,
        glob.evaluation_interval,
        tuple(jobs),
        glob.external_labels,
        ooo,
        has_storage,
    )


def load_config(path: str | Path) -> ScrapeConfigFile:
    """Load a file; errors read ``parsing YAML file PATH: …`` like Prometheus."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from exc
    try:
        return parse_config(text)
    except ConfigError as exc:
        raise ConfigError(f"parsing YAML file {path}: {exc}") from exc
