"""Defaults the API server fills in, for the fields whose behaviour depends on them.

Only defaults of fields flightdeck implements are applied: a default for an unsupported field (``dnsPolicy``,
``schedulerName``) would show up as an "unsupported" warning on every object. Custom resources (Rollout,
AnalysisRun, …) get only what their CRD's structural schema gives them on a real API server: a Rollout's
``spec.template`` gets Argo Rollouts v1.9.1's schema defaults and its metadata pruning (:func:`rollout_template`),
which its pod-template hash depends on.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]

# Argo Rollouts v1.9.1 manifests/crds/rollout-crd.yaml: spec.template.metadata declares only these properties.
_TEMPLATE_METADATA_FIELDS = ("labels", "annotations")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("configMap", "secret"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            _container(container)


def _image_pull_policy(image: str) -> str:
    # The API server: Always for ":latest" or an untagged image, IfNotPresent otherwise (digests count as tags).
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _container(container: Obj) -> None:
    image = container.get("image")
    if isinstance(image, str) and image:
        container.setdefault("imagePullPolicy", _image_pull_policy(image))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        if isinstance(env, dict):
            ref = (
                (env.get("valueFrom") or {}).get("fieldRef")
                if isinstance(env.get("valueFrom"), dict)
                else None
            )
            if isinstance(ref, dict):
                ref.setdefault("apiVersion", "v1")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(name)
        if not isinstance(probe, dict):
            continue
        probe.setdefault("timeoutSeconds", 1)
        probe.setdefault("periodSeconds", 10)
        probe.setdefault("successThreshold", 1)
        probe.setdefault("failureThreshold", 3)
        if isinstance(probe.get("httpGet"), dict):
            probe["httpGet"].setdefault("scheme", "HTTP")


def _template(spec: Obj) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        _pod_spec(template.get("spec"))


def _set(obj: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = dict(obj)
    out[key] = value
    return out


def _default(obj: Any, key: str, value: Any) -> Any:
    """``obj`` with ``key`` defaulted (absent or null), copied only when it changes."""
    if isinstance(obj, Mapping) and obj.get(key) is None:
        return _set(obj, key, value)
    return obj


def _each(items: Any, fix: Any) -> Any:
    """A list with ``fix`` applied to each mapping item, the same list when nothing changed."""
    if not isinstance(items, list):
        return items
    fixed = [fix(item) if isinstance(item, Mapping) else item for item in items]
    return items if all(a is b for a, b in zip(fixed, items, strict=True)) else fixed


def _crd_env(env: Mapping[str, Any]) -> Mapping[str, Any]:
    source = env.get("valueFrom")
    if isinstance(source, Mapping):
        ref = _default(source.get("fileKeyRef"), "optional", False)
        if ref is not source.get("fileKeyRef"):
            return _set(env, "valueFrom", _set(source, "fileKeyRef", ref))
    return env


def _crd_container(container: Mapping[str, Any]) -> Mapping[str, Any]:
    # The CRD's other defaults (name: "" on key and env-source references) change no byte: those fields are omitempty.
    out = container
    ports = _each(container.get("ports"), lambda port: _default(port, "protocol", "TCP"))
    if ports is not container.get("ports"):
        out = _set(out, "ports", ports)
    env = _each(container.get("env"), _crd_env)
    if env is not container.get("env"):
        out = _set(out, "env", env)
    for name in _PROBES:
        probe = container.get(name)
        if isinstance(probe, Mapping):
            grpc = _default(probe.get("grpc"), "service", "")
            if grpc is not probe.get("grpc"):
                out = _set(out, name, _set(probe, "grpc", grpc))
    return out


def rollout_template(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec.template`` as the API server returns it under Argo Rollouts v1.9.1's CRD: the schema's defaults
    (``ports[].protocol: TCP``, ``grpc.service: ""``, ``fileKeyRef.optional: false``) filled in and ``metadata`` pruned
    to ``labels`` and ``annotations``. Unknown fields elsewhere are not pruned (see
    :func:`flightdeck.kube.hashing.rollout_template_json`). Copies only what changes."""
    out = template
    metadata = template.get("metadata")
    if isinstance(metadata, Mapping) and any(k not in _TEMPLATE_METADATA_FIELDS for k in metadata):
        out = _set(out, "metadata", {k: v for k, v in metadata.items() if k in _TEMPLATE_METADATA_FIELDS})
    spec = template.get("spec")
    if isinstance(spec, Mapping):
        new_spec = spec
        for name in _CONTAINER_LISTS:
            containers = _each(spec.get(name), _crd_container)
            if containers is not spec.get(name):
                new_spec = _set(new_spec, name, containers)
        if new_spec is not spec:
            out = _set(out, "spec", new_spec)
    return out


def apply_defaults(obj: Obj) -> Obj:
    """Fill the server-side defaults into ``obj`` (in place) and return it."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", "25%")
                    rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _template(spec)
    elif kind == "Rollout" and isinstance(spec, dict) and isinstance(spec.get("template"), Mapping):
        spec["template"] = rollout_template(spec["template"])
    elif kind == "ReplicaSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _template(spec)
    elif kind == "DaemonSet" and isinstance(spec, dict):
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", 1)
                    rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        _template(spec)
    elif kind == "Pod":
        _pod_spec(spec)
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            # The API server merges stringData into data (base64) on write and never returns stringData.
            data = obj.setdefault("data", {})
            if isinstance(data, dict):
                for key, value in string_data.items():
                    data[str(key)] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
    elif kind == "Namespace":
        ns_spec = obj.setdefault("spec", {})
        if isinstance(ns_spec, dict):
            ns_spec.setdefault("finalizers", ["kubernetes"])
    return obj
