"""The collector config: resolve (YAML + ``${}``), unmarshal (factories' defaults + user keys), validate —
in upstream's order and with its texts (otelcol v0.142 ``collector.go``, ``unmarshaler.go``,
``configunmarshaler``, ``config.go``, ``xconfmap``, ``service/pipelines``).

``load(text)`` returns a :class:`CollectorConfig` or raises ConfigError whose text is what otelcol prints
after ``Error: ``; :func:`validate` returns the validation errors (unprefixed; ``run`` adds
``invalid configuration: ``, ``validate`` prints them bare, as upstream's DryRun does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flightdeck.collector import yamlgo
from flightdeck.collector.component import (
    AnyFactory,
    ComponentID,
    Kind,
    PipelineID,
    Registry,
)
from flightdeck.collector.confdecode import decode_failure, go_kind, go_type_name
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.expand import Expanded, Expander, Warn, strip_expanded

_SECTIONS = (Kind.RECEIVER, Kind.PROCESSOR, Kind.EXPORTER, Kind.CONNECTOR, Kind.EXTENSION)
_TOP_KEYS = {k.section for k in _SECTIONS} | {"service"}


@dataclass(slots=True)
class PipelineConfig:
    receivers: list[ComponentID] = field(default_factory=list)
    processors: list[ComponentID] = field(default_factory=list)
    exporters: list[ComponentID] = field(default_factory=list)


@dataclass(slots=True)
class TelemetryConfig:
    """``service.telemetry``: what flightdeck acts on (log level, the :8888 address, metrics level)."""

    logs_level: str = "info"
    metrics_level: str = "normal"
    metrics_host: str = "localhost"
    metrics_port: int = 8888
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ServiceConfig:
    extensions: list[ComponentID] = field(default_factory=list)
    pipelines: dict[PipelineID, PipelineConfig] = field(default_factory=dict)
    pipelines_set: bool = False
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)


@dataclass(slots=True)
class CollectorConfig:
    """Component configs per kind, in file order (upstream iterates Go maps; file order is deterministic)."""

    components: dict[Kind, dict[ComponentID, Any]]
    service: ServiceConfig
    registry: Registry

    def section(self, kind: Kind) -> dict[ComponentID, Any]:
        return self.components[kind]

    def factory(self, kind: Kind, cid: ComponentID) -> AnyFactory:
        factory = self.registry.get(kind, cid.type)
        assert factory is not None  # unmarshal only keeps IDs with a factory
        return factory


def resolve(text: str, env: Mapping[str, str] | None = None, warn: Warn | None = None) -> dict[str, Any]:
    """Text → expanded map; errors carry ``cannot resolve the configuration: …``."""
    head = "cannot resolve the configuration: "
    try:
        raw = yamlgo.load(text)
    except yamlgo.YAMLError as exc:
        raise ConfigError(
            f"{head}retrieved value (type=string) cannot be used as a Conf: "
            f"assuming string type since contents are not valid YAML: {exc}"
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{head}retrieved value (type={go_type_name(raw)}) cannot be used as a Conf")
    try:
        expanded = Expander(env, warn).expand(raw)
    except ConfigError as exc:
        raise ConfigError(head + str(exc)) from None
    return {str(k): v for k, v in expanded.items()}


class _Unmarshal:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.errors: list[str] = []

    def section(self, kind: Kind, raw: Any) -> dict[ComponentID, Any]:
        name = kind.section
        out: dict[ComponentID, Any] = {}
        raw = strip_whole(raw)
        if raw is None:
            return out
        if not isinstance(raw, Mapping):
            self.errors.append(
                f"'{name}' expected a map or struct, got \"{go_kind(raw)}\""
                if not isinstance(raw, list)
                else f"'{name}' expected a map or struct, got \"slice\""
            )
            return out
        ids: dict[ComponentID, str] = {}
        for key in raw:
            try:
                cid = ComponentID.parse(str(key))
            except ValueError as exc:
                self.errors.append(f"'{name}' '' {exc}")
                return out
            if cid in ids:
                self.errors.append(f"'{name}' '' duplicate name \"{key}\" after unmarshaling {cid}")
                return out
            ids[cid] = str(key)
        bad = [
            f"'[{key}]' expected type 'map[string]interface {{}}', got unconvertible type '{go_type_name(v)}'"
            for key, v in ((k, strip_whole(v)) for k, v in raw.items())
            if v is not None and not isinstance(v, Mapping)
        ]
        if bad:
            self.errors.append(f"'{name}' " + decode_failure(bad))
            return out
        for cid, key in ids.items():
            factory = self.registry.get(kind, cid.type)
            if factory is None:
                self.errors.append(f"'{name}' " + self.registry.unknown_type_message(kind, cid))
                return out
            try:
                out[cid] = factory.load_config(strip_whole(raw[key]))
            except ConfigError as exc:
                self.errors.append(f"'{name}' error reading configuration for \"{cid}\": {exc}")
                return out
        return out

    def id_list(self, path: str, raw: Any) -> list[ComponentID]:
        raw = strip_whole(raw)
        if raw is None:
            return []
        if isinstance(raw, str):
            raw = [] if raw == "" else raw.split(",")
        if not isinstance(raw, list):
            self.errors.append(f"'{path}' source data must be an array or slice, got {go_kind(raw)}")
            return []
        out: list[ComponentID] = []
        for i, item in enumerate(raw):
            item = strip_whole(item, want_string=True)
            if not isinstance(item, str):
                self.errors.append(
                    f"'{path}[{i}]' expected type 'component.ID', got unconvertible type '{go_type_name(item)}'"
                )
                continue
            try:
                out.append(ComponentID.parse(item))
            except ValueError as exc:
                self.errors.append(f"'{path}[{i}]' {exc}")
        return out

    def service(self, raw: Any) -> ServiceConfig:
        svc = ServiceConfig()
        raw = strip_whole(raw)
        if raw is None:
            return svc
        if not isinstance(raw, Mapping):
            self.errors.append(f"'service' expected a map or struct, got \"{go_kind(raw)}\"")
            return svc
        if "telemetry" in raw:
            svc.telemetry = self.telemetry(raw["telemetry"])
        if "extensions" in raw:
            svc.extensions = self.id_list("service.extensions", raw["extensions"])
        if "pipelines" in raw:
            svc.pipelines_set = True
            svc.pipelines = self.pipelines(raw["pipelines"])
        unknown = sorted(str(k) for k in raw if k not in ("telemetry", "extensions", "pipelines"))
        if unknown:
            self.errors.append("'service' has invalid keys: " + ", ".join(unknown))
        return svc

    def pipelines(self, raw: Any) -> dict[PipelineID, PipelineConfig]:
        raw = strip_whole(raw)
        out: dict[PipelineID, PipelineConfig] = {}
        if raw is None:
            return out
        if not isinstance(raw, Mapping):
            self.errors.append(
                f"'service.pipelines' expected type 'pipelines.Config', got unconvertible type '{go_type_name(raw)}'"
            )
            return out
        for key, value in raw.items():
            try:
                pid = PipelineID.parse(str(key))
            except ValueError as exc:
                self.errors.append(f"'service.pipelines' {exc}")
                return out
            if pid in out:
                self.errors.append(f"'service.pipelines' duplicate name \"{key}\" after unmarshaling {pid}")
                return out
            path = f"service.pipelines[{key}]"
            value = strip_whole(value)
            pipe = PipelineConfig()
            if value is not None and not isinstance(value, Mapping):
                self.errors.append(f"'{path}' expected a map or struct, got \"{go_kind(value)}\"")
            elif value is not None:
                for part in ("receivers", "processors", "exporters"):
                    if part in value:
                        setattr(pipe, part, self.id_list(f"{path}.{part}", value[part]))
                unknown = sorted(str(k) for k in value if k not in ("receivers", "processors", "exporters"))
                if unknown:
                    self.errors.append(f"'{path}' has invalid keys: " + ", ".join(unknown))
            out[pid] = pipe
        return out

    def telemetry(self, raw: Any) -> TelemetryConfig:
        tel = TelemetryConfig()
        raw = strip_expanded(raw)
        if raw is None:
            return tel
        if not isinstance(raw, Mapping):
            self.errors.append(f"'service.telemetry' expected a map or struct, got \"{go_kind(raw)}\"")
            return tel
        unknown = sorted(str(k) for k in raw if k not in ("logs", "metrics", "traces", "resource"))
        if unknown:
            self.errors.append("'service.telemetry' has invalid keys: " + ", ".join(unknown))
        logs = raw.get("logs")
        if isinstance(logs, Mapping) and "level" in logs:
            level = str(logs["level"]).lower()
            if level not in ("debug", "info", "warn", "error", "dpanic", "panic", "fatal"):
                self.errors.append(f"'service.telemetry.logs.level' unrecognized level: \"{logs['level']}\"")
            else:
                tel.logs_level = level
        metrics = raw.get("metrics")
        if isinstance(metrics, Mapping):
            if "level" in metrics:
                level = str(metrics["level"]).lower()
                if level not in ("none", "basic", "normal", "detailed"):
                    self.errors.append(f"'service.telemetry.metrics.level' unknown metrics level \"{level}\"")
                else:
                    tel.metrics_level = level
            for reader in metrics.get("readers") or []:
                prom = _dig(reader, "pull", "exporter", "prometheus")
                if isinstance(prom, Mapping):
                    tel.metrics_host = str(prom.get("host", tel.metrics_host) or "")
                    port = prom.get("port", tel.metrics_port)
                    if isinstance(port, int):
                        tel.metrics_port = port
        resource = raw.get("resource")
        if isinstance(resource, Mapping):
            tel.resource = dict(resource)
        return tel


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def strip_whole(value: Any, want_string: bool = False) -> Any:
    if isinstance(value, Expanded):
        return value.original if want_string else value.value
    return value


def unmarshal(raw: Mapping[str, Any], registry: Registry) -> CollectorConfig:
    """Map → config; ConfigError ``cannot unmarshal the configuration: …`` on failure."""
    u = _Unmarshal(registry)
    components = {kind: u.section(kind, raw.get(kind.section)) for kind in _SECTIONS}
    service = u.service(raw.get("service"))
    unknown = sorted(k for k in raw if k not in _TOP_KEYS)
    if unknown:
        u.errors.append("'' has invalid keys: " + ", ".join(unknown))
    if u.errors:
        raise ConfigError("cannot unmarshal the configuration: " + decode_failure(u.errors))
    return CollectorConfig(components, service, registry)


def load(
    text: str, registry: Registry, env: Mapping[str, str] | None = None, warn: Warn | None = None
) -> CollectorConfig:
    """Resolve and unmarshal; errors are prefixed ``failed to get config: `` like otelcol."""
    try:
        return unmarshal(resolve(text, env, warn), registry)
    except ConfigError as exc:
        raise ConfigError(f"failed to get config: {exc}") from None


def validate(cfg: CollectorConfig) -> list[str]:
    """xconfmap.Validate over the whole config: top-level rule first, then each section's configs,
    then service. Returns the error lines (to be newline-joined)."""
    errors: list[str] = []
    top = _validate_top(cfg)
    if top:
        errors.append(top)
    for kind in (Kind.RECEIVER, Kind.EXPORTER, Kind.PROCESSOR, Kind.CONNECTOR, Kind.EXTENSION):
        for cid, comp_cfg in cfg.components[kind].items():
            for msg in cfg.factory(kind, cid).validate(comp_cfg):
                errors.append(f"{kind.section}::{cid}: {msg}")
    svc = cfg.service
    if not svc.pipelines:
        errors.append("service::pipelines: service must have at least one pipeline")
    for pid, pipe in svc.pipelines.items():
        prefix = f"service::pipelines::{pid}: "
        if not pipe.receivers:
            errors.append(prefix + "must have at least one receiver")
        elif not pipe.exporters:
            errors.append(prefix + "must have at least one exporter")
        else:
            seen: set[ComponentID] = set()
            for ref in pipe.processors:
                if ref in seen:
                    errors.append(prefix + f'references processor "{ref}" multiple times')
                    break
                seen.add(ref)
    return errors


def _validate_top(cfg: CollectorConfig) -> str | None:
    c = cfg.components
    if not any(c[k] for k in _SECTIONS):
        return "empty configuration file"
    if not c[Kind.RECEIVER]:
        return "no receiver configuration specified in config"
    if not c[Kind.EXPORTER]:
        return "no exporter configuration specified in config"
    for conn in c[Kind.CONNECTOR]:
        for kind in (Kind.EXPORTER, Kind.RECEIVER):
            if conn in c[kind]:
                return (
                    f'connectors::{conn}: ambiguous ID: Found both "{conn}" {kind} and "{conn}" connector. '
                    f"Change one of the components' IDs to eliminate ambiguity "
                    f'(e.g. rename "{conn}" connector to "{conn}/connector")'
                )
    for ref in cfg.service.extensions:
        if ref not in c[Kind.EXTENSION]:
            return f'service::extensions: references extension "{ref}" which is not configured'
    for pid, pipe in cfg.service.pipelines.items():
        for ref in pipe.receivers:
            if ref not in c[Kind.RECEIVER] and ref not in c[Kind.CONNECTOR]:
                return f'service::pipelines::{pid}: references receiver "{ref}" which is not configured'
        for ref in pipe.processors:
            if ref not in c[Kind.PROCESSOR]:
                return f'service::pipelines::{pid}: references processor "{ref}" which is not configured'
        for ref in pipe.exporters:
            if ref not in c[Kind.EXPORTER] and ref not in c[Kind.CONNECTOR]:
                return f'service::pipelines::{pid}: references exporter "{ref}" which is not configured'
    return None
