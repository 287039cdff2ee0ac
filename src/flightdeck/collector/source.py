"""Where the collector's YAML comes from: a plain config file, or a Kubernetes ConfigMap manifest whose key
is chosen the way the workload that mounts it does (``--config=/conf/collector-config.yaml`` with the
ConfigMap mounted at ``/conf`` ⇒ key ``collector-config.yaml``)."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from flightdeck.collector.errors import ConfigError
from flightdeck.kube.manifest import MANIFEST_SUFFIXES

_WORKLOAD_KINDS = {"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Pod", "Rollout", "Job"}


@dataclass(frozen=True, slots=True)
class ConfigText:
    text: str
    origin: str  # shown in messages: the file, or ``file#ConfigMap/name[key]``


def _documents(text: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return []
    return [d for d in docs if isinstance(d, dict)]


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if obj.get("kind") == "Pod":
        return cast(Mapping[str, Any], spec)
    template = spec.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
        return cast(Mapping[str, Any], template["spec"])
    job = spec.get("jobTemplate")
    if isinstance(job, Mapping):
        return _pod_spec({"kind": "Job", "spec": job.get("spec")})
    return None


def _config_args(args: Iterable[Any]) -> list[str]:
    """Paths given as ``--config=P`` / ``--config P`` (a ``file:`` scheme prefix is dropped)."""
    items = [str(a) for a in args]
    out: list[str] = []
    for i, arg in enumerate(items):
        value = None
        if arg.startswith("--config="):
            value = arg.split("=", 1)[1]
        elif arg == "--config" and i + 1 < len(items):
            value = items[i + 1]
        if value is not None:
            out.append(value.removeprefix("file:"))
    return out


def _mounted_key(cm_name: str, workloads: Iterable[Mapping[str, Any]]) -> str | None:
    """The data key of ConfigMap ``cm_name`` that a workload's collector reads, if one does."""
    for obj in workloads:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        volumes: dict[str, Mapping[str, Any]] = {}
        for vol in pod.get("volumes") or []:
            cm = vol.get("configMap") if isinstance(vol, Mapping) else None
            if isinstance(cm, Mapping) and cm.get("name") == cm_name:
                volumes[str(vol.get("name"))] = cm
        if not volumes:
            continue
        for container in pod.get("containers") or []:
            if not isinstance(container, Mapping):
                continue
            paths = _config_args([*(container.get("command") or []), *(container.get("args") or [])])
            for mount in container.get("volumeMounts") or []:
                cm = volumes.get(str(mount.get("name")))
                if cm is None:
                    continue
                mount_path = str(mount.get("mountPath", "")).rstrip("/")
                sub_path = mount.get("subPath")
                for path in paths:
                    path = posixpath.normpath(path)
                    if sub_path:
                        if path == mount_path:
                            return str(sub_path)
                        continue
                    if not path.startswith(mount_path + "/"):
                        continue
                    rel = path[len(mount_path) + 1 :]
                    items = cm.get("items")
                    if isinstance(items, list):
                        for item in items:
                            if isinstance(item, Mapping) and item.get("path") == rel:
                                return str(item.get("key"))
                        continue
                    return rel
    return None


def _sibling_workloads(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        siblings = sorted(p for p in path.parent.iterdir() if p.suffix in MANIFEST_SUFFIXES and p != path)
    except OSError:
        return out
    for sib in siblings:
        try:
            text = sib.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.extend(d for d in _documents(text) if d.get("kind") in _WORKLOAD_KINDS)
    return out


def read_config(path: str, config_key: str | None = None) -> ConfigText:
    """The collector YAML named by ``--config``; ConfigError when the file or ConfigMap key is missing."""
    file = Path(path.removeprefix("file:"))
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"failed to get config: cannot resolve the configuration: unable to read the file {file}: "
            f"open {file}: no such file or directory"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"failed to get config: cannot resolve the configuration: {file}: {exc}") from None
    docs = _documents(text)
    config_maps = [d for d in docs if d.get("kind") == "ConfigMap" and isinstance(d.get("data"), Mapping)]
    if not config_maps:
        if config_key is not None:
            raise ConfigError(f"{file}: --config-key given, but the file holds no ConfigMap")
        return ConfigText(text, str(file))
    workloads = [d for d in docs if d.get("kind") in _WORKLOAD_KINDS]
    if config_key is None:
        workloads += _sibling_workloads(file)
    chosen: tuple[dict[str, Any], str] | None = None
    for cm in config_maps:
        name = str((cm.get("metadata") or {}).get("name", ""))
        data = cm["data"]
        if config_key is not None:
            if config_key in data:
                chosen = (cm, config_key)
                break
            continue
        key = _mounted_key(name, workloads)
        if key is not None and key in data:
            chosen = (cm, key)
            break
    if chosen is None and config_key is None and len(config_maps) == 1 and len(config_maps[0]["data"]) == 1:
        only = config_maps[0]
        chosen = (only, next(iter(only["data"])))
    if chosen is None:
        keys = sorted({str(k) for cm in config_maps for k in cm["data"]})
        if config_key is not None:
            raise ConfigError(f"{file}: no ConfigMap has the key {config_key!r} (keys: {', '.join(keys)})")
        raise ConfigError(
            f"{file}: cannot tell which ConfigMap key holds the collector config (keys: {', '.join(keys)}); "
            "choose one with --config-key"
        )
    cm, key = chosen
    value = cm["data"][key]
    name = (cm.get("metadata") or {}).get("name", "")
    return ConfigText(str(value) if value is not None else "", f"{file}#ConfigMap/{name}[{shlex.quote(key)}]")
