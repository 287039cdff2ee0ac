"""Structural schemas of Argo CD's Application and ApplicationSet (argoproj.io/v1alpha1), in the declarative
machinery of ``flightdeck.kube.schema``, so an unknown or mistyped field is reported with its path and line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flightdeck.kube.manifest import Manifest, ManifestError
from flightdeck.kube.schema import (
    ANY,
    BOOL,
    INT,
    OBJECT_META,
    STR,
    STR_MAP,
    IntOrString,
    KindInfo,
    ListOf,
    Obj,
    Problem,
    Scalar,
)

GROUP_VERSION = "argoproj.io/v1alpha1"

KUSTOMIZE_SOURCE = Obj(
    {
        "namePrefix": STR,
        "nameSuffix": STR,
        "images": ListOf(STR),
        "commonLabels": STR_MAP,
        "commonAnnotations": STR_MAP,
        "version": STR,
        "forceCommonLabels": BOOL,
        "forceCommonAnnotations": BOOL,
        "namespace": STR,
        "commonAnnotationsEnvsubst": BOOL,
        "replicas": ListOf(Obj({"name": STR, "count": IntOrString()}, ("name", "count"))),
        "patches": ListOf(ANY),
        "components": ListOf(STR),
        "ignoreMissingComponents": BOOL,
        "labelWithoutSelector": BOOL,
        "labelIncludeTemplates": BOOL,
        "kubeVersion": STR,
        "apiVersions": ListOf(STR),
    }
)

DIRECTORY_SOURCE = Obj(
    {
        "recurse": BOOL,
        "jsonnet": ANY,
        "exclude": STR,
        "include": STR,
        "disableExtensionFilter": BOOL,
    }
)

SOURCE = Obj(
    {
        "repoURL": STR,
        "path": STR,
        "targetRevision": STR,
        "helm": ANY,
        "kustomize": KUSTOMIZE_SOURCE,
        "directory": DIRECTORY_SOURCE,
        "plugin": ANY,
        "chart": STR,
        "ref": STR,
        "name": STR,
    },
    ("repoURL",),
)

DESTINATION = Obj({"server": STR, "namespace": STR, "name": STR})

RETRY = Obj(
    {
        "limit": INT,
        "backoff": Obj({"duration": STR, "factor": INT, "maxDuration": STR}),
        "refresh": BOOL,
    }
)

SYNC_POLICY = Obj(
    {
        "automated": Obj({"prune": BOOL, "selfHeal": BOOL, "allowEmpty": BOOL, "enabled": BOOL}),
        "syncOptions": ListOf(STR),
        "retry": RETRY,
        "managedNamespaceMetadata": Obj({"labels": STR_MAP, "annotations": STR_MAP}),
    }
)

APPLICATION_SPEC = Obj(
    {
        "source": SOURCE,
        "sources": ListOf(SOURCE),
        "destination": DESTINATION,
        "project": STR,
        "syncPolicy": SYNC_POLICY,
        "ignoreDifferences": ListOf(ANY),
        "info": ListOf(Obj({"name": STR, "value": STR})),
        "revisionHistoryLimit": INT,
        "sourceHydrator": ANY,
    },
    ("destination", "project"),
)

TEMPLATE_META = Obj(
    {
        "name": STR,
        "namespace": STR,
        "labels": STR_MAP,
        "annotations": STR_MAP,
        "finalizers": ListOf(STR),
    }
)

APPSET_TEMPLATE = Obj({"metadata": TEMPLATE_META, "spec": APPLICATION_SPEC})

# Inside a generator, a template overrides parts of the ApplicationSet's template: nothing is required there.
_PARTIAL_TEMPLATE = Obj({"metadata": TEMPLATE_META, "spec": Obj(APPLICATION_SPEC.fields)})

PATH_ITEM = Obj({"path": STR, "exclude": BOOL}, ("path",))

GIT_GENERATOR = Obj(
    {
        "repoURL": STR,
        "directories": ListOf(PATH_ITEM),
        "files": ListOf(PATH_ITEM),
        "revision": STR,
        "requeueAfterSeconds": INT,
        "template": _PARTIAL_TEMPLATE,
        "pathParamPrefix": STR,
        "values": STR_MAP,
    },
    ("repoURL", "revision"),
)

LIST_GENERATOR = Obj(
    {"elements": ListOf(ANY), "template": _PARTIAL_TEMPLATE, "elementsYaml": STR},
)

LABEL_SELECTOR = Obj({"matchLabels": STR_MAP, "matchExpressions": ListOf(ANY)})

GENERATOR = Obj(
    {
        "list": LIST_GENERATOR,
        "git": GIT_GENERATOR,
        "clusters": ANY,
        "scmProvider": ANY,
        "clusterDecisionResource": ANY,
        "pullRequest": ANY,
        "matrix": ANY,
        "merge": ANY,
        "plugin": ANY,
        "selector": LABEL_SELECTOR,
    }
)

APPSET_SPEC = Obj(
    {
        "goTemplate": BOOL,
        "goTemplateOptions": ListOf(STR),
        "generators": ListOf(GENERATOR),
        "template": APPSET_TEMPLATE,
        "syncPolicy": Obj(
            {
                "preserveResourcesOnDeletion": BOOL,
                "applicationsSync": Scalar(
                    "string", enum=("create-only", "create-update", "create-delete", "sync")
                ),
            }
        ),
        "strategy": ANY,
        "preservedFields": Obj({"annotations": ListOf(STR), "labels": ListOf(STR)}),
        "applyNestedSelectors": BOOL,
        "ignoreApplicationDifferences": ListOf(ANY),
        "templatePatch": STR,
    },
    ("generators",),
)


def _object(spec: Obj) -> Obj:
    return Obj(
        {
            "apiVersion": STR,
            "kind": STR,
            "metadata": OBJECT_META,
            "spec": spec,
            "status": ANY,
            "operation": ANY,
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


KINDS: Mapping[str, KindInfo] = {
    "Application": KindInfo((GROUP_VERSION,), _object(APPLICATION_SPEC)),
    "ApplicationSet": KindInfo((GROUP_VERSION,), _object(APPSET_SPEC)),
}
"""For the object store and ``flightdeck lint`` (same shape as ``flightdeck.kube.schema.KINDS``)."""


def register_kinds() -> None:
    """Give the object store (and ``flightdeck lint``) these stricter schemas instead of its open envelope."""
    from flightdeck.kube.kinds import KindSpec, register_kind

    register_kind(
        KindSpec(
            "Application",
            "argoproj.io",
            ("v1alpha1",),
            "applications",
            True,
            KINDS["Application"].schema,
            short_names=("app", "apps"),
        )
    )
    register_kind(
        KindSpec(
            "ApplicationSet",
            "argoproj.io",
            ("v1alpha1",),
            "applicationsets",
            True,
            KINDS["ApplicationSet"].schema,
            short_names=("appset",),
        )
    )


def check(obj: Mapping[str, Any]) -> list[Problem]:
    """Structural problems of an Application or ApplicationSet (other kinds: none)."""
    info = KINDS.get(str(obj.get("kind") or ""))
    if info is None:
        return []
    problems: list[Problem] = []
    if obj.get("apiVersion") not in info.group_versions:
        problems.append(
            Problem(
                ("apiVersion",),
                f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}" '
                f"(expected {GROUP_VERSION})",
            )
        )
    info.schema.check(dict(obj), (), problems)
    return problems


def first_error(manifest: Manifest) -> ManifestError | None:
    """The first structural problem of ``manifest`` as a file:line error, or None."""
    problems = check(manifest.obj)
    if not problems:
        return None
    problem = problems[0]
    error = manifest.error(problem.path, problem.message)
    if not problem.show_path:
        error = ManifestError(error.file, error.line, problem.message)
    return error
