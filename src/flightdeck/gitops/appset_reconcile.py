"""The ApplicationSet reconciler (pure): generated parameters → Applications created, updated and deleted as
Argo CD's ApplicationSet controller does, with its status conditions, events and ``status.resources``."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.gitops.appset import (
    ApplicationSetSpec,
    GeneratedParams,
    GitGenerator,
    parse_object,
)
from flightdeck.gitops.fasttemplate import TemplateError, render
from flightdeck.gitops.schema import GROUP_VERSION
from flightdeck.kube.actions import Create, Delete, Event, Obj, Reconciled, Update, UpdateStatus
from flightdeck.kube.manifest import ManifestError
from flightdeck.util.timefmt import rfc3339

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
REFRESH_ANNOTATION = "argocd.argoproj.io/application-set-refresh"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"
DEFAULT_PROJECT = "default"
# Argo CD requeues an ApplicationSet whose generation or validation failed after 3 minutes.
REQUEUE_ON_ERROR_SECONDS = 180.0

_PRESERVED_ANNOTATIONS = (
    "notified.notifications.argoproj.io",
    "argocd.argoproj.io/refresh",
    "argocd.argoproj.io/hydrate",
)
_PRESERVED_FINALIZER_PREFIXES = (
    "pre-delete-finalizer.argocd.argoproj.io",
    "post-delete-finalizer.argocd.argoproj.io",
)

# Condition types and reasons, as Argo CD writes them.
ERROR_OCCURRED = "ErrorOccurred"
PARAMETERS_GENERATED = "ParametersGenerated"
RESOURCES_UP_TO_DATE = "ResourcesUpToDate"
REASON_PARAMS_ERROR = "ApplicationGenerationFromParamsError"
REASON_RENDER_ERROR = "RenderTemplateParamsError"
REASON_VALIDATION_ERROR = "ApplicationValidationError"
REASON_UP_TO_DATE = "ApplicationSetUpToDate"


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorFailure:
    """Generation failed (git unreachable, bad element…): Argo CD keeps the Applications it has."""

    message: str
    reason: str = REASON_PARAMS_ERROR


Generated = Sequence[GeneratedParams] | GeneratorFailure


def validate_destination(destination: Mapping[str, Any]) -> str | None:
    """Argo CD's destination checks for the one cluster flightdeck has (in-cluster)."""
    server = str(destination.get("server") or "")
    name = str(destination.get("name") or "")
    if name and server:
        return f"application destination can't have both name and server defined: {name} {server}"
    if server:
        if server.rstrip("/") != IN_CLUSTER_SERVER:
            return f'error getting cluster by server "{server}": cluster "{server.rstrip("/")}" not found'
        return None
    if name:
        if name != IN_CLUSTER_NAME:
            return f"there are no clusters with this name: {name}"
        return None
    return "Destination server missing from app spec"


def render_applications(
    spec: ApplicationSetSpec, generated: Sequence[GeneratedParams], owner: Mapping[str, Any]
) -> list[Obj]:
    """The Applications the generators ask for (raises TemplateError on a bad template)."""
    apps: list[Obj] = []
    metadata = owner.get("metadata") or {}
    owner_ref = {
        "apiVersion": GROUP_VERSION,
        "kind": "ApplicationSet",
        "name": metadata.get("name"),
        "uid": metadata.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for gen in generated:
        template = {
            "metadata": dict(gen.template.get("metadata") or {}),
            "spec": gen.template.get("spec") or {},
        }
        for params in gen.params:
            # Argo CD leaves the template untouched when a generator yields an empty parameter map.
            rendered = render(template, params) if params else copy.deepcopy(template)
            meta = rendered.get("metadata") or {}
            finalizers = list(meta.get("finalizers") or ())
            if not finalizers and not spec.preserve_resources_on_deletion:
                finalizers = [RESOURCES_FINALIZER]
            app_meta: dict[str, Any] = {"name": meta.get("name") or "", "namespace": spec.namespace}
            if meta.get("labels"):
                app_meta["labels"] = dict(meta["labels"])
            if meta.get("annotations"):
                app_meta["annotations"] = dict(meta["annotations"])
            app_meta["finalizers"] = finalizers
            app_meta["ownerReferences"] = [dict(owner_ref)]
            apps.append(
                {
                    "apiVersion": GROUP_VERSION,
                    "kind": "Application",
                    "metadata": app_meta,
                    "spec": rendered.get("spec") or {},
                }
            )
    return apps


def validate_applications(appset_name: str, apps: Sequence[Obj]) -> dict[str, str]:
    """Per-application validation errors by name, with Argo CD's messages."""
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for app in apps:
        name = app["metadata"]["name"]
        if not name:
            errors[name] = (
                f"ApplicationSet {appset_name} contains an application with no name; a name must be set in "
                "the template's metadata.name or via a templatePatch (generateName is not supported)"
            )
            continue
        if name in seen:
            errors[name] = f"ApplicationSet {appset_name} contains applications with duplicate name: {name}"
            continue
        seen.add(name)
        project = str(app["spec"].get("project") or "")
        if project != DEFAULT_PROJECT:
            errors[name] = f"application references project {project} which does not exist"
            continue
        problem = validate_destination(app["spec"].get("destination") or {})
        if problem is not None:
            errors[name] = f"application destination spec is invalid: {problem}"
    return errors


def _condition(type_: str, status: bool, reason: str, message: str) -> dict[str, Any]:
    return {"type": type_, "status": "True" if status else "False", "reason": reason, "message": message}


def merge_conditions(
    existing: Sequence[Mapping[str, Any]],
    given: Sequence[dict[str, Any]],
    parameters_generated: bool,
    now: float,
) -> list[dict[str, Any]]:
    """Argo CD's setApplicationSetStatusCondition + SetConditions (no progressive sync): derived conditions,
    unchanged ones keep their lastTransitionTime, sorted by type."""
    evaluated = {
        PARAMETERS_GENERATED: True,
        ERROR_OCCURRED: False,
        RESOURCES_UP_TO_DATE: False,
        "RolloutProgressing": True,
        "InvalidRolloutConfig": True,
    }
    new: list[dict[str, Any]] = []
    params_message = "progressive sync"
    has_params = False
    for cond in given:
        if cond["type"] == PARAMETERS_GENERATED:
            has_params = True
            break
        if cond["type"] == ERROR_OCCURRED:
            params_message = cond["message"]
    if not has_params:
        if parameters_generated:
            new.append(
                _condition(
                    PARAMETERS_GENERATED,
                    True,
                    PARAMETERS_GENERATED,
                    "Successfully generated parameters for all Applications",
                )
            )
        else:
            new.append(_condition(PARAMETERS_GENERATED, False, ERROR_OCCURRED, params_message))
    for cond in given:
        evaluated[cond["type"]] = True
        new.append(cond)
        if cond["type"] == RESOURCES_UP_TO_DATE and cond["status"] == "True":
            evaluated[ERROR_OCCURRED] = True
            new.append(_condition(ERROR_OCCURRED, False, cond["reason"], cond["message"]))
        elif cond["type"] == ERROR_OCCURRED and cond["status"] == "True":
            evaluated[RESOURCES_UP_TO_DATE] = True
            new.append(_condition(RESOURCES_UP_TO_DATE, False, ERROR_OCCURRED, cond["message"]))
    stamp = rfc3339(now)
    out: list[dict[str, Any]] = []
    for old_cond in existing:
        if not evaluated.get(str(old_cond.get("type")), False):
            kept = dict(old_cond)
            kept.setdefault("lastTransitionTime", stamp)
            out.append(kept)
    by_type: dict[str, Mapping[str, Any]] = {str(c.get("type")): c for c in existing}
    for cond in new:
        if not evaluated.get(cond["type"], False):
            continue
        old = by_type.get(cond["type"])
        if old is not None and all(old.get(k) == cond[k] for k in ("message", "reason", "status")):
            out.append(dict(old))
        else:
            out.append({**cond, "lastTransitionTime": stamp})
    out.sort(key=lambda c: str(c.get("type")))
    return out


def _owned_by(app: Mapping[str, Any], appset: Mapping[str, Any]) -> bool:
    meta = appset.get("metadata") or {}
    for ref in (app.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == "ApplicationSet" and ref.get("name") == meta.get("name"):
            uid = meta.get("uid")
            return not uid or not ref.get("uid") or ref.get("uid") == uid
    return False


def _apply_desired(found: Obj, desired: Obj, spec: ApplicationSetSpec) -> Obj:
    """The existing Application with the generated spec/labels/annotations/finalizers (preserved keys kept)."""
    meta = found.get("metadata") or {}
    want = desired["metadata"]
    annotations = dict(want.get("annotations") or {})
    labels = dict(want.get("labels") or {})
    for key in (*spec.preserved_annotations, *_PRESERVED_ANNOTATIONS):
        if key in (meta.get("annotations") or {}):
            annotations[key] = meta["annotations"][key]
    for key in spec.preserved_labels:
        if key in (meta.get("labels") or {}):
            labels[key] = meta["labels"][key]
    finalizers = list(want.get("finalizers") or ())
    for prefix in _PRESERVED_FINALIZER_PREFIXES:
        finalizers.extend(f for f in meta.get("finalizers") or () if f.startswith(prefix))
    updated = copy.deepcopy(found)
    new_meta = updated.setdefault("metadata", {})
    for key, value in (("annotations", annotations), ("labels", labels), ("finalizers", finalizers)):
        if value:
            new_meta[key] = value
        else:
            new_meta.pop(key, None)
    new_meta["ownerReferences"] = desired["metadata"]["ownerReferences"]
    updated["spec"] = copy.deepcopy(desired["spec"])
    return updated


def _resource_statuses(apps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for app in sorted(apps, key=lambda a: str(a["metadata"]["name"])):
        status = app.get("status") or {}
        entry: dict[str, Any] = {
            "group": "argoproj.io",
            "version": "v1alpha1",
            "kind": "Application",
            "namespace": app["metadata"].get("namespace", ""),
            "name": app["metadata"]["name"],
            "health": {"status": (status.get("health") or {}).get("status", "")},
        }
        sync = (status.get("sync") or {}).get("status")
        if sync:
            entry["status"] = sync
        out.append(entry)
    return out


def reconcile_applicationset(
    appset: Obj,
    generated: Generated,
    existing_apps: Sequence[Obj],
    now: float,
) -> Reconciled:
    """One pass of the ApplicationSet controller.

    ``generated`` is what the generators produced (``flightdeck.gitops.appset.generate``) or why they failed;
    ``existing_apps`` are the Applications in the ApplicationSet's namespace (those it owns are managed).
    """
    meta = appset.get("metadata") or {}
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    status = dict(appset.get("status") or {})
    existing_conditions = status.get("conditions") or []
    owned = [a for a in existing_apps if _owned_by(a, appset)]
    result = Reconciled()

    def finish(given: list[dict[str, Any]], parameters_generated: bool, requeue: float | None) -> Reconciled:
        new_status = dict(status)
        new_status["conditions"] = merge_conditions(existing_conditions, given, parameters_generated, now)
        new_status["resources"] = _resource_statuses(current)
        new_status["resourcesCount"] = len(current)
        if new_status != (appset.get("status") or {}):
            result.actions.append(UpdateStatus({**appset, "status": new_status}))
        result.requeue_at = None if requeue is None else now + requeue
        return result

    current = list(owned)
    try:
        spec = parse_object(appset)
    except ManifestError as exc:
        message = exc.message
        return finish([_condition(ERROR_OCCURRED, True, REASON_PARAMS_ERROR, message)], False, None)
    if isinstance(generated, GeneratorFailure):
        return finish(
            [_condition(ERROR_OCCURRED, True, generated.reason, generated.message)],
            False,
            REQUEUE_ON_ERROR_SECONDS,
        )
    try:
        desired = render_applications(spec, generated, appset)
    except TemplateError as exc:
        return finish(
            [_condition(ERROR_OCCURRED, True, REASON_RENDER_ERROR, str(exc))], False, REQUEUE_ON_ERROR_SECONDS
        )

    errors = validate_applications(name, desired)
    given: list[dict[str, Any]] = []
    if errors:
        names = sorted(errors)
        message = errors[names[-1]]
        if len(errors) > 1:
            message = f"{message} (and {len(errors) - 1} more)"
        given.append(_condition(ERROR_OCCURRED, True, REASON_VALIDATION_ERROR, message))
    valid = sorted(
        (a for a in desired if a["metadata"]["name"] not in errors), key=lambda a: a["metadata"]["name"]
    )

    by_name = {
        str(a["metadata"]["name"]): a
        for a in existing_apps
        if (a.get("metadata") or {}).get("namespace", namespace) == namespace
    }
    allow_update = spec.sync_policy not in ("create-only", "create-delete")
    allow_delete = spec.sync_policy not in ("create-only", "create-update")
    current_by_name = {str(a["metadata"]["name"]): a for a in current}
    for app in valid:
        app_name = app["metadata"]["name"]
        found = by_name.get(app_name)
        if found is None:
            result.actions.append(Create(app))
            result.actions.append(
                Event("ApplicationSet", namespace, name, "created", f'created Application "{app_name}"')
            )
            current_by_name[app_name] = app
            continue
        if not allow_update:
            continue
        updated = _apply_desired(found, app, spec)
        if updated != found:
            result.actions.append(Update(updated))
            result.actions.append(
                Event("ApplicationSet", namespace, name, "updated", f'updated Application "{app_name}"')
            )
            current_by_name[app_name] = updated
    if allow_delete:
        wanted = {a["metadata"]["name"] for a in desired}
        for app in owned:
            app_name = str(app["metadata"]["name"])
            if app_name in wanted:
                continue
            result.actions.append(Delete("Application", namespace, app_name))
            result.actions.append(
                Event("ApplicationSet", namespace, name, "Deleted", f'Deleted Application "{app_name}"')
            )
            current_by_name.pop(app_name, None)
    current = list(current_by_name.values())

    # A refresh request is honoured by this pass: drop the annotation (Argo CD updates the ApplicationSet).
    annotations = dict(meta.get("annotations") or {})
    if REFRESH_ANNOTATION in annotations:
        annotations.pop(REFRESH_ANNOTATION)
        result.actions.append(Update({**appset, "metadata": {**meta, "annotations": annotations}}))

    requeues = [g.requeue_after_seconds for g in spec.generators if isinstance(g, GitGenerator)]
    requeue: float | None = min(requeues) if requeues else None
    if errors:
        requeue = requeue or REQUEUE_ON_ERROR_SECONDS
    else:
        given.append(
            _condition(
                RESOURCES_UP_TO_DATE,
                True,
                REASON_UP_TO_DATE,
                "All applications have been generated successfully",
            )
        )
    return finish(given, True, requeue)
