"""Manifest generation for an Application source, as Argo CD's repo-server does it: a kustomization when the
path holds one (or ``spec.source.kustomize`` is set), otherwise a directory of YAML/JSON manifests
(``directory.recurse`` false by default, ``include``/``exclude`` globs). Every error carries file:line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from flightdeck.gitops import gopath
from flightdeck.gitops.kustomize import KustomizeError, find_kustomization
from flightdeck.gitops.kustomize import build as kustomize_build
from flightdeck.kube.manifest import Manifest, ManifestError, Source, load_text

_MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json|jsonnet)$")
_SKIP_MARKER = "+argocd:skip-file-rendering"


class RenderError(Exception):
    """Manifest generation failed; the message is what the Application's ComparisonError shows."""


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """gobwas/glob without separators (what Argo CD's include/exclude use): ``*`` and ``**`` match anything,
    ``?`` one character, ``[…]``/``[!…]`` classes, ``{a,b}`` alternatives, ``\\`` escapes."""
    out = ""
    i = 0
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        if c == "*":
            while i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
            out += ".*"
        elif c == "?":
            out += "."
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("!")
                if negate:
                    body = body[1:]
                out += "[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]"
                i = end
        elif c == "{":
            depth += 1
            out += "(?:"
        elif c == "}" and depth:
            depth -= 1
            out += ")"
        elif c == "," and depth:
            out += "|"
        else:
            out += re.escape(c)
        i += 1
    out += ")" * depth
    return re.compile(f"^(?:{out})$", re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    try:
        return bool(_glob(pattern).match(text))
    except re.error:
        return False


def app_path(root: Path, path: str) -> Path:
    """The application directory inside a checkout (Argo CD's checks and messages)."""
    clean = gopath.clean(path or ".")
    if clean.startswith("../") or clean == ".." or clean.startswith("/"):
        raise RenderError(f"{path}: app path is outside the repository")
    full = (root / clean).resolve()
    try:
        full.relative_to(root.resolve())
    except ValueError:
        raise RenderError(f"{path}: app path is outside the repository") from None
    if not full.exists():
        raise RenderError(f"{path}: app path does not exist")
    if not full.is_dir():
        raise RenderError(f"{path}: app path is not a directory")
    return full


def _looks_like_manifest(text: str) -> bool:
    return "apiVersion:" in text and "kind:" in text and "metadata:" in text


def _flatten(manifest: Manifest) -> list[Manifest]:
    obj = manifest.obj
    kind = str(obj.get("kind") or "")
    if kind.endswith("List") and "items" in obj and "spec" not in obj and "status" not in obj:
        items = obj.get("items") or []
        out = []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                lines = {k[2:]: v for k, v in manifest.source.lines.items() if k[:2] == ("items", index)}
                src = Source(manifest.source.file, manifest.source.line_of(("items", index)), lines)
                out.extend(_flatten(Manifest(item, src)))
        return out
    return [manifest]


def _load_manifest_file(file: Path, shown: str) -> list[Manifest]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RenderError(f"{shown}:1: not UTF-8 text") from None
    except OSError as exc:
        raise RenderError(f"{shown}: {exc.strerror or exc}") from None
    if file.name.endswith(".json"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RenderError(f'{shown}:{exc.lineno}: Failed to unmarshal "{file.name}": {exc.msg}') from None
        if not isinstance(value, dict):
            raise RenderError(
                f'{shown}:1: Found multiple objects in "{file.name}". Only single objects are allowed in JSON files.'
            )
        docs = [Manifest(value, Source(shown, 1))]
    else:
        try:
            docs = load_text(text, shown)
        except ManifestError as exc:
            if not _looks_like_manifest(text):
                return []  # an unrelated YAML file (values, config): Argo CD ignores it
            raise RenderError(str(exc)) from None
    out: list[Manifest] = []
    for index, doc in enumerate(docs):
        if not doc.obj.get("kind"):
            if index == 0 and not _looks_like_manifest(text):
                return []
            raise RenderError(f"{doc.where()}: Object 'Kind' is missing")
        if not doc.obj.get("apiVersion"):
            raise RenderError(f"{doc.where()}: Object 'apiVersion' is missing")
        out.extend(_flatten(doc))
    return out


def render_directory(root: Path, directory: Path, options: Mapping[str, Any]) -> list[Manifest]:
    """A plain directory of manifests (Argo CD's ``findManifests``)."""
    recurse = bool(options.get("recurse"))
    include = str(options.get("include") or "")
    exclude = str(options.get("exclude") or "")
    if options.get("jsonnet"):
        raise RenderError("not supported: directory.jsonnet")
    manifests: list[Manifest] = []

    def walk(current: Path) -> None:
        for entry in sorted(current.iterdir(), key=lambda p: p.name):
            if entry.is_dir() and not entry.is_symlink():
                if recurse and entry.name != ".git":
                    walk(entry)
                continue
            if not _MANIFEST_FILE.match(entry.name):
                continue
            rel = entry.relative_to(directory).as_posix()
            real = entry.resolve()
            try:
                real.relative_to(root.resolve())
            except ValueError:
                raise RenderError(f'invalid manifest file "{rel}": illegal filepath in symlink') from None
            if not real.is_file():
                continue
            if exclude and glob_match(exclude, rel):
                continue
            if include and not glob_match(include, rel):
                continue
            shown = entry.relative_to(root).as_posix()
            if entry.name.endswith(".jsonnet"):
                raise RenderError(f"{shown}: not supported: jsonnet manifests")
            try:
                if _SKIP_MARKER in real.read_text(encoding="utf-8", errors="replace"):
                    continue
            except OSError as exc:
                raise RenderError(f"{shown}: {exc.strerror or exc}") from None
            manifests.extend(_load_manifest_file(real, shown))

    walk(directory)
    return manifests


def _image_entry(spec: str) -> dict[str, str]:
    """``kustomize edit set image`` syntax: ``name=newName:tag``, ``name:tag``, ``name@digest``, ``newName:tag``."""
    name, sep, rest = spec.partition("=")
    if not sep:
        rest = spec
        name = ""
    entry: dict[str, str] = {}
    target = rest
    digest = ""
    if "@" in target:
        target, digest = target.split("@", 1)
    tag = ""
    slash = target.rfind("/")
    colon = target.rfind(":")
    if colon > slash:
        target, tag = target[:colon], target[colon + 1 :]
    if not name:
        name = target
    elif target != name:
        entry["newName"] = target
    entry = {"name": name, **entry}
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


def kustomize_overrides(options: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.source.kustomize`` → changes to the kustomization (what Argo CD does with ``kustomize edit``)."""
    unsupported = [k for k in ("components", "version", "kubeVersion", "apiVersions") if options.get(k)]
    if unsupported:
        raise RenderError(f"not supported: spec.source.kustomize.{unsupported[0]}")
    out: dict[str, Any] = {}
    for key in ("namePrefix", "nameSuffix", "namespace"):
        if options.get(key):
            out[key] = str(options[key])
    if options.get("images"):
        out["images"] = [_image_entry(str(i)) for i in options["images"]]
    for key in ("commonLabels", "commonAnnotations"):
        if options.get(key):
            out[key] = dict(options[key])
    if options.get("replicas"):
        out["replicas"] = [{"name": r["name"], "count": int(r["count"])} for r in options["replicas"]]
    if options.get("patches"):
        out["patches"] = list(options["patches"])
    return out


def render_source(root: Path, source: Mapping[str, Any]) -> list[Manifest]:
    """The manifests of ``source`` (``spec.source`` of an Application) in the checkout at ``root``."""
    for unsupported in ("helm", "plugin", "chart"):
        if source.get(unsupported):
            raise RenderError(
                f"not supported: spec.source.{unsupported} (flightdeck renders directories and kustomize)"
            )
    directory = app_path(root, str(source.get("path") or "."))
    kustomize_options = source.get("kustomize") or {}
    if (directory / "Chart.yaml").exists() and find_kustomization(directory) is None:
        raise RenderError(f"{source.get('path')}: not supported: Helm charts")
    if find_kustomization(directory) is not None or kustomize_options:
        overrides = kustomize_overrides(kustomize_options)
        try:
            return kustomize_build(directory, root, overrides=overrides)
        except KustomizeError as exc:
            raise RenderError(f"kustomize build {source.get('path') or '.'} failed: {exc}") from None
    return render_directory(root, directory, source.get("directory") or {})
