"""What the linted collector configurations' ``spanmetrics`` connectors produce, and how often.

For each ``spanmetrics`` (or ``spanmetrics/<name>``) connector of a configuration the collector accepts:
its flush interval (and where it is set), and the Prometheus names of its series as the ``prometheus``
exporters it feeds name them (the exporter's own naming code, so a namespace, ``add_metric_suffixes``
or ``translation_strategy`` on the exporter is honoured; an unused connector, or one whose metrics go
elsewhere, gets the exporter's defaults).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from flightdeck.lint.collector import CollectorEntry

if TYPE_CHECKING:
    from flightdeck.collector.component import ComponentID
    from flightdeck.collector.components.prometheusexporter.naming import MetricNamer
    from flightdeck.collector.components.spanmetrics.config import Config as SpanMetricsConfig
    from flightdeck.collector.config import CollectorConfig

# The prometheus exporter writes a classic histogram as these three series.
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


@dataclasses.dataclass(frozen=True, slots=True)
class SpanMetricsSource:
    """One spanmetrics connector of one collector configuration."""

    connector: str
    """As written in the config: ``spanmetrics`` or ``spanmetrics/<name>``."""
    flush_seconds: float
    flush_where: str
    """``file:line`` of ``metrics_flush_interval``; empty when the connector uses the default."""
    connector_where: str
    """``file:line`` of the connector's entry (the ConfigMap key's line when it cannot be placed)."""
    used: bool
    """The connector feeds a pipeline (it is some pipeline's receiver)."""
    names: frozenset[str]
    """Every Prometheus series name the connector's metrics get."""
    prefixes: tuple[str, ...]
    """The connector's namespace as the exporters translate it, with the separator that follows it."""

    def produces(self, name: str) -> bool:
        return name in self.names or any(name.startswith(p) for p in self.prefixes)

    def matches(self, pattern: str) -> bool:
        """A ``__name__=~pattern`` matcher (fully anchored, RE2) selects one of the names."""
        from flightdeck.tsdb.regex import RegexError, compile_anchored

        try:
            regex = compile_anchored(pattern)
        except RegexError:
            return False
        return any(regex.match(name) for name in self.names)


def spanmetrics_sources(entries: Iterable[CollectorEntry]) -> list[SpanMetricsSource]:
    """Every spanmetrics connector of the accepted configurations; a rejected configuration never runs,
    so it produces nothing (its error is reported by :mod:`flightdeck.lint.collector`)."""
    from flightdeck.collector.component import Kind

    out: list[SpanMetricsSource] = []
    for entry in entries:
        cfg = entry.config
        if cfg is None:
            continue
        locator = _Locator(entry)
        for cid, conn_cfg in cfg.section(Kind.CONNECTOR).items():
            if cid.type != "spanmetrics":
                continue
            namers = list(_namers(cfg, cid))
            used = bool(namers) or _is_receiver(cfg, cid)
            if not namers:
                namers = [_default_namer()]
            names: set[str] = set()
            prefixes: list[str] = []
            for namer in namers:
                names.update(_series_names(conn_cfg, namer))
                prefix = _namespace_prefix(conn_cfg, namer)
                if prefix and prefix not in prefixes:
                    prefixes.append(prefix)
            set_line = locator.line(cid, "metrics_flush_interval")
            out.append(
                SpanMetricsSource(
                    connector=str(cid),
                    flush_seconds=conn_cfg.metrics_flush_interval / 1e9,
                    flush_where=f"{entry.manifest.source.file}:{set_line}" if set_line else "",
                    connector_where=f"{entry.manifest.source.file}:{locator.line(cid) or locator.key_line}",
                    used=used,
                    names=frozenset(names),
                    prefixes=tuple(prefixes),
                )
            )
    return out


def _is_receiver(cfg: CollectorConfig, cid: ComponentID) -> bool:
    return any(cid in p.receivers for p in cfg.service.pipelines.values())


def _namers(cfg: CollectorConfig, cid: ComponentID) -> Iterator[MetricNamer]:
    """The naming of each prometheus exporter in a pipeline the connector feeds."""
    from flightdeck.collector.component import Kind
    from flightdeck.collector.components.prometheusexporter.config import Config as ExporterConfig
    from flightdeck.collector.components.prometheusexporter.naming import MetricNamer

    exporters = cfg.section(Kind.EXPORTER)
    seen: set[ComponentID] = set()
    for pipeline in cfg.service.pipelines.values():
        if cid not in pipeline.receivers:
            continue
        for eid in pipeline.exporters:
            exporter = exporters.get(eid)
            if eid in seen or eid.type != "prometheus" or not isinstance(exporter, ExporterConfig):
                continue
            seen.add(eid)
            with_suffixes, utf8 = exporter.translation()
            yield MetricNamer(exporter.namespace, with_suffixes, utf8)


def _default_namer() -> MetricNamer:
    from flightdeck.collector.components.prometheusexporter.naming import MetricNamer

    return MetricNamer()


def _series_names(cfg: SpanMetricsConfig, namer: MetricNamer) -> Iterator[str]:
    from flightdeck.collector.components.prometheusexporter import naming

    # The OTLP names and units the connector gives its metrics (``<namespace>.calls`` etc.).
    def otlp(name: str) -> str:
        return f"{cfg.namespace}.{name}" if cfg.namespace else name

    try:
        yield namer.build(otlp("calls"), "", naming.MONOTONIC_COUNTER)
        if cfg.events.enabled:
            yield namer.build(otlp("events"), "", naming.MONOTONIC_COUNTER)
        if not cfg.histogram.disable:
            duration = namer.build(otlp("duration"), cfg.histogram.unit, naming.HISTOGRAM)
            yield duration
            for suffix in _HISTOGRAM_SERIES:
                yield duration + suffix
    except naming.NamingError:
        return


def _namespace_prefix(cfg: SpanMetricsConfig, namer: MetricNamer) -> str:
    """The translated namespace and the separator after it: the namer's output for a one-token name
    under the namespace, less that token (``traces_span_metrics_``; ``traces.span.metrics.`` when the
    exporter keeps UTF-8 names)."""
    from flightdeck.collector.components.prometheusexporter import naming

    if not cfg.namespace:
        return ""
    token = "x"
    try:
        built = namer.build(f"{cfg.namespace}.{token}", "", naming.GAUGE)
    except naming.NamingError:
        return ""
    return built[: -len(token)] if built.endswith(token) and len(built) > len(token) else ""


class _Locator:
    """File lines of keys inside a ConfigMap's embedded collector configuration.

    The embedded text's lines map onto the file's only for a literal block scalar (``key: |``); the
    mapping is checked against the file, and anything that cannot be placed falls back to the line of
    the ConfigMap key."""

    def __init__(self, entry: CollectorEntry) -> None:
        self.entry = entry
        self.key_line = entry.manifest.source.line_of(("data", entry.key))
        self._root: yaml.Node | None = None
        self._file_lines: list[str] | None = None
        try:
            self._root = yaml.compose(entry.text)
        except yaml.YAMLError:
            self._root = None

    def line(self, cid: ComponentID, field: str = "") -> int:
        """File line of ``connectors.<cid>[.<field>]``, or 0 when it is absent or cannot be placed."""
        from flightdeck.collector.component import ComponentID as CID

        connectors = _child(self._root, "connectors")
        if not isinstance(connectors, yaml.MappingNode):
            return 0
        for key_node, value_node in connectors.value:
            try:
                if CID.parse(str(key_node.value)) != cid:
                    continue
            except ValueError:
                continue
            if not field:
                return self._file_line(key_node)
            for sub_key, _ in value_node.value if isinstance(value_node, yaml.MappingNode) else ():
                if str(sub_key.value) == field:
                    return self._file_line(sub_key)
            return 0
        return 0

    def _file_line(self, node: yaml.Node) -> int:
        index = node.start_mark.line
        text_lines = self.entry.text.splitlines()
        if index >= len(text_lines):
            return self.key_line
        candidate = self.key_line + 1 + index
        if self._file_lines is None:
            try:
                self._file_lines = (
                    Path(self.entry.manifest.source.file).read_text(encoding="utf-8").splitlines()
                )
            except (OSError, UnicodeDecodeError):
                self._file_lines = []
        lines = self._file_lines
        if 0 < candidate <= len(lines) and lines[candidate - 1].strip() == text_lines[index].strip():
            return candidate
        return self.key_line


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if str(key_node.value) == key:
            found: yaml.Node = value_node
            return found
    return None
