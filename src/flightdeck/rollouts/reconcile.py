"""``reconcile_rollout``: one pass of Argo Rollouts' Rollout controller (v1.9, canary without a traffic router)
as a pure function of the Rollout, what it owns, and the time."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from flightdeck.kube.actions import Obj, Reconciled
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.analysis_runs import partition
from flightdeck.rollouts.canary import rollout_canary
from flightdeck.rollouts.conditions import get_condition, new_condition
from flightdeck.rollouts.context import Pass, ReconcileError
from flightdeck.rollouts.objutil import deleting, meta, name_of, namespace_of, spec_of, status_of
from flightdeck.rollouts.replicasets import (
    classify,
    create_desired_rs,
    find_new_rs,
    is_scaling_event,
    sync_revision,
)
from flightdeck.rollouts.status import check_paused_conditions, sync_replicas_only
from flightdeck.rollouts.templates import TemplateSource, make_lookup
from flightdeck.rollouts.validation import not_supported, reference_errors, spec_errors

# Argo requeues a Rollout with an invalid spec after 20 s (a referenced object may appear meanwhile).
INVALID_SPEC_RETRY_SECONDS = 20.0
# Errors from a pass are retried with back-off in Argo's work queue; one fixed delay here.
ERROR_RETRY_SECONDS = 10.0


def reconcile_rollout(
    rollout: Obj,
    replicasets: Sequence[Obj],
    analysis_runs: Sequence[Obj],
    templates: TemplateSource | None,
    now: float,
    pods: Sequence[Obj] = (),
) -> Reconciled:
    """Reconcile one Rollout.

    ``replicasets``/``analysis_runs``/``pods``: the objects of the Rollout's namespace (owned ones are picked by
    owner reference; orphan ReplicaSets matching the selector are adopted; pods are only needed for
    ``restart``). ``templates``: ``store.get``-like ``(kind, namespace, name) -> obj | None`` or a collection of
    AnalysisTemplate/ClusterAnalysisTemplate objects. The result's actions write the Rollout (Update for
    metadata/spec, UpdateStatus), its ReplicaSets and AnalysisRuns, evict pods and record events; re-run the
    reconciler after any of them is applied (Argo's informers do) and at ``requeue_at``.
    """
    if deleting(rollout):
        return Reconciled()
    p = Pass(rollout, replicasets, analysis_runs, make_lookup(templates), now, pods)
    try:
        _sync(p, [rs for rs in replicasets if namespace_of(rs) == namespace_of(rollout)])
    except ReconcileError as exc:
        p.event(c.RECONCILIATION_ERROR_REASON, c.RECONCILIATION_ERROR_MESSAGE.format(exc), warning=True)
        p.requeue_at(now + ERROR_RETRY_SECONDS)
    return p.result()


def _first_problem(p: Pass) -> str | None:
    spec = spec_of(p.ro)
    if spec.get("workloadRef") is not None:
        return not_supported(p.ro)
    for check in (spec_errors(p.ro), reference_errors(p.ro, p.lookup)):
        if check:
            return check[0]
    return not_supported(p.ro)


def _invalid_spec(p: Pass, problem: str) -> None:
    """``createInvalidRolloutCondition``: InvalidSpec condition (phase Degraded) naming the first problem."""
    status = status_of(p.ro)
    message = f'The Rollout "{name_of(p.ro)}" is invalid: {problem}'
    previous = get_condition(status, c.COND_INVALID_SPEC)
    cond = previous
    if previous is None or previous.get("message") != message:
        cond = new_condition(c.COND_INVALID_SPEC, "True", c.INVALID_SPEC_REASON, message, p.now)
    generation = str(meta(p.ro).get("generation") or 0)
    if str(status.get("observedGeneration") or "") != generation or cond != previous:
        new_status = copy.deepcopy(status)
        if previous is not None and previous.get("message") != message:
            new_status["conditions"] = [
                x for x in new_status.get("conditions") or () if x.get("type") != c.COND_INVALID_SPEC
            ]
        assert cond is not None
        p.patch_condition(status, new_status, cond)
    p.requeue_at(p.now + INVALID_SPEC_RETRY_SECONDS)


def _sync(p: Pass, namespace_rss: Sequence[Obj]) -> None:
    """``syncHandler``: build the context (validate, create the new ReplicaSet), then ``reconcile``."""
    p.new_rs = find_new_rs(p.ro, p.all_rss)
    classify(p)
    partition(p)
    p.new_status = {"restartedAt": status_of(p.ro).get("restartedAt")}
    problem = _first_problem(p)
    if problem is not None:
        _invalid_spec(p, problem)
        return
    if p.new_rs is None:
        p.new_rs = create_desired_rs(p, namespace_rss)
        p.all_rss = [*p.all_rss, p.new_rs]
        classify(p)
    status = status_of(p.ro)
    if status.get("stableRS") == status.get("currentPodHash") and p.pause.is_aborted():
        p.pause.remove_abort = True
    if spec_of(p.ro).get("replicas") is None:
        p.ro.setdefault("spec", {})["replicas"] = c.DEFAULT_REPLICAS
        p.update_rollout()
        return
    check_paused_conditions(p)
    p.new_rs = sync_revision(p) or p.new_rs
    if is_scaling_event(p):
        sync_replicas_only(p)
        return
    rollout_canary(p)
