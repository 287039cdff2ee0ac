"""The image catalog: which local program stands in for a container image.

There is no container runtime, so an image is a name for a program on this machine. Each entry says what runs
in place of the image's ``ENTRYPOINT`` (``command``), the image's ``CMD`` (``args``), and the image's own
entrypoint path (``entrypoint``) so that a manifest that spells it out (``command: [/otelcol-contrib]``) still
gets the local program. Docker's rules decide the command line: the container's ``command`` replaces the
entrypoint and drops the image's CMD; its ``args`` replace the CMD.

An image without an entry still runs when the container gives its own ``command`` (or ``args``, read as the
command of an image without an entrypoint) — with this machine's tools, e.g. ``/bin/sh`` and ``curl``.
Otherwise the pod waits in ``ErrImagePull`` with a message that shows how to add an entry.

Users add entries in a YAML file (``images:`` list; see :data:`CONFIG_EXAMPLE`); ``{python}`` in a command is
this interpreter and ``{tag}`` the image's tag. The file is re-read when it changes, and waiting pods retry.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flightdeck.kube.manifest import ManifestError, load_text

CONFIG_EXAMPLE = """\
images:
  - image: ghcr.io/acme/shop          # a repository (any tag), or repository:tag for one tag
    command: ["/usr/local/bin/shop"]  # runs in place of the image's ENTRYPOINT; {python} and {tag} expand
    args: ["serve"]                   # the image's CMD, used when the container gives neither command nor args
    entrypoint: ["/app/shop"]         # the image's own ENTRYPOINT: a container command naming it runs `command`
    env: {SHOP_MODE: local}           # extra environment
"""

_ENTRY_KEYS = frozenset({"image", "command", "args", "entrypoint", "env", "pathFlags", "clusterAware"})


class ImagePullError(Exception):
    """No local program for the image (the pod waits with ``ErrImagePull``); ``str()`` is the message."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    repository: str  # normalised: no docker.io/, no library/
    tag: str
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.repository}:{self.tag}"


def parse_image(image: str) -> ImageRef:
    """``[registry/]repository[:tag][@digest]`` with Docker Hub's defaults (``latest``, ``library/``)."""
    text = image.strip()
    ref, _, digest = text.partition("@")
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        repository, tag = ref[:colon], ref[colon + 1 :]
    else:
        repository, tag = ref, "" if digest else "latest"
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix) :]
            break
    if repository.startswith("library/"):
        repository = repository[len("library/") :]
    return ImageRef(repository, tag, digest)


@dataclass(frozen=True, slots=True)
class ImageEntry:
    image: str  # repository or repository:tag
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    # flags whose values must be files visible to the program (checked after volume paths are mapped)
    path_flags: tuple[str, ...] = ()
    # a flightdeck program: resolves cluster names itself (FLIGHTDECK_CLUSTER_HOSTS), needs no HTTP proxy
    cluster_aware: bool = False
    source: str = "built-in"


@dataclass(frozen=True, slots=True)
class Launch:
    """What to execute for one container (before volume paths are mapped)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    entry: ImageEntry | None = None

    @property
    def cluster_aware(self) -> bool:
        return self.entry is not None and self.entry.cluster_aware

    @property
    def path_flags(self) -> tuple[str, ...]:
        return self.entry.path_flags if self.entry is not None else ()


_PY = "{python}"
# The images' own entrypoint scripts, rewritten for a plain shell (curl's: a first argument that is a flag
# means "run curl with these arguments").
_CURL_ENTRYPOINT = 'if [ "${1#-}" != "$1" ]; then set -- curl "$@"; fi; exec "$@"'

BUILTIN: tuple[ImageEntry, ...] = (
    ImageEntry(
        image="jaegertracing/example-hotrod",
        command=(_PY, "-m", "flightdeck.apps.hotrod"),
        args=("all",),
        entrypoint=("/go/bin/hotrod-linux",),
        env=(("HOTROD_VERSION", "{tag}"),),
        cluster_aware=True,
    ),
    ImageEntry(
        image="otel/opentelemetry-collector-contrib",
        command=(_PY, "-m", "flightdeck.cli.main", "collector"),
        args=("--config", "/etc/otelcol-contrib/config.yaml"),
        entrypoint=("/otelcol-contrib",),
        path_flags=("--config",),
        cluster_aware=True,
    ),
    ImageEntry(
        image="otel/opentelemetry-collector",
        command=(_PY, "-m", "flightdeck.cli.main", "collector"),
        args=("--config", "/etc/otelcol/config.yaml"),
        entrypoint=("/otelcol",),
        path_flags=("--config",),
        cluster_aware=True,
    ),
    ImageEntry(
        image="curlimages/curl",
        command=("/bin/sh", "-c", _CURL_ENTRYPOINT, "entrypoint.sh"),
        args=("curl",),
        entrypoint=("/entrypoint.sh",),
    ),
    # images whose CMD is a shell and that have no entrypoint
    *(ImageEntry(image=name, command=(), args=("sh",)) for name in ("busybox", "alpine")),
    *(ImageEntry(image=name, command=(), args=("bash",)) for name in ("debian", "ubuntu")),
)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ImagePullError(f"{where}: {key} must be a list of strings")
    return tuple(str(v) for v in value)


def load_config(text: str, file: str) -> list[ImageEntry]:
    """Entries of an image-catalog file; errors are ``ManifestError`` with ``file:line``."""
    docs = load_text(text, file)
    entries: list[ImageEntry] = []
    for doc in docs:
        unknown = sorted(set(doc.obj) - {"images"})
        if unknown:
            raise doc.error((unknown[0],), f'unknown key "{unknown[0]}" (expected "images")')
        items = doc.obj.get("images") or []
        if not isinstance(items, list):
            raise doc.error(("images",), "images must be a list of entries")
        for i, item in enumerate(items):
            path: tuple[str | int, ...] = ("images", i)
            if not isinstance(item, dict):
                raise doc.error(path, "an entry must be a mapping with image and command")
            for key in item:
                if key not in _ENTRY_KEYS:
                    raise doc.error(
                        (*path, key), f'unknown key "{key}" (known: {", ".join(sorted(_ENTRY_KEYS))})'
                    )
            image = item.get("image")
            if not isinstance(image, str) or not image:
                raise doc.error((*path, "image"), "image is required")
            try:
                command = _strings(item.get("command", []), "", "command")
                args = _strings(item.get("args", []), "", "args")
                entrypoint = _strings(item.get("entrypoint", []), "", "entrypoint")
                path_flags = _strings(item.get("pathFlags", []), "", "pathFlags")
            except ImagePullError as exc:
                raise doc.error(path, str(exc).lstrip(": ")) from None
            if not command and not args:
                raise doc.error(path, "an entry needs a command (or, for an image without entrypoint, args)")
            env = item.get("env") or {}
            if not isinstance(env, dict):
                raise doc.error((*path, "env"), "env must be a mapping of NAME: value")
            entries.append(
                ImageEntry(
                    image=image,
                    command=command,
                    args=args,
                    entrypoint=entrypoint,
                    env=tuple((str(k), str(v)) for k, v in env.items()),
                    path_flags=path_flags,
                    cluster_aware=bool(item.get("clusterAware", False)),
                    source=doc.where(path),
                )
            )
    return entries


def _fill(word: str, tag: str) -> str:
    return word.replace(_PY, sys.executable).replace("{tag}", tag)


def _names_entrypoint(command: Sequence[str], entrypoint: Sequence[str]) -> bool:
    if not entrypoint or len(command) < len(entrypoint):
        return False
    head = list(command[: len(entrypoint)])
    if head == list(entrypoint):
        return True
    return len(entrypoint) == 1 and os.path.basename(command[0]) == os.path.basename(entrypoint[0])


class ImageCatalog:
    """Built-in entries plus the user's file (its entries win); thread-safe reads."""

    def __init__(self, entries: Iterable[ImageEntry] = BUILTIN, config_path: Path | None = None) -> None:
        self._builtin = tuple(entries)
        self.config_path = config_path
        self._mtime: float | None = None
        self._user: tuple[ImageEntry, ...] = ()
        self.config_error: str | None = None
        self.reload()

    def reload(self) -> None:
        """Read the user file again if it changed; a broken file keeps the previous entries and records why."""
        path = self.config_path
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            self._user, self._mtime, self.config_error = (), None, None
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self._user = tuple(load_config(path.read_text(encoding="utf-8"), str(path)))
            self.config_error = None
        except (ManifestError, OSError, UnicodeDecodeError) as exc:
            self.config_error = str(exc)

    def entries(self) -> tuple[ImageEntry, ...]:
        return self._user + self._builtin

    def lookup(self, ref: ImageRef) -> ImageEntry | None:
        """The entry for an image: one naming its tag wins over one for the whole repository."""
        by_repository: ImageEntry | None = None
        for entry in self.entries():
            wanted = parse_image(entry.image)
            if wanted.repository != ref.repository:
                continue
            if ":" in entry.image.rsplit("/", 1)[-1]:
                if wanted.tag == ref.tag:
                    return entry
            elif by_repository is None:
                by_repository = entry
        return by_repository

    def resolve(self, image: str, command: Sequence[str] | None, args: Sequence[str] | None) -> Launch:
        """The command line for a container (``command``/``args`` as in the pod spec, ``None`` when absent)."""
        self.reload()
        ref = parse_image(image)
        entry = self.lookup(ref)
        if entry is None:
            if command:
                return Launch([*command, *(args or [])])
            if args:
                return Launch(list(args))
            raise ImagePullError(self._missing_message(image))
        extra = {k: _fill(v, ref.tag) for k, v in entry.env}
        program = [_fill(w, ref.tag) for w in entry.command]
        if command:
            if _names_entrypoint(command, entry.entrypoint):
                return Launch([*program, *command[len(entry.entrypoint) :], *(args or [])], extra, entry)
            return Launch([*command, *(args or [])], extra, None)
        argv = [*program, *(args if args is not None else entry.args)]
        if not argv:
            raise ImagePullError(self._missing_message(image))
        return Launch(argv, extra, entry)

    def _missing_message(self, image: str) -> str:
        where = (
            str(self.config_path)
            if self.config_path
            else "an image catalog file (flightdeck up --images FILE)"
        )
        broken = f" (the catalog file is not loaded: {self.config_error})" if self.config_error else ""
        return (
            f'flightdeck has no program for image "{image}" and the container sets no command{broken}; '
            f"map it in {where}:\n"
            f"images:\n  - image: {parse_image(image).repository}\n    command: [/path/to/program]"
        )


def catalog_from_mapping(mapping: Mapping[str, Sequence[str]]) -> ImageCatalog:
    """A catalog of simple ``image -> command`` entries (tests, embedding)."""
    return ImageCatalog([ImageEntry(image=k, command=tuple(v)) for k, v in mapping.items()])
