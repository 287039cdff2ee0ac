"""One reconcile pass: what the controller sees, and the writes it would make, collected as actions.

Argo's controller writes to the API server several times per pass (create a ReplicaSet, patch conditions,
scale, persist status) and sometimes reads its own writes back. :class:`Pass` keeps three views so the pure
reconciler can reproduce that sequence exactly:

* ``ro`` — the Rollout as the controller believes it is (Argo's ``c.rollout``);
* ``server`` — the Rollout as the store will hold it after this pass's writes (status writes are merge
  patches, as in Argo, so an unchanged field keeps an earlier write);
* pending ReplicaSet / AnalysisRun / Pod writes, folded per object (a create followed by a scale is one
  Create of the scaled object).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from flightdeck.kube.actions import Create, Delete, Event, Obj, Reconciled, Update, UpdateStatus
from flightdeck.rollouts import constants as c
from flightdeck.rollouts.conditions import calculate_phase, set_condition
from flightdeck.rollouts.objutil import (
    deleting,
    labels_of,
    meta,
    name_of,
    namespace_of,
    selector_matches,
    spec_of,
    status_of,
    uid_of,
)
from flightdeck.rollouts.patch import merge_apply, merge_diff, normalize_status
from flightdeck.rollouts.templates import TemplateLookup
from flightdeck.util.timefmt import rfc3339


class ReconcileError(Exception):
    """A failure Argo would return from the sync handler (logged and retried with back-off)."""


@dataclasses.dataclass(slots=True)
class PauseContext:
    """Argo's ``pauseContext``: pause/abort changes requested during the pass, applied when status is persisted."""

    rollout: Obj
    add_reasons: list[str] = dataclasses.field(default_factory=list)
    remove_reasons: list[str] = dataclasses.field(default_factory=list)
    clear: bool = False
    add_abort: bool = False
    remove_abort: bool = False
    abort_message: str = ""

    def has_add_pause(self) -> bool:
        return bool(self.add_reasons)

    def is_aborted(self) -> bool:
        if self.remove_abort:
            return False
        return self.add_abort or bool(status_of(self.rollout).get("abort"))

    def add_abort_with(self, message: str) -> None:
        self.add_abort = True
        self.abort_message = message

    def calculate(self, new_status: dict[str, Any], now: float) -> None:
        """``CalculatePauseStatus``: abort fields, then pause conditions and ``controllerPause``."""
        status = status_of(self.rollout)
        if self.add_abort or (not self.remove_abort and status.get("abort")):
            new_status["abort"] = True
            new_status["abortedAt"] = status.get("abortedAt") or rfc3339(now)
            return
        new_status.pop("abort", None)
        new_status.pop("abortedAt", None)
        if self.clear:
            return
        controller_pause = bool(status.get("controllerPause"))
        removing = set(self.remove_reasons)
        existing: set[str] = set()
        conditions: list[dict[str, Any]] = []
        for cond in status.get("pauseConditions") or ():
            if cond.get("reason") not in removing:
                conditions.append(dict(cond))
            existing.add(str(cond.get("reason")))
        for reason in self.add_reasons:
            if reason not in existing:
                conditions.append({"reason": reason, "startTime": rfc3339(now)})
                controller_pause = True
        if not conditions:
            return
        new_status["controllerPause"] = controller_pause
        new_status["pauseConditions"] = conditions


def pause_condition(rollout: Mapping[str, Any], reason: str) -> dict[str, Any] | None:
    for cond in status_of(rollout).get("pauseConditions") or ():
        if cond.get("reason") == reason:
            return dict(cond)
    return None


@dataclasses.dataclass(slots=True)
class _Write:
    kind: Literal["create", "update", "delete"]
    obj: Obj


class Pass:
    """State of one reconcile of one Rollout (Argo's ``rolloutContext``) plus the writes it makes."""

    def __init__(
        self,
        rollout: Obj,
        replicasets: Sequence[Obj],
        analysis_runs: Sequence[Obj],
        lookup: TemplateLookup,
        now: float,
        pods: Sequence[Obj],
    ) -> None:
        self.now = now
        self.input = rollout
        self.ro: Obj = copy.deepcopy(rollout)
        # Never mutated in place (writes replace whole sections), so a shallow copy will do.
        self.server: Obj = dict(rollout)
        self.lookup = lookup
        self.namespace = namespace_of(rollout)
        self.uid = uid_of(rollout)
        self.pods = [p for p in pods if namespace_of(p) == self.namespace]
        self.namespace_ar_names = {name_of(ar) for ar in analysis_runs if namespace_of(ar) == self.namespace}
        self.analysis_runs = [
            copy.deepcopy(ar)
            for ar in analysis_runs
            if namespace_of(ar) == self.namespace and _owned(ar, self.uid)
        ]
        self.all_rss: list[Obj] = []
        self.new_rs: Obj | None = None
        self.stable_rs: Obj | None = None
        self.older_rss: list[Obj] = []
        self.other_rss: list[Obj] = []
        self.current_step_ar: Obj | None = None
        self.current_background_ar: Obj | None = None
        self.other_ars: list[Obj] = []
        self.new_status: dict[str, Any] = {}
        self.pause = PauseContext(self.ro)
        self.events: list[Event] = []
        self.requeues: list[float] = []
        self._writes: dict[tuple[str, str], _Write] = {}
        self._order: list[tuple[str, str]] = []
        self._claim(replicasets)

    # -- ownership ------------------------------------------------------------------------------------

    def _claim(self, replicasets: Sequence[Obj]) -> None:
        """``ClaimReplicaSets``: owned ReplicaSets, plus orphans matching the selector (adopted)."""
        selector = spec_of(self.ro).get("selector")
        for rs in replicasets:
            if namespace_of(rs) != self.namespace:
                continue
            owner = _controller(rs)
            if owner is not None:
                if owner == self.uid:
                    self.all_rss.append(rs)
                continue
            if (
                deleting(rs)
                or not isinstance(selector, Mapping)
                or not _nonempty(selector)
                or not selector_matches(selector, labels_of(rs))
            ):
                continue
            adopted = self.write_rs(
                rs, lambda obj: meta(obj).setdefault("ownerReferences", []).append(self.owner_ref())
            )
            self.all_rss.append(adopted)

    def owner_ref(self) -> dict[str, Any]:
        return {
            "apiVersion": c.API_VERSION,
            "kind": "Rollout",
            "name": name_of(self.ro),
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    # -- writes to other objects ---------------------------------------------------------------------------

    def _record(self, kind: str, obj: Obj, op: Literal["create", "update", "delete"]) -> None:
        key = (kind, name_of(obj))
        previous = self._writes.get(key)
        if previous is None:
            self._order.append(key)
        elif previous.kind == "create" and op == "update":
            op = "create"
        self._writes[key] = _Write(op, obj)

    def pending(self, kind: str, name: str) -> Obj | None:
        write = self._writes.get((kind, name))
        return None if write is None or write.kind == "delete" else write.obj

    def create_rs(self, rs: Obj) -> None:
        self._record("ReplicaSet", rs, "create")

    def write_rs(self, rs: Mapping[str, Any], mutate: Callable[[Obj], None]) -> Obj:
        """Update a ReplicaSet; returns the written object (what Argo's client returns)."""
        base = self.pending("ReplicaSet", name_of(rs)) or rs
        obj = copy.deepcopy(dict(base))
        mutate(obj)
        self._record("ReplicaSet", obj, "update")
        return obj

    def delete(self, kind: str, obj: Obj) -> None:
        self._record(kind, obj, "delete")

    def create_ar(self, ar: Obj) -> None:
        self._record("AnalysisRun", ar, "create")
        self.namespace_ar_names.add(name_of(ar))

    def terminate_ar(self, ar: Obj) -> None:
        base = self.pending("AnalysisRun", name_of(ar)) or ar
        obj = copy.deepcopy(base)
        obj.setdefault("spec", {})["terminate"] = True
        self._record("AnalysisRun", obj, "update")

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(
            Event(
                "Rollout",
                self.namespace,
                name_of(self.ro),
                reason,
                message,
                "Warning" if warning else "Normal",
            )
        )

    def requeue_at(self, when: float) -> None:
        self.requeues.append(when)

    # -- writes to the Rollout itself ---------------------------------------------------------------------

    def update_rollout(self) -> None:
        """``Rollouts().Update(c.rollout)``: metadata and spec of ``ro`` become the stored ones."""
        self.server["metadata"] = copy.deepcopy(self.ro.get("metadata") or {})
        self.server["spec"] = copy.deepcopy(self.ro.get("spec") or {})

    def update_status(self) -> None:
        """``Rollouts().UpdateStatus(c.rollout)``: the whole status of ``ro`` is stored."""
        self.server["status"] = normalize_status(status_of(self.ro))

    def patch_status(self, base: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """A merge patch from ``base`` to ``new`` applied to the stored status; False when there is no change."""
        patch = merge_diff(normalize_status(base), normalize_status(new))
        if not patch:
            return False
        self.server["status"] = merge_apply(normalize_status(status_of(self.server)), patch)
        return True

    def patch_condition(
        self, base_status: Mapping[str, Any], new_status: dict[str, Any], *conds: dict[str, Any]
    ) -> None:
        """``patchCondition``: set conditions, observedGeneration and phase, patch from ``base_status``."""
        for cond in conds:
            set_condition(new_status, cond)
        new_status["observedGeneration"] = str(meta(self.ro).get("generation") or 0)
        new_status["phase"], new_status["message"] = calculate_phase(spec_of(self.ro), new_status)
        self.patch_status(base_status, new_status)

    # -- outcome ------------------------------------------------------------------------------------------

    def result(self) -> Reconciled:
        actions: list[Any] = []
        before = {k: v for k, v in self.input.items() if k != "status"}
        after = {k: v for k, v in self.server.items() if k != "status"}
        if before != after:
            actions.append(Update(copy.deepcopy(self.server)))
        for key in self._order:
            write = self._writes[key]
            kind, name = key
            if write.kind == "create":
                actions.append(Create(write.obj))
            elif write.kind == "update":
                actions.append(Update(write.obj))
            else:
                actions.append(Delete(kind, self.namespace, name))
        if normalize_status(status_of(self.server)) != normalize_status(status_of(self.input)):
            actions.append(UpdateStatus(copy.deepcopy(self.server)))
        actions.extend(self.events)
        future = [t for t in self.requeues if t is not None]
        return Reconciled(actions=actions, requeue_at=min(future) if future else None)


def _controller(obj: Mapping[str, Any]) -> str | None:
    for ref in meta(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller"):
            return str(ref.get("uid") or "")
    return None


def _nonempty(selector: Mapping[str, Any]) -> bool:
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def _owned(obj: Mapping[str, Any], uid: str) -> bool:
    return _controller(obj) == uid
