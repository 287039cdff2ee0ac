"""The Deployment controller (kubernetes ``pkg/controller/deployment``), as a pure reconciler.

One pass does what one ``syncDeployment`` does: find or create the new ReplicaSet (``<name>-<pod-template-
hash>``, revision annotations, hash collisions bump ``status.collisionCount``), then RollingUpdate (scale the
new ReplicaSet up within ``maxSurge``, scale old ones down within ``maxUnavailable``, unhealthy ones first)
or Recreate (old ones to zero, wait for their pods to go, then the new one up), clean up old ReplicaSets
beyond ``revisionHistoryLimit``, and write the status with the Available/Progressing conditions, their
upstream reasons and messages, and the ``progressDeadlineSeconds`` timeout.

Not done: proportional scaling of several active ReplicaSets when ``spec.replicas`` changes in the middle of
a rollout (the rolling update converges instead), adoption of orphaned ReplicaSets, and rollback via the
deprecated ``rollbackTo`` field.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from flightdeck.kube.actions import Action, Create, Delete, Event, Reconciled, Update, UpdateStatus
from flightdeck.kube.conditions import get_condition, new_condition
from flightdeck.kube.hashing import DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, equal_ignore_hash, pod_template_hash
from flightdeck.kube.podutil import (
    creation_time,
    generation_of,
    int_or_percent,
    is_being_deleted,
    is_controlled_by,
    name_of,
    namespace_of,
    new_controller_ref,
    phase_of,
    uid_of,
)
from flightdeck.kube.selectors import SelectorError, from_label_selector
from flightdeck.kube.store import ObjectStore
from flightdeck.util.timefmt import parse_rfc3339_or_none

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_SKIP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)

# Condition reasons (deployment/util/deployment_util.go).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


def _replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return int(value) if value is not None else 1


def _status_int(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def _revision(rs: Obj) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def _is_rolling(d: Obj) -> bool:
    return bool(((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate")


def resolve_fenceposts(d: Obj) -> tuple[int, int]:
    """``ResolveFenceposts``: (maxSurge rounded up, maxUnavailable rounded down); both 0 → unavailable 1."""
    desired = _replicas(d)
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return resolve_fenceposts(d)[0] if _is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not _is_rolling(d) or _replicas(d) == 0:
        return 0
    return min(resolve_fenceposts(d)[1], _replicas(d))


def _set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason → unchanged; else replaced (moved to the end),
    keeping lastTransitionTime when only the reason changed."""
    current = get_condition(status, cond["type"])
    if (
        current is not None
        and current["status"] == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    if current is not None and current["status"] == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime", cond["lastTransitionTime"])}
    _remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def _remove_condition(status: Obj, kind: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


class _Sync:
    """The state of one reconcile: copies of the ReplicaSets that the pass mutates as it scales them."""

    def __init__(self, d: Obj, owned: list[Obj], pods: list[Obj], now: float) -> None:
        self.d = copy.deepcopy(d)
        self.now = now
        self.actions: list[Action] = []
        self.rss = [copy.deepcopy(rs) for rs in owned]
        self.pods = pods
        self.name = name_of(d)
        self.namespace = namespace_of(d)
        self.status: Obj = copy.deepcopy(d.get("status") or {})
        self.requeue_at: float | None = None

    def event(self, reason: str, message: str, kind: str = "Normal") -> None:
        self.actions.append(Event("Deployment", self.namespace, self.name, reason, message, kind))  # type: ignore[arg-type]

    # --- ReplicaSets ---------------------------------------------------------------------------------------

    def split(self) -> tuple[Obj | None, list[Obj]]:
        template = (self.d.get("spec") or {}).get("template") or {}
        candidates = sorted(self.rss, key=lambda rs: (creation_time(rs), name_of(rs)))
        new = next(
            (
                rs
                for rs in candidates
                if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template)
            ),
            None,
        )
        return new, [rs for rs in self.rss if rs is not new]

    def set_replicas_annotations(self, rs: Obj) -> bool:
        desired = str(_replicas(self.d))
        maximum = str(_replicas(self.d) + max_surge(self.d))
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = bool(
            annotations.get(DESIRED_REPLICAS) != desired or annotations.get(MAX_REPLICAS) != maximum
        )
        annotations[DESIRED_REPLICAS] = desired
        annotations[MAX_REPLICAS] = maximum
        return changed

    def copy_annotations(self, rs: Obj) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        for key, value in ((self.d.get("metadata") or {}).get("annotations") or {}).items():
            if key in _SKIP_ANNOTATIONS:
                continue
            if annotations.get(key) != value:
                annotations[key] = value
                changed = True
        return changed

    def set_new_rs_annotations(self, rs: Obj, new_revision: int, exists: bool) -> bool:
        changed = self.copy_annotations(rs)
        annotations = rs["metadata"].setdefault("annotations", {})
        old_text = annotations.get(REVISION)
        old = _revision(rs)
        if old < new_revision:
            annotations[REVISION] = str(new_revision)
            changed = True
            if old_text:
                history = annotations.get(REVISION_HISTORY)
                annotations[REVISION_HISTORY] = f"{history},{old_text}" if history else old_text
        if not exists and self.set_replicas_annotations(rs):
            changed = True
        return changed

    def set_deployment_revision(self, revision: int) -> None:
        annotations = self.d["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) != str(revision):
            annotations[REVISION] = str(revision)
            self.actions.append(Update(copy.deepcopy(self.d)))

    def new_replica_set(self, all_rss: list[Obj], rss_in_namespace: list[Obj], create: bool) -> Obj | None:
        new, old = self.split()
        new_revision = max((_revision(rs) for rs in old), default=0) + 1
        progress_deadline = (self.d.get("spec") or {}).get("progressDeadlineSeconds") is not None
        if new is not None:
            changed = self.set_new_rs_annotations(new, new_revision, True)
            mrs = (self.d.get("spec") or {}).get("minReadySeconds")
            if (new.get("spec") or {}).get("minReadySeconds") != mrs:
                if mrs is None:
                    new["spec"].pop("minReadySeconds", None)
                else:
                    new["spec"]["minReadySeconds"] = mrs
                changed = True
            if changed:
                self.actions.append(Update(copy.deepcopy(new)))
            self.set_deployment_revision(max(new_revision, _revision(new)))
            if progress_deadline and get_condition(self.status, "Progressing") is None:
                _set_condition(
                    self.status,
                    new_condition(
                        "Progressing",
                        "True",
                        FOUND_NEW_RS,
                        f'Found new replica set "{name_of(new)}"',
                        self.now,
                    ),
                )
            return new
        if not create:
            return None
        spec = self.d.get("spec") or {}
        template = copy.deepcopy(spec.get("template") or {})
        collision = (self.d.get("status") or {}).get("collisionCount")
        pod_hash = pod_template_hash(template, collision)
        rs_name = f"{self.name}-{pod_hash}"
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: pod_hash}
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {
            **(selector.get("matchLabels") or {}),
            DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: pod_hash,
        }
        existing = next((rs for rs in rss_in_namespace if name_of(rs) == rs_name), None)
        if existing is not None:
            if is_controlled_by(existing, uid_of(self.d)) and equal_ignore_hash(
                (existing.get("spec") or {}).get("template") or {}, spec.get("template") or {}
            ):
                return existing
            # A different ReplicaSet has our name: hash again with a higher collision count.
            self.status["collisionCount"] = int(collision or 0) + 1
            self.requeue_at = self.now
            return None
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": self.namespace,
                "labels": dict(tmeta["labels"]),
                "ownerReferences": [new_controller_ref(self.d)],
                "annotations": {},
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        if spec.get("minReadySeconds") is not None:
            rs["spec"]["minReadySeconds"] = spec["minReadySeconds"]
        rs["spec"]["replicas"] = self.new_rs_new_replicas([*all_rss, rs], rs)
        self.set_new_rs_annotations(rs, new_revision, False)
        self.actions.append(Create(copy.deepcopy(rs)))
        self.rss.append(rs)
        if rs["spec"]["replicas"] > 0:
            self.event(
                "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to {rs['spec']['replicas']}"
            )
        self.set_deployment_revision(new_revision)
        if progress_deadline:
            _set_condition(
                self.status,
                new_condition(
                    "Progressing", "True", NEW_RS_CREATED, f'Created new replica set "{rs_name}"', self.now
                ),
            )
        return rs

    def new_rs_new_replicas(self, all_rss: list[Obj], new: Obj) -> int:
        """``NewRSNewReplicas``."""
        desired = _replicas(self.d)
        if not _is_rolling(self.d):
            return desired
        current = sum(_replicas(rs) for rs in all_rss)
        max_total = desired + max_surge(self.d)
        if current >= max_total:
            return _replicas(new)
        scale_up = min(max_total - current, desired - _replicas(new))
        return _replicas(new) + scale_up

    def scale(self, rs: Obj, new_scale: int) -> bool:
        """``scaleReplicaSetAndRecordEvent``: returns whether the size changed."""
        old_scale = _replicas(rs)
        size_changed = old_scale != new_scale
        annotations_changed = self.set_replicas_annotations(rs)
        if not size_changed and not annotations_changed:
            return False
        rs["spec"]["replicas"] = new_scale
        self.actions.append(Update(copy.deepcopy(rs)))
        if size_changed:
            direction = "up" if old_scale < new_scale else "down"
            self.event(
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {name_of(rs)} from {old_scale} to {new_scale}",
            )
        return size_changed

    # --- strategies ------------------------------------------------------------------------------------------

    def reconcile_new(self, all_rss: list[Obj], new: Obj) -> bool:
        desired = _replicas(self.d)
        current = _replicas(new)
        if current == desired:
            return False
        if current > desired:
            return self.scale(new, desired)
        return self.scale(new, self.new_rs_new_replicas(all_rss, new))

    def reconcile_old(self, all_rss: list[Obj], old: list[Obj], new: Obj) -> bool:
        old_pods = sum(_replicas(rs) for rs in old)
        if old_pods == 0:
            return False
        all_pods = sum(_replicas(rs) for rs in all_rss)
        min_available = _replicas(self.d) - max_unavailable(self.d)
        new_unavailable = _replicas(new) - _status_int(new, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        ordered = sorted(old, key=lambda rs: (creation_time(rs), name_of(rs)))
        cleaned = 0
        for rs in ordered:
            if cleaned >= max_scaled_down:
                break
            replicas = _replicas(rs)
            available = _status_int(rs, "availableReplicas")
            if replicas == 0 or replicas == available:
                continue
            count = min(max_scaled_down - cleaned, replicas - available)
            self.scale(rs, replicas - count)
            cleaned += count
        # scaleDownOldReplicaSetsForRollingUpdate
        available_total = sum(_status_int(rs, "availableReplicas") for rs in all_rss)
        scaled = 0
        if available_total > min_available:
            budget = available_total - min_available
            for rs in ordered:
                if scaled >= budget:
                    break
                replicas = _replicas(rs)
                if replicas == 0:
                    continue
                count = min(replicas, budget - scaled)
                self.scale(rs, replicas - count)
                scaled += count
        return cleaned + scaled > 0

    def old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        if any(_status_int(rs, "replicas") > 0 for rs in old):
            return True
        old_uids = {uid_of(rs) for rs in old}
        for pod in self.pods:
            ref_uids = {r.get("uid") for r in (pod.get("metadata") or {}).get("ownerReferences") or []}
            if not ref_uids & old_uids:
                continue
            if phase_of(pod) in ("Failed", "Succeeded"):
                continue
            return True
        return False

    def cleanup(self, old: list[Obj]) -> None:
        limit = (self.d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old if not is_being_deleted(rs)]
        diff = len(alive) - int(limit)
        if diff <= 0:
            return
        for rs in sorted(alive, key=lambda r: (_revision(r), creation_time(r), name_of(r)))[:diff]:
            if (
                _status_int(rs, "replicas") != 0
                or _replicas(rs) != 0
                or generation_of(rs) > _status_int(rs, "observedGeneration")
            ):
                continue
            self.actions.append(Delete("ReplicaSet", self.namespace, name_of(rs)))

    # --- status ----------------------------------------------------------------------------------------------

    def complete(self, status: Obj) -> bool:
        desired = _replicas(self.d)
        return (
            int(status.get("updatedReplicas") or 0) == desired
            and int(status.get("replicas") or 0) == desired
            and int(status.get("availableReplicas") or 0) == desired
            and int(status.get("observedGeneration") or 0) >= generation_of(self.d)
        )

    def calculate_status(self, new: Obj | None) -> Obj:
        rss = self.rss
        available = sum(_status_int(rs, "availableReplicas") for rs in rss)
        total = sum(_replicas(rs) for rs in rss)
        status: Obj = {}
        for field, value in (
            ("observedGeneration", generation_of(self.d)),
            ("replicas", sum(_status_int(rs, "replicas") for rs in rss)),
            ("updatedReplicas", _status_int(new, "replicas") if new is not None else 0),
            ("readyReplicas", sum(_status_int(rs, "readyReplicas") for rs in rss)),
            ("availableReplicas", available),
            ("unavailableReplicas", max(total - available, 0)),
        ):
            if value:
                status[field] = value
        if self.status.get("collisionCount") is not None:
            status["collisionCount"] = self.status["collisionCount"]
        if self.status.get("conditions"):
            status["conditions"] = copy.deepcopy(self.status["conditions"])
        if available >= _replicas(self.d) - max_unavailable(self.d):
            cond = new_condition(
                "Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.", self.now
            )
        else:
            cond = new_condition(
                "Available",
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                self.now,
            )
        _set_condition(status, cond)
        return status

    def sync_rollout_status(self, new: Obj | None) -> None:
        """``syncRolloutStatus``."""
        status = self.calculate_status(new)
        deadline = (self.d.get("spec") or {}).get("progressDeadlineSeconds")
        if deadline is None:
            _remove_condition(status, "Progressing")
        old_status = self.d.get("status") or {}
        current = get_condition(old_status, "Progressing")
        complete_already = (
            int(status.get("replicas") or 0) == int(status.get("updatedReplicas") or 0)
            and current is not None
            and current.get("reason") == NEW_RS_AVAILABLE
        )
        if deadline is not None and not complete_already:
            rs_name = name_of(new) if new is not None else ""
            if self.complete(status):
                msg = (
                    f'ReplicaSet "{rs_name}" has successfully progressed.'
                    if new is not None
                    else f'Deployment "{self.name}" has successfully progressed.'
                )
                _set_condition(status, new_condition("Progressing", "True", NEW_RS_AVAILABLE, msg, self.now))
            elif self.progressing(status, old_status):
                msg = (
                    f'ReplicaSet "{rs_name}" is progressing.'
                    if new is not None
                    else f'Deployment "{self.name}" is progressing.'
                )
                cond = new_condition("Progressing", "True", RS_UPDATED, msg, self.now)
                existing = get_condition(status, "Progressing")
                if existing is not None:
                    if existing.get("status") == "True":
                        cond["lastTransitionTime"] = existing.get(
                            "lastTransitionTime", cond["lastTransitionTime"]
                        )
                    _remove_condition(status, "Progressing")
                status.setdefault("conditions", []).append(cond)
            elif self.timed_out(status, int(deadline)):
                msg = (
                    f'ReplicaSet "{rs_name}" has timed out progressing.'
                    if new is not None
                    else f'Deployment "{self.name}" has timed out progressing.'
                )
                _set_condition(status, new_condition("Progressing", "False", TIMED_OUT, msg, self.now))
        if status != old_status:
            self.actions.append(UpdateStatus({**self.d, "status": status}))
        elif (
            deadline is not None
            and current is not None
            and not self.complete(status)
            and current.get("reason") != TIMED_OUT
        ):
            # requeueStuckDeployment: look again just after the deadline would pass (upstream adds a
            # second; on a virtual clock the exact instant keeps tests to the point).
            last = parse_rfc3339_or_none(current.get("lastUpdateTime"))
            if last is not None:
                when = max(last + int(deadline), self.now) + 0.001
                self.requeue_at = when if self.requeue_at is None else min(self.requeue_at, when)

    def progressing(self, new_status: Obj, old_status: Obj) -> bool:
        def old_replicas(s: Obj) -> int:
            return int(s.get("replicas") or 0) - int(s.get("updatedReplicas") or 0)

        return (
            int(new_status.get("updatedReplicas") or 0) > int(old_status.get("updatedReplicas") or 0)
            or old_replicas(new_status) < old_replicas(old_status)
            or int(new_status.get("readyReplicas") or 0) > int(old_status.get("readyReplicas") or 0)
            or int(new_status.get("availableReplicas") or 0) > int(old_status.get("availableReplicas") or 0)
        )

    def timed_out(self, status: Obj, deadline: int) -> bool:
        cond = get_condition(status, "Progressing")
        if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == TIMED_OUT:
            return True
        last = parse_rfc3339_or_none(cond.get("lastUpdateTime"))
        return last is not None and last + deadline < self.now

    def check_paused(self) -> None:
        if (self.d.get("spec") or {}).get("progressDeadlineSeconds") is None:
            return
        cond = get_condition(self.status, "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        paused = bool((self.d.get("spec") or {}).get("paused"))
        if paused and not paused_cond:
            _set_condition(
                self.status,
                new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", self.now),
            )
        elif not paused and paused_cond:
            _set_condition(
                self.status,
                new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed", self.now),
            )


def reconcile_deployment(d: Obj, replica_sets: Iterable[Obj], pods: Iterable[Obj], now: float) -> Reconciled:
    """``replica_sets``: every ReplicaSet in the Deployment's namespace (its own, and others for hash
    collisions); ``pods``: the pods of its own ReplicaSets (Recreate waits for old ones to stop)."""
    in_namespace = list(replica_sets)
    uid = uid_of(d)
    owned = [rs for rs in in_namespace if is_controlled_by(rs, uid)]
    sync = _Sync(d, owned, list(pods), now)
    spec = d.get("spec") or {}
    try:
        selector = from_label_selector(spec.get("selector"))
    except SelectorError as exc:
        return Reconciled(
            [Event("Deployment", sync.namespace, sync.name, "InvalidSelector", str(exc), "Warning")]
        )
    if selector.empty:
        sync.event(
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
            "Warning",
        )
        return Reconciled(sync.actions)
    if is_being_deleted(d):
        new, _old = sync.split()
        sync.sync_rollout_status(new)
        return Reconciled(sync.actions, sync.requeue_at)

    sync.check_paused()
    if spec.get("paused"):
        new, old = sync.split()
        sync.sync_rollout_status(new)
        return Reconciled(sync.actions, sync.requeue_at)

    if _is_rolling(d):
        new = sync.new_replica_set(sync.rss, in_namespace, True)
        if new is None:
            # Hash collision: record the new collisionCount and try again at once.
            sync.actions.append(UpdateStatus({**d, "status": {**(d.get("status") or {}), **sync.status}}))
            return Reconciled(sync.actions, sync.requeue_at)
        old = [rs for rs in sync.rss if rs is not new]
        all_rss = [*old, new]
        if sync.reconcile_new(all_rss, new):
            sync.sync_rollout_status(new)
            return Reconciled(sync.actions, sync.requeue_at)
        active_old = [rs for rs in old if _replicas(rs) > 0]
        if sync.reconcile_old(all_rss, active_old, new):
            sync.sync_rollout_status(new)
            return Reconciled(sync.actions, sync.requeue_at)
        if sync.complete(d.get("status") or {}):
            sync.cleanup(old)
        sync.sync_rollout_status(new)
        return Reconciled(sync.actions, sync.requeue_at)

    # Recreate
    existing_new, old = sync.split()
    scaled_down = False
    for rs in old:
        if _replicas(rs) > 0 and sync.scale(rs, 0):
            scaled_down = True
    if scaled_down or sync.old_pods_running(existing_new, old):
        sync.sync_rollout_status(existing_new if existing_new is not None else None)
        return Reconciled(sync.actions, sync.requeue_at)
    new = sync.new_replica_set(sync.rss, in_namespace, True)
    if new is None:
        sync.actions.append(UpdateStatus({**d, "status": {**(d.get("status") or {}), **sync.status}}))
        return Reconciled(sync.actions, sync.requeue_at)
    if _replicas(new) != _replicas(d):
        sync.scale(new, _replicas(d))
    if sync.complete(d.get("status") or {}):
        sync.cleanup([rs for rs in sync.rss if rs is not new])
    sync.sync_rollout_status(new)
    return Reconciled(sync.actions, sync.requeue_at)


def observe(d: Obj, store: ObjectStore, now: float) -> Reconciled:
    namespace = namespace_of(d)
    replica_sets = store.list("ReplicaSet", namespace)
    uid = uid_of(d)
    pods: list[Obj] = []
    if not _is_rolling(d):
        for rs in replica_sets:
            if is_controlled_by(rs, uid):
                pods.extend(store.dependents(uid_of(rs), "Pod"))
    return reconcile_deployment(d, replica_sets, pods, now)
