"""A container's environment as the kubelet builds it (``makeEnvironmentVariables``), and its command line.

Order of precedence, as in the kubelet: ``envFrom`` sources first (later sources win), then ``env`` entries in
order (a literal ``value`` is ``$(VAR)``-expanded against the variables declared so far and the Service link
variables; ``valueFrom`` values are not expanded), then the Service link variables nobody overrode.
Errors carry the kubelet's text; the node reports them as ``CreateContainerConfigError``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flightdeck.kube.quantity import QuantityError, parse_quantity
from flightdeck.runtime.expand import expand, mapping_lookup
from flightdeck.util.gofmt import go_quote

Obj = dict[str, Any]
# (kind, namespace, name) -> object or None; the node's window on ConfigMaps and Secrets
Lookup = Callable[[str, str, str], Obj | None]

_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*\Z")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")


class ContainerConfigError(Exception):
    """The container cannot be configured (kubelet: ``CreateContainerConfigError``); ``str()`` is its message."""


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the downward API can see of a pod on this node."""

    pod: Obj
    pod_ip: str
    host_ip: str
    node_name: str


def configmap_data(obj: Obj) -> dict[str, str]:
    data = obj.get("data") or {}
    return {str(k): str(v) for k, v in data.items()}


def secret_data(obj: Obj) -> dict[str, bytes]:
    """A Secret's keys decoded (``data`` is base64 as in the API; ``stringData`` wins like on write)."""
    out: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            out[str(key)] = str(value).encode()
    for key, value in (obj.get("stringData") or {}).items():
        out[str(key)] = str(value).encode()
    return out


def _not_found(kind: str, name: str) -> ContainerConfigError:
    return ContainerConfigError(f'{"configmap" if kind == "ConfigMap" else "secret"} "{name}" not found')


def _format_map(values: Mapping[str, Any]) -> str:
    """``fieldpath.FormatMap``: ``key="value"`` lines, keys sorted."""
    return "\n".join(f"{k}={go_quote(str(values[k]))}" for k in sorted(values))


def _split_subscript(path: str) -> tuple[str, str] | None:
    if not path.endswith("']"):
        return None
    head, sep, key = path[:-2].partition("['")
    if not sep or not head:
        return None
    return head, key


def field_ref_value(field_path: str, facts: PodFacts) -> str:
    """``podFieldSelectorRuntimeValue`` + ``ExtractFieldPathAsString``."""
    pod = facts.pod
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple: dict[str, Callable[[], Any]] = {
        "spec.nodeName": lambda: spec.get("nodeName") or facts.node_name,
        "spec.serviceAccountName": lambda: spec.get("serviceAccountName") or "",
        "status.hostIP": lambda: facts.host_ip,
        "status.hostIPs": lambda: facts.host_ip,
        "status.podIP": lambda: facts.pod_ip,
        "status.podIPs": lambda: facts.pod_ip,
        "metadata.name": lambda: meta.get("name") or "",
        "metadata.namespace": lambda: meta.get("namespace") or "",
        "metadata.uid": lambda: meta.get("uid") or "",
        "metadata.labels": lambda: _format_map(meta.get("labels") or {}),
        "metadata.annotations": lambda: _format_map(meta.get("annotations") or {}),
    }
    getter = simple.get(field_path)
    if getter is not None:
        return str(getter())
    split = _split_subscript(field_path)
    if split is not None:
        head, key = split
        if head in ("metadata.labels", "metadata.annotations"):
            checked = key.lower() if head == "metadata.annotations" else key
            if not _qualified_name(checked):
                raise ContainerConfigError(
                    f"invalid key subscript in {field_path}: {checked!r} is not a qualified name"
                )
            values = meta.get("labels" if head == "metadata.labels" else "annotations") or {}
            return str(values.get(key, ""))
        raise ContainerConfigError(f'fieldPath "{field_path}" does not support subscript')
    raise ContainerConfigError(f"unsupported fieldPath: {field_path}")


def _qualified_name(value: str) -> bool:
    prefix, sep, name = value.rpartition("/")
    if sep and not prefix:
        return False
    return len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def resource_field_value(ref: Mapping[str, Any], container: Obj, node_cpu: int, node_memory: int) -> str:
    """``containerResourceRuntimeValue``: an unset limit is the node's allocatable; an unset request is the
    limit the API server would have defaulted it to, else zero."""
    resource = str(ref.get("resource", ""))
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    section, _, what = resource.partition(".")
    if section not in ("limits", "requests") or what not in ("cpu", "memory", "ephemeral-storage"):
        raise ContainerConfigError(f"unsupported container resource : {resource}")
    allocatable = {
        "cpu": float(node_cpu),
        "memory": float(node_memory),
        "ephemeral-storage": float(node_memory),
    }
    try:
        divisor = float(parse_quantity(str(ref.get("divisor") or "1"))) or 1.0
        raw = limits.get(what) if section == "limits" else requests.get(what, limits.get(what))
        if raw is not None:
            amount = float(parse_quantity(str(raw)))
        else:
            amount = allocatable[what] if section == "limits" else 0.0
    except QuantityError as exc:
        raise ContainerConfigError(str(exc)) from exc
    if what == "cpu":
        # MilliValue()/MilliValue(): both rounded up to whole millicores first
        return str(math.ceil(math.ceil(amount * 1000) / math.ceil(divisor * 1000)))
    return str(math.ceil(math.ceil(amount) / math.ceil(divisor)))


class EnvBuilder:
    """Builds one container's environment; ConfigMaps and Secrets are fetched once per build."""

    def __init__(self, facts: PodFacts, lookup: Lookup | None) -> None:
        self.facts = facts
        self._lookup = lookup
        self._cache: dict[tuple[str, str], Obj | None] = {}
        self.skipped_keys: list[str] = []

    def _get(self, kind: str, name: str) -> Obj | None:
        key = (kind, name)
        if key not in self._cache:
            namespace = str((self.facts.pod.get("metadata") or {}).get("namespace") or "default")
            self._cache[key] = self._lookup(kind, namespace, name) if self._lookup else None
        return self._cache[key]

    def _source(self, kind: str, ref: Mapping[str, Any]) -> dict[str, str] | None:
        name = str(ref.get("name") or "")
        obj = self._get(kind, name)
        if obj is None:
            if ref.get("optional"):
                return None
            raise _not_found(kind, name)
        if kind == "ConfigMap":
            return configmap_data(obj)
        return {k: v.decode("utf-8", "surrogateescape") for k, v in secret_data(obj).items()}

    def _key_ref(self, kind: str, ref: Mapping[str, Any]) -> str | None:
        values = self._source(kind, ref)
        if values is None:
            return None
        key = str(ref.get("key") or "")
        if key not in values:
            if ref.get("optional"):
                return None
            namespace = (self.facts.pod.get("metadata") or {}).get("namespace") or "default"
            raise ContainerConfigError(f"couldn't find key {key} in {kind} {namespace}/{ref.get('name')}")
        return values[key]

    def build(
        self, container: Obj, service_env: Mapping[str, str], node_cpu: int = 1, node_memory: int = 1 << 33
    ) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = str(source.get("prefix") or "")
            for kind, field_name in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = source.get(field_name)
                if ref is None:
                    continue
                values = self._source(kind, ref)
                for key, value in (values or {}).items():
                    name = prefix + key
                    if not _ENV_NAME.match(name):
                        self.skipped_keys.append(name)
                        continue
                    env[name] = value
        lookup = mapping_lookup(env, service_env)
        for item in container.get("env") or []:
            name = str(item.get("name") or "")
            value = item.get("value")
            if value not in (None, ""):
                env[name] = expand(str(value), lookup)
                continue
            source = item.get("valueFrom")
            resolved: str | None = ""
            if source:
                if "fieldRef" in source:
                    resolved = field_ref_value(
                        str((source["fieldRef"] or {}).get("fieldPath", "")), self.facts
                    )
                elif "resourceFieldRef" in source:
                    resolved = resource_field_value(
                        source["resourceFieldRef"] or {}, container, node_cpu, node_memory
                    )
                elif "configMapKeyRef" in source:
                    resolved = self._key_ref("ConfigMap", source["configMapKeyRef"] or {})
                elif "secretKeyRef" in source:
                    resolved = self._key_ref("Secret", source["secretKeyRef"] or {})
            if resolved is None:
                continue  # an optional source that is absent: the variable is not set at all
            env[name] = resolved
        for name, value in service_env.items():
            env.setdefault(name, value)
        return env


def expand_command(words: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """``ExpandContainerCommandAndArgs``: each word expanded against the final environment."""
    lookup = mapping_lookup(env)
    return [expand(str(w), lookup) for w in words]


def _env_var_name(name: str) -> str:
    return name.replace("-", "_").upper()


def service_link_env(services: Iterable[Obj]) -> dict[str, str]:
    """Docker-link style variables for the Services of one namespace (``envvars.FromServices``)."""
    out: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = _env_var_name(str((svc.get("metadata") or {}).get("name", "")))
        out[prefix + "_SERVICE_HOST"] = str(ip)
        out[prefix + "_SERVICE_PORT"] = str(ports[0].get("port"))
        for sp in ports:
            if sp.get("name"):
                out[f"{prefix}_SERVICE_PORT_{_env_var_name(str(sp['name']))}"] = str(sp.get("port"))
        for i, sp in enumerate(ports):
            protocol = str(sp.get("protocol") or "TCP")
            url = f"{protocol.lower()}://{ip}:{sp.get('port')}"
            if i == 0:
                out[prefix + "_PORT"] = url
            port_prefix = f"{prefix}_PORT_{sp.get('port')}_{protocol.upper()}"
            out[port_prefix] = url
            out[port_prefix + "_PROTO"] = protocol.lower()
            out[port_prefix + "_PORT"] = str(sp.get("port"))
            out[port_prefix + "_ADDR"] = str(ip)
    return out
