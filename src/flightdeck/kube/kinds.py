"""The kinds the local cluster stores: API group/version, resource name, scope, and a structural schema.

Three kinds of field exist for flightdeck: fields it implements (checked by type), fields that are valid
Kubernetes but that one local node does not act on (accepted and reported as *unsupported* warnings —
never silently dropped), and fields Kubernetes itself does not know (errors, as the API server's strict
decoding reports them: ``unknown field "spec.foo"``).

``lint_object(obj)`` returns all of them for ``flightdeck lint``; the object store rejects errors and
records warnings as a Warning Event on the object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

from flightdeck.kube import schema as argo
from flightdeck.kube.manifest import PathKey, format_path
from flightdeck.kube.quantity import QuantityError, parse_quantity
from flightdeck.kube.schema import (
    ANY,
    BOOL,
    INT,
    OBJECT_META,
    STR,
    STR_MAP,
    IntOrString,
    ListOf,
    MapOf,
    Obj,
    Problem,
    Scalar,
    Schema,
)
from flightdeck.kube.selectors import SelectorError, from_label_selector
from flightdeck.kube.validation import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    go_value,
    label_value_errors,
    qualified_name_errors,
)

Severity = Literal["error", "warning"]


@dataclasses.dataclass(frozen=True, slots=True)
class UnsupportedField(Problem):
    """A valid Kubernetes field that flightdeck accepts but does not act on."""


@dataclasses.dataclass(frozen=True, slots=True)
class LintProblem:
    path: PathKey
    message: str
    severity: Severity
    show_path: bool = True

    def __str__(self) -> str:
        if self.show_path and self.path:
            return f"{format_path(self.path)}: {self.message}"
        return self.message


class Unsupported(Schema):
    """Accept any value; report that flightdeck ignores it (``why`` says what would be needed)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        out.append(UnsupportedField(path, f"not supported by flightdeck ({self.why}); ignored"))


class UnsupportedUnless(Schema):
    """A field whose listed values flightdeck implements; other values are reported as unsupported."""

    def __init__(self, supported: tuple[str, ...], valid: tuple[str, ...], why: str) -> None:
        self.supported = supported
        self.valid = valid
        self.why = why

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            out.append(Problem(path, f"expected string, got {go_value(value)}"))
        elif value not in self.valid:
            choices = ", ".join(f'"{v}"' for v in self.valid)
            out.append(Problem(path, f'Unsupported value: "{value}": supported values: {choices}'))
        elif value not in self.supported:
            out.append(
                UnsupportedField(path, f'"{value}" is not supported by flightdeck ({self.why}); ignored')
            )


class Quantity(Schema):
    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        if value is None:
            return
        try:
            parse_quantity(value)
        except QuantityError as exc:
            out.append(Problem(path, f"Invalid value: {go_value(value)}: {exc}"))


class OneOf(Schema):
    """An object of which exactly one listed member may be set (volume sources, probe handlers)."""

    def __init__(self, inner: Obj, members: tuple[str, ...], what: str) -> None:
        self.inner = inner
        self.members = members
        self.what = what

    def check(self, value: Any, path: PathKey, out: list[Problem]) -> None:
        self.inner.check(value, path, out)
        if not isinstance(value, dict):
            return
        present = [m for m in self.members if value.get(m) is not None]
        if len(present) > 1:
            out.append(Problem((*path, present[1]), f"Forbidden: may not specify more than 1 {self.what}"))


NO_SCHEDULER = "one local node: no scheduling or placement"
NO_SECURITY = "local processes run as the flightdeck user"
NO_NETWORK_POLICY = "loopback networking"

QUANTITY = Quantity()
RESOURCE_LIST = MapOf(QUANTITY)

LABEL_SELECTOR_REQUIREMENT = Obj(
    {
        "key": STR,
        "operator": Scalar("string", enum=("In", "NotIn", "Exists", "DoesNotExist")),
        "values": ListOf(STR),
    },
    ("key", "operator"),
)
LABEL_SELECTOR = Obj({"matchLabels": STR_MAP, "matchExpressions": ListOf(LABEL_SELECTOR_REQUIREMENT)})

KEY_TO_PATH = Obj({"key": STR, "path": STR, "mode": INT}, ("key", "path"))

OBJECT_FIELD_SELECTOR = Obj({"apiVersion": STR, "fieldPath": STR}, ("fieldPath",))
KEY_SELECTOR = Obj({"name": STR, "key": STR, "optional": BOOL}, ("key",))

ENV_VAR = Obj(
    {
        "name": STR,
        "value": STR,
        "valueFrom": OneOf(
            Obj(
                {
                    "fieldRef": OBJECT_FIELD_SELECTOR,
                    "configMapKeyRef": KEY_SELECTOR,
                    "secretKeyRef": KEY_SELECTOR,
                    "resourceFieldRef": Unsupported("resource limits are not exposed to the environment"),
                    "fileKeyRef": Unsupported("file-backed environment variables"),
                }
            ),
            ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef"),
            "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ),
    },
    ("name",),
)

ENV_FROM = Obj(
    {
        "prefix": STR,
        "configMapRef": Obj({"name": STR, "optional": BOOL}),
        "secretRef": Obj({"name": STR, "optional": BOOL}),
    }
)

CONTAINER_PORT = Obj(
    {
        "name": STR,
        "containerPort": INT,
        "protocol": UnsupportedUnless(("TCP",), ("TCP", "UDP", "SCTP"), "only TCP is proxied"),
        "hostPort": Unsupported("pods listen on their own loopback address"),
        "hostIP": Unsupported("pods listen on their own loopback address"),
    },
    ("containerPort",),
)

HTTP_HEADER = Obj({"name": STR, "value": STR}, ("name",))

_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
PROBE = OneOf(
    Obj(
        {
            "exec": Obj({"command": ListOf(STR)}),
            "httpGet": Obj(
                {
                    "path": STR,
                    "port": IntOrString(),
                    "host": STR,
                    "scheme": UnsupportedUnless(("HTTP",), ("HTTP", "HTTPS"), "probes speak plain HTTP"),
                    "httpHeaders": ListOf(HTTP_HEADER),
                },
                ("port",),
            ),
            "tcpSocket": Obj({"port": IntOrString(), "host": STR}, ("port",)),
            "grpc": Unsupported("gRPC health probes"),
            "initialDelaySeconds": INT,
            "timeoutSeconds": INT,
            "periodSeconds": INT,
            "successThreshold": INT,
            "failureThreshold": INT,
            "terminationGracePeriodSeconds": INT,
        }
    ),
    _PROBE_HANDLERS,
    "handler type",
)

VOLUME_MOUNT = Obj(
    {
        "name": STR,
        "mountPath": STR,
        "subPath": STR,
        "readOnly": BOOL,
        "mountPropagation": Unsupported("mount propagation"),
        "recursiveReadOnly": Unsupported("recursive read-only mounts"),
        "subPathExpr": Unsupported("subPathExpr"),
    },
    ("name", "mountPath"),
)

CONTAINER_FIELDS: dict[str, Schema] = {
    "name": STR,
    "image": STR,
    "command": ListOf(STR),
    "args": ListOf(STR),
    "workingDir": STR,
    "ports": ListOf(CONTAINER_PORT),
    "env": ListOf(ENV_VAR),
    "envFrom": ListOf(ENV_FROM),
    "resources": Obj(
        {"limits": RESOURCE_LIST, "requests": RESOURCE_LIST, "claims": Unsupported("dynamic resource claims")}
    ),
    "volumeMounts": ListOf(VOLUME_MOUNT),
    "livenessProbe": PROBE,
    "readinessProbe": PROBE,
    "startupProbe": PROBE,
    "imagePullPolicy": Scalar("string", enum=("Always", "Never", "IfNotPresent")),
    "terminationMessagePath": STR,
    "terminationMessagePolicy": Scalar("string", enum=("File", "FallbackToLogsOnError")),
    "resizePolicy": Unsupported("in-place resize"),
    "restartPolicy": Unsupported("sidecar containers"),
    "restartPolicyRules": Unsupported("sidecar containers"),
    "volumeDevices": Unsupported("block devices"),
    "lifecycle": Unsupported("postStart/preStop hooks"),
    "securityContext": Unsupported(NO_SECURITY),
    "stdin": Unsupported("attached terminals"),
    "stdinOnce": Unsupported("attached terminals"),
    "tty": Unsupported("attached terminals"),
}
CONTAINER = Obj(CONTAINER_FIELDS, ("name", "image"))

_VOLUME_SOURCES_SUPPORTED = ("configMap", "secret", "emptyDir")
_VOLUME_SOURCES_OTHER = (
    "hostPath",
    "persistentVolumeClaim",
    "projected",
    "downwardAPI",
    "nfs",
    "csi",
    "ephemeral",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "azureDisk",
    "vsphereVolume",
    "quobyte",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "image",
)
VOLUME = OneOf(
    Obj(
        {
            "name": STR,
            "configMap": Obj(
                {"name": STR, "items": ListOf(KEY_TO_PATH), "defaultMode": INT, "optional": BOOL}
            ),
            "secret": Obj(
                {"secretName": STR, "items": ListOf(KEY_TO_PATH), "defaultMode": INT, "optional": BOOL}
            ),
            "emptyDir": Obj({"medium": STR, "sizeLimit": QUANTITY}),
            **{
                source: Unsupported("volumes are local directories: configMap, secret and emptyDir")
                for source in _VOLUME_SOURCES_OTHER
            },
        },
        ("name",),
    ),
    _VOLUME_SOURCES_SUPPORTED + _VOLUME_SOURCES_OTHER,
    "volume type",
)

POD_SPEC_FIELDS: dict[str, Schema] = {
    "containers": ListOf(CONTAINER),
    "volumes": ListOf(VOLUME),
    "restartPolicy": Scalar("string", enum=("Always", "OnFailure", "Never")),
    "terminationGracePeriodSeconds": INT,
    "activeDeadlineSeconds": INT,
    "hostname": STR,
    "subdomain": STR,
    "enableServiceLinks": BOOL,
    "initContainers": Unsupported("init containers"),
    "ephemeralContainers": Unsupported("ephemeral containers"),
    "dnsPolicy": Unsupported("cluster names resolve through flightdeck's resolver and proxy"),
    "dnsConfig": Unsupported("cluster names resolve through flightdeck's resolver and proxy"),
    "hostAliases": Unsupported("cluster names resolve through flightdeck's resolver and proxy"),
    "nodeSelector": Unsupported(NO_SCHEDULER),
    "nodeName": Unsupported(NO_SCHEDULER),
    "affinity": Unsupported(NO_SCHEDULER),
    "tolerations": Unsupported(NO_SCHEDULER),
    "topologySpreadConstraints": Unsupported(NO_SCHEDULER),
    "schedulerName": Unsupported(NO_SCHEDULER),
    "schedulingGates": Unsupported(NO_SCHEDULER),
    "priorityClassName": Unsupported(NO_SCHEDULER),
    "priority": Unsupported(NO_SCHEDULER),
    "preemptionPolicy": Unsupported(NO_SCHEDULER),
    "runtimeClassName": Unsupported("pods are plain processes"),
    "overhead": Unsupported("pods are plain processes"),
    "os": Unsupported("pods are plain processes"),
    "resources": Unsupported("pod-level resources"),
    "resourceClaims": Unsupported("dynamic resource claims"),
    "readinessGates": Unsupported("readiness gates"),
    "serviceAccountName": Unsupported("no API credentials are given to pods"),
    "serviceAccount": Unsupported("no API credentials are given to pods"),
    "automountServiceAccountToken": Unsupported("no API credentials are given to pods"),
    "imagePullSecrets": Unsupported("images map to local programs"),
    "securityContext": Unsupported(NO_SECURITY),
    "hostNetwork": Unsupported(NO_NETWORK_POLICY),
    "hostPID": Unsupported(NO_SECURITY),
    "hostIPC": Unsupported(NO_SECURITY),
    "hostUsers": Unsupported(NO_SECURITY),
    "shareProcessNamespace": Unsupported(NO_SECURITY),
    "setHostnameAsFQDN": Unsupported("hostnames"),
}
POD_SPEC = Obj(POD_SPEC_FIELDS, ("containers",))
POD_TEMPLATE = Obj({"metadata": OBJECT_META, "spec": POD_SPEC}, ("spec",))

ROLLING_UPDATE_DEPLOYMENT = Obj({"maxSurge": IntOrString(), "maxUnavailable": IntOrString()})
DEPLOYMENT_SPEC = Obj(
    {
        "replicas": INT,
        "selector": LABEL_SELECTOR,
        "template": POD_TEMPLATE,
        "strategy": Obj(
            {
                "type": Scalar("string", enum=("Recreate", "RollingUpdate")),
                "rollingUpdate": ROLLING_UPDATE_DEPLOYMENT,
            }
        ),
        "minReadySeconds": INT,
        "revisionHistoryLimit": INT,
        "paused": BOOL,
        "progressDeadlineSeconds": INT,
    },
    ("selector", "template"),
)
REPLICA_SET_SPEC = Obj(
    {"replicas": INT, "minReadySeconds": INT, "selector": LABEL_SELECTOR, "template": POD_TEMPLATE},
    ("selector",),
)
DAEMON_SET_SPEC = Obj(
    {
        "selector": LABEL_SELECTOR,
        "template": POD_TEMPLATE,
        "updateStrategy": Obj(
            {
                "type": Scalar("string", enum=("RollingUpdate", "OnDelete")),
                "rollingUpdate": ROLLING_UPDATE_DEPLOYMENT,
            }
        ),
        "minReadySeconds": INT,
        "revisionHistoryLimit": INT,
    },
    ("selector", "template"),
)

SERVICE_PORT = Obj(
    {
        "name": STR,
        "protocol": UnsupportedUnless(("TCP",), ("TCP", "UDP", "SCTP"), "only TCP is proxied"),
        "appProtocol": STR,
        "port": INT,
        "targetPort": IntOrString(),
        "nodePort": Unsupported("Services are ClusterIP on loopback"),
    },
    ("port",),
)
SERVICE_SPEC = Obj(
    {
        "ports": ListOf(SERVICE_PORT),
        "selector": STR_MAP,
        "clusterIP": STR,
        "clusterIPs": ListOf(STR),
        "type": UnsupportedUnless(
            ("ClusterIP",),
            ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
            "Services are ClusterIP on loopback",
        ),
        "sessionAffinity": UnsupportedUnless(
            ("None",), ("None", "ClientIP"), "connections are balanced round-robin"
        ),
        "publishNotReadyAddresses": BOOL,
        "externalIPs": Unsupported("Services are ClusterIP on loopback"),
        "externalName": Unsupported("Services are ClusterIP on loopback"),
        "externalTrafficPolicy": Unsupported("Services are ClusterIP on loopback"),
        "internalTrafficPolicy": Unsupported("one node"),
        "healthCheckNodePort": Unsupported("Services are ClusterIP on loopback"),
        "loadBalancerIP": Unsupported("Services are ClusterIP on loopback"),
        "loadBalancerSourceRanges": Unsupported("Services are ClusterIP on loopback"),
        "loadBalancerClass": Unsupported("Services are ClusterIP on loopback"),
        "allocateLoadBalancerNodePorts": Unsupported("Services are ClusterIP on loopback"),
        "sessionAffinityConfig": Unsupported("connections are balanced round-robin"),
        "ipFamilies": Unsupported("IPv4 loopback only"),
        "ipFamilyPolicy": Unsupported("IPv4 loopback only"),
        "trafficDistribution": Unsupported("one node"),
    }
)

OBJECT_REFERENCE = Obj(
    {
        "kind": STR,
        "namespace": STR,
        "name": STR,
        "uid": STR,
        "apiVersion": STR,
        "resourceVersion": STR,
        "fieldPath": STR,
    }
)


def _object(
    fields: Mapping[str, Schema], required: tuple[str, ...] = ("apiVersion", "kind", "metadata")
) -> Obj:
    return Obj({"apiVersion": STR, "kind": STR, "metadata": OBJECT_META, "status": ANY, **fields}, required)


NAMESPACE = _object({"spec": Obj({"finalizers": ListOf(STR)})})
CONFIG_MAP = _object({"data": STR_MAP, "binaryData": STR_MAP, "immutable": BOOL})
SECRET = _object({"data": STR_MAP, "stringData": STR_MAP, "type": STR, "immutable": BOOL})
SERVICE = _object({"spec": SERVICE_SPEC})
POD = _object({"spec": POD_SPEC}, ("apiVersion", "kind", "metadata", "spec"))
DEPLOYMENT = _object({"spec": DEPLOYMENT_SPEC}, ("apiVersion", "kind", "metadata", "spec"))
REPLICA_SET = _object({"spec": REPLICA_SET_SPEC}, ("apiVersion", "kind", "metadata", "spec"))
DAEMON_SET = _object({"spec": DAEMON_SET_SPEC}, ("apiVersion", "kind", "metadata", "spec"))
EVENT = _object(
    {
        "involvedObject": OBJECT_REFERENCE,
        "reason": STR,
        "message": STR,
        "source": Obj({"component": STR, "host": STR}),
        "firstTimestamp": ANY,
        "lastTimestamp": ANY,
        "count": INT,
        "type": STR,
        "eventTime": ANY,
        "series": ANY,
        "action": STR,
        "related": OBJECT_REFERENCE,
        "reportingComponent": STR,
        "reportingInstance": STR,
    }
)
# Argo CD kinds: their spec is engineer G's (gitops) to check; here only the envelope.
OPEN_SPEC = _object({"spec": Obj({}, open_fields=True), "operation": ANY})


NameCheck = Callable[[str], list[str]]


@dataclasses.dataclass(frozen=True, slots=True)
class KindSpec:
    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool
    schema: Schema
    name_check: NameCheck = dns1123_subdomain_errors
    short_names: tuple[str, ...] = ()

    @property
    def api_versions(self) -> tuple[str, ...]:
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)

    @property
    def resource(self) -> str:
        """``deployments.apps``, ``pods``: how API errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Deployment.apps``, ``Service``: how validation errors name the kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


def _spec(
    kind: str,
    group: str,
    plural: str,
    schema: Schema,
    *,
    namespaced: bool = True,
    versions: tuple[str, ...] = ("v1",),
    name_check: NameCheck = dns1123_subdomain_errors,
    short: tuple[str, ...] = (),
) -> KindSpec:
    return KindSpec(kind, group, versions, plural, namespaced, schema, name_check, short)


_ARGO = "argoproj.io"
_KINDS: dict[str, KindSpec] = {
    s.kind: s
    for s in (
        _spec(
            "Namespace",
            "",
            "namespaces",
            NAMESPACE,
            namespaced=False,
            name_check=dns1123_label_errors,
            short=("ns",),
        ),
        _spec("ConfigMap", "", "configmaps", CONFIG_MAP, short=("cm",)),
        _spec("Secret", "", "secrets", SECRET),
        _spec("Service", "", "services", SERVICE, name_check=dns1035_label_errors, short=("svc",)),
        _spec("Pod", "", "pods", POD, short=("po",)),
        _spec("Event", "", "events", EVENT, short=("ev",)),
        _spec("Deployment", "apps", "deployments", DEPLOYMENT, short=("deploy",)),
        _spec("ReplicaSet", "apps", "replicasets", REPLICA_SET, short=("rs",)),
        _spec("DaemonSet", "apps", "daemonsets", DAEMON_SET, short=("ds",)),
        _spec(
            "Rollout", _ARGO, "rollouts", argo.KINDS["Rollout"].schema, versions=("v1alpha1",), short=("ro",)
        ),
        _spec(
            "AnalysisTemplate",
            _ARGO,
            "analysistemplates",
            argo.KINDS["AnalysisTemplate"].schema,
            versions=("v1alpha1",),
            short=("at",),
        ),
        _spec(
            "ClusterAnalysisTemplate",
            _ARGO,
            "clusteranalysistemplates",
            argo.KINDS["ClusterAnalysisTemplate"].schema,
            versions=("v1alpha1",),
            namespaced=False,
            short=("cat",),
        ),
        _spec(
            "AnalysisRun",
            _ARGO,
            "analysisruns",
            argo.KINDS["AnalysisRun"].schema,
            versions=("v1alpha1",),
            short=("ar",),
        ),
        _spec("Application", _ARGO, "applications", OPEN_SPEC, versions=("v1alpha1",), short=("app", "apps")),
        _spec(
            "ApplicationSet", _ARGO, "applicationsets", OPEN_SPEC, versions=("v1alpha1",), short=("appset",)
        ),
        _spec("AppProject", _ARGO, "appprojects", OPEN_SPEC, versions=("v1alpha1",)),
    )
}


def register_kind(spec: KindSpec) -> None:
    """Add or replace a kind (e.g. the gitops package's stricter Application schema)."""
    _KINDS[spec.kind] = spec


def kind_spec(kind: str) -> KindSpec | None:
    return _KINDS.get(kind)


def known_kinds() -> list[KindSpec]:
    return list(_KINDS.values())


def is_namespaced(kind: str) -> bool:
    spec = _KINDS.get(kind)
    return spec.namespaced if spec is not None else True


def resource_name(kind: str) -> str:
    spec = _KINDS.get(kind)
    return spec.resource if spec is not None else kind.lower() + "s"


def qualified_kind(kind: str) -> str:
    spec = _KINDS.get(kind)
    return spec.qualified_kind if spec is not None else kind


def find_kind(name: str) -> KindSpec | None:
    """A kind by the names ``kubectl`` accepts: kind, plural, singular, short name, or ``plural.group``."""
    wanted = name.lower()
    for spec in _KINDS.values():
        names = {spec.kind.lower(), spec.plural, spec.resource, *spec.short_names}
        if wanted in names:
            return spec
    return None


# --- semantic checks (the API server's ValidateXxx) ----------------------------------------------------


def _check_labels(labels: Any, path: PathKey, out: list[Problem]) -> None:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        key_errors = qualified_name_errors(str(key))
        if key_errors:
            out.append(Problem(path, f"Invalid value: {go_value(str(key))}: {'; '.join(key_errors)}"))
        if isinstance(value, str):
            value_errors = label_value_errors(value)
            if value_errors:
                out.append(
                    Problem((*path, str(key)), f"Invalid value: {go_value(value)}: {'; '.join(value_errors)}")
                )


def _check_selector(spec: Mapping[str, Any], path: PathKey, out: list[Problem], template_labels: Any) -> None:
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return
    try:
        parsed = from_label_selector(selector)
    except SelectorError as exc:
        out.append(Problem((*path, "selector"), str(exc)))
        return
    if parsed.empty:
        out.append(
            Problem(
                (*path, "selector"),
                "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
                "deployment",
            )
        )
        return
    labels = template_labels if isinstance(template_labels, dict) else {}
    if "template" in spec and not parsed.matches(labels):
        out.append(
            Problem(
                (*path, "template", "metadata", "labels"),
                f"Invalid value: {go_value(labels)}: `selector` does not match template `labels`",
            )
        )


def _check_int_min(value: Any, path: PathKey, out: list[Problem], minimum: int = 0) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
        detail = (
            "must be greater than or equal to 0"
            if minimum == 0
            else f"must be greater than or equal to {minimum}"
        )
        out.append(Problem(path, f"Invalid value: {value}: {detail}"))


def _check_port(value: Any, path: PathKey, out: list[Problem]) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= 65535:
        out.append(Problem(path, f"Invalid value: {value}: must be between 1 and 65535, inclusive"))


def _check_int_or_percent(value: Any, path: PathKey, out: list[Problem]) -> None:
    if isinstance(value, str):
        body = value[:-1] if value.endswith("%") else None
        if body is None or not body.isdigit():
            out.append(
                Problem(
                    path,
                    f"Invalid value: {go_value(value)}: a valid percent string must be a numeric "
                    "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
                    "validation is '[0-9]+%')",
                )
            )
    else:
        _check_int_min(value, path, out)


def _check_pod_spec(spec: Any, path: PathKey, out: list[Problem]) -> None:
    if not isinstance(spec, dict):
        return
    containers = spec.get("containers")
    volume_names: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        if isinstance(volume, dict) and isinstance(volume.get("name"), str):
            name = volume["name"]
            if name in volume_names:
                out.append(Problem((*path, "volumes", i, "name"), f"Duplicate value: {go_value(name)}"))
            volume_names.add(name)
    if not isinstance(containers, list):
        return
    seen: set[str] = set()
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            continue
        cpath: PathKey = (*path, "containers", i)
        name = container.get("name")
        if isinstance(name, str) and name:
            if name in seen:
                out.append(Problem((*cpath, "name"), f"Duplicate value: {go_value(name)}"))
            seen.add(name)
            label_errors = dns1123_label_errors(name)
            if label_errors:
                out.append(
                    Problem((*cpath, "name"), f"Invalid value: {go_value(name)}: {'; '.join(label_errors)}")
                )
        port_names: set[str] = set()
        for j, port in enumerate(container.get("ports") or []):
            if not isinstance(port, dict):
                continue
            _check_port(port.get("containerPort"), (*cpath, "ports", j, "containerPort"), out)
            pname = port.get("name")
            if isinstance(pname, str) and pname:
                if pname in port_names:
                    out.append(Problem((*cpath, "ports", j, "name"), f"Duplicate value: {go_value(pname)}"))
                port_names.add(pname)
        for j, mount in enumerate(container.get("volumeMounts") or []):
            if (
                isinstance(mount, dict)
                and isinstance(mount.get("name"), str)
                and mount["name"] not in volume_names
            ):
                out.append(
                    Problem((*cpath, "volumeMounts", j, "name"), f"Not found: {go_value(mount['name'])}")
                )
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if isinstance(probe, dict) and not any(probe.get(h) is not None for h in _PROBE_HANDLERS):
                out.append(Problem((*cpath, probe_name), "Required value: must specify a handler type"))
        resources = container.get("resources")
        if isinstance(resources, dict):
            _check_requests_within_limits(resources, (*cpath, "resources"), out)


def _check_requests_within_limits(resources: Mapping[str, Any], path: PathKey, out: list[Problem]) -> None:
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    if not isinstance(limits, dict) or not isinstance(requests, dict):
        return
    for name, request in requests.items():
        if name not in limits:
            continue
        try:
            if parse_quantity(request) > parse_quantity(limits[name]):
                out.append(
                    Problem(
                        (*path, "requests"),
                        f"Invalid value: {go_value(str(request))}: must be less than or equal to {name} limit of "
                        f"{limits[name]}",
                    )
                )
        except QuantityError:
            continue


def _semantic(obj: Mapping[str, Any], out: list[Problem]) -> None:
    kind = obj.get("kind")
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        _check_labels(metadata.get("labels"), ("metadata", "labels"), out)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    if kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        template = spec.get("template")
        template_meta = template.get("metadata") if isinstance(template, dict) else None
        template_labels = template_meta.get("labels") if isinstance(template_meta, dict) else None
        _check_selector(spec, ("spec",), out, template_labels)
        _check_int_min(spec.get("replicas"), ("spec", "replicas"), out)
        _check_int_min(spec.get("minReadySeconds"), ("spec", "minReadySeconds"), out)
        _check_int_min(spec.get("revisionHistoryLimit"), ("spec", "revisionHistoryLimit"), out)
        if isinstance(template, dict):
            _check_labels(template_labels, ("spec", "template", "metadata", "labels"), out)
            _check_pod_spec(template.get("spec"), ("spec", "template", "spec"), out)
            restart = (
                (template.get("spec") or {}).get("restartPolicy")
                if isinstance(template.get("spec"), dict)
                else None
            )
            if restart not in (None, "Always"):
                out.append(
                    Problem(
                        ("spec", "template", "spec", "restartPolicy"),
                        f'Unsupported value: "{restart}": supported values: "Always"',
                    )
                )
        strategy = spec.get("strategy") or spec.get("updateStrategy")
        if isinstance(strategy, dict) and isinstance(strategy.get("rollingUpdate"), dict):
            key = "strategy" if "strategy" in spec else "updateStrategy"
            ru = strategy["rollingUpdate"]
            for name in ("maxSurge", "maxUnavailable"):
                if name in ru:
                    _check_int_or_percent(ru[name], ("spec", key, "rollingUpdate", name), out)
            if strategy.get("type") == "Recreate":
                out.append(
                    Problem(
                        ("spec", key, "rollingUpdate"),
                        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                    )
                )
        if kind == "Deployment":
            deadline = spec.get("progressDeadlineSeconds")
            mrs = spec.get("minReadySeconds") or 0
            if isinstance(deadline, int) and isinstance(mrs, int) and deadline <= mrs:
                out.append(
                    Problem(
                        ("spec", "progressDeadlineSeconds"),
                        f"Invalid value: {deadline}: must be greater than minReadySeconds",
                    )
                )
    elif kind == "Pod":
        _check_pod_spec(spec, ("spec",), out)
    elif kind == "Service":
        names: set[str] = set()
        ports = spec.get("ports") or []
        for i, port in enumerate(ports):
            if not isinstance(port, dict):
                continue
            _check_port(port.get("port"), ("spec", "ports", i, "port"), out)
            target = port.get("targetPort")
            if isinstance(target, int):
                _check_port(target, ("spec", "ports", i, "targetPort"), out)
            port_name = port.get("name")
            if len(ports) > 1 and not port_name:
                out.append(Problem(("spec", "ports", i, "name"), "Required value"))
            if isinstance(port_name, str) and port_name:
                if port_name in names:
                    out.append(
                        Problem(("spec", "ports", i, "name"), f"Duplicate value: {go_value(port_name)}")
                    )
                names.add(port_name)
        _check_labels(spec.get("selector"), ("spec", "selector"), out)
    elif kind == "Secret":
        import base64
        import binascii

        data = obj.get("data")
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str):
                    try:
                        base64.b64decode(value, validate=True)
                    except (binascii.Error, ValueError):
                        out.append(Problem(("data", str(key)), "illegal base64 data"))


def _name_problems(obj: Mapping[str, Any], spec: KindSpec) -> list[Problem]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return []
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        if metadata.get("generateName"):
            return []
        return [Problem(("metadata", "name"), "Required value: name or generateName is required")]
    errors = spec.name_check(name)
    if errors:
        return [Problem(("metadata", "name"), f"Invalid value: {go_value(name)}: {'; '.join(errors)}")]
    return []


def check(obj: Mapping[str, Any]) -> list[Problem]:
    """Every structural and semantic problem of one object; :class:`UnsupportedField` marks warnings."""
    kind = str(obj.get("kind") or "")
    spec = _KINDS.get(kind)
    problems: list[Problem] = []
    if spec is None:
        return problems
    api_version = obj.get("apiVersion")
    if api_version not in spec.api_versions:
        problems.append(
            Problem(
                ("apiVersion",),
                f'no matches for kind "{kind}" in version "{api_version}" (expected {" or ".join(spec.api_versions)})',
            )
        )
    spec.schema.check(dict(obj), (), problems)
    problems.extend(_name_problems(obj, spec))
    _semantic(obj, problems)
    return problems


def lint_object(obj: Mapping[str, Any]) -> list[LintProblem]:
    """What ``flightdeck lint`` reports for one object: errors, and warnings for unsupported fields/kinds."""
    kind = str(obj.get("kind") or "")
    if not kind:
        return [LintProblem(("kind",), "Required value: a manifest needs apiVersion and kind", "error")]
    if kind not in _KINDS:
        return [
            LintProblem(
                ("kind",),
                f'kind "{kind}" ({obj.get("apiVersion")}) is not supported by flightdeck: stored, but nothing acts on it',
                "warning",
            )
        ]
    return [
        LintProblem(p.path, p.message, "warning" if isinstance(p, UnsupportedField) else "error", p.show_path)
        for p in check(obj)
    ]


def warnings_of(obj: Mapping[str, Any]) -> list[str]:
    """The warning texts for an object (what the store records on it)."""
    return [str(p) for p in lint_object(obj) if p.severity == "warning"]
