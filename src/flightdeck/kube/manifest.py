"""Loading Kubernetes manifests from YAML/JSON files with a line number for every field.

Every error names ``file:line`` and, where it concerns a field, the field path
(``spec.metrics[1].interval``), so users can jump straight to the problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from flightdeck.kube.podutil import name_of, namespace_of

try:  # libyaml's parser is several times faster; the pure-Python one behaves the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def format_path(path: PathKey) -> str:
    """``("spec", "metrics", 1, "interval")`` → ``spec.metrics[1].interval``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """Where a document came from, and the line of each field in it."""

    file: str
    line: int
    lines: Mapping[PathKey, int] = dataclasses.field(default_factory=dict)

    def line_of(self, path: PathKey) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            line = self.lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return self.line

    def where(self, path: PathKey = ()) -> str:
        return f"{self.file}:{self.line_of(path)}"


class ManifestError(Exception):
    """A problem in a manifest file: ``file:line: [path: ]message``."""

    def __init__(self, file: str, line: int, message: str, path: PathKey = ()) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        field = f"{format_path(self.path)}: " if self.path else ""
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {field}{self.message}"


@dataclasses.dataclass(slots=True)
class Manifest:
    """One Kubernetes-shaped document (apiVersion, kind, metadata, spec, …) and its source."""

    obj: dict[str, Any]
    source: Source

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def name(self) -> str:
        return name_of(self.obj)

    @property
    def namespace(self) -> str:
        return namespace_of(self.obj)

    def where(self, path: PathKey = ()) -> str:
        return self.source.where(path)

    def error(self, path: PathKey, message: str) -> ManifestError:
        return ManifestError(self.source.file, self.source.line_of(path), message, path)


def _line_map(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ManifestError(
                    file, line, f'mapping key "{key}" already defined at line {seen[key]}', path
                )
            seen[key] = line
            lines[(*path, key)] = line
            _line_map(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _line_map(item, (*path, index), lines, file)


def load_text(text: str, file: str = "<string>") -> list[Manifest]:
    """Parse a multi-document YAML (or JSON) text; empty documents are skipped."""
    manifests: list[Manifest] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[PathKey, int] = {}
            _line_map(node, (), lines, file)
            data = loader.construct_document(node)
            line = node.start_mark.line + 1
            if data is None:
                continue
            if not isinstance(data, dict):
                raise ManifestError(file, line, f"a manifest must be a mapping, got {type(data).__name__}")
            manifests.append(Manifest(data, Source(file, line, lines)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(file, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(file, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return manifests


def load_file(path: str | Path) -> list[Manifest]:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(file, 0, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(file, 1, f"not UTF-8 text: {exc.reason}") from None
    return load_text(text, file)


def iter_manifest_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named on the command line, and manifest files found under named directories (sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix in MANIFEST_SUFFIXES
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                ):
                    yield child
        else:
            yield path


def load_paths(paths: Iterable[str | Path]) -> list[Manifest]:
    """Load every document of every file (directories are searched recursively)."""
    manifests: list[Manifest] = []
    for file in iter_manifest_files(paths):
        manifests.extend(load_file(file))
    return manifests
