"""Collector configurations inside ConfigMaps are checked with the collector's own loader."""

from __future__ import annotations

from pathlib import Path

from flightdeck.lint import Severity, lint_paths

CHALLENGE = Path(__file__).resolve().parents[3] / "shared" / "challenge"


def test_broken_collector_config_is_an_error_with_the_collectors_text() -> None:
    diagnostics = [
        d for d in lint_paths([CHALLENGE / "expert-broken" / "otel"]) if d.severity is Severity.ERROR
    ]
    assert [str(d) for d in diagnostics] == [
        f"{CHALLENGE / 'expert-broken' / 'otel' / 'config.yaml'}:8: error: data.collector-config.yaml: "
        "the OpenTelemetry Collector rejects this configuration and its pod will crash-loop: "
        "invalid configuration: no receiver configuration specified in config"
    ]


def test_fixed_collector_config_passes() -> None:
    assert not [d for d in lint_paths([CHALLENGE / "expert-solved" / "otel"]) if d.severity is Severity.ERROR]


def test_unknown_component_is_reported(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  config.yaml: |\n"
        "    receivers:\n      nope: {}\n    exporters:\n      debug: {}\n"
        "    service:\n      pipelines:\n        traces:\n          receivers: [nope]\n          exporters: [debug]\n"
    )
    [diag] = lint_paths([tmp_path])
    assert diag.severity is Severity.ERROR
    assert "unknown type" in diag.message and '"nope"' in diag.message


def test_core_kinds_get_the_api_servers_checks_and_unsupported_field_warnings(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 1\n"
        "  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n"
        "    spec:\n      nodeSelector: {a: b}\n      containers:\n        - name: x\n          image: busybox\n"
        "          bogus: 1\n"
    )
    found = [(d.line, d.severity, d.path) for d in lint_paths([tmp_path])]
    assert (13, Severity.WARNING, "spec.template.spec.nodeSelector") in found
    assert any(line == 17 and sev is Severity.ERROR for line, sev, _ in found)
