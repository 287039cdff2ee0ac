"""RFC 6902 JSON patches (``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``) with RFC 6901 pointers,
as kustomize applies them (evanphx/json-patch semantics, e.g. ``add`` on an existing key replaces it)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any


class JsonPatchError(ValueError):
    """A JSON 6902 operation that fails (missing path, bad index, failed test)."""


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise JsonPatchError(f"invalid path {path!r}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError(f'JSON pointer must be empty or start with a "/": {path}')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise JsonPatchError(f"Unable to access invalid index: {token}: invalid index referenced ({path})")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise JsonPatchError(f"Unable to access invalid index: {index}: invalid index referenced ({path})")
    return index


def _parent(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for token in parts[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise JsonPatchError(
                    f'{op} operation does not apply: doc is missing path: "{path}": missing value'
                )
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, allow_end=False)]
        else:
            raise JsonPatchError(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    node = doc
    for token in parts:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, allow_end=False)]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}: missing value")
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, "add", path)
    token = parts[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, path, allow_end=True), value)
    else:
        raise JsonPatchError(f'add operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise JsonPatchError(f"{op} operation does not apply: cannot remove the whole document")
    parent = _parent(doc, parts, op, path)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise JsonPatchError(f"Unable to remove nonexistent key: {token}: missing value ({path})")
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, token, path, allow_end=False))
    raise JsonPatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')


def _replace(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, "replace", path)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise JsonPatchError(
                f"replace operation does not apply: doc is missing key: {path}: missing value"
            )
        parent[token] = value
    elif isinstance(parent, list):
        parent[_index(parent, token, path, allow_end=False)] = value
    else:
        raise JsonPatchError(f"replace operation does not apply: doc is missing path: {path}: missing value")
    return doc


def apply(doc: Any, operations: Sequence[Any]) -> Any:
    """A patched deep copy of ``doc``."""
    result = copy.deepcopy(doc)
    for number, op in enumerate(operations):
        if not isinstance(op, dict):
            raise JsonPatchError(f"operation {number} is not an object")
        kind = op.get("op")
        path = op.get("path")
        if not isinstance(path, str):
            raise JsonPatchError(f"operation {number}: missing or invalid path")
        from_path = op.get("from")
        if kind in ("move", "copy") and not isinstance(from_path, str):
            raise JsonPatchError(f"operation {number}: missing or invalid from")
        if kind == "add":
            if "value" not in op:
                raise JsonPatchError("add operation does not apply: missing value")
            result = _add(result, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            result, _ = _remove(result, path)
        elif kind == "replace":
            if "value" not in op:
                raise JsonPatchError("replace operation does not apply: missing value")
            result = _replace(result, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            assert isinstance(from_path, str)
            value = _get(result, from_path, "move")
            result, _ = _remove(result, from_path, "move")
            result = _add(result, path, value)
        elif kind == "copy":
            assert isinstance(from_path, str)
            value = copy.deepcopy(_get(result, from_path, "copy"))
            result = _add(result, path, value)
        elif kind == "test":
            actual = _get(result, path, "test")
            if actual != op.get("value"):
                raise JsonPatchError(f"testing value {path} failed: test failed")
        else:
            raise JsonPatchError(f"Unexpected kind: {kind}")
    return result
