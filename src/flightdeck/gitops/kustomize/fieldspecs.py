"""Field specs: which fields of which kinds a transformer touches (kustomize's built-in configuration and the
``configurations:`` files users add, e.g. to teach kustomize about Argo Rollouts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flightdeck.gitops.kustomize.resource import Gvk


class FieldSpecError(ValueError):
    """A kustomize ``configurations:`` field spec that does not parse."""


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    kind: str = ""
    group: str = ""
    version: str = ""
    create: bool = False

    def selects(self, gvk: Gvk) -> bool:
        return gvk.selected_by(self.group, self.version, self.kind)

    def parts(self) -> list[str]:
        """The path split on ``/`` (``\\/`` is a literal slash, as in annotation keys)."""
        out: list[str] = []
        current = ""
        i = 0
        path = self.path
        while i < len(path):
            if path[i] == "\\" and i + 1 < len(path) and path[i + 1] == "/":
                current += "/"
                i += 2
                continue
            if path[i] == "/":
                out.append(current)
                current = ""
            else:
                current += path[i]
            i += 1
        out.append(current)
        return [p for p in out if p]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FieldSpec:
        if not isinstance(raw, Mapping) or not raw.get("path"):
            raise FieldSpecError("a field spec needs a path")
        return cls(
            path=str(raw["path"]),
            kind=str(raw.get("kind") or ""),
            group=str(raw.get("group") or ""),
            version=str(raw.get("version") or ""),
            create=bool(raw.get("create")),
        )


Setter = Callable[[Any, Any], None]
"""setter(container, key): reads and rewrites ``container[key]`` (a dict key or a list index)."""


def apply(obj: dict[str, Any], spec: FieldSpec, setter: Setter, create_leaf: str | None = None) -> None:
    """Run ``setter`` on every field ``spec.path`` reaches in ``obj`` (lists are traversed element by element).
    With ``spec.create``, missing maps on the way are created, and a missing leaf too when ``create_leaf`` says
    what to create there ("map")."""
    parts = spec.parts()
    if not parts:
        return

    def walk(container: Any, key: Any, rest: list[str]) -> None:
        node = container[key]
        if not rest:
            setter(container, key)
            return
        if node is None:
            return
        if isinstance(node, list):
            for index in range(len(node)):
                walk(node, index, rest)
            return
        if not isinstance(node, dict):
            raise FieldSpecError(f"considering field '{spec.path}': expected sequence or mapping node")
        name = rest[0]
        is_seq = name.endswith("[]")
        if is_seq:
            name = name[:-2]
        if not name:
            raise FieldSpecError("cannot set or create an empty field name")
        if not spec.create or is_seq or (len(rest) == 1 and create_leaf is None):
            if name not in node:
                return
        elif node.get(name) is None:
            node[name] = {}
        walk(node, name, rest[1:])

    holder = {"": obj}
    walk(holder, "", parts)


def parse_list(raw: Iterable[Mapping[str, Any]]) -> list[FieldSpec]:
    return [FieldSpec.parse(item) for item in raw]


def _specs(path: str, *kinds: tuple[str, str, str], create: bool) -> list[FieldSpec]:
    return [FieldSpec(path, kind, group, version, create) for kind, group, version in kinds]


# ---------------------------------------------------------------------------------------- kustomize's defaults

_TEMPLATE_KINDS = (
    ("Deployment", "", ""),
    ("ReplicaSet", "", ""),
    ("DaemonSet", "", ""),
    ("StatefulSet", "apps", ""),
    ("Job", "batch", ""),
)

METADATA_LABELS: list[FieldSpec] = [
    FieldSpec("metadata/labels", create=True),
    FieldSpec("spec/template/metadata/labels", "ReplicationController", "", "v1", True),
    *_specs("spec/template/metadata/labels", *_TEMPLATE_KINDS, create=True),
    FieldSpec("spec/jobTemplate/metadata/labels", "CronJob", "batch", "", True),
    FieldSpec("spec/jobTemplate/spec/template/metadata/labels", "CronJob", "batch", "", True),
]

_AFFINITY_PATHS = (
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)

COMMON_LABELS: list[FieldSpec] = [
    FieldSpec("spec/selector", "Service", "", "v1", True),
    FieldSpec("spec/selector", "ReplicationController", "", "v1", True),
    FieldSpec("spec/selector/matchLabels", "Deployment", create=True),
    *(FieldSpec(p, "Deployment", "apps") for p in _AFFINITY_PATHS),
    FieldSpec("spec/selector/matchLabels", "ReplicaSet", create=True),
    FieldSpec("spec/selector/matchLabels", "DaemonSet", create=True),
    FieldSpec("spec/selector/matchLabels", "StatefulSet", "apps", create=True),
    *(FieldSpec(p, "StatefulSet", "apps") for p in _AFFINITY_PATHS),
    FieldSpec("spec/selector/matchLabels", "Job", "batch"),
    FieldSpec("spec/jobTemplate/spec/selector/matchLabels", "CronJob", "batch"),
    FieldSpec("spec/selector/matchLabels", "PodDisruptionBudget", "policy"),
    FieldSpec("spec/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io"),
    FieldSpec("spec/ingress/from/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io"),
    FieldSpec("spec/egress/to/podSelector/matchLabels", "NetworkPolicy", "networking.k8s.io"),
    *METADATA_LABELS,
    FieldSpec("spec/volumeClaimTemplates[]/metadata/labels", "StatefulSet", "apps", create=True),
]

TEMPLATE_LABELS: list[FieldSpec] = list(METADATA_LABELS)

COMMON_ANNOTATIONS: list[FieldSpec] = [
    FieldSpec("metadata/annotations", create=True),
    FieldSpec("spec/template/metadata/annotations", "ReplicationController", "", "v1", True),
    *_specs(
        "spec/template/metadata/annotations",
        ("Deployment", "", ""),
        ("ReplicaSet", "", ""),
        ("DaemonSet", "", ""),
        ("StatefulSet", "", ""),
        ("Job", "batch", ""),
        create=True,
    ),
    FieldSpec("spec/jobTemplate/metadata/annotations", "CronJob", "batch", "", True),
    FieldSpec("spec/jobTemplate/spec/template/metadata/annotations", "CronJob", "batch", "", True),
]

IMAGES: list[FieldSpec] = [
    FieldSpec(p, create=True)
    for p in (
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/volumes[]/image/reference",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
        "spec/template/spec/volumes[]/image/reference",
    )
]

REPLICAS: list[FieldSpec] = [
    FieldSpec("spec/replicas", "Deployment", create=True),
    FieldSpec("spec/replicas", "ReplicationController", create=True),
    FieldSpec("spec/replicas", "ReplicaSet", create=True),
    FieldSpec("spec/replicas", "StatefulSet", create=True),
]

NAME_PREFIX: list[FieldSpec] = [FieldSpec("metadata/name")]
NAME_SUFFIX: list[FieldSpec] = [FieldSpec("metadata/name")]


@dataclasses.dataclass(frozen=True, slots=True)
class NameBackReference:
    """Resources of ``kind`` are referred to by name from ``referrers``."""

    kind: str
    group: str
    version: str
    referrers: tuple[FieldSpec, ...]

    def selects(self, gvk: Gvk) -> bool:
        return gvk.selected_by(self.group, self.version, self.kind)


# Where a pod spec sits in each workload kind (and which of them kustomize's defaults cover per referral).
_POD_SPEC_ROOTS = {
    "Pod": "spec",
    "PodTemplate": "template/spec",
    "Deployment": "spec/template/spec",
    "ReplicaSet": "spec/template/spec",
    "DaemonSet": "spec/template/spec",
    "StatefulSet": "spec/template/spec",
    "Job": "spec/template/spec",
    "CronJob": "spec/jobTemplate/spec/template/spec",
    "ReplicationController": "spec/template/spec",
}


def _pod_refs(kinds: Iterable[str], rels: Iterable[str]) -> list[FieldSpec]:
    rel_list = list(rels)
    out: list[FieldSpec] = []
    for kind in kinds:
        version = "v1" if kind == "Pod" else ""
        out.extend(FieldSpec(f"{_POD_SPEC_ROOTS[kind]}/{rel}", kind, "", version) for rel in rel_list)
    return out


_WORKLOADS = ("Pod", "PodTemplate", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob")

_CONFIGMAP_RELS = (
    "volumes/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
    "volumes/projected/sources/configMap/name",
)

_SECRET_RELS = (
    "volumes/secret/secretName",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
    "volumes/projected/sources/secret/name",
)

_SA_KINDS = ("Pod", "StatefulSet", "Deployment", "ReplicationController", "CronJob", "Job", "DaemonSet")
_PVC_KINDS = ("Pod", "StatefulSet", "Deployment", "ReplicationController", "CronJob", "Job", "DaemonSet")

NAME_REFERENCES: list[NameBackReference] = [
    *(
        NameBackReference(kind, "", "", (FieldSpec("spec/scaleTargetRef/name", "HorizontalPodAutoscaler"),))
        for kind in ("Deployment", "ReplicationController", "ReplicaSet", "StatefulSet")
    ),
    NameBackReference(
        "ConfigMap",
        "",
        "v1",
        (
            *_pod_refs(_WORKLOADS, _CONFIGMAP_RELS),
            FieldSpec("spec/configSource/configMap", "Node"),
            FieldSpec("rules/resourceNames", "Role"),
            FieldSpec("rules/resourceNames", "ClusterRole"),
            FieldSpec(
                "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap", "Ingress"
            ),
        ),
    ),
    NameBackReference(
        "Secret",
        "",
        "v1",
        (
            *_pod_refs(_WORKLOADS, _SECRET_RELS),
            FieldSpec("spec/tls/secretName", "Ingress"),
            FieldSpec("metadata/annotations/ingress.kubernetes.io\\/auth-secret", "Ingress"),
            FieldSpec("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret", "Ingress"),
            FieldSpec("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret", "Ingress"),
            FieldSpec("imagePullSecrets/name", "ServiceAccount"),
            FieldSpec("parameters/secretName", "StorageClass"),
            FieldSpec("parameters/adminSecretName", "StorageClass"),
            FieldSpec("parameters/userSecretName", "StorageClass"),
            FieldSpec("parameters/secretRef", "StorageClass"),
            FieldSpec("rules/resourceNames", "Role"),
            FieldSpec("rules/resourceNames", "ClusterRole"),
            FieldSpec(
                "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
                "Service",
                "serving.knative.dev",
                "v1",
            ),
            FieldSpec("spec/azureFile/secretName", "PersistentVolume"),
        ),
    ),
    NameBackReference(
        "Service",
        "",
        "v1",
        (
            FieldSpec("spec/serviceName", "StatefulSet", "apps"),
            FieldSpec("spec/rules/http/paths/backend/serviceName", "Ingress"),
            FieldSpec("spec/backend/serviceName", "Ingress"),
            FieldSpec("spec/rules/http/paths/backend/service/name", "Ingress"),
            FieldSpec("spec/defaultBackend/service/name", "Ingress"),
            FieldSpec("spec/service/name", "APIService", "apiregistration.k8s.io"),
            FieldSpec(
                "webhooks/clientConfig/service",
                "ValidatingWebhookConfiguration",
                "admissionregistration.k8s.io",
            ),
            FieldSpec(
                "webhooks/clientConfig/service",
                "MutatingWebhookConfiguration",
                "admissionregistration.k8s.io",
            ),
        ),
    ),
    NameBackReference(
        "Role",
        "rbac.authorization.k8s.io",
        "",
        (FieldSpec("roleRef/name", "RoleBinding", "rbac.authorization.k8s.io"),),
    ),
    NameBackReference(
        "ClusterRole",
        "rbac.authorization.k8s.io",
        "",
        (
            FieldSpec("roleRef/name", "RoleBinding", "rbac.authorization.k8s.io"),
            FieldSpec("roleRef/name", "ClusterRoleBinding", "rbac.authorization.k8s.io"),
        ),
    ),
    NameBackReference(
        "ServiceAccount",
        "",
        "v1",
        (
            FieldSpec("subjects", "RoleBinding", "rbac.authorization.k8s.io"),
            FieldSpec("subjects", "ClusterRoleBinding", "rbac.authorization.k8s.io"),
            *(FieldSpec(f"{_POD_SPEC_ROOTS[k]}/serviceAccountName", k) for k in _SA_KINDS),
        ),
    ),
    NameBackReference(
        "PersistentVolumeClaim",
        "",
        "v1",
        tuple(
            FieldSpec(f"{_POD_SPEC_ROOTS[k]}/volumes/persistentVolumeClaim/claimName", k) for k in _PVC_KINDS
        ),
    ),
    NameBackReference(
        "PersistentVolume",
        "",
        "v1",
        (
            FieldSpec("spec/volumeName", "PersistentVolumeClaim"),
            FieldSpec("rules/resourceNames", "ClusterRole"),
        ),
    ),
    NameBackReference(
        "StorageClass",
        "storage.k8s.io",
        "v1",
        (
            FieldSpec("spec/storageClassName", "PersistentVolume"),
            FieldSpec("spec/storageClassName", "PersistentVolumeClaim"),
            FieldSpec("spec/volumeClaimTemplates/spec/storageClassName", "StatefulSet"),
        ),
    ),
    NameBackReference(
        "PriorityClass",
        "scheduling.k8s.io",
        "v1",
        tuple(FieldSpec(f"{_POD_SPEC_ROOTS[k]}/priorityClassName", k) for k in _SA_KINDS),
    ),
]


@dataclasses.dataclass(slots=True)
class TransformerConfig:
    """The field specs each transformer uses (defaults merged with ``configurations:`` files)."""

    common_labels: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(COMMON_LABELS))
    template_labels: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(TEMPLATE_LABELS))
    common_annotations: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(COMMON_ANNOTATIONS))
    images: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(IMAGES))
    replicas: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(REPLICAS))
    name_prefix: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(NAME_PREFIX))
    name_suffix: list[FieldSpec] = dataclasses.field(default_factory=lambda: list(NAME_SUFFIX))
    name_references: list[NameBackReference] = dataclasses.field(
        default_factory=lambda: list(NAME_REFERENCES)
    )

    def merge(self, raw: Mapping[str, Any]) -> None:
        """Add a ``configurations:`` file's field specs (unknown sections are rejected)."""
        sections = {
            "commonLabels": self.common_labels,
            "templateLabels": self.template_labels,
            "commonAnnotations": self.common_annotations,
            "images": self.images,
            "replicas": self.replicas,
            "namePrefix": self.name_prefix,
            "nameSuffix": self.name_suffix,
        }
        for key, value in raw.items():
            if key in sections:
                target = sections[key]
                for spec in parse_list(value or []):
                    if spec not in target:
                        target.append(spec)
            elif key == "nameReference":
                for item in value or []:
                    kind = str(item.get("kind") or "")
                    refs = tuple(parse_list(item.get("fieldSpecs") or []))
                    self.name_references.append(
                        NameBackReference(
                            kind, str(item.get("group") or ""), str(item.get("version") or ""), refs
                        )
                    )
            elif key in ("namespace", "varReference", "openAPI"):
                continue  # accepted; flightdeck uses the built-in namespace rules and has no vars
            else:
                raise FieldSpecError(f"unknown transformer configuration section {key!r}")
