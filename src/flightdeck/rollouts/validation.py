"""Rollout spec validation as the controller does it (Argo's pkg/apis/rollouts/validation), with Kubernetes
``field.Error`` texts, plus the constructs flightdeck does not run ("not supported: ...").

The controller reports the first problem as ``The Rollout "<name>" is invalid: <error>`` in an InvalidSpec
condition (phase Degraded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.analysis.args import ArgumentError, build_rollout_args, extract_metadata_field, resolve_metric
from flightdeck.analysis.factory import RunCreationError
from flightdeck.analysis.types import Argument, Metric
from flightdeck.rollouts.objutil import as_int, selector_matches, spec_of
from flightdeck.rollouts.replicas import surge_setting, unavailable_setting
from flightdeck.rollouts.steps import canary_of, pause_duration_seconds, steps_of
from flightdeck.rollouts.templates import (
    RolloutAnalysisRef,
    TemplateLookup,
    TemplateNotFound,
    analysis_refs,
    new_run_spec,
    resolve_templates,
)
from flightdeck.util.gofmt import go_quote

MAX_WEIGHT = 100


class Shown(str):
    """A bad value already printed the way Go prints it (a ``fmt.Stringer`` or ``%#v`` of a struct)."""


def invalid(path: str, value: Any, detail: str) -> str:
    """``field.Invalid(path, value, detail).Error()``: strings quoted, numbers and booleans plain."""
    if isinstance(value, Shown):
        shown = str(value)
    elif isinstance(value, str):
        shown = go_quote(value)
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    elif value is None:
        shown = "null"
    else:
        shown = str(value)
    return f"{path}: Invalid value: {shown}: {detail}" if detail else f"{path}: Invalid value: {shown}"


def required(path: str, detail: str = "") -> str:
    return f"{path}: Required value: {detail}" if detail else f"{path}: Required value"


def _go_map(labels: Mapping[str, Any]) -> str:
    """``%#v`` of a ``map[string]string`` (keys sorted, as fmt prints maps)."""
    return (
        "map[string]string{"
        + ", ".join(f"{go_quote(k)}:{go_quote(str(labels[k]))}" for k in sorted(labels))
        + "}"
    )


def _percent_or_int(value: Any) -> int:
    """validation's ``getIntOrPercentValue``: "N%" is N, any other string goes through IntValue (Atoi or 0)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    body = text[:-1] if text.endswith("%") else text
    return int(body) if body.isascii() and body.isdigit() else 0


def spec_errors(rollout: Mapping[str, Any]) -> list[str]:
    """``ValidateRolloutSpec`` (the rules that apply to a canary Rollout without a traffic router)."""
    spec = spec_of(rollout)
    errors: list[str] = []
    replicas = as_int(spec.get("replicas"), 1)
    if replicas < 0:
        errors.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    raw_template = spec.get("template")
    template: Mapping[str, Any] = raw_template if isinstance(raw_template, Mapping) else {}
    if spec.get("workloadRef") is None:
        if not isinstance(selector, Mapping):
            errors.append(required("spec.selector", "Rollout has missing field '.spec.selector'"))
        elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errors.append(
                invalid(
                    "spec.selector",
                    Shown(
                        "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}"
                    ),
                    "empty selector is invalid for deployment",
                )
            )
        else:
            labels = (template.get("metadata") or {}).get("labels") or {}
            if not selector_matches(selector, labels):
                errors.append(
                    f"spec.template.metadata.labels: Invalid value: {_go_map(labels)}: "
                    "`selector` does not match template `labels`"
                )
            if not (template.get("spec") or {}).get("containers"):
                errors.append(required("spec.template.spec.containers"))
    min_ready = as_int(spec.get("minReadySeconds"))
    if min_ready < 0:
        errors.append(invalid("spec.minReadySeconds", min_ready, "must be greater than or equal to 0"))
    history = as_int(spec.get("revisionHistoryLimit"), 10)
    if history < 0:
        errors.append(invalid("spec.revisionHistoryLimit", history, "must be greater than or equal to 0"))
    deadline = as_int(spec.get("progressDeadlineSeconds"), 600)
    if deadline < 0:
        errors.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than or equal to 0"))
    if deadline <= min_ready:
        errors.append(
            invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
        )
    errors.extend(_strategy_errors(rollout))
    return errors


def _strategy_errors(rollout: Mapping[str, Any]) -> list[str]:
    strategy = spec_of(rollout).get("strategy") or {}
    blue_green, canary = strategy.get("blueGreen"), strategy.get("canary")
    if blue_green is None and canary is None:
        return [
            required(
                "spec.strategy.strategy",
                "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
            )
        ]
    if blue_green is not None and canary is not None:
        return [
            invalid(
                "spec.strategy.strategy",
                "blueGreen: true canary: true",
                "Multiple Strategies can not be listed",
            )
        ]
    if canary is None:
        return []
    errors: list[str] = []
    path = "spec.strategy"
    if _percent_or_int(surge_setting(canary)) == 0 and _percent_or_int(unavailable_setting(canary)) == 0:
        errors.append(
            invalid(
                f"{path}.maxSurge",
                Shown(str(canary.get("maxSurge"))),
                "MaxSurge and MaxUnavailable both can not be zero",
            )
        )
    if canary.get("canaryService") and canary.get("canaryService") == canary.get("stableService"):
        errors.append(
            invalid(
                f"{path}.stableService",
                canary.get("stableService"),
                "This rollout uses the same service for the stable and canary services, but two different services are required.",
            )
        )
    routed = canary.get("trafficRouting") is not None
    if not routed:
        if canary.get("scaleDownDelaySeconds") is not None:
            errors.append(
                invalid(
                    f"{path}.scaleDownDelaySeconds",
                    as_int(canary["scaleDownDelaySeconds"]),
                    "Canary scaleDownDelaySeconds can only be used with traffic routing",
                )
            )
        if canary.get("dynamicStableScale"):
            errors.append(
                invalid(
                    f"{path}.dynamicStableScale",
                    True,
                    "Canary dynamicStableScale can only be used with traffic routing",
                )
            )
    for i, step in enumerate(steps_of(rollout)):
        errors.extend(_step_errors(rollout, canary, step, f"{path}.steps[{i}]", routed))
    return errors


_STEP_KINDS = (
    "experiment",
    "pause",
    "setWeight",
    "analysis",
    "setCanaryScale",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
)


def _step_errors(
    rollout: Mapping[str, Any], canary: Mapping[str, Any], step: Mapping[str, Any], path: str, routed: bool
) -> list[str]:
    errors: list[str] = []
    present = {k: step.get(k) is not None for k in _STEP_KINDS}
    if sum(present[k] for k in ("setWeight", "pause", "experiment", "analysis")) > 1:
        errors.append(
            invalid(
                path,
                f"step.Experiment: {_b(present['experiment'])} step.Pause: {_b(present['pause'])} "
                f"step.SetWeight: {_b(present['setWeight'])} step.Analysis: {_b(present['analysis'])}",
                "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause",
            )
        )
    if not any(present.values()):
        value = " ".join(f"step.{_go_name(k)}: {_b(not present[k])}" for k in _STEP_KINDS)
        errors.append(
            invalid(
                path,
                value,
                "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause",
            )
        )
    weight = step.get("setWeight")
    if weight is not None and not 0 <= as_int(weight) <= MAX_WEIGHT:
        errors.append(
            invalid(f"{path}.setWeight", as_int(weight), f"SetWeight needs to be between 0 and {MAX_WEIGHT}")
        )
    pause = step.get("pause")
    if isinstance(pause, Mapping) and pause_duration_seconds(pause) < 0:
        errors.append(
            invalid(
                f"{path}.pause.duration", pause_duration_seconds(pause), "Duration needs to be greater than 0"
            )
        )
    if present["setCanaryScale"] and not routed:
        errors.append(
            required("spec.strategy.trafficRouting", "SetCanaryScale requires TrafficRouting to be set")
        )
    if present["setHeaderRoute"] and not routed:
        errors.append(
            invalid(
                f"{path}.setHeaderRoute",
                "",
                "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix",
            )
        )
    if present["setMirrorRoute"] and not routed:
        errors.append(
            invalid(
                f"{path}.setMirrorRoute", "", "SetMirrorRoute requires TrafficRouting, supports Istio only"
            )
        )
    analysis = step.get("analysis")
    if isinstance(analysis, Mapping):
        for arg in analysis.get("args") or ():
            field_ref = (arg.get("valueFrom") or {}).get("fieldRef")
            path_text = str((field_ref or {}).get("fieldPath") or "")
            if field_ref is not None and path_text.startswith("metadata"):
                try:
                    extract_metadata_field(rollout, path_text)
                except ArgumentError:
                    errors.append(
                        invalid(
                            f"{path}.analyses",
                            Shown(_go_args(analysis.get("args") or ())),
                            "Analyses arguments must refer to valid object metadata supported by downwardAPI",
                        )
                    )
    return errors


def _go_args(args: Sequence[Mapping[str, Any]]) -> str:
    """``%#v`` of the step's ``[]AnalysisRunArgument`` (pointers shown without their address)."""
    items = [
        f"v1alpha1.AnalysisRunArgument{{Name:{go_quote(str(a.get('name') or ''))}, Value:{go_quote(str(a.get('value') or ''))}, "
        f"ValueFrom:(*v1alpha1.ArgumentValueFrom)({'nil' if a.get('valueFrom') is None else '...'})}}"
        for a in args
    ]
    return "[]v1alpha1.AnalysisRunArgument{" + ", ".join(items) + "}"


def _b(value: bool) -> str:
    return "true" if value else "false"


def _go_name(key: str) -> str:
    return key[0].upper() + key[1:]


def not_supported(rollout: Mapping[str, Any]) -> str | None:
    """The first construct flightdeck's controller does not run, as a plain "not supported: ..." text."""
    spec = spec_of(rollout)
    if spec.get("workloadRef") is not None:
        return "not supported: spec.workloadRef (flightdeck runs Rollouts that carry their own spec.template)"
    strategy = spec.get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        return "not supported: spec.strategy.blueGreen (flightdeck runs the canary strategy)"
    canary = canary_of(rollout)
    for key, why in (
        ("trafficRouting", "flightdeck runs the basic canary without a traffic router"),
        ("canaryService", "flightdeck does not manage Service selectors; use one Service over all pods"),
        ("stableService", "flightdeck does not manage Service selectors; use one Service over all pods"),
        ("pingPong", "needs a traffic router"),
        ("antiAffinity", "flightdeck runs one node"),
        ("canaryMetadata", "ephemeral pod metadata is not applied"),
        ("stableMetadata", "ephemeral pod metadata is not applied"),
    ):
        if canary.get(key) is not None:
            return f"not supported: spec.strategy.canary.{key} ({why})"
    for i, step in enumerate(steps_of(rollout)):
        for key in ("experiment", "plugin"):
            if step.get(key) is not None:
                return f"not supported: spec.strategy.canary.steps[{i}].{key}"
    if spec.get("rollbackWindow") is not None:
        return "not supported: spec.rollbackWindow"
    return None


# -- referenced AnalysisTemplates (validation_references.go) ----------------------------------------


def _template_names(templates: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    names = [
        name
        for kind, name in ((k, str((t.get("metadata") or {}).get("name") or "")) for k, t in templates)
        if kind == "AnalysisTemplate"
    ]
    names += [
        str((t.get("metadata") or {}).get("name") or "")
        for k, t in templates
        if k == "ClusterAnalysisTemplate"
    ]
    return "templateNames: [" + " ".join(names) + "]"


def reference_errors(rollout: Mapping[str, Any], lookup: TemplateLookup) -> list[str]:
    """``getReferencedRolloutAnalyses`` + ``ValidateAnalysisTemplatesWithType``: missing templates, args that do
    not resolve, and inline metrics that would run forever."""
    errors: list[str] = []
    refs = analysis_refs(rollout)
    for ref in refs:
        try:
            templates = resolve_templates(ref.templates, rollout, lookup)
        except TemplateNotFound as exc:
            return [invalid(ref.field_path, exc.name, str(exc))]
        errors.extend(_templates_errors(rollout, ref, templates, refs))
    return errors


def _dummy_args(ref: RolloutAnalysisRef, rollout: Mapping[str, Any]) -> list[Argument]:
    try:
        return build_rollout_args(
            ref.args, rollout, stable_hash="dummy-stable-hash", latest_hash="dummy-new-hash"
        )
    except ArgumentError:
        # buildAnalysisArgs drops the error: a bad non-metadata fieldRef yields "" at validation time.
        return [
            Argument(str(a.get("name") or ""), "" if a.get("valueFrom") else str(a.get("value") or ""))
            for a in ref.args
        ]


def _templates_errors(
    rollout: Mapping[str, Any],
    ref: RolloutAnalysisRef,
    templates: Sequence[tuple[str, Mapping[str, Any]]],
    refs: Sequence[RolloutAnalysisRef],
) -> list[str]:
    value = _template_names(templates)
    args = _dummy_args(ref, rollout)
    try:
        new_run_spec(templates, args, (), ())
        # Argo checks this template set against the dryRun/retention rules of every inline step.
        for other in refs:
            if other.step_index is not None:
                new_run_spec(templates, args, other.dry_run, other.measurement_retention)
    except RunCreationError as exc:
        return [invalid(ref.field_path, value, str(exc))]
    errors: list[str] = []
    for kind, template in templates:
        name = str((template.get("metadata") or {}).get("name") or "")
        t_spec = template.get("spec") or {}
        t_args = [Argument.from_dict(a) for a in t_spec.get("args") or ()]
        if ref.step_index is not None:
            errors.extend(_inline_template_errors(ref.field_path, name, t_spec, t_args))
        else:
            errors.extend(_background_template_errors(rollout, ref.field_path, name, t_args))
        del kind
    return errors


def _inline_template_errors(path: str, name: str, spec: Mapping[str, Any], args: list[Argument]) -> list[str]:
    placeholder: list[Argument] = []
    for arg in args:
        if arg.value_from is not None and arg.value is not None:
            return [
                invalid(
                    path,
                    name,
                    f"AnalysisTemplate {name}: arg '{arg.name}' has both Value and ValueFrom fields",
                )
            ]
        placeholder.append(Argument(arg.name, "dummy-value" if arg.value is None else arg.value))
    errors: list[str] = []
    for raw in spec.get("metrics") or ():
        try:
            metric = resolve_metric(Metric.from_dict(raw), placeholder)
        except ArgumentError as exc:
            return [invalid(path, name, f"AnalysisTemplate {name}: {exc}")]
        if metric.effective_count() is None:
            count = metric.raw.get("count")
            shown = "%!s(<nil>)" if count is None else str(count)
            errors.append(
                invalid(
                    path,
                    name,
                    f"AnalysisTemplate {name} has metric {metric.name} which runs indefinitely. Invalid value for count: {shown}",
                )
            )
    return errors


def _background_template_errors(
    rollout: Mapping[str, Any], path: str, name: str, args: list[Argument]
) -> list[str]:
    errors: list[str] = []
    background = canary_of(rollout).get("analysis") or {}
    supplied = background.get("args")
    for arg in args:
        if arg.value is not None or arg.value_from is not None:
            continue
        if supplied is None:
            errors.append(invalid(path, name, "missing analysis arguments in rollout spec"))
            continue
        if not any(str(a.get("name") or "") == arg.name for a in supplied):
            errors.append(invalid(path, name, arg.name))
    return errors
