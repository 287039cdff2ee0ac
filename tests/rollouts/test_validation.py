"""InvalidSpec texts (Kubernetes field errors as Argo's validation produces them) and "not supported"."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.rollouts.templates import make_lookup
from flightdeck.rollouts.validation import not_supported, reference_errors, spec_errors
from tests.rollouts import manifests as m


def first(ro: dict[str, Any]) -> str:
    errors = spec_errors(ro)
    return errors[0] if errors else ""


def test_selector_must_match_template_labels() -> None:
    ro = m.rollout()
    ro["spec"]["template"]["metadata"]["labels"] = {"app": "doesnt-match"}
    assert first(ro) == (
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"doesnt-match"}: '
        "`selector` does not match template `labels`"
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda ro: ro["spec"].pop("selector"),
            "spec.selector: Required value: Rollout has missing field '.spec.selector'",
        ),
        (
            lambda ro: ro["spec"].update(selector={}),
            "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},MatchExpressions:"
            "[]LabelSelectorRequirement{},}: empty selector is invalid for deployment",
        ),
        (
            lambda ro: ro["spec"].update(replicas=-1),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            lambda ro: ro["spec"].update(minReadySeconds=700),
            "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
        ),
        (
            lambda ro: ro["spec"].update(strategy={}),
            "spec.strategy.strategy: Required value: Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
        ),
        (
            lambda ro: ro["spec"]["strategy"]["canary"].update(maxSurge=0, maxUnavailable="0%"),
            "spec.strategy.maxSurge: Invalid value: 0: MaxSurge and MaxUnavailable both can not be zero",
        ),
        (
            lambda ro: ro["spec"]["strategy"]["canary"]["steps"].append({"pause": {"duration": "-5s"}}),
            "spec.strategy.steps[3].pause.duration: Invalid value: -5: Duration needs to be greater than 0",
        ),
        (
            lambda ro: ro["spec"]["strategy"]["canary"]["steps"].append({"setWeight": 10, "pause": {}}),
            'spec.strategy.steps[3]: Invalid value: "step.Experiment: false step.Pause: true step.SetWeight: true '
            'step.Analysis: false": Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause',
        ),
        (
            lambda ro: ro["spec"]["strategy"]["canary"].update(dynamicStableScale=True),
            "spec.strategy.dynamicStableScale: Invalid value: true: Canary dynamicStableScale can only be used with traffic routing",
        ),
    ],
)
def test_spec_errors(change: Any, error: str) -> None:
    ro = m.rollout()
    change(ro)
    assert first(ro) == error


def test_valid_rollout_has_no_errors() -> None:
    assert spec_errors(m.rollout()) == []
    assert not_supported(m.rollout()) is None


def test_inline_analysis_must_finish() -> None:
    lookup = make_lookup([m.error_rate_template(interval="1m")])
    assert reference_errors(m.rollout(), lookup) == [
        'spec.strategy.canary.steps[2].analysis.templates: Invalid value: "error-rate": AnalysisTemplate error-rate has '
        "metric error-rate which runs indefinitely. Invalid value for count: %!s(<nil>)"
    ]


def test_background_analysis_needs_its_args() -> None:
    template = m.error_rate_template(interval="1m")
    template["spec"]["args"] = [{"name": "service"}]
    ro = m.rollout(steps=[{"setWeight": 50}], analysis={"templates": [{"templateName": "error-rate"}]})
    errors = reference_errors(ro, make_lookup([template]))
    assert errors[0].endswith("args.service was not resolved")
    ro["spec"]["strategy"]["canary"]["analysis"]["args"] = [{"name": "service", "value": "api"}]
    assert reference_errors(ro, make_lookup([template])) == []


def test_cluster_templates_and_nested_templates() -> None:
    inner = m.error_rate_template("inner")
    inner["kind"] = "ClusterAnalysisTemplate"
    inner["metadata"]["namespace"] = ""
    outer = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "outer", "namespace": "default"},
        "spec": {"templates": [{"templateName": "inner", "clusterScope": True}]},
    }
    ro = m.rollout(steps=[{"analysis": {"templates": [{"templateName": "outer"}]}}])
    assert reference_errors(ro, make_lookup([outer, inner])) == []
    assert reference_errors(ro, make_lookup([outer])) == [
        "spec.strategy.canary.steps[0].analysis.templates: Invalid value: \"inner\": ClusterAnalysisTemplate 'inner' not found"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trafficRouting", {"nginx": {}}),
        ("canaryService", "canary"),
        ("canaryMetadata", {"labels": {"a": "b"}}),
    ],
)
def test_not_supported(field: str, value: Any) -> None:
    ro = m.rollout(**{field: value})
    assert (not_supported(ro) or "").startswith(f"not supported: spec.strategy.canary.{field}")


def test_blue_green_is_not_supported() -> None:
    ro = m.rollout()
    ro["spec"]["strategy"] = {"blueGreen": {"activeService": "a"}}
    assert (not_supported(ro) or "").startswith("not supported: spec.strategy.blueGreen")
