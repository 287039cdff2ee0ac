"""Typed views of the Argo Rollouts kinds flightdeck reads, built from validated manifests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flightdeck.analysis.types import AnalysisRunSpec
from flightdeck.kube.manifest import Manifest, ManifestError, iter_manifest_files, load_file
from flightdeck.kube.schema import KINDS, check_object

# Kinds that are valid in a GitOps repository but are read by other parts of flightdeck (or by
# Kubernetes itself); loaders that only want the analysis kinds pass over them silently.
OTHER_KNOWN_KINDS = frozenset(
    {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "ReplicaSet",
        "Pod",
        "Job",
        "CronJob",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Ingress",
        "PersistentVolumeClaim",
        "Application",
        "ApplicationSet",
        "AppProject",
        "Experiment",
        "Kustomization",
        "OpenTelemetryCollector",
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class AnalysisTemplate:
    """An AnalysisTemplate or ClusterAnalysisTemplate."""

    kind: str
    name: str
    namespace: str
    spec: AnalysisRunSpec
    manifest: Manifest

    @property
    def cluster_scoped(self) -> bool:
        return self.kind == "ClusterAnalysisTemplate"


@dataclasses.dataclass(frozen=True, slots=True)
class AnalysisRunObject:
    name: str
    namespace: str
    spec: AnalysisRunSpec
    manifest: Manifest


@dataclasses.dataclass(frozen=True, slots=True)
class AnalysisRef:
    """Where a Rollout asks for analysis: a step (``index``) or the background analysis (None)."""

    step_index: int | None
    templates: tuple[Mapping[str, Any], ...]
    args: tuple[Mapping[str, Any], ...]
    path: tuple[str | int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Rollout:
    name: str
    namespace: str
    manifest: Manifest

    @property
    def obj(self) -> dict[str, Any]:
        return self.manifest.obj

    @property
    def canary(self) -> Mapping[str, Any]:
        strategy = (self.obj.get("spec") or {}).get("strategy") or {}
        canary = strategy.get("canary")
        return canary if isinstance(canary, Mapping) else {}

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        return list(self.canary.get("steps") or [])

    def analysis_refs(self) -> list[AnalysisRef]:
        refs: list[AnalysisRef] = []
        base: tuple[str | int, ...] = ("spec", "strategy", "canary")
        for index, step in enumerate(self.steps):
            analysis = step.get("analysis") if isinstance(step, Mapping) else None
            if isinstance(analysis, Mapping):
                refs.append(
                    AnalysisRef(
                        index,
                        tuple(analysis.get("templates") or ()),
                        tuple(analysis.get("args") or ()),
                        (*base, "steps", index, "analysis"),
                    )
                )
        background = self.canary.get("analysis")
        if isinstance(background, Mapping):
            refs.append(
                AnalysisRef(
                    None,
                    tuple(background.get("templates") or ()),
                    tuple(background.get("args") or ()),
                    (*base, "analysis"),
                )
            )
        return refs


@dataclasses.dataclass(slots=True)
class ObjectSet:
    """Everything read from a set of manifest files."""

    templates: list[AnalysisTemplate] = dataclasses.field(default_factory=list)
    runs: list[AnalysisRunObject] = dataclasses.field(default_factory=list)
    rollouts: list[Rollout] = dataclasses.field(default_factory=list)
    others: list[Manifest] = dataclasses.field(default_factory=list)

    def add(self, typed: AnalysisTemplate | AnalysisRunObject | Rollout | None) -> None:
        if isinstance(typed, AnalysisTemplate):
            self.templates.append(typed)
        elif isinstance(typed, AnalysisRunObject):
            self.runs.append(typed)
        elif isinstance(typed, Rollout):
            self.rollouts.append(typed)

    def find_template(
        self, name: str, *, cluster: bool = False, namespace: str = ""
    ) -> AnalysisTemplate | None:
        for template in self.templates:
            if template.name != name or template.cluster_scoped != cluster:
                continue
            if cluster or not namespace or not template.namespace or template.namespace == namespace:
                return template
        return None


class ManifestErrors(Exception):
    """Several manifest problems at once; ``str()`` lists them one per line."""

    def __init__(self, errors: Sequence[ManifestError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def problems_of(manifest: Manifest) -> list[ManifestError]:
    """Structural problems of one manifest as located errors."""
    return [
        manifest.error(p.path, p.message)
        if p.show_path
        else ManifestError(manifest.source.file, manifest.source.line_of(p.path), p.message)
        for p in check_object(manifest.obj)
    ]


def build(manifest: Manifest) -> AnalysisTemplate | AnalysisRunObject | Rollout | None:
    """The typed object for a manifest of a kind flightdeck models (assumes it passed validation)."""
    kind = manifest.kind
    namespace = manifest.namespace
    if kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
        spec = AnalysisRunSpec.from_dict(manifest.obj.get("spec") or {})
        return AnalysisTemplate(kind, manifest.name, namespace, spec, manifest)
    if kind == "AnalysisRun":
        return AnalysisRunObject(
            manifest.name, namespace, AnalysisRunSpec.from_dict(manifest.obj["spec"]), manifest
        )
    if kind == "Rollout":
        return Rollout(manifest.name, namespace, manifest)
    return None


def collect(manifests: Iterable[Manifest]) -> ObjectSet:
    """Validate and type every manifest; raises :class:`ManifestErrors` listing all problems."""
    objects = ObjectSet()
    errors: list[ManifestError] = []
    for manifest in manifests:
        if not manifest.kind:
            errors.append(manifest.error(("kind",), "Required value: a manifest needs apiVersion and kind"))
            continue
        if manifest.kind not in KINDS:
            objects.others.append(manifest)
            continue
        found = problems_of(manifest)
        if found:
            errors.extend(found)
            continue
        objects.add(build(manifest))
    if errors:
        raise ManifestErrors(errors)
    return objects


def load_objects(paths: Iterable[str | Path]) -> ObjectSet:
    """Load, validate and type the manifests under ``paths``."""
    manifests: list[Manifest] = []
    errors: list[ManifestError] = []
    for file in iter_manifest_files(paths):
        try:
            manifests.extend(load_file(file))
        except ManifestError as exc:
            errors.append(exc)
    try:
        objects = collect(manifests)
    except ManifestErrors as exc:
        errors.extend(exc.errors)
    if errors:
        raise ManifestErrors(errors)
    return objects
