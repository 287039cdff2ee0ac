"""The Application reconciler (pure): compare the rendered manifests with the live objects, report sync status,
health, resources and conditions as Argo CD does, and run sync operations (automated with prune and self-heal,
or requested through ``operation``)."""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.gitops import diff, sync
from flightdeck.gitops.appset_reconcile import RESOURCES_FINALIZER, validate_destination
from flightdeck.gitops.health import HEALTHY, MISSING, UNKNOWN, Health, is_worse, resource_health
from flightdeck.gitops.kustomize.resource import CLUSTER_SCOPED_KINDS
from flightdeck.gitops.tracking import (
    DEFAULT_TRACKING,
    TrackingMethod,
    app_name_of,
    group_of,
    is_self_referenced,
    is_tracked_by,
    set_instance,
)
from flightdeck.kube.actions import Delete, Event, Obj, Reconciled, Update, UpdateStatus
from flightdeck.kube.durations import parse_duration_seconds
from flightdeck.util.timefmt import parse_rfc3339, rfc3339

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
COMPARE_OPTIONS_ANNOTATION = "argocd.argoproj.io/compare-options"

SYNCED = "Synced"
OUT_OF_SYNC = "OutOfSync"
SYNC_UNKNOWN = "Unknown"

COMPARISON_ERROR = "ComparisonError"
INVALID_SPEC_ERROR = "InvalidSpecError"
SYNC_ERROR = "SyncError"
SHARED_RESOURCE_WARNING = "SharedResourceWarning"
REPEATED_RESOURCE_WARNING = "RepeatedResourceWarning"

# Sync options flightdeck implements (others are reported, not ignored).
SUPPORTED_SYNC_OPTIONS = frozenset(
    {
        "CreateNamespace=true",
        "CreateNamespace=false",
        "PruneLast=true",
        "PruneLast=false",
        "ApplyOutOfSyncOnly=true",
        "ApplyOutOfSyncOnly=false",
        "Validate=false",
        "Validate=true",
        "Replace=true",
        "Replace=false",
        "ServerSideApply=false",
    }
)

ResourceKey = tuple[str, str, str, str]
"""(group, kind, namespace, name)"""


@dataclasses.dataclass(frozen=True, slots=True)
class Rendered:
    """The manifests of the Application's source at ``revision`` (a commit SHA)."""

    revision: str
    manifests: tuple[Obj, ...]
    source_type: str = "Directory"


@dataclasses.dataclass(frozen=True, slots=True)
class RenderFailure:
    """Manifest generation failed; ``since`` is when this run of failures began (Argo CD's grace period)."""

    message: str
    since: float
    revision: str = ""


Desired = Rendered | RenderFailure


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The application controller's settings (Argo CD's defaults)."""

    tracking: TrackingMethod = DEFAULT_TRACKING
    repo_error_grace_seconds: float = 180.0
    """--repo-error-grace-period-seconds: a failing repository is only reported after this long."""
    resync_seconds: float = 180.0
    """--app-resync: periodic comparison even without changes."""
    self_heal_backoff: tuple[float, float, float] = (2.0, 3.0, 300.0)
    """(initial seconds, factor, cap) of the self-heal back-off."""
    operation_poll_seconds: float = 2.0
    cluster_scoped_kinds: frozenset[str] = CLUSTER_SCOPED_KINDS | frozenset({"ClusterAnalysisTemplate"})
    controller_namespace: str = "argocd"
    history_limit: int = 10


DEFAULT_SETTINGS = Settings()


def resource_key(obj: Mapping[str, Any]) -> ResourceKey:
    meta = obj.get("metadata") or {}
    return (
        group_of(obj),
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def normalize_targets(
    manifests: Sequence[Mapping[str, Any]], app_name: str, namespace: str, settings: Settings
) -> tuple[list[Obj], list[str]]:
    """Targets with the destination namespace filled in (cleared for cluster-scoped kinds) and the tracking
    marks set; duplicates keep the last one and yield RepeatedResourceWarning messages."""
    by_key: dict[ResourceKey, list[Obj]] = {}
    for manifest in manifests:
        obj = copy.deepcopy(dict(manifest))
        meta = obj.setdefault("metadata", {})
        if str(obj.get("kind") or "") in settings.cluster_scoped_kinds:
            meta.pop("namespace", None)
        elif not meta.get("namespace") and namespace:
            meta["namespace"] = namespace
        set_instance(obj, app_name, settings.tracking)
        by_key.setdefault(resource_key(obj), []).append(obj)
    warnings = []
    targets = []
    for key, objs in by_key.items():
        if len(objs) > 1:
            warnings.append(
                f"Resource {'/'.join(key)} appeared {len(objs)} times among application resources."
            )
        targets.append(objs[-1])
    return targets, warnings


def pod_images(obj: Mapping[str, Any]) -> list[str]:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    pod = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    if kind == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    images = []
    for key in ("initContainers", "containers"):
        for container in pod.get(key) or []:
            if isinstance(container, dict) and container.get("image"):
                images.append(str(container["image"]))
    return images


def _condition(type_: str, message: str, now: float) -> dict[str, Any]:
    return {"type": type_, "message": message, "lastTransitionTime": rfc3339(now)}


def _set_conditions(
    existing: Sequence[Mapping[str, Any]], new: Sequence[dict[str, Any]], evaluated: set[str]
) -> list[dict[str, Any]]:
    """Argo CD's ApplicationStatus.SetConditions: unevaluated types are kept, unchanged ones keep their time."""
    out = [dict(c) for c in existing if c.get("type") not in evaluated]
    by_type_message = {(c.get("type"), c.get("message")): c for c in existing}
    for cond in new:
        old = by_type_message.get((cond["type"], cond["message"]))
        out.append(dict(old) if old is not None else cond)
    return out


def _truthy(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def _validate(app: Mapping[str, Any]) -> list[str]:
    spec = app.get("spec") or {}
    problems = []
    if spec.get("sources"):
        problems.append("not supported: spec.sources (multiple sources); use spec.source")
    source = spec.get("source") or {}
    if not spec.get("sources") and (
        not source.get("repoURL") or (not source.get("path") and not source.get("chart"))
    ):
        problems.append("spec.source.repoURL and either spec.source.path or spec.source.chart are required")
    project = str(spec.get("project") or "")
    if project != "default":
        problems.append(f"Application referencing project {project} which does not exist")
    problem = validate_destination(spec.get("destination") or {})
    if problem is not None:
        problems.append(f"Unable to get cluster: {problem}")
    if spec.get("sourceHydrator"):
        problems.append("not supported: spec.sourceHydrator")
    for option in (spec.get("syncPolicy") or {}).get("syncOptions") or []:
        if str(option) not in SUPPORTED_SYNC_OPTIONS:
            problems.append(f"not supported: syncOptions {option}")
    for index, rule in enumerate(spec.get("ignoreDifferences") or []):
        for field in ("jqPathExpressions", "managedFieldsManagers"):
            if isinstance(rule, dict) and rule.get(field):
                problems.append(f"not supported: spec.ignoreDifferences[{index}].{field} (use jsonPointers)")
    return problems


def ignored_pointers(app: Mapping[str, Any], key: ResourceKey) -> list[str]:
    """The ``ignoreDifferences`` JSON pointers that apply to the resource ``key``."""
    pointers: list[str] = []
    for rule in (app.get("spec") or {}).get("ignoreDifferences") or []:
        if not isinstance(rule, dict):
            continue
        if str(rule.get("group") or "") != key[0] or rule.get("kind") != key[1]:
            continue
        if rule.get("name") and rule["name"] != key[3]:
            continue
        if rule.get("namespace") and rule["namespace"] != key[2]:
            continue
        pointers.extend(str(p) for p in rule.get("jsonPointers") or [])
    return pointers


def _self_heal_delay(attempts: int, backoff: tuple[float, float, float]) -> float:
    """k8s wait.Backoff stepped ``attempts`` times (Argo CD's self-heal back-off)."""
    duration, factor, cap = backoff
    delay = 0.0
    for _ in range(attempts):
        delay = duration
        duration = min(duration * factor, cap) if factor else duration
    return delay


@dataclasses.dataclass(slots=True)
class _Managed:
    key: ResourceKey
    target: Obj | None
    live: Obj | None
    modified: bool
    status: str
    requires_pruning: bool
    health: Health | None


def reconcile_application(
    app: Obj,
    desired: Desired | None,
    live: Sequence[Obj],
    now: float,
    settings: Settings = DEFAULT_SETTINGS,
) -> Reconciled:
    """One pass of Argo CD's application controller for ``app``.

    ``desired`` is the rendered source (None while the repository has not been read yet); ``live`` holds the
    objects tracked by this Application, the live objects at the keys of the desired ones, and the Namespace
    objects of the destination and of every namespace the desired objects live in (a namespace missing from
    ``live`` is taken as missing from the cluster).
    """
    meta = app.get("metadata") or {}
    name = str(meta.get("name") or "")
    app_ns = str(meta.get("namespace") or "")
    spec = app.get("spec") or {}
    original = app.get("status") or {}
    status: dict[str, Any] = copy.deepcopy(dict(original))
    result = Reconciled()
    annotations = dict(meta.get("annotations") or {})

    if meta.get("deletionTimestamp"):
        return _finalize(app, live, settings)

    source = dict(spec.get("source") or {})
    destination = dict(spec.get("destination") or {})
    dest_ns = str(destination.get("namespace") or "")

    problems = _validate(app)
    if problems:
        status["sync"] = {
            "status": SYNC_UNKNOWN,
            "comparedTo": {"source": source, "destination": destination},
        }
        status["health"] = {"status": UNKNOWN}
        status["conditions"] = _set_conditions(
            original.get("conditions") or [],
            [_condition(INVALID_SPEC_ERROR, p, now) for p in problems],
            {INVALID_SPEC_ERROR, COMPARISON_ERROR},
        )
        return _emit(app, original, status, result, annotations, now, None)

    hard_refresh = annotations.get(REFRESH_ANNOTATION) == "hard"
    if desired is None:
        result.requeue_at = now + settings.operation_poll_seconds
        return result
    if (
        isinstance(desired, RenderFailure)
        and not hard_refresh
        and now - desired.since <= settings.repo_error_grace_seconds
    ):
        # Argo CD ignores repository errors for a grace period and keeps the last comparison.
        result.requeue_at = desired.since + settings.repo_error_grace_seconds + 0.001
        return _emit(app, original, status, result, annotations, now, result.requeue_at, keep_status=True)

    conditions: list[dict[str, Any]] = []
    failed = isinstance(desired, RenderFailure)
    if isinstance(desired, RenderFailure):
        message = (
            f"Failed to load target state: failed to generate manifest for source 1 of 1: {desired.message}"
        )
        conditions.append(_condition(COMPARISON_ERROR, message, now))
        revision = desired.revision or str((original.get("sync") or {}).get("revision") or "")
        targets: list[Obj] = []
    else:
        revision = desired.revision
        targets, warnings = normalize_targets(desired.manifests, name, dest_ns, settings)
        conditions.extend(_condition(REPEATED_RESOURCE_WARNING, w, now) for w in warnings)

    live_by_key = {resource_key(obj): obj for obj in live}
    target_keys = {resource_key(t) for t in targets}
    managed: list[_Managed] = []
    qualified = f"{app_ns}/{name}" if app_ns else name
    for target in targets:
        key = resource_key(target)
        obj = live_by_key.get(key)
        if obj is not None:
            owner = app_name_of(obj, settings.tracking)
            if owner and owner != name:
                conditions.append(
                    _condition(
                        SHARED_RESOURCE_WARNING,
                        f"{key[1]}/{key[3]} is part of applications {qualified} and {owner}",
                        now,
                    )
                )
        modified = obj is None or diff.is_modified(target, obj, ignored_pointers(app, key))
        managed.append(_Managed(key, target, obj, modified, "", False, None))
    for key, obj in sorted(live_by_key.items()):
        if key in target_keys or not is_tracked_by(obj, name, settings.tracking):
            continue
        managed.append(_Managed(key, None, obj, True, "", True, None))

    sync_code = SYNCED
    for res in managed:
        obj = res.live if res.live is not None else res.target
        assert obj is not None
        if sync.is_hook(obj) or (
            res.live is not None and not is_self_referenced(res.live, name, settings.tracking)
        ):
            continue
        if res.modified:
            res.status = OUT_OF_SYNC
            ignore_extraneous = res.target is None and "IgnoreExtraneous" in str(
                ((obj.get("metadata") or {}).get("annotations") or {}).get(COMPARE_OPTIONS_ANNOTATION) or ""
            )
            if not ignore_extraneous:
                sync_code = OUT_OF_SYNC
        else:
            res.status = SYNCED
        if failed:
            res.status = SYNC_UNKNOWN
    if failed:
        sync_code = SYNC_UNKNOWN

    app_health = _app_health(managed)

    resources = []
    for res in sorted(managed, key=lambda r: r.key):
        obj = res.live if res.live is not None else res.target
        assert obj is not None
        entry: dict[str, Any] = {
            "group": res.key[0],
            "version": str(obj.get("apiVersion") or "").rpartition("/")[2],
            "kind": res.key[1],
            "namespace": res.key[2],
            "name": res.key[3],
        }
        if res.status:
            entry["status"] = res.status
        if res.health is not None:
            entry["health"] = res.health.as_dict()
        if res.requires_pruning:
            entry["requiresPruning"] = True
        wave = sync.wave_of(res.target)
        if wave:
            entry["syncWave"] = wave
        resources.append(entry)

    status["sync"] = {
        "status": sync_code,
        "comparedTo": {"source": source, "destination": destination},
        **({"revision": revision} if revision else {}),
    }
    status["health"] = {"status": app_health}
    status["resources"] = resources
    status["reconciledAt"] = rfc3339(now)
    status["controllerNamespace"] = settings.controller_namespace
    if isinstance(desired, Rendered):
        status["sourceType"] = desired.source_type
        images = sorted({image for t in targets for image in pod_images(t)})
        status["summary"] = {"images": images} if images else {}
    evaluated = {COMPARISON_ERROR, SHARED_RESOURCE_WARNING, REPEATED_RESOURCE_WARNING, INVALID_SPEC_ERROR}

    # ------------------------------------------------------------------------------------ operations
    requeue = now + settings.resync_seconds
    op_state = status.get("operationState") or None
    requested = app.get("operation")
    sync_error: dict[str, Any] | None = None
    manual_started = False
    touched = False
    running = op_state is not None and op_state.get("phase") == sync.RUNNING
    if running:
        assert op_state is not None
        op_state = _continue_operation(
            app, op_state, desired, targets, managed, live_by_key, now, result, settings
        )
        status["operationState"] = op_state
        touched = True
    elif requested and isinstance(requested, dict) and requested.get("sync") is not None:
        manual_started = touched = True
        op_state = _start_operation(
            app, requested, revision, source, desired, targets, managed, live_by_key, now, result, settings
        )
        status["operationState"] = op_state
    elif not failed:
        decision = _auto_sync(app, status, managed, revision, source, now, settings)
        if isinstance(decision, dict) and decision.get("type") == SYNC_ERROR:
            sync_error = decision
        elif isinstance(decision, float):
            requeue = min(requeue, decision)
        elif isinstance(decision, dict):
            result.actions.append(
                Event(
                    "Application",
                    app_ns,
                    name,
                    "OperationStarted",
                    f"Initiated automated sync to '{revision}'",
                )
            )
            op_state = _start_operation(
                app, decision, revision, source, desired, targets, managed, live_by_key, now, result, settings
            )
            status["operationState"] = op_state
            touched = True
    if op_state is not None and op_state.get("phase") == sync.RUNNING:
        requeue = min(requeue, now + settings.operation_poll_seconds)
    if (
        touched
        and op_state is not None
        and op_state.get("phase") in (sync.SUCCEEDED, sync.FAILED, sync.ERROR)
    ):
        _record_completion(app, status, op_state, now, result)
    if manual_started:
        cleared = {k: v for k, v in app.items() if k != "operation"}
        result.actions.append(Update(cleared))

    if sync_error is not None:
        conditions.append(sync_error)
    evaluated.add(SYNC_ERROR)
    status["conditions"] = _set_conditions(original.get("conditions") or [], conditions, evaluated)
    if not status["conditions"]:
        status.pop("conditions")
    if isinstance(desired, RenderFailure):
        requeue = min(requeue, now + settings.resync_seconds)
    return _emit(app, original, status, result, annotations, now, requeue)


def _app_health(managed: Sequence[_Managed]) -> str:
    """Argo CD's setApplicationHealth (resource health stored inline in status.resources)."""
    app_health = HEALTHY
    contains_resources = contains_live = False
    for res in managed:
        obj = res.live if res.live is not None else res.target
        assert obj is not None
        if sync.is_hook(obj):
            continue
        contains_resources = True
        if res.live is not None:
            contains_live = True
            annotations = (res.live.get("metadata") or {}).get("annotations") or {}
            if annotations.get("argocd.argoproj.io/ignore-healthcheck") == "true":
                continue
            health = resource_health(res.live)
        else:
            health = Health(MISSING)
        if health is None:
            continue
        res.health = health
        if res.live is None:
            continue  # Missing resources do not affect the app's health: OutOfSync already says so
        if res.key[:2] == ("argoproj.io", "Application") and health.status in (MISSING, UNKNOWN):
            continue
        if is_worse(app_health, health.status):
            app_health = health.status
    if contains_resources and not contains_live and is_worse(app_health, MISSING):
        app_health = MISSING
    return app_health


def _request(
    app: Mapping[str, Any], operation: Mapping[str, Any], revision: str, dest_ns: str
) -> sync.SyncRequest:
    spec = app.get("spec") or {}
    sync_policy = spec.get("syncPolicy") or {}
    op_sync = operation.get("sync") or {}
    options = tuple(str(o) for o in (op_sync.get("syncOptions") or sync_policy.get("syncOptions") or ()))
    resources = op_sync.get("resources")
    return sync.SyncRequest(
        revision=str(op_sync.get("revision") or revision),
        prune=bool(op_sync.get("prune")),
        options=options,
        resources=tuple(resources) if resources else None,
        destination_namespace=dest_ns,
        managed_namespace_metadata=sync_policy.get("managedNamespaceMetadata"),
    )


def _start_operation(
    app: Obj,
    operation: Mapping[str, Any],
    revision: str,
    source: Mapping[str, Any],
    desired: Desired,
    targets: Sequence[Obj],
    managed: Sequence[_Managed],
    live_by_key: Mapping[ResourceKey, Obj],
    now: float,
    result: Reconciled,
    settings: Settings,
) -> dict[str, Any]:
    op = copy.deepcopy(dict(operation))
    op_sync = op.setdefault("sync", {})
    op_sync.setdefault("revision", revision)
    op_state: dict[str, Any] = {
        "operation": op,
        "phase": sync.RUNNING,
        "message": "",
        "startedAt": rfc3339(now),
    }
    return _run_step(
        app, op_state, desired, targets, managed, live_by_key, now, result, settings, started=False
    )


def _continue_operation(
    app: Obj,
    op_state: Mapping[str, Any],
    desired: Desired,
    targets: Sequence[Obj],
    managed: Sequence[_Managed],
    live_by_key: Mapping[ResourceKey, Obj],
    now: float,
    result: Reconciled,
    settings: Settings,
) -> dict[str, Any]:
    state = copy.deepcopy(dict(op_state))
    finished = state.get("finishedAt")
    if not isinstance(finished, str):
        return _run_step(
            app, state, desired, targets, managed, live_by_key, now, result, settings, started=True
        )
    # A failed attempt waiting for its retry (Running with a finish time, as Argo CD marks it).
    retry = (state.get("operation") or {}).get("retry") or {}
    count = int(state.get("retryCount") or 0)
    try:
        retry_at = parse_rfc3339(finished) + _retry_delay(retry, count)
    except ValueError as exc:
        state.update(phase=sync.ERROR, message=str(exc))
        return state
    if now < retry_at:
        result.requeue_at = retry_at
        return state
    state.pop("finishedAt", None)
    state.pop("syncResult", None)
    state["message"] = f"Retrying operation. Attempt #{count}"
    return _run_step(app, state, desired, targets, managed, live_by_key, now, result, settings, started=False)


def _retry_delay(retry: Mapping[str, Any], count: int) -> float:
    """Argo CD's RetryStrategy.NextRetryAt: duration x factor^count, capped at maxDuration (5s, 2, 3m)."""
    backoff = retry.get("backoff") or {}
    duration = parse_duration_seconds(backoff["duration"]) if backoff.get("duration") else 5.0
    cap = parse_duration_seconds(backoff["maxDuration"]) if backoff.get("maxDuration") else 180.0
    factor = float(backoff["factor"]) if backoff.get("factor") is not None else 2.0
    wait = duration * factor**count
    return min(cap, wait) if cap > 0 else wait


def _kitchen(ts: float) -> str:
    """Go's time.Kitchen ("3:04PM"), in UTC."""
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return f"{moment.hour % 12 or 12}:{moment.minute:02d}{'AM' if moment.hour < 12 else 'PM'}"


def _run_step(
    app: Obj,
    op_state: dict[str, Any],
    desired: Desired,
    targets: Sequence[Obj],
    managed: Sequence[_Managed],
    live_by_key: Mapping[ResourceKey, Obj],
    now: float,
    result: Reconciled,
    settings: Settings,
    started: bool,
) -> dict[str, Any]:
    spec = app.get("spec") or {}
    dest_ns = str((spec.get("destination") or {}).get("namespace") or "")
    operation = op_state.get("operation") or {}
    sync_result = dict(op_state.get("syncResult") or {})
    previous = list(sync_result.get("resources") or [])
    if isinstance(desired, RenderFailure):
        op_state.update(
            phase=sync.ERROR,
            message=f"ComparisonError: Failed to load target state: failed to generate manifest for source 1 of 1: {desired.message}",
            finishedAt=rfc3339(now),
        )
        return op_state
    request = _request(app, operation, desired.revision, dest_ns)
    extras = [m.live for m in managed if m.target is None and m.live is not None and m.status]
    modified = {m.key: m.modified for m in managed}
    try:
        tasks = sync.build_tasks(request, targets, live_by_key, extras, modified, previous)
    except sync.SyncNotSupported as exc:
        op_state.update(phase=sync.FAILED, message=str(exc), finishedAt=rfc3339(now))
        return op_state
    namespaces = {key[3] for key in live_by_key if key[:2] == ("", "Namespace")}
    step = sync.step(request, tasks, previous, started=bool(started or previous), namespaces=namespaces)
    result.actions.extend(step.actions)
    sync_result.update(
        resources=step.resources, revision=desired.revision, source=copy.deepcopy(spec.get("source") or {})
    )
    op_state.update(phase=step.phase, message=step.message, syncResult=sync_result)
    if step.phase != sync.RUNNING:
        op_state["finishedAt"] = rfc3339(now)
    if step.phase in (sync.FAILED, sync.ERROR):
        _schedule_retry(op_state, now)
    return op_state


def _schedule_retry(op_state: dict[str, Any], now: float) -> None:
    """A failed attempt is retried while ``operation.retry.limit`` allows (a negative limit: forever)."""
    retry = (op_state.get("operation") or {}).get("retry") or {}
    limit = int(retry.get("limit") or 0)
    count = int(op_state.get("retryCount") or 0)
    if count < limit or limit < 0:
        try:
            retry_at = now + _retry_delay(retry, count)
        except ValueError as exc:
            op_state.update(phase=sync.ERROR, message=f"{op_state.get('message')} (failed to retry: {exc})")
            return
        op_state["phase"] = sync.RUNNING
        op_state["retryCount"] = count + 1
        op_state["message"] = (
            f"{op_state.get('message')}. Retrying attempt #{count + 1} at {_kitchen(retry_at)}."
        )
    elif count > 0:
        op_state["message"] = f"{op_state.get('message')} (retried {count} times)."


def _record_completion(
    app: Obj, status: dict[str, Any], op_state: Mapping[str, Any], now: float, result: Reconciled
) -> None:
    meta = app.get("metadata") or {}
    op_sync = (op_state.get("operation") or {}).get("sync") or {}
    sync_result = op_state.get("syncResult") or {}
    revision = str(sync_result.get("revision") or op_sync.get("revision") or "")
    words = ["Partial sync operation" if op_sync.get("resources") else "Sync operation"]
    if revision:
        words += ["to", revision]
    succeeded = op_state.get("phase") == sync.SUCCEEDED
    words += ["succeeded"] if succeeded else ["failed:", str(op_state.get("message") or "")]
    result.actions.append(
        Event(
            "Application",
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            "OperationCompleted",
            " ".join(words),
            "Normal" if succeeded else "Warning",
        )
    )
    if succeeded:
        history = list(status.get("history") or [])
        next_id = max([int(h.get("id") or 0) for h in history] + [-1]) + 1
        history.append(
            {
                "revision": revision,
                "deployedAt": rfc3339(now),
                "id": next_id,
                "source": copy.deepcopy(sync_result.get("source") or {}),
                "deployStartedAt": op_state.get("startedAt"),
                "initiatedBy": copy.deepcopy((op_state.get("operation") or {}).get("initiatedBy") or {}),
            }
        )
        limit = int((app.get("spec") or {}).get("revisionHistoryLimit") or 10)
        status["history"] = history[-limit:]


def _auto_sync(
    app: Obj,
    status: Mapping[str, Any],
    managed: Sequence[_Managed],
    revision: str,
    source: Mapping[str, Any],
    now: float,
    settings: Settings,
) -> dict[str, Any] | float | None:
    """Argo CD's autoSync: an operation to start, a SyncError condition, a time to look again, or None."""
    spec = app.get("spec") or {}
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if not isinstance(automated, dict) or not _truthy(automated.get("enabled"), True):
        return None
    if status.get("sync", {}).get("status") != OUT_OF_SYNC:
        return None
    prune = _truthy(automated.get("prune"), False)
    resources = [m for m in managed if m.status]
    if not prune and all(m.status == SYNCED or m.requires_pruning for m in resources):
        return None  # need to prune extra resources only but automated prune is disabled
    op: dict[str, Any] = {
        "sync": {
            "source": copy.deepcopy(dict(source)),
            "revision": revision,
            "prune": prune,
            "syncOptions": list((spec.get("syncPolicy") or {}).get("syncOptions") or []),
        },
        "initiatedBy": {"automated": True},
        "retry": copy.deepcopy((spec.get("syncPolicy") or {}).get("retry") or {"limit": 5}),
    }
    op_state = status.get("operationState") or None
    sync_result = (op_state or {}).get("syncResult")
    if (
        op_state is not None
        and sync_result is not None
        and sync_result.get("revision") == revision
        and (sync_result.get("source") == dict(source))
    ):
        if op_state.get("phase") != sync.SUCCEEDED:
            return _condition(
                SYNC_ERROR, f"Failed last sync attempt to [{revision}]: {op_state.get('message') or ''}", now
            )
        if not _truthy(automated.get("selfHeal"), False):
            return None
        attempts = int(
            ((op_state.get("operation") or {}).get("sync") or {}).get("selfHealAttemptsCount") or 0
        )
        finished = op_state.get("finishedAt")
        since = now - parse_rfc3339(finished) if isinstance(finished, str) else 0.0
        remaining = _self_heal_delay(attempts, settings.self_heal_backoff) - since
        if remaining > 0:
            return now + remaining
        op["sync"]["selfHealAttemptsCount"] = attempts + 1
        op["sync"]["resources"] = [
            {"group": m.key[0], "kind": m.key[1], "name": m.key[3]} for m in resources if m.status != SYNCED
        ]
    if (
        prune
        and not _truthy(automated.get("allowEmpty"), False)
        and resources
        and all(m.requires_pruning for m in resources)
    ):
        return _condition(
            SYNC_ERROR, f"Skipping sync attempt to [{revision}]: auto-sync will wipe out all resources", now
        )
    return op


def _finalize(app: Obj, live: Sequence[Obj], settings: Settings) -> Reconciled:
    """Cascading deletion behind the resources finalizer."""
    meta = app.get("metadata") or {}
    name = str(meta.get("name") or "")
    result = Reconciled()
    finalizers = list(meta.get("finalizers") or [])
    if RESOURCES_FINALIZER not in finalizers:
        return result
    tracked = [o for o in live if is_tracked_by(o, name, settings.tracking)]
    if tracked:
        for obj in tracked:
            if not (obj.get("metadata") or {}).get("deletionTimestamp"):
                key = resource_key(obj)
                result.actions.append(Delete(key[1], key[2], key[3]))
        return result
    finalizers.remove(RESOURCES_FINALIZER)
    result.actions.append(Update({**app, "metadata": {**meta, "finalizers": finalizers}}))
    return result


def _emit(
    app: Obj,
    original: Mapping[str, Any],
    status: dict[str, Any],
    result: Reconciled,
    annotations: Mapping[str, Any],
    now: float,
    requeue: float | None,
    keep_status: bool = False,
) -> Reconciled:
    meta = app.get("metadata") or {}
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    if not keep_status:
        old_sync = str((original.get("sync") or {}).get("status") or "")
        new_sync = str((status.get("sync") or {}).get("status") or "")
        if old_sync != new_sync:
            result.actions.append(
                Event(
                    "Application",
                    namespace,
                    name,
                    "ResourceUpdated",
                    f"Updated sync status: {old_sync} -> {new_sync}",
                )
            )
        old_health = str((original.get("health") or {}).get("status") or "")
        new_health = str((status.get("health") or {}).get("status") or "")
        if old_health != new_health:
            status["health"]["lastTransitionTime"] = rfc3339(now)
            result.actions.append(
                Event(
                    "Application",
                    namespace,
                    name,
                    "ResourceUpdated",
                    f"Updated health status: {old_health} -> {new_health}",
                )
            )
        elif (original.get("health") or {}).get("lastTransitionTime"):
            status["health"]["lastTransitionTime"] = original["health"]["lastTransitionTime"]
        if _without_time(status) != _without_time(original):
            result.actions.append(UpdateStatus({**app, "status": status}))
    if REFRESH_ANNOTATION in annotations:
        kept = {k: v for k, v in annotations.items() if k != REFRESH_ANNOTATION}
        new_meta = {**meta, "annotations": kept}
        if not kept:
            new_meta.pop("annotations")
        base = next(
            (a.obj for a in result.actions if isinstance(a, Update) and a.obj.get("kind") == "Application"),
            app,
        )
        result.actions = [
            a for a in result.actions if not (isinstance(a, Update) and a.obj.get("kind") == "Application")
        ]
        result.actions.append(Update({**base, "metadata": new_meta}))
    if requeue is not None:
        result.requeue_at = requeue if result.requeue_at is None else min(result.requeue_at, requeue)
    return result


def _without_time(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without reconciledAt, so a pass that changes nothing writes nothing."""
    return {k: v for k, v in status.items() if k != "reconciledAt"}
