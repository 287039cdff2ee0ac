"""The Rollout's AnalysisRuns: inline step runs, the background run, termination, history limits and the
status events (Argo's rollout/analysis.go and utils/analysis)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.analysis.args import ArgumentError, build_rollout_args
from flightdeck.kube.actions import Obj
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.context import Pass, ReconcileError, pause_condition
from flightdeck.rollouts.objutil import (
    annotations_of,
    as_int,
    controller_uid,
    created_at,
    deleting,
    labels_of,
    name_of,
    pod_hash,
    spec_of,
    status_of,
)
from flightdeck.rollouts.steps import before_starting_step, current_step
from flightdeck.rollouts.templates import (
    RolloutAnalysisRef,
    RunCreationError,
    TemplateNotFound,
    background_ref,
    new_run_spec,
    resolve_templates,
    step_ref,
)

_COMPLETED = frozenset({"Successful", "Failed", "Error", "Inconclusive"})
_UNSUCCESSFUL = frozenset({"Failed", "Error", "Inconclusive"})


def phase_of(ar: Mapping[str, Any] | None) -> str:
    return "" if ar is None else str(status_of(ar).get("phase") or "")


def completed(ar: Mapping[str, Any] | None) -> bool:
    return phase_of(ar) in _COMPLETED


def run_status(ar: Mapping[str, Any]) -> dict[str, Any]:
    """A ``RolloutAnalysisRunStatus``: name, status (always), message (when set)."""
    out: dict[str, Any] = {"name": name_of(ar), "status": phase_of(ar)}
    message = status_of(ar).get("message")
    if message:
        out["message"] = str(message)
    return out


def partition(p: Pass) -> None:
    """``FilterCurrentRolloutAnalysisRuns``: the runs the status names as current, and the others."""
    canary = status_of(p.ro).get("canary") or {}
    step_name = (canary.get("currentStepAnalysisRunStatus") or {}).get("name", "")
    background_name = (canary.get("currentBackgroundAnalysisRunStatus") or {}).get("name", "")
    for ar in p.analysis_runs:
        if name_of(ar) == step_name:
            p.current_step_ar = ar
        elif name_of(ar) == background_name:
            p.current_background_ar = ar
        else:
            p.other_ars.append(ar)


def set_current(p: Pass, step_ar: Obj | None, background_ar: Obj | None) -> None:
    """``SetCurrentAnalysisRuns``: record the current runs in the status being built."""
    canary = p.new_status.setdefault("canary", {})
    if background_ar is not None:
        canary["currentBackgroundAnalysisRunStatus"] = run_status(background_ar)
    if step_ar is not None:
        canary["currentStepAnalysisRunStatus"] = run_status(step_ar)


def cancel(p: Pass, runs: Sequence[Obj | None]) -> None:
    """Terminate runs that are still going (``spec.terminate: true``)."""
    for ar in runs:
        if ar is not None and not spec_of(ar).get("terminate") and not completed(ar):
            p.terminate_ar(ar)


def _needs_new(p: Pass, current: Obj | None) -> bool:
    if current is None:
        return True
    status = status_of(p.ro)
    if (
        status.get("controllerPause")
        and pause_condition(p.ro, c.PAUSE_CANARY_STEP) is None
        and pause_condition(p.ro, c.PAUSE_BLUE_GREEN) is None
    ):
        return phase_of(current) == "Inconclusive"
    return status.get("abortedAt") is not None


def _react(p: Pass, current: Obj, failure_prefix: str) -> None:
    phase = phase_of(current)
    if phase == "Inconclusive":
        p.pause.add_reasons.append(c.PAUSE_INCONCLUSIVE_ANALYSIS)
    elif phase in ("Error", "Failed"):
        message = failure_prefix
        if status_of(current).get("message"):
            message += ": " + str(status_of(current)["message"])
        p.pause.add_abort_with(message)


def _step_run(p: Pass) -> Obj | None:
    """``reconcileStepBasedAnalysisRun``."""
    step, index = current_step(p.ro)
    current = p.current_step_ar
    status = status_of(p.ro)
    if status.get("pauseConditions") or status.get("abort"):
        return current
    analysis = step.get("analysis") if step is not None else None
    from_previous_step = (
        isinstance(analysis, Mapping)
        and current is not None
        and labels_of(current).get(c.STEP_INDEX_LABEL) != str(index)
    )
    if (
        not isinstance(analysis, Mapping)
        or not analysis.get("templates")
        or index is None
        or from_previous_step
    ):
        cancel(p, [current])
        return None
    if _needs_new(p, current):
        ref = step_ref(p.ro, index)
        assert ref is not None
        labels = {
            c.POD_TEMPLATE_HASH_LABEL: pod_hash(p.new_rs),
            c.ROLLOUT_TYPE_LABEL: c.ROLLOUT_TYPE_STEP,
            c.STEP_INDEX_LABEL: str(index),
        }
        return create_run(p, ref, str(index), labels)
    assert current is not None
    _react(p, current, c.STEP_ANALYSIS_FAILED)
    return current


def _background_run(p: Pass) -> Obj | None:
    """``reconcileBackgroundAnalysisRun``."""
    current = p.current_background_ar
    ref = background_ref(p.ro)
    if ref is None or not ref.templates:
        cancel(p, [current])
        return None
    status = status_of(p.ro)
    stable, current_hash = status.get("stableRS") or "", status.get("currentPodHash") or ""
    if stable == current_hash or not stable or not current_hash or before_starting_step(p.ro):
        return None
    if pause_condition(p.ro, c.PAUSE_INCONCLUSIVE_ANALYSIS) is not None:
        return current
    if _needs_new(p, current):
        labels = {
            c.POD_TEMPLATE_HASH_LABEL: pod_hash(p.new_rs),
            c.ROLLOUT_TYPE_LABEL: c.ROLLOUT_TYPE_BACKGROUND,
        }
        return create_run(p, ref, "", labels)
    assert current is not None
    _react(p, current, c.BACKGROUND_ANALYSIS_FAILED)
    return current


def _semantic_spec(spec: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(spec.get(k) or [] for k in ("metrics", "dryRun", "measurementRetention", "args"))


def create_run(p: Pass, ref: RolloutAnalysisRef, infix: str, labels: dict[str, str]) -> Obj:
    """``createAnalysisRun``: ``<rollout>-<podHash>-<revision>[-<infix>]``, ``.1``, ``.2`` on name collisions."""
    try:
        args = build_rollout_args(
            ref.args, p.ro, stable_hash=pod_hash(p.stable_rs), latest_hash=pod_hash(p.new_rs)
        )
    except ArgumentError as exc:
        raise ReconcileError(str(exc)) from None
    new_hash = pod_hash(p.new_rs)
    if not new_hash:
        raise ReconcileError(f"Latest ReplicaSet '{name_of(p.new_rs or {})}' has no pod hash in the labels")
    revision = str(annotations_of(p.ro).get(c.REVISION_ANNOTATION) or "")
    base = "-".join([name_of(p.ro), new_hash, revision, *([infix] if infix else [])])
    try:
        templates = resolve_templates(ref.templates, p.ro, p.lookup)
        spec = new_run_spec(templates, args, ref.dry_run, ref.measurement_retention)
    except (TemplateNotFound, RunCreationError) as exc:
        raise ReconcileError(str(exc)) from None
    metadata = ref.run_metadata if isinstance(ref.run_metadata, Mapping) else {}
    run_labels = {
        **labels,
        **(metadata.get("labels") or {}),
        **((spec_of(p.ro).get("selector") or {}).get("matchLabels") or {}),
    }
    run_annotations = {c.REVISION_ANNOTATION: revision, **(metadata.get("annotations") or {})}
    name, collision = base, 1
    while name in p.namespace_ar_names:
        existing = next((ar for ar in p.analysis_runs if name_of(ar) == name), None)
        if (
            existing is not None
            and not completed(existing)
            and _semantic_spec(spec_of(existing)) == _semantic_spec(spec)
            and controller_uid(existing) == p.uid
        ):
            return existing  # our own run, seen again (Argo: stale informer cache)
        name = f"{base}.{collision}"
        collision += 1
    run: Obj = {
        "apiVersion": c.API_VERSION,
        "kind": "AnalysisRun",
        "metadata": {
            "name": name,
            "namespace": p.namespace,
            "labels": run_labels,
            "annotations": run_annotations,
            "ownerReferences": [p.owner_ref()],
        },
        "spec": spec,
    }
    p.create_ar(run)
    return run


def runs_to_delete(
    runs: Sequence[Obj], all_rss: Sequence[Obj], keep_successful: int, keep_unsuccessful: int
) -> list[Obj]:
    """``FilterAnalysisRunsToDelete``: runs of vanished ReplicaSets, and old runs beyond the history limits."""
    rs_deleting: dict[str, bool] = {}
    for rs in all_rss:
        if c.POD_TEMPLATE_HASH_LABEL in labels_of(rs):
            rs_deleting[labels_of(rs)[c.POD_TEMPLATE_HASH_LABEL]] = deleting(rs)
    kept_successful = kept_unsuccessful = 0
    out: list[Obj] = []
    for ar in sorted(runs, key=created_at, reverse=True):
        labels = labels_of(ar)
        if c.POD_TEMPLATE_HASH_LABEL not in labels or rs_deleting.get(
            labels[c.POD_TEMPLATE_HASH_LABEL], True
        ):
            out.append(ar)
            continue
        phase = phase_of(ar)
        if phase == "Successful":
            if kept_successful < keep_successful:
                kept_successful += 1
            else:
                out.append(ar)
        elif phase in _UNSUCCESSFUL:
            if kept_unsuccessful < keep_unsuccessful:
                kept_unsuccessful += 1
            else:
                out.append(ar)
    return out


def _emit_change(p: Pass, previous: Mapping[str, Any] | None, ar: Obj | None, kind: str) -> None:
    phase = phase_of(ar)
    if ar is None or not phase:
        return
    if previous is None or (previous.get("name") == name_of(ar) and previous.get("status") != phase):
        before = "NoPreviousStatus" if previous is None else str(previous.get("status") or "")
        p.event(
            "AnalysisRun" + phase,
            f"{kind} Analysis Run '{name_of(ar)}' Status New: '{phase}' Previous: '{before}'",
            warning=phase in ("Failed", "Error"),
        )


def reconcile_analysis_runs(p: Pass) -> None:
    """``reconcileAnalysisRuns``: run, react to, terminate and garbage-collect the Rollout's runs."""
    status = status_of(p.ro)
    new_hash_has_deadline = bool(
        p.new_rs is not None
        and (p.new_rs.get("metadata") or {}).get("annotations", {}).get(c.SCALE_DOWN_DEADLINE_ANNOTATION)
    )
    if (
        p.pause.is_aborted()
        or status.get("promoteFull")
        or new_hash_has_deadline
        or not status.get("stableRS")
    ):
        set_current(p, p.current_step_ar, p.current_background_ar)
        cancel(p, [p.current_step_ar, p.current_background_ar, *p.other_ars])
        return
    step_ar = _step_run(p)
    background_ar = _background_run(p)
    set_current(p, step_ar, background_ar)
    current_names = {name_of(ar) for ar in (step_ar, background_ar) if ar is not None}
    others = [ar for ar in p.other_ars if name_of(ar) not in current_names]
    cancel(p, others)
    limits = spec_of(p.ro).get("analysis") or {}
    for ar in runs_to_delete(
        others,
        p.all_rss,
        as_int(limits.get("successfulRunHistoryLimit"), c.DEFAULT_SUCCESSFUL_RUN_HISTORY_LIMIT),
        as_int(limits.get("unsuccessfulRunHistoryLimit"), c.DEFAULT_UNSUCCESSFUL_RUN_HISTORY_LIMIT),
    ):
        if not deleting(ar):
            p.delete("AnalysisRun", ar)
    previous = status.get("canary") or {}
    _emit_change(p, previous.get("currentStepAnalysisRunStatus"), step_ar, c.ROLLOUT_TYPE_STEP)
    _emit_change(
        p, previous.get("currentBackgroundAnalysisRunStatus"), background_ar, c.ROLLOUT_TYPE_BACKGROUND
    )
