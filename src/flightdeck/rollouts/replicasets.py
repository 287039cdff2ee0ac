"""The Rollout's ReplicaSets: finding the new/stable ones, creating the new one, revisions, scaling and
history cleanup (Argo's rollout/replicaset.go, rollout/sync.go, rollout/canary.go scale-down)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.kube.actions import Obj
from flightdeck.kube.hashing import equal_ignore_hash
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.conditions import get_condition, new_condition, set_condition
from flightdeck.rollouts.context import Pass, ReconcileError
from flightdeck.rollouts.hashing import pod_template_hash
from flightdeck.rollouts.objutil import (
    annotations_of,
    as_int,
    by_creation,
    created_at,
    deleting,
    labels_of,
    meta,
    name_of,
    pod_hash,
    revision_of,
    revision_or_none,
    rs_available,
    rs_replicas,
    rs_status_replicas,
    same,
    spec_of,
    status_of,
    sum_available,
    sum_replicas,
)
from flightdeck.rollouts.replicas import basic_canary_counts, max_unavailable, stable_exists
from flightdeck.rollouts.steps import canary_of, desired_weight, replicas_of
from flightdeck.util.timefmt import rfc3339


def template_hash(rollout: Mapping[str, Any]) -> str:
    collision = status_of(rollout).get("collisionCount")
    return pod_template_hash(
        spec_of(rollout).get("template") or {}, None if collision is None else as_int(collision)
    )


def templates_equal(rs_template: Any, rollout_template: Any) -> bool:
    """``PodTemplateEqualIgnoreHash``: semantically equal once the pod-template-hash label is ignored."""
    return equal_ignore_hash(
        rs_template if isinstance(rs_template, Mapping) else {},
        rollout_template if isinstance(rollout_template, Mapping) else {},
        c.POD_TEMPLATE_HASH_LABEL,
    )


def find_new_rs(rollout: Mapping[str, Any], rss: Sequence[Obj]) -> Obj | None:
    """``FindNewReplicaSet``: by hash, else the oldest ReplicaSet whose template equals the Rollout's."""
    ordered = by_creation(rss)
    wanted = template_hash(rollout)
    for rs in ordered:
        if pod_hash(rs) == wanted:
            return rs
    template = spec_of(rollout).get("template")
    for rs in ordered:
        if templates_equal(spec_of(rs).get("template"), template):
            return rs
    return None


def find_stable_rs(rollout: Mapping[str, Any], new_rs: Obj | None, rss: Sequence[Obj]) -> Obj | None:
    stable = status_of(rollout).get("stableRS") or ""
    if not stable:
        return None
    if new_rs is not None and pod_hash(new_rs) == stable:
        return new_rs
    return next((rs for rs in rss if pod_hash(rs) == stable), None)


def classify(p: Pass) -> None:
    """Split ``all_rss`` into new, stable, older (all but new) and other (neither new nor stable)."""
    p.older_rss = [rs for rs in p.all_rss if not same(rs, p.new_rs)]
    p.stable_rs = find_stable_rs(p.ro, p.new_rs, p.older_rss)
    p.other_rss = [rs for rs in p.all_rss if not same(rs, p.stable_rs) and not same(rs, p.new_rs)]


# -- annotations and revisions ------------------------------------------------------------------------


def set_new_rs_annotations(rollout: Mapping[str, Any], rs: Obj, new_revision: str, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Rollout's annotations, raise the revision, keep history."""
    annotations = meta(rs).setdefault("annotations", {})
    changed = False
    for key, value in annotations_of(rollout).items():
        if key in c.ANNOTATIONS_NOT_COPIED or annotations.get(key) == value:
            continue
        annotations[key] = value
        changed = True
    had_revision = c.REVISION_ANNOTATION in annotations
    old = str(annotations.get(c.REVISION_ANNOTATION) or "")
    try:
        old_number = int(old) if old else 0
    except ValueError:
        return False  # Argo gives up on an unreadable revision (and reports no change)
    if old_number < int(new_revision):
        annotations[c.REVISION_ANNOTATION] = new_revision
        changed = True
    if had_revision and changed:
        history = str(annotations.get(c.REVISION_HISTORY_ANNOTATION) or "")
        annotations[c.REVISION_HISTORY_ANNOTATION] = f"{history},{old}" if history else old
    if not exists and set_replicas_annotation(rs, replicas_of(rollout)):
        changed = True
    return changed


def set_replicas_annotation(rs: Obj, replicas: int) -> bool:
    annotations = meta(rs).setdefault("annotations", {})
    if annotations.get(c.DESIRED_REPLICAS_ANNOTATION) != str(replicas):
        annotations[c.DESIRED_REPLICAS_ANNOTATION] = str(replicas)
        return True
    return False


def replicas_annotations_need_update(rs: Mapping[str, Any], replicas: int) -> bool:
    annotations = meta(rs).get("annotations")
    if not isinstance(annotations, Mapping):
        return True
    if annotations.get(c.DESIRED_REPLICAS_ANNOTATION) != str(replicas):
        return True
    return replicas == 0 and bool(annotations.get(c.SCALE_DOWN_DEADLINE_ANNOTATION))


def set_rollout_revision(p: Pass, revision: str) -> None:
    """``setRolloutRevision``: store the revision annotation on the Rollout (event RolloutUpdated)."""
    annotations = meta(p.ro).setdefault("annotations", {})
    if annotations.get(c.REVISION_ANNOTATION) != revision:
        annotations[c.REVISION_ANNOTATION] = revision
        p.update_rollout()
        p.event(c.ROLLOUT_UPDATED_REASON, c.ROLLOUT_UPDATED_MESSAGE.format(revision))


def sync_revision(p: Pass) -> Obj | None:
    """``syncReplicaSetRevision``: the new RS gets the highest revision; the Rollout records it."""
    if p.new_rs is None:
        return None
    new_revision = str(max((revision_of(rs) for rs in p.older_rss), default=0) + 1)
    min_ready = as_int(spec_of(p.ro).get("minReadySeconds"))
    scratch = copy.deepcopy(p.new_rs)
    changed = set_new_rs_annotations(p.ro, scratch, new_revision, exists=True)
    if changed or as_int(spec_of(p.new_rs).get("minReadySeconds")) != min_ready:

        def mutate(obj: Obj) -> None:
            set_new_rs_annotations(p.ro, obj, new_revision, exists=True)
            _set_min_ready(obj, min_ready)

        return p.write_rs(p.new_rs, mutate)
    set_rollout_revision(p, str(annotations_of(scratch).get(c.REVISION_ANNOTATION) or ""))
    if get_condition(status_of(p.ro), c.COND_PROGRESSING) is None:
        cond = new_condition(
            c.COND_PROGRESSING,
            "True",
            c.FOUND_NEW_RS_REASON,
            c.FOUND_NEW_RS_MESSAGE.format(name_of(scratch)),
            p.now,
        )
        set_condition(p.ro.setdefault("status", {}), cond)
        p.update_status()
    return scratch


def _set_min_ready(rs: Obj, min_ready: int) -> None:
    if min_ready:
        rs.setdefault("spec", {})["minReadySeconds"] = min_ready
    else:
        rs.setdefault("spec", {}).pop("minReadySeconds", None)


def create_desired_rs(p: Pass, namespace_rss: Sequence[Obj]) -> Obj:
    """``createDesiredReplicaSet``: a ReplicaSet ``<rollout>-<hash>`` with 0 replicas and the next revision."""
    new_revision = str(max((revision_of(rs) for rs in p.older_rss), default=0) + 1)
    spec = spec_of(p.ro)
    pod_hash_value = template_hash(p.ro)
    template = copy.deepcopy(spec.get("template") or {})
    template.setdefault("metadata", {})
    template["metadata"]["labels"] = {
        **(template["metadata"].get("labels") or {}),
        c.POD_TEMPLATE_HASH_LABEL: pod_hash_value,
    }
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {
        **(selector.get("matchLabels") or {}),
        c.POD_TEMPLATE_HASH_LABEL: pod_hash_value,
    }
    name = f"{name_of(p.ro)}-{pod_hash_value}"
    rs: Obj = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": p.namespace,
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [p.owner_ref()],
            "creationTimestamp": rfc3339(p.now),
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }
    _set_min_ready(rs, as_int(spec.get("minReadySeconds")))
    set_new_rs_annotations(p.ro, rs, new_revision, exists=False)

    existing = next((x for x in namespace_rss if name_of(x) == name), None)
    if existing is not None:
        owner = next((r for r in meta(existing).get("ownerReferences") or () if r.get("controller")), None)
        if (
            owner is not None
            and owner.get("uid") == p.uid
            and templates_equal(spec_of(existing).get("template"), spec.get("template"))
        ):
            set_rollout_revision(p, new_revision)
            return existing
        # A hash collision: bump collisionCount so the next pass computes another hash.
        status = p.ro.setdefault("status", {})
        status["collisionCount"] = as_int(status.get("collisionCount")) + 1
        p.update_status()
        raise ReconcileError(f'replicasets.apps "{name}" already exists')

    p.create_rs(rs)
    set_rollout_revision(p, new_revision)
    p.event(c.NEW_REPLICA_SET_REASON, c.NEW_REPLICA_SET_DETAILED_MESSAGE.format(name, revision_of(rs)))
    cond = new_condition(
        c.COND_PROGRESSING, "True", c.NEW_REPLICA_SET_REASON, c.NEW_REPLICA_SET_MESSAGE.format(name), p.now
    )
    set_condition(p.ro.setdefault("status", {}), cond)
    p.update_status()
    return rs


# -- scaling ------------------------------------------------------------------------------------------


def scale(p: Pass, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
    """``scaleReplicaSetAndRecordEvent``: set spec.replicas and the desired-replicas annotation."""
    replicas = replicas_of(p.ro)
    size_changes = rs_replicas(rs) != new_scale
    if not size_changes and not replicas_annotations_need_update(rs, replicas):
        return False, rs
    direction = "up" if rs_replicas(rs) < new_scale else "down"
    old_scale = rs_replicas(rs)

    def mutate(obj: Obj) -> None:
        obj.setdefault("spec", {})["replicas"] = new_scale
        set_replicas_annotation(obj, replicas)
        if new_scale == 0:
            meta(obj).setdefault("annotations", {}).pop(c.SCALE_DOWN_DEADLINE_ANNOTATION, None)

    written = p.write_rs(rs, mutate)
    if size_changes:
        p.event(
            c.SCALING_REPLICA_SET_REASON,
            c.SCALING_REPLICA_SET_MESSAGE.format(
                direction, name_of(written), revision_of(written), old_scale, new_scale
            ),
        )
    return size_changes, written


def remove_scale_down_deadlines(p: Pass) -> None:
    """The basic canary never delays scale-down, so a stray scale-down-deadline annotation is removed."""
    targets: list[Obj] = []
    if p.new_rs is not None:
        targets.append(p.new_rs)
    if p.stable_rs is not None and (not targets or not same(p.stable_rs, p.new_rs)):
        targets.append(p.stable_rs)
    for rs in targets:
        if annotations_of(rs).get(c.SCALE_DOWN_DEADLINE_ANNOTATION):
            p.write_rs(
                rs,
                lambda obj: (
                    meta(obj).setdefault("annotations", {}).pop(c.SCALE_DOWN_DEADLINE_ANNOTATION, None)
                ),
            )


def counts(p: Pass, new_rs: Obj | None, stable_rs: Obj | None, other_rss: Sequence[Obj]) -> tuple[int, int]:
    return basic_canary_counts(
        replicas_of(p.ro), desired_weight(p.ro), canary_of(p.ro), new_rs, stable_rs, other_rss
    )


def reconcile_stable(p: Pass) -> bool:
    if not stable_exists(p.new_rs, p.stable_rs) or p.stable_rs is None:
        return False
    _, desired = counts(p, p.new_rs, p.stable_rs, p.other_rss)
    scaled, _ = scale(p, p.stable_rs, desired)
    return scaled


def reconcile_new(p: Pass) -> bool:
    if p.new_rs is None:
        return False
    # NewRSNewReplicas looks the stable and other ReplicaSets up again in allRSs.
    stable = find_stable_rs(p.ro, p.new_rs, p.all_rss)
    others = [rs for rs in p.all_rss if not same(rs, stable) and not same(rs, p.new_rs)]
    desired, _ = counts(p, p.new_rs, stable, others)
    scaled, _ = scale(p, p.new_rs, desired)
    return scaled


def reconcile_others(p: Pass) -> bool:
    active = [rs for rs in p.other_rss if rs_replicas(rs) > 0]
    if sum_replicas(active) == 0:
        return False
    return _scale_down_old(p, active) > 0


def _cleanup_unhealthy(p: Pass, old_rss: list[Obj]) -> tuple[list[Obj] | None, int]:
    """``cleanupUnhealthyReplicas``: scale old ReplicaSets down to their available pods first."""
    old_rss = by_creation(old_rss)
    total = 0
    for i, rs in enumerate(old_rss):
        spec_replicas, available = rs_replicas(rs), rs_available(rs)
        if spec_replicas == 0 or spec_replicas == available:
            continue
        if available > spec_replicas:
            return None, 0  # Argo's "invalid request to scale down" error ends the scale-down
        _, written = scale(p, rs, available)
        total += spec_replicas - available
        old_rss[i] = written
    return old_rss, total


def _revision_key(rs: Obj) -> tuple[int, float]:
    revision = revision_or_none(rs)
    return (-1 if revision is None else revision, created_at(rs))


def _scale_down_old(p: Pass, old_rss: list[Obj]) -> int:
    """``scaleDownOldReplicaSetsForCanary`` (basic canary: every old pod serves traffic, so all go)."""
    cleaned, total = _cleanup_unhealthy(p, old_rss)
    if cleaned is None:
        return 0
    replicas = replicas_of(p.ro)
    min_available = replicas - max_unavailable(replicas, canary_of(p.ro))
    budget = sum_available(p.all_rss) - min_available
    if budget <= 0:
        return 0
    for rs in sorted(cleaned, key=_revision_key, reverse=True):
        if budget <= 0:
            break
        current = rs_replicas(rs)
        if current == 0:
            continue
        desired = current - budget if current > budget else 0
        if current == desired:
            continue
        scale(p, rs, desired)
        budget -= current - desired
        total += current - desired
    return total


def reconcile_revision_history(p: Pass) -> None:
    """``reconcileRevisionHistoryLimit``: delete the oldest scaled-down ReplicaSets beyond the limit, with
    their AnalysisRuns."""
    limit = as_int(spec_of(p.ro).get("revisionHistoryLimit"), c.DEFAULT_REVISION_HISTORY_LIMIT)
    cleanable = by_creation([rs for rs in p.other_rss if not deleting(rs)])
    surplus = len(cleanable) - limit
    if surplus <= 0:
        return
    runs_by_hash: dict[str, list[Obj]] = {}
    for ar in p.other_ars:
        if c.POD_TEMPLATE_HASH_LABEL in labels_of(ar):
            runs_by_hash.setdefault(labels_of(ar)[c.POD_TEMPLATE_HASH_LABEL], []).append(ar)
    for rs in cleanable[:surplus]:
        generation = as_int(meta(rs).get("generation"))
        observed = as_int(status_of(rs).get("observedGeneration"))
        if rs_status_replicas(rs) != 0 or rs_replicas(rs) != 0 or generation > observed or deleting(rs):
            continue
        p.delete("ReplicaSet", rs)
        if c.POD_TEMPLATE_HASH_LABEL in labels_of(rs):
            for ar in runs_by_hash.get(labels_of(rs)[c.POD_TEMPLATE_HASH_LABEL], ()):
                if not deleting(ar):
                    p.delete("AnalysisRun", ar)


def is_scaling_event(p: Pass) -> bool:
    """``isScalingEvent``: spec.replicas changed since the active new/stable ReplicaSet was scaled."""
    replicas = replicas_of(p.ro)
    for rs in (p.new_rs, p.stable_rs):
        if rs is None or rs_replicas(rs) <= 0:
            continue
        value = annotations_of(rs).get(c.DESIRED_REPLICAS_ANNOTATION)
        try:
            desired = int(str(value)) if value is not None else None
        except ValueError:
            desired = None
        if desired is not None and desired != replicas:
            return True
    return False


def halt_reason(p: Pass) -> str:
    """``haltProgress``: no scaling while manually paused or paused on an inconclusive run."""
    if spec_of(p.ro).get("paused"):
        return "user paused"
    for cond in status_of(p.ro).get("pauseConditions") or ():
        if cond.get("reason") == c.PAUSE_INCONCLUSIVE_ANALYSIS:
            return "inconclusive analysis"
    return ""


def reconcile_canary_replica_sets(p: Pass) -> bool:
    """``reconcileCanaryReplicaSets``: scale the stable, then the new, then older ReplicaSets — one per pass.
    True when something was scaled (the step cannot complete in this pass)."""
    if halt_reason(p):
        return False
    remove_scale_down_deadlines(p)
    if reconcile_stable(p):
        return True
    if reconcile_new(p):
        return True
    return reconcile_others(p)
