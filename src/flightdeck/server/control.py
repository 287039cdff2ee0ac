"""The control plane behind the API: object CRUD on the store, rollout actions, logs, summary.

Everything here is a thin adapter: object semantics live in :mod:`flightdeck.kube.store`, rollout
actions in :mod:`flightdeck.rollouts.actions`, pod logs in the runtime.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from flightdeck.kube import errors as kube_errors
from flightdeck.kube.kinds import find_kind, is_namespaced, resource_name, warnings_of
from flightdeck.kube.store import ObjectStore
from flightdeck.server.api import ApiError

Obj = dict[str, Any]

LogReader = Callable[[str, str, str | None, bool, bool], Iterator[bytes]]


def _resource_ref(obj: Obj) -> str:
    """``rollout.argoproj.io/hotrod`` as kubectl prints it."""
    kind = str(obj.get("kind") or "")
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    name = (obj.get("metadata") or {}).get("name") or ""
    return f"{kind.lower()}{'.' + group if group else ''}/{name}"


def api_error(exc: kube_errors.ApiError) -> ApiError:
    return ApiError(exc.code, exc.kubectl_text())


class StoreControl:
    """Object CRUD on the store for the control API, with kubectl's wording."""

    def __init__(self, store: ObjectStore, *, create_namespaces: bool = True) -> None:
        self.store = store
        self.create_namespaces = create_namespaces

    def kind(self, name: str) -> str:
        spec = find_kind(name)
        if spec is None:
            raise ApiError(404, f'error: the server doesn\'t have a resource type "{name}"')
        return spec.kind

    def list_objects(self, kind: str, namespace: str | None, selector: str | None) -> list[Obj]:
        kind = self.kind(kind)
        try:
            return self.store.list(kind, namespace if is_namespaced(kind) else None, selector or None)
        except kube_errors.ApiError as exc:
            raise api_error(exc) from None
        except ValueError as exc:  # a selector that does not parse
            raise ApiError(400, str(exc)) from None

    def get_object(self, kind: str, namespace: str, name: str) -> Obj:
        kind = self.kind(kind)
        obj = self.store.get(kind, namespace if is_namespaced(kind) else "", name)
        if obj is None:
            raise api_error(kube_errors.not_found(resource_name(kind), name))
        return obj

    def apply_objects(self, objects: list[Obj]) -> list[str]:
        results: list[str] = []
        for raw in objects:
            obj = copy.deepcopy(raw)
            kind = str(obj.get("kind") or "")
            meta = obj.get("metadata") or {}
            namespace = str(meta.get("namespace") or "default") if is_namespaced(kind) else ""
            before = self.store.get(kind, namespace, str(meta.get("name") or ""))
            try:
                written = self.store.apply(obj, create_namespace=self.create_namespaces)
            except kube_errors.ApiError as exc:
                results.append(exc.kubectl_text())
                continue
            if before is None:
                verb = "created"
            elif written["metadata"].get("resourceVersion") == before["metadata"].get("resourceVersion"):
                verb = "unchanged"
            else:
                verb = "configured"
            results.extend(f"Warning: {w}" for w in warnings_of(written))
            results.append(f"{_resource_ref(written)} {verb}")
        return results

    def delete_object(self, kind: str, namespace: str, name: str) -> str:
        kind = self.kind(kind)
        ns = namespace if is_namespaced(kind) else ""
        obj = self.store.get(kind, ns, name)
        if obj is None:
            raise api_error(kube_errors.not_found(resource_name(kind), name))
        try:
            self.store.delete(kind, ns, name)
        except kube_errors.ApiError as exc:
            raise api_error(exc) from None
        return f'{_resource_ref(obj).rpartition("/")[0]} "{name}" deleted'
