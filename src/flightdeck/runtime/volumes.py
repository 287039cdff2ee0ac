"""Pod volumes as directories on this machine, and the mapping from a container's mount paths to them.

``configMap``, ``secret`` (keys, ``items``, modes, ``optional``), ``downwardAPI`` (``fieldRef`` items),
``projected`` (of those three), ``emptyDir`` and ``hostPath`` are materialised under the pod's directory; the
kubelet's errors (``configmap "x" not found``) come out as :class:`VolumeError` for the ``FailedMount`` event.

Processes cannot see ``/conf``: there is no mount namespace. :class:`PathMapper` rewrites mount paths where they
appear in a container's command, args and environment — as a whole word or after ``=``/``:`` (``--config=
/conf/x.yaml``, ``file:/conf/x.yaml``) — to the real directories. Programs that find their files some other way
(a path compiled in, a relative path from an image's working directory) cannot be mapped; for the catalog's
programs the path flags are checked and a path that cannot be mapped stops the container with a clear message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flightdeck.runtime.env import (
    ContainerConfigError,
    Lookup,
    PodFacts,
    configmap_data,
    field_ref_value,
    secret_data,
)

Obj = dict[str, Any]

SUPPORTED = ("configMap", "secret", "emptyDir", "hostPath", "downwardAPI", "projected")
_BEFORE = frozenset(" \t\n\"'=:,;(|<>")
_AFTER = frozenset("/ \t\n\"'`,;)|<>&")


class VolumeError(Exception):
    """A volume cannot be set up; ``str()`` is the kubelet's ``MountVolume.SetUp failed …`` text."""


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
            return
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _sync_dir(root: Path, files: Mapping[str, tuple[bytes, int]]) -> None:
    """Make ``root`` hold exactly ``files`` (relative path -> (content, mode))."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, (data, mode) in files.items():
        _write_atomic(root / rel, data, mode)
    wanted = {root / rel for rel in files}
    for dirpath, _dirs, names in os.walk(root, topdown=False):
        for name in names:
            full = Path(dirpath) / name
            if full not in wanted:
                full.unlink(missing_ok=True)
        if Path(dirpath) != root and not any(Path(dirpath).iterdir()):
            Path(dirpath).rmdir()


def _mode(value: Any, default: int) -> int:
    return int(value) & 0o777 if isinstance(value, int) and not isinstance(value, bool) else default


def _safe_rel(rel: str, volume: str) -> str:
    parts = Path(rel).parts
    if not rel or rel.startswith("/") or ".." in parts:
        raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : invalid path {rel!r}')
    return rel


class VolumeBuilder:
    """Materialises one pod's volumes under ``pod_dir/volumes``."""

    def __init__(self, pod_dir: Path, facts: PodFacts, lookup: Lookup | None) -> None:
        self.root = pod_dir / "volumes"
        self.facts = facts
        self._lookup = lookup
        self.namespace = str((facts.pod.get("metadata") or {}).get("namespace") or "default")

    def _keys(self, kind: str, name: str, optional: bool, volume: str) -> dict[str, bytes] | None:
        obj = self._lookup(kind, self.namespace, name) if self._lookup else None
        if obj is None:
            if optional:
                return None
            word = "configmap" if kind == "ConfigMap" else "secret"
            raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : {word} "{name}" not found')
        if kind == "Secret":
            return secret_data(obj)
        data = {k: v.encode() for k, v in configmap_data(obj).items()}
        for key, value in (obj.get("binaryData") or {}).items():
            try:
                data[str(key)] = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                data[str(key)] = str(value).encode()
        return data

    def _key_files(
        self,
        kind: str,
        source: Mapping[str, Any],
        volume: str,
        default_mode: int,
        out: dict[str, tuple[bytes, int]],
    ) -> None:
        name = str(source.get("name") or source.get("secretName") or "")
        keys = self._keys(kind, name, bool(source.get("optional")), volume)
        if keys is None:
            return
        items = source.get("items")
        if not items:
            for key, data in keys.items():
                out[_safe_rel(key, volume)] = (data, default_mode)
            return
        for item in items:
            key = str(item.get("key", ""))
            if key not in keys:
                if source.get("optional"):
                    continue
                word = "configmap" if kind == "ConfigMap" else "secret"
                raise VolumeError(
                    f'MountVolume.SetUp failed for volume "{volume}" : '
                    f"{word} references non-existent {word} key: {key}"
                )
            out[_safe_rel(str(item.get("path") or key), volume)] = (
                keys[key],
                _mode(item.get("mode"), default_mode),
            )

    def _downward(
        self, source: Mapping[str, Any], volume: str, default_mode: int, out: dict[str, tuple[bytes, int]]
    ) -> None:
        for item in source.get("items") or []:
            rel = _safe_rel(str(item.get("path", "")), volume)
            if item.get("fieldRef") is None:
                raise VolumeError(
                    f'MountVolume.SetUp failed for volume "{volume}" : not supported: downwardAPI item {rel} '
                    "without fieldRef (resourceFieldRef)"
                )
            try:
                value = field_ref_value(str(item["fieldRef"].get("fieldPath", "")), self.facts)
            except ContainerConfigError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : {exc}') from None
            out[rel] = (value.encode(), _mode(item.get("mode"), default_mode))

    def setup(self, volumes: Sequence[Obj]) -> dict[str, Path]:
        """Create or refresh every volume; returns volume name -> directory (or host path)."""
        paths: dict[str, Path] = {}
        for vol in volumes:
            name = str(vol.get("name", ""))
            target = self.root / name
            kinds = [k for k in vol if k != "name"]
            kind = kinds[0] if kinds else "emptyDir"
            source = vol.get(kind) or {}
            files: dict[str, tuple[bytes, int]] = {}
            if kind == "emptyDir":
                target.mkdir(parents=True, exist_ok=True)
                paths[name] = target
                continue
            if kind == "hostPath":
                host = Path(str(source.get("path", "")))
                if source.get("type") in ("DirectoryOrCreate",):
                    host.mkdir(parents=True, exist_ok=True)
                if source.get("type") in ("Directory", "File", "Socket") and not host.exists():
                    raise VolumeError(
                        f'MountVolume.SetUp failed for volume "{name}" : hostPath type check failed: '
                        f"{host} is not a {str(source.get('type')).lower()}"
                    )
                paths[name] = host
                continue
            mode = _mode(source.get("defaultMode"), 0o644)
            if kind == "configMap":
                self._key_files("ConfigMap", source, name, mode, files)
            elif kind == "secret":
                self._key_files("Secret", source, name, mode, files)
            elif kind == "downwardAPI":
                self._downward(source, name, mode, files)
            elif kind == "projected":
                for projection in source.get("sources") or []:
                    if "configMap" in projection:
                        self._key_files("ConfigMap", projection["configMap"] or {}, name, mode, files)
                    elif "secret" in projection:
                        self._key_files("Secret", projection["secret"] or {}, name, mode, files)
                    elif "downwardAPI" in projection:
                        self._downward(projection["downwardAPI"] or {}, name, mode, files)
                    else:
                        raise VolumeError(
                            f'MountVolume.SetUp failed for volume "{name}" : not supported: projected source '
                            f"{next(iter(projection), '?')} (supported: configMap, secret, downwardAPI)"
                        )
            else:
                raise VolumeError(
                    f'MountVolume.SetUp failed for volume "{name}" : not supported: volume type {kind} '
                    f"(supported: {', '.join(SUPPORTED)})"
                )
            _sync_dir(target, files)
            paths[name] = target
        return paths

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Mount:
    mount_path: str  # inside the container, normalised, no trailing slash
    real_path: str


def container_mounts(container: Obj, volume_paths: Mapping[str, Path], env: Mapping[str, str]) -> list[Mount]:
    """The container's ``volumeMounts`` resolved to real paths (``subPath``/``subPathExpr`` included)."""
    from flightdeck.runtime.expand import expand, mapping_lookup

    mounts: list[Mount] = []
    for vm in container.get("volumeMounts") or []:
        name = str(vm.get("name", ""))
        mount_path = os.path.normpath(str(vm.get("mountPath", "")))
        if name not in volume_paths:
            raise ContainerConfigError(f'unable to find volume "{name}" for volumeMount {mount_path}')
        if mount_path == "/":
            raise ContainerConfigError(
                f'not supported: volumeMount of "{name}" at / (it would hide this machine)'
            )
        real = volume_paths[name]
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(str(vm["subPathExpr"]), mapping_lookup(env))
        if sub:
            real = real / _safe_rel(str(sub), name)
            if not real.exists():
                real.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(mount_path, str(real)))
    mounts.sort(key=lambda m: -len(m.mount_path))
    return mounts


class PathMapper:
    """Rewrites a container's mount paths to the directories that hold the volumes."""

    def __init__(self, mounts: Iterable[Mount]) -> None:
        self.mounts = sorted(mounts, key=lambda m: -len(m.mount_path))
        if self.mounts:
            alternatives = "|".join(re.escape(m.mount_path) for m in self.mounts)
            self._pattern: re.Pattern[str] | None = re.compile(f"({alternatives})")
        else:
            self._pattern = None
        self._real = {m.mount_path: m.real_path for m in self.mounts}

    def resolve(self, path: str) -> str | None:
        """The real path of ``path`` if it lies under a mount."""
        norm = os.path.normpath(path)
        for m in self.mounts:
            if norm == m.mount_path or norm.startswith(m.mount_path + "/"):
                return m.real_path + norm[len(m.mount_path) :]
        return None

    def rewrite(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or "/" not in text:
            return text
        out: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            start, end = match.span()
            if start and text[start - 1] not in _BEFORE:
                continue
            if end < len(text) and text[end] not in _AFTER:
                continue
            out.append(text[last:start])
            out.append(self._real[match.group(1)])
            last = end
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)

    def mounted(self) -> str:
        return ", ".join(sorted(m.mount_path for m in self.mounts)) or "none"


def flag_values(argv: Sequence[str], flags: Sequence[str]) -> list[tuple[str, str]]:
    """``(flag, value)`` for ``--flag=value`` and ``--flag value`` occurrences of the given flags."""
    found: list[tuple[str, str]] = []
    for i, word in enumerate(argv):
        for flag in flags:
            if word.startswith(flag + "="):
                found.append((flag, word[len(flag) + 1 :]))
            elif word == flag and i + 1 < len(argv):
                found.append((flag, argv[i + 1]))
    return found


def check_path_flags(
    original: Sequence[str],
    mapped: Sequence[str],
    flags: Sequence[str],
    mapper: PathMapper,
    container: str,
    exists: Callable[[str], bool] = os.path.exists,
) -> None:
    """A path given to one of the catalog program's path flags must be mapped or exist on this machine."""
    for (flag, before), (_, after) in zip(
        flag_values(original, flags), flag_values(mapped, flags), strict=True
    ):
        value = after.removeprefix("file:")
        if not value.startswith("/"):
            continue  # relative, or another config scheme (env:, yaml:, http:)
        if before != after or exists(value):
            continue
        raise ContainerConfigError(
            f'flightdeck cannot map path "{before.removeprefix("file:")}" ({flag}) of container "{container}": '
            f"it is under no volumeMount (mounted: {mapper.mounted()}) and does not exist on this machine"
        )
