"""Spec §9 (CV-01 … CV-25): config → the exact text otelcol v0.142 prints after ``Error: ``.

Texts are checked against the v0.142 sources. One deliberate difference from the spec's wording: the
decoding errors read ``'receivers' unknown type: …`` (go-viper/mapstructure v2.4.0's DecodeError
format, the version otelcol v0.142 builds with), not the older ``error decoding 'receivers': …``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from flightdeck.collector.component import ComponentID, Kind, Signal, Stability, default_registry
from flightdeck.collector.errors import ConfigError
from flightdeck.collector.service import Collector, load_config, validate_config

BASE: dict[str, Any] = yaml.safe_load(
    """
receivers: {otlp: {protocols: {http: {endpoint: 0.0.0.0:4318}}}}
connectors: {spanmetrics: {dimensions: [{name: hotrod.namespace}]}}
exporters: {debug: {}, prometheus: {endpoint: "0.0.0.0:8889"}, otlp: {endpoint: "jaeger:4317", tls: {insecure: true}}}
extensions: {health_check: {endpoint: 0.0.0.0:13133}}
service:
  extensions: [health_check]
  pipelines:
    traces:  {receivers: [otlp], exporters: [debug, otlp, spanmetrics]}
    metrics: {receivers: [spanmetrics], exporters: [debug, prometheus]}
"""
)

UNMARSHAL = "failed to get config: cannot unmarshal the configuration: decoding failed due to the following error(s):\n\n"


def run_error(cfg: dict[str, Any] | str) -> str | None:
    """What ``flightdeck collector --config`` reports (load → validate → build), or None when it would run."""
    text = cfg if isinstance(cfg, str) else yaml.safe_dump(cfg)
    try:
        Collector.from_text(text, default_registry(), env={})
    except ConfigError as exc:
        return str(exc)
    return None


def validate_error(cfg: dict[str, Any]) -> str | None:
    """What ``flightdeck collector validate`` reports (DryRun: validation errors unprefixed)."""
    try:
        validate_config(load_config(yaml.safe_dump(cfg), default_registry(), env={}))
    except ConfigError as exc:
        return str(exc)
    return None


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def test_base_is_valid() -> None:
    assert run_error(base()) is None
    assert validate_error(base()) is None


def _cv01() -> dict[str, Any]:
    c = base()
    c["receivers"] = None
    return c


def _cv02() -> dict[str, Any]:
    c = base()
    c["exporters"] = {}
    return c


def _cv03() -> dict[str, Any]:
    return {"service": base()["service"]}


def _cv04() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["traces"]["receivers"] = ["otlp", "jaeger"]
    return c


def _cv05() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["metrics"]["exporters"] = ["prometheus2"]
    return c


def _cv06() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["traces"]["processors"] = ["batch"]
    return c


def _cv07() -> dict[str, Any]:
    c = base()
    del c["service"]["pipelines"]["metrics"]
    return c


def _cv08() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["traces"]["exporters"] = ["debug", "otlp"]
    return c


def _cv09() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["traces/out"] = c["service"]["pipelines"].pop("metrics")
    c["service"]["pipelines"]["traces/out"]["exporters"] = ["debug"]
    return c


def _cv12() -> dict[str, Any]:
    c = base()
    c["service"] = {"extensions": ["health_check"]}
    return c


def _cv13() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["metrics"]["receivers"] = []
    return c


def _cv14() -> dict[str, Any]:
    c = base()
    c["service"]["extensions"] = ["zpages"]
    return c


def _cv17() -> dict[str, Any]:
    c = base()
    c["receivers"] = {"otlp": {}}
    return c


def _cv18() -> dict[str, Any]:
    c = base()
    c["connectors"]["spanmetrics"]["dimensions"] = [{"name": "service.name"}]
    return c


def _cv19() -> dict[str, Any]:
    c = base()
    c["connectors"]["spanmetrics"]["histogram"] = {"explicit": {}, "exponential": {}}
    return c


def _cv21() -> dict[str, Any]:
    c = base()
    c["exporters"]["otlp"] = {}
    return c


def _cv22() -> dict[str, Any]:
    c = base()
    c["service"]["pipelines"]["traces"]["exporters"].append("prometheus")
    return c


def _cv24() -> dict[str, Any]:
    c = base()
    c["receivers"] = None
    c["service"]["pipelines"]["metrics"]["receivers"] = []
    return c


def _cv25() -> dict[str, Any]:
    c = base()
    c["processors"] = {"batch": {}}
    c["service"]["pipelines"]["traces"]["processors"] = ["batch", "batch"]
    return c


EXACT = [
    ("CV-01", _cv01, "invalid configuration: no receiver configuration specified in config"),
    ("CV-02", _cv02, "invalid configuration: no exporter configuration specified in config"),
    ("CV-03", _cv03, "invalid configuration: empty configuration file"),
    (
        "CV-04",
        _cv04,
        'invalid configuration: service::pipelines::traces: references receiver "jaeger" which is not configured',
    ),
    (
        "CV-05",
        _cv05,
        'invalid configuration: service::pipelines::metrics: references exporter "prometheus2" which is not configured',
    ),
    (
        "CV-06",
        _cv06,
        'invalid configuration: service::pipelines::traces: references processor "batch" which is not configured',
    ),
    (
        "CV-07",
        _cv07,
        'failed to build pipelines: connector "spanmetrics" used as exporter in [traces] pipeline '
        "but not used in any supported receiver pipeline",
    ),
    (
        "CV-08",
        _cv08,
        'failed to build pipelines: connector "spanmetrics" used as receiver in [metrics] pipeline '
        "but not used in any supported exporter pipeline",
    ),
    (
        "CV-09",
        _cv09,
        'failed to build pipelines: connector "spanmetrics" used as exporter in [traces] pipeline '
        "but not used in any supported receiver pipeline",
    ),
    ("CV-12", _cv12, "invalid configuration: service::pipelines: service must have at least one pipeline"),
    ("CV-13", _cv13, "invalid configuration: service::pipelines::metrics: must have at least one receiver"),
    (
        "CV-14",
        _cv14,
        'invalid configuration: service::extensions: references extension "zpages" which is not configured',
    ),
    (
        "CV-17",
        _cv17,
        "invalid configuration: receivers::otlp: must specify at least one protocol when using the OTLP receiver",
    ),
    (
        "CV-18",
        _cv18,
        "invalid configuration: connectors::spanmetrics: failed validating dimensions: "
        "duplicate dimension name service.name",
    ),
    (
        "CV-19",
        _cv19,
        "invalid configuration: connectors::spanmetrics: use either `explicit` or `exponential` buckets histogram",
    ),
    ("CV-21", _cv21, 'invalid configuration: exporters::otlp: requires a non-empty "endpoint"'),
    (
        "CV-22",
        _cv22,
        'failed to build pipelines: failed to create "prometheus" exporter for data type "traces": '
        "telemetry type is not supported",
    ),
    (
        "CV-24",
        _cv24,
        "invalid configuration: no receiver configuration specified in config\n"
        "service::pipelines::metrics: must have at least one receiver",
    ),
    (
        "CV-25",
        _cv25,
        'invalid configuration: service::pipelines::traces: references processor "batch" multiple times',
    ),
]


@pytest.mark.parametrize(("name", "make", "expected"), EXACT, ids=[e[0] for e in EXACT])
def test_exact_vectors(name: str, make: Any, expected: str) -> None:
    assert run_error(make()) == expected


@pytest.mark.parametrize(("name", "make", "expected"), EXACT, ids=[e[0] for e in EXACT])
def test_validate_command_prints_validation_errors_bare(name: str, make: Any, expected: str) -> None:
    """otelcol's DryRun returns xconfmap.Validate's error without ``invalid configuration: ``."""
    assert validate_error(make()) == expected.removeprefix("invalid configuration: ")


def test_cv10_unknown_receiver_type_lists_known_types() -> None:
    c = base()
    c["receivers"]["otlphttp"] = {}
    known = " ".join(default_registry().types(Kind.RECEIVER))
    assert run_error(c) == (
        UNMARSHAL + f'\'receivers\' unknown type: "otlphttp" for id: "otlphttp" (valid values: [{known}])'
    )


def test_cv11_logging_exporter_is_deprecated() -> None:
    c = base()
    c["exporters"]["logging"] = {}
    assert run_error(c) == (
        UNMARSHAL + "'exporters' the logging exporter has been deprecated, use the debug exporter instead"
    )


def test_cv15_empty_name_after_slash() -> None:
    c = base()
    c["receivers"]["otlp/"] = {"protocols": {"http": None}}
    err = run_error(c)
    assert err is not None
    assert 'in "otlp/" id: the part after / should not be empty' in err
    assert err == UNMARSHAL + "'receivers' '' in \"otlp/\" id: the part after / should not be empty"


def test_cv16_unknown_pipeline_signal() -> None:
    c = base()
    c["service"]["pipelines"]["trace"] = c["service"]["pipelines"].pop("traces")
    err = run_error(c)
    assert err == UNMARSHAL + '\'service.pipelines\' in "trace" id: unknown pipeline signal: "trace"'


def test_cv20_bad_histogram_unit_is_a_decoding_error() -> None:
    c = base()
    c["connectors"]["spanmetrics"]["histogram"] = {"unit": "h"}
    err = run_error(c)
    assert err is not None
    assert err.startswith(UNMARSHAL + "'connectors' error reading configuration for \"spanmetrics\": ")
    assert 'unknown Unit "h", allowed units are "ms" and "s"' in err


CV23 = """receivers:
  otlp:
    protocols:
      http:
  otlp:
    protocols:
      grpc:
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
"""


def test_cv23_duplicate_yaml_key() -> None:
    assert run_error(CV23) == (
        "failed to get config: cannot resolve the configuration: retrieved value (type=string) cannot be used "
        "as a Conf: assuming string type since contents are not valid YAML: yaml: unmarshal errors:\n"
        '  line 5: mapping key "otlp" already defined at line 2'
    )


def test_unknown_top_level_key_and_component_key() -> None:
    c = base()
    c["unknown_section"] = {}
    assert run_error(c) == UNMARSHAL + "'' has invalid keys: unknown_section"
    c = base()
    c["receivers"]["otlp"]["protocols"]["http"]["bogus"] = 1
    assert run_error(c) == (
        UNMARSHAL
        + "'receivers' error reading configuration for \"otlp\": decoding failed due to the following "
        "error(s):\n\n'protocols.http' has invalid keys: bogus"
    )


class _ForwardFactory:
    """Test double: a traces→traces connector named like an exporter type, to reach graph rules."""

    def __init__(self, type_name: str) -> None:
        self.type = type_name
        self.kind = Kind.CONNECTOR
        self.pairs = {(Signal.TRACES, Signal.TRACES): Stability.DEVELOPMENT}

    def default_config(self) -> dict[str, Any]:
        return {}

    def load_config(self, raw: Any) -> dict[str, Any]:
        return dict(raw or {})

    def validate(self, cfg: Any) -> list[str]:
        return []

    def create_connector(self, settings: Any, cfg: Any, frm: Any, to: Any, nxt: Any) -> Any:
        return nxt


def _registry_with(type_name: str) -> Any:
    reg = default_registry()
    reg.register(_ForwardFactory(type_name))  # type: ignore[arg-type]
    return reg


def test_ambiguous_connector_id() -> None:
    text = """
receivers: {otlp: {protocols: {http: }}}
exporters: {debug: {}}
connectors: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
"""
    with pytest.raises(ConfigError) as err:
        Collector.from_text(text, _registry_with("debug"), env={})
    assert str(err.value) == (
        'invalid configuration: connectors::debug: ambiguous ID: Found both "debug" exporter and "debug" connector. '
        'Change one of the components\' IDs to eliminate ambiguity (e.g. rename "debug" connector to '
        '"debug/connector")'
    )


def test_cycle_detected() -> None:
    text = """
receivers: {otlp: {protocols: {http: }}}
processors: {batch: {}}
exporters: {debug: {}}
connectors: {forward: {}}
service:
  pipelines:
    traces: {receivers: [otlp, forward], processors: [batch], exporters: [forward, debug]}
"""
    with pytest.raises(ConfigError) as err:
        Collector.from_text(text, _registry_with("forward"), env={})
    assert str(err.value) == (
        'failed to build pipelines: cycle detected: connector "forward" (traces to traces) -> '
        'processor "batch" in pipeline "traces" -> connector "forward" (traces to traces)'
    )


def test_env_expansion_in_endpoint() -> None:
    c = base()
    c["exporters"]["otlp"]["endpoint"] = "${env:JAEGER}:4317"
    text = yaml.safe_dump(c)
    cfg = load_config(text, default_registry(), env={"JAEGER": "jaeger.example"})
    assert cfg.components[Kind.EXPORTER][ComponentID("otlp")].endpoint == "jaeger.example:4317"
