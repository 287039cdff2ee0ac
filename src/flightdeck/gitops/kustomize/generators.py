"""configMapGenerator / secretGenerator and the content-hash name suffix, computed exactly as kustomize does
(sha256 of Go's JSON encoding of kind, type, data — the name is looked up as the single field "metadata/name",
which never exists, so it hashes as ""), the first 10 hex digits with 0,1,3,a,e mapped to g,h,k,m,t."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from flightdeck.util.gojson import go_json

_ENCODE = str.maketrans("013ae", "ghkmt")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class GeneratorError(ValueError):
    """A configMapGenerator/secretGenerator entry kustomize would reject."""


def encode_hash(hex_digest: str) -> str:
    return hex_digest[:10].translate(_ENCODE)


def _map_value(obj: Mapping[str, Any], key: str) -> Any:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return str(value)


def content_hash(obj: Mapping[str, Any]) -> str:
    """The name suffix kustomize appends to a generated ConfigMap or Secret (other kinds: the whole object)."""
    kind = obj.get("kind")
    if kind == "ConfigMap":
        encoded: dict[str, Any] = {"kind": "ConfigMap", "name": "", "data": _map_value(obj, "data")}
        if isinstance(obj.get("binaryData"), dict):
            encoded["binaryData"] = _map_value(obj, "binaryData")
    elif kind == "Secret":
        encoded = {
            "kind": "Secret",
            "type": _map_value(obj, "type"),
            "name": "",
            "data": _map_value(obj, "data"),
        }
        if isinstance(obj.get("stringData"), dict):
            encoded["stringData"] = _map_value(obj, "stringData")
    else:
        encoded = dict(obj)
    return encode_hash(hashlib.sha256(go_json(encoded).encode("utf-8")).hexdigest())


def _remove_quotes(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _literal(source: str) -> tuple[str, str]:
    if source.startswith("=") or "=" not in source:
        raise GeneratorError(f"invalid literal source {source}, expected key=value")
    key, value = source.split("=", 1)
    return key, _remove_quotes(value)


def _file_source(source: str) -> tuple[str, str]:
    count = source.count("=")
    if count == 0:
        return source.rstrip("/").rsplit("/", 1)[-1], source
    if count == 1 and source.startswith("="):
        raise GeneratorError(f'missing key name for file path "{source[1:]}" in source "{source}"')
    if count == 1 and source.endswith("="):
        raise GeneratorError(f'missing file path for key name "{source[:-1]}" in source "{source}"')
    if count > 1:
        raise GeneratorError(f"source \"{source}\" key name or file path contains '='")
    key, path = source.split("=")
    return key, path


def _env_lines(content: bytes) -> list[tuple[str, str]]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise GeneratorError("env file has invalid utf8 bytes") from None
    pairs = []
    for number, line in enumerate(text.splitlines()):
        if number == 0:
            line = line.removeprefix("\ufeff")
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not _ENV_NAME.match(key):
            raise GeneratorError(
                f'"{key}" is not a valid environment variable name: a valid environment variable name must '
                "consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"
            )
        pairs.append((key, value))
    return pairs


Loader = Callable[[str], bytes]
"""Reads a file named relative to the kustomization (enforcing kustomize's load restrictions)."""


def _pairs(kind: str, name: str, args: Mapping[str, Any], load: Loader) -> list[tuple[str, bytes | str]]:
    pairs: list[tuple[str, bytes | str]] = []
    envs = list(args.get("envs") or [])
    if args.get("env"):
        envs.append(str(args["env"]))
    for env in envs:
        pairs.extend(_env_lines(load(str(env))))
    for literal in args.get("literals") or []:
        pairs.append(_literal(str(literal)))
    for source in args.get("files") or []:
        key, path = _file_source(str(source))
        pairs.append((key, load(path)))
    seen: set[str] = set()
    for key, _ in pairs:
        if not _CONFIG_KEY.match(key) or key in (".", "..") or key.startswith(".."):
            raise GeneratorError(
                f'"{key}" is not a valid key name for a {kind}: [a valid config key must consist of alphanumeric '
                "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                "validation is '[-._a-zA-Z0-9]+')]"
            )
        if key in seen:
            raise GeneratorError(f"configmap {name} illegally repeats the key `{key}`")
        seen.add(key)
    return pairs


def merge_options(local: Mapping[str, Any] | None, global_: Mapping[str, Any] | None) -> dict[str, Any]:
    """kustomize's MergeGlobalOptionsIntoLocal."""
    out = {k: v for k, v in (local or {}).items()}
    if not global_:
        return out
    for key in ("labels", "annotations"):
        merged = dict(out.get(key) or {})
        for k, v in (global_.get(key) or {}).items():
            merged.setdefault(k, v)
        if merged or out.get(key) is not None:
            out[key] = merged
    if global_.get("disableNameSuffixHash"):
        out["disableNameSuffixHash"] = True
    if global_.get("immutable"):
        out["immutable"] = True
    return out


def generate(kind: str, args: Mapping[str, Any], options: Mapping[str, Any], load: Loader) -> dict[str, Any]:
    """One ConfigMap or Secret from its generator arguments (without the hash suffix)."""
    name = str(args.get("name") or "")
    if not name:
        raise GeneratorError("a configmap must have a name")
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if args.get("namespace"):
        obj["metadata"]["namespace"] = str(args["namespace"])
    pairs = _pairs(kind, name, args, load)
    if kind == "Secret":
        obj["type"] = str(args.get("type") or "Opaque")
        data: dict[str, str] = {}
        for key, value in pairs:
            raw = value.encode("utf-8") if isinstance(value, str) else value
            data[key] = base64.b64encode(raw).decode("ascii")
        if data:
            obj["data"] = data
    else:
        text_data: dict[str, str] = {}
        binary: dict[str, str] = {}
        for key, value in pairs:
            if isinstance(value, bytes):
                try:
                    text_data[key] = value.decode("utf-8")
                except UnicodeDecodeError:
                    binary[key] = base64.b64encode(value).decode("ascii")
            else:
                text_data[key] = value
        if text_data:
            obj["data"] = text_data
        if binary:
            obj["binaryData"] = binary
    for key in sorted(options.get("labels") or {}):
        obj["metadata"].setdefault("labels", {})[key] = str(options["labels"][key])
    for key in sorted(options.get("annotations") or {}):
        obj["metadata"].setdefault("annotations", {})[key] = str(options["annotations"][key])
    if options.get("immutable"):
        obj["immutable"] = True
    return obj
