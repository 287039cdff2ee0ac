"""Strategic merge patches as kustomize applies them (kyaml's merge): maps merge key by key, ``null`` deletes,
``$patch: replace|delete`` directives, lists of known Kubernetes types merge by their patch merge key
(containers by name, ports by containerPort…), lists of custom resources merge by ``name`` when every element
has one, and every other list is replaced."""

from __future__ import annotations

import copy
from typing import Any

from flightdeck.gitops.kustomize.resource import Gvk

BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "extensions",
        "networking.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "autoscaling",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "events.k8s.io",
    }
)

_POD_SPEC_ROOTS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_POD_SPEC_KEYS: dict[tuple[str, ...], str] = {
    ("volumes",): "name",
    ("imagePullSecrets",): "name",
    ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey",
    ("resourceClaims",): "name",
    ("schedulingGates",): "name",
}
for _c in _CONTAINER_LISTS:
    _POD_SPEC_KEYS[(_c,)] = "name"
    _POD_SPEC_KEYS[(_c, "env")] = "name"
    _POD_SPEC_KEYS[(_c, "ports")] = "containerPort"
    _POD_SPEC_KEYS[(_c, "volumeMounts")] = "mountPath"
    _POD_SPEC_KEYS[(_c, "volumeDevices")] = "devicePath"

_INFER = "\x00infer"
_SET = "\x00set"
_DIRECTIVE = "$patch"


class PatchError(ValueError):
    """A strategic-merge patch that cannot be applied (kustomize's wording)."""


def merge_key(gvk: Gvk, path: tuple[str, ...]) -> str | None:
    """The merge key of the list at ``path`` (a key name, ``_SET`` for merged primitive lists, ``_INFER`` when
    kustomize has no schema and infers ``name``, None to replace)."""
    if gvk.group not in BUILTIN_GROUPS:
        return _INFER
    if path == ("metadata", "finalizers"):
        return _SET
    if path == ("metadata", "ownerReferences"):
        return "uid"
    if path == ("status", "conditions"):
        return "type"
    if gvk.kind == "Service" and path == ("spec", "ports"):
        return "port"
    root = _POD_SPEC_ROOTS.get(gvk.kind)
    if root is not None and path[: len(root)] == root:
        return _POD_SPEC_KEYS.get(path[len(root) :])
    return None


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not (isinstance(k, str) and (k == _DIRECTIVE or k.startswith("$")))
        }
    if isinstance(value, list):
        return [
            _strip_directives(v) for v in value if not (isinstance(v, dict) and v.get(_DIRECTIVE) == "delete")
        ]
    return value


def _merge_map(
    target: dict[str, Any], patch: dict[str, Any], gvk: Gvk, path: tuple[str, ...]
) -> dict[str, Any] | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip_directives(patch)  # type: ignore[no-any-return]
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch directive {directive!r} at {'/'.join(path) or '/'}")
    result = dict(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        result[key] = _merge_value(result.get(key), value, gvk, (*path, key))
        if result[key] is _DELETED:
            del result[key]
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


_DELETED: Any = object()


def _merge_value(target: Any, patch: Any, gvk: Gvk, path: tuple[str, ...]) -> Any:
    if isinstance(patch, dict):
        merged = _merge_map(target if isinstance(target, dict) else {}, patch, gvk, path)
        return _DELETED if merged is None else merged
    if isinstance(patch, list):
        return _merge_list(target if isinstance(target, list) else None, patch, gvk, path)
    return patch


def _associative_key(lists: list[list[Any]]) -> str | None:
    for items in lists:
        if items and all(isinstance(i, dict) and "name" in i for i in items):
            return "name"
    return None


def _merge_list(target: list[Any] | None, patch: list[Any], gvk: Gvk, path: tuple[str, ...]) -> list[Any]:
    """kyaml's associative-list merge with kustomize's ``ListIncreaseDirection: prepend``: the elements the patch
    names come first (merged with their counterparts), then the target's other elements."""
    key = merge_key(gvk, path)
    if key == _INFER:
        key = _associative_key([patch, target or []])
    if key == _SET:
        out: list[Any] = []
        for item in [*patch, *(target or [])]:
            if item not in out:
                out.append(item)
        return out
    if key is None:
        return _strip_directives(patch)  # type: ignore[no-any-return]
    existing = [i for i in target or [] if isinstance(i, dict)]
    order: list[Any] = []
    for item in [*patch, *existing]:
        if isinstance(item, dict) and key in item and item[key] not in order:
            order.append(item[key])
    merged: list[Any] = []
    for value in order:
        old = next((i for i in existing if i.get(key) == value), None)
        new = next((i for i in patch if isinstance(i, dict) and i.get(key) == value), None)
        if new is not None and new.get(_DIRECTIVE) == "delete":
            continue
        if new is None:
            merged.append(copy.deepcopy(old))
        elif old is None:
            merged.append(_strip_directives(new))
        else:
            element = _merge_map(old, new, gvk, path)
            if element is not None:
                merged.append(element)
    # Elements without the merge key cannot be matched: the patch's are added, the target's kept.
    merged.extend(_strip_directives(i) for i in patch if not (isinstance(i, dict) and key in i))
    merged.extend(copy.deepcopy(i) for i in target or [] if not (isinstance(i, dict) and key in i))
    return merged


def apply(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """``target`` with the strategic merge ``patch`` applied, or None when the patch deletes the resource."""
    gvk = Gvk.of(target)
    body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
    meta = body.get("metadata")
    if isinstance(meta, dict):
        # The patch names its target; name and namespace are not changed by it.
        body["metadata"] = {k: v for k, v in meta.items() if k not in ("name", "namespace")}
        if not body["metadata"]:
            del body["metadata"]
    return _merge_map(copy.deepcopy(target), body, gvk, ())
