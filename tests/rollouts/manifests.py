"""Rollout and AnalysisTemplate objects for the controller tests (spec §8.5's rollout)."""

from __future__ import annotations

import copy
from typing import Any

from flightdeck.kube.actions import Obj


def rollout(
    *,
    name: str = "demo",
    replicas: int | None = 2,
    image: str = "example/app:v1",
    steps: list[dict[str, Any]] | None = None,
    spec_fields: dict[str, Any] | None = None,
    **canary: Any,
) -> Obj:
    """The §8.5 Rollout; ``spec_fields`` go to ``spec``, other keywords to ``spec.strategy.canary``."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image}]},
        },
        "strategy": {
            "canary": {
                "steps": copy.deepcopy(
                    steps
                    if steps is not None
                    else [
                        {"setWeight": 50},
                        {"pause": {"duration": "30s"}},
                        {"analysis": {"templates": [{"templateName": "error-rate"}]}},
                    ]
                ),
                **canary,
            }
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    spec.update(copy.deepcopy(spec_fields or {}))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def error_rate_template(name: str = "error-rate", **metric: Any) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "metrics": [
                {
                    "name": "error-rate",
                    "successCondition": "result[0] < 0.05",
                    "provider": {
                        "prometheus": {"address": "http://prometheus:9090", "query": "sum(rate(errors[2m]))"}
                    },
                    **metric,
                }
            ]
        },
    }


def with_image(obj: Obj, image: str) -> Obj:
    out = copy.deepcopy(obj)
    out["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return out
