"""A minimal stand-in for the object store in the pure reconciler tests: it applies a Reconciled's actions to
a dict of objects the way the API server would (status kept on updates, generation bumped on spec changes)."""

from __future__ import annotations

import copy
from typing import Any

from flightdeck.kube.actions import Action, Create, Delete, Event, Update, UpdateStatus

Key = tuple[str, str, str]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


class Cluster:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.events: list[tuple[str, str, str]] = []
        self._rv = 0

    def _stamp(self, obj: dict[str, Any]) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("generation", 1)
        obj["metadata"].setdefault("uid", f"uid-{len(self.objects)}")
        self._stamp(obj)
        self.objects[key_of(obj)] = obj
        return obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    def apply(self, actions: list[Action]) -> None:
        # One reconcile's actions are one logical write: its own earlier writes do not conflict (as K's store).
        read_at = {k: o["metadata"]["resourceVersion"] for k, o in self.objects.items()}
        for action in actions:
            if isinstance(action, Create):
                key = key_of(action.obj)
                assert key not in self.objects, f"{key} already exists"
                self.add(action.obj)
            elif isinstance(action, Update):
                key = key_of(action.obj)
                current = self.objects[key]
                rv = action.obj["metadata"].get("resourceVersion")
                assert rv in (None, current["metadata"]["resourceVersion"], read_at.get(key)), (
                    f"conflict on {key}"
                )
                new = {k: copy.deepcopy(v) for k, v in action.obj.items() if k not in ("status", "metadata")}
                meta = dict(current["metadata"])
                for field in ("labels", "annotations", "finalizers", "ownerReferences"):
                    if action.obj["metadata"].get(field) is not None:
                        meta[field] = copy.deepcopy(action.obj["metadata"][field])
                    else:
                        meta.pop(field, None)
                new["metadata"] = meta
                if "status" in current:
                    new["status"] = current["status"]
                if {k: v for k, v in new.items() if k not in ("metadata", "status")} != {
                    k: v for k, v in current.items() if k not in ("metadata", "status")
                }:
                    meta["generation"] = int(meta.get("generation", 1)) + 1
                self._stamp(new)
                self.objects[key] = new
            elif isinstance(action, UpdateStatus):
                current = self.objects[key_of(action.obj)]
                current["status"] = copy.deepcopy(action.obj["status"])
                self._stamp(current)
            elif isinstance(action, Delete):
                self.objects.pop((action.kind, action.namespace, action.name), None)
            elif isinstance(action, Event):
                self.events.append((action.name, action.reason, action.message))

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [o for k, o in sorted(self.objects.items()) if kind is None or k[0] == kind]
