"""Resources as kustomize tracks them: current and previous ids (names change under prefixes, suffixes,
namespaces and hashes; references are fixed against the previous names), the prefixes and suffixes applied."""

from __future__ import annotations

import dataclasses
from typing import Any

from flightdeck.kube.manifest import Source

# Kinds the API server serves cluster-scoped (kustomize's built-in schema); anything else, including every
# custom resource, is treated as namespaced, as kustomize does without a custom OpenAPI schema.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "StorageClass",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

NOT_A_NAMESPACE = "_non_namespaceable_"


@dataclasses.dataclass(frozen=True, slots=True)
class Gvk:
    group: str
    version: str
    kind: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Gvk:
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        return cls(group, version, str(obj.get("kind") or ""))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return ".".join((self.kind or "[noKind]", self.version or "[noVer]", self.group or "[noGrp]"))

    def selected_by(self, group: str, version: str, kind: str) -> bool:
        """kustomize's ``IsSelected``: empty selector fields match anything."""
        return (
            (not group or group == self.group)
            and (not version or version == self.version)
            and (not kind or kind == self.kind)
        )

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in CLUSTER_SCOPED_KINDS


@dataclasses.dataclass(frozen=True, slots=True)
class ResId:
    gvk: Gvk
    name: str
    namespace: str

    @property
    def effective_namespace(self) -> str:
        if self.gvk.cluster_scoped:
            return NOT_A_NAMESPACE
        return self.namespace or "default"

    def equals(self, other: ResId) -> bool:
        return (
            self.gvk == other.gvk
            and self.name == other.name
            and self.effective_namespace == other.effective_namespace
        )

    def __str__(self) -> str:
        return f"{self.gvk}/{self.name or '[noName]'}.{self.namespace or '[noNs]'}"


@dataclasses.dataclass(eq=False, slots=True)
class Resource:
    obj: dict[str, Any]
    source: Source
    prev_ids: list[ResId] = dataclasses.field(default_factory=list)
    prefixes: list[str] = dataclasses.field(default_factory=list)
    suffixes: list[str] = dataclasses.field(default_factory=list)
    needs_hash: bool = False
    behavior: str = ""
    """Generator behavior (create, replace, merge) for generated resources."""

    @property
    def gvk(self) -> Gvk:
        return Gvk.of(self.obj)

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
            self.obj["metadata"] = meta
        return meta

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace") or "")

    def cur_id(self) -> ResId:
        return ResId(self.gvk, self.name, self.namespace)

    def org_id(self) -> ResId:
        return self.prev_ids[0] if self.prev_ids else self.cur_id()

    def all_ids(self) -> list[ResId]:
        return [*self.prev_ids, self.cur_id()]

    def store_previous_id(self) -> None:
        self.prev_ids.append(self.cur_id())

    def set_name(self, name: str) -> None:
        self.meta["name"] = name

    def labels(self) -> dict[str, str]:
        labels = self.meta.get("labels")
        return labels if isinstance(labels, dict) else {}

    def annotations(self) -> dict[str, str]:
        annotations = self.meta.get("annotations")
        return annotations if isinstance(annotations, dict) else {}
