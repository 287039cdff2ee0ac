"""Sync operations as gitops-engine runs them: tasks per resource ordered by phase, wave and kind; the
destination namespace created first with ``CreateNamespace=true``; one wave applied per pass, later waves
waiting for the earlier ones to be healthy; prune tasks in reverse wave order; kubectl's messages per resource
and the operation's phase and message."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.gitops import diff
from flightdeck.gitops.health import DEGRADED, HEALTHY, resource_health
from flightdeck.gitops.tracking import group_of
from flightdeck.kube import errors, kinds
from flightdeck.kube.actions import Action, Create, Delete, Obj, Update
from flightdeck.kube.manifest import format_path
from flightdeck.kube.podutil import name_of, namespace_of

SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HELM_HOOK_ANNOTATION = "helm.sh/hook"

PHASE_PRESYNC = "PreSync"
PHASE_SYNC = "Sync"
_PHASE_ORDER = {PHASE_PRESYNC: -1, PHASE_SYNC: 0, "PostSync": 1, "SyncFail": 2}

# Result codes and operation phases (gitops-engine's common package).
SYNCED = "Synced"
SYNC_FAILED = "SyncFailed"
PRUNED = "Pruned"
PRUNE_SKIPPED = "PruneSkipped"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
ERROR = "Error"
_OPERATION_PHASE = {SYNCED: RUNNING, SYNC_FAILED: FAILED, PRUNED: SUCCEEDED, PRUNE_SKIPPED: SUCCEEDED}

_KIND_ORDER_LIST = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_ORDER = {kind: i - len(_KIND_ORDER_LIST) for i, kind in enumerate(_KIND_ORDER_LIST)}


class SyncNotSupported(ValueError):
    """A sync option or source this Argo CD emulation does not implement; the text names it."""


def has_option(obj: Mapping[str, Any] | None, option: str) -> bool:
    if obj is None:
        return False
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS_ANNOTATION) or ""
    return option in [part.strip() for part in str(value).split(",")]


def wave_of(obj: Mapping[str, Any] | None) -> int:
    if obj is None:
        return 0
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_WAVE_ANNOTATION)
    try:
        return int(str(raw).strip()) if raw is not None else 0
    except ValueError:
        return 0


def is_hook(obj: Mapping[str, Any] | None) -> bool:
    if obj is None:
        return False
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return HOOK_ANNOTATION in annotations or HELM_HOOK_ANNOTATION in annotations


def kubectl_name(obj: Mapping[str, Any]) -> str:
    """``deployment.apps/traffic-generator``, ``service/hotrod``: how kubectl names an object in its output."""
    group = group_of(obj)
    kind = str(obj.get("kind") or "").lower()
    name = (obj.get("metadata") or {}).get("name") or ""
    return f"{kind}.{group}/{name}" if group else f"{kind}/{name}"


@dataclasses.dataclass(slots=True)
class Task:
    phase: str
    target: Obj | None
    live: Obj | None
    wave_override: int | None = None
    result: dict[str, Any] | None = None

    @property
    def obj(self) -> Obj:
        obj = self.target if self.target is not None else self.live
        assert obj is not None
        return obj

    @property
    def is_prune(self) -> bool:
        return self.target is None

    def wave(self) -> int:
        return self.wave_override if self.wave_override is not None else wave_of(self.obj)

    @property
    def group(self) -> str:
        return group_of(self.obj)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        return name_of(self.obj)

    @property
    def namespace(self) -> str:
        return namespace_of(self.obj)

    def result_key(self) -> tuple[str, str, str, str, str]:
        return (self.group, self.kind, self.namespace, self.name, self.phase)

    @property
    def operation_state(self) -> str:
        return str((self.result or {}).get("hookPhase") or "")

    @property
    def pending(self) -> bool:
        return self.result is None

    @property
    def running(self) -> bool:
        return self.operation_state == RUNNING

    @property
    def completed(self) -> bool:
        return self.operation_state in (SUCCEEDED, FAILED, ERROR)

    @property
    def successful(self) -> bool:
        return self.operation_state == SUCCEEDED

    def sort_key(self) -> tuple[int, int, int, str]:
        return (_PHASE_ORDER.get(self.phase, 0), self.wave(), _KIND_ORDER.get(self.kind, 0), self.name)


def result_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    return (
        str(entry.get("group") or ""),
        str(entry.get("kind") or ""),
        str(entry.get("namespace") or ""),
        str(entry.get("name") or ""),
        str(entry.get("syncPhase") or PHASE_SYNC),
    )


def _version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[2]


def _set_result(task: Task, status: str, phase: str, message: str) -> None:
    obj = task.obj
    entry = dict(task.result or {})
    entry.update(
        {
            "group": task.group,
            "version": _version(obj),
            "kind": task.kind,
            "namespace": task.namespace,
            "name": task.name,
            "status": status,
            "hookPhase": phase,
            "syncPhase": task.phase,
        }
    )
    if message:
        entry["message"] = message
    task.result = entry


@dataclasses.dataclass(slots=True)
class SyncRequest:
    """What one sync operation does (``operation.sync`` and the app's settings)."""

    revision: str
    prune: bool
    options: tuple[str, ...]
    resources: tuple[Mapping[str, Any], ...] | None
    """Selected resources (partial sync, e.g. self-heal): ``{group, kind, name}`` entries; None for all."""
    destination_namespace: str
    managed_namespace_metadata: Mapping[str, Any] | None


@dataclasses.dataclass(slots=True)
class StepResult:
    phase: str
    message: str
    resources: list[dict[str, Any]]
    actions: list[Action]


def _selected(task: Task, selection: Sequence[Mapping[str, Any]] | None) -> bool:
    if selection is None:
        return True
    for item in selection:
        if (
            str(item.get("group") or "") == task.group
            and item.get("kind") == task.kind
            and item.get("name") == task.name
            and (not item.get("namespace") or item.get("namespace") == task.namespace)
        ):
            return True
    return False


def _namespace_task(
    request: SyncRequest, targets: Sequence[Obj], live: Mapping[tuple[str, str, str, str], Obj]
) -> Task | None:
    if "CreateNamespace=true" not in request.options or not request.destination_namespace:
        return None
    name = request.destination_namespace
    for obj in targets:
        if (
            obj.get("kind") == "Namespace"
            and not group_of(obj)
            and (obj.get("metadata") or {}).get("name") == name
        ):
            return None
    existing = live.get(("", "Namespace", "", name))
    ns: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    metadata = request.managed_namespace_metadata or {}
    if metadata.get("labels"):
        ns["metadata"]["labels"] = dict(metadata["labels"])
    if metadata.get("annotations"):
        ns["metadata"]["annotations"] = dict(metadata["annotations"])
    if existing is not None and (not metadata or not diff.is_modified(ns, existing)):
        return None
    return Task(PHASE_PRESYNC, ns, existing)


def build_tasks(
    request: SyncRequest,
    targets: Sequence[Obj],
    live: Mapping[tuple[str, str, str, str], Obj],
    extras: Sequence[Obj],
    modified: Mapping[tuple[str, str, str, str], bool],
    previous: Sequence[Mapping[str, Any]],
) -> list[Task]:
    """All tasks of the operation, with the results recorded so far attached."""
    tasks: list[Task] = []
    for obj in targets:
        if is_hook(obj):
            raise SyncNotSupported(
                f"not supported: sync hooks ({obj.get('kind')}/{(obj.get('metadata') or {}).get('name')} has "
                f"a {HOOK_ANNOTATION} annotation)"
            )
        key = _key(obj)
        task = Task(PHASE_SYNC, obj, live.get(key))
        if "ApplyOutOfSyncOnly=true" in request.options and not modified.get(key, True):
            continue
        if _selected(task, request.resources):
            tasks.append(task)
    prune_tasks = [Task(PHASE_SYNC, None, obj) for obj in extras]
    prune_tasks = [t for t in prune_tasks if _selected(t, request.resources)]
    waves = sorted({t.wave() for t in prune_tasks})
    for i in range(len(waves) // 2):
        start, end = waves[i], waves[len(waves) - 1 - i]
        for task in prune_tasks:
            w = wave_of(task.live)
            if w == start:
                task.wave_override = end
            elif w == end:
                task.wave_override = start
    last_wave = (
        max([0, *(t.wave() for t in tasks if t.phase == PHASE_SYNC), *(t.wave() for t in prune_tasks)]) + 1
    )
    for task in prune_tasks:
        if "PruneLast=true" in request.options or has_option(task.live, "PruneLast=true"):
            task.wave_override = last_wave
    tasks.extend(prune_tasks)
    ns_task = _namespace_task(request, targets, live)
    if ns_task is not None:
        tasks.append(ns_task)
    tasks.sort(key=Task.sort_key)
    tasks = _namespaces_first(tasks)
    by_key = {result_key(entry): entry for entry in previous}
    for task in tasks:
        entry = by_key.get(task.result_key())
        if entry is not None:
            task.result = dict(entry)
    return tasks


def _namespaces_first(tasks: list[Task]) -> list[Task]:
    """gitops-engine's adjustDeps: a Namespace task goes before the tasks of objects that live in it."""
    namespaces = {t.name for t in tasks if t.kind == "Namespace" and not t.group}
    if not namespaces or not any(t.namespace in namespaces for t in tasks):
        return tasks
    first = [t for t in tasks if t.kind == "Namespace" and not t.group]
    return first + [t for t in tasks if not (t.kind == "Namespace" and not t.group)]


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (
        group_of(obj),
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _running_message(tasks: Sequence[Task], pending_deletion: bool = False) -> str:
    first = tasks[0]
    waiting, more = ("deletion of", "resources") if pending_deletion else ("healthy state of", "resources")
    message = f"waiting for {waiting} {first.group}/{first.kind}/{first.name}"
    if len(tasks) > 1:
        message += f" and {len(tasks) - 1} more {more}"
    return message


def validation_error(obj: Mapping[str, Any]) -> str | None:
    """What the API server would answer a ``kubectl apply --dry-run`` of ``obj`` with (None: accepted).

    The same checks and texts as the object store's admission (``flightdeck.kube.kinds``)."""
    kind = str(obj.get("kind") or "")
    if not kind:
        return "Object 'Kind' is missing in the object"
    if not obj.get("apiVersion"):
        return f"Object 'apiVersion' is missing in the {kind} object"
    if kinds.kind_spec(kind) is None:
        return None
    problems = [p for p in kinds.check(obj) if not isinstance(p, kinds.UnsupportedField)]
    if not problems:
        return None
    name = str((obj.get("metadata") or {}).get("name") or "")
    version = str(obj.get("apiVersion")).rsplit("/", 1)[-1]
    mapping = [p for p in problems if p.path == ("apiVersion",)]
    if mapping:
        return mapping[0].message.split(" (expected")[0]
    decoding = [p for p in problems if not p.show_path and p.message.startswith("unknown field")]
    typed = [p for p in problems if p.show_path and p.message.startswith("expected ")]
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    if decoding:
        return prefix + "strict decoding error: " + ", ".join(p.message for p in decoding)
    if typed:
        return prefix + "; ".join(f"{format_path(p.path)}: {p.message}" for p in typed)
    causes = [f"{format_path(p.path)}: {p.message}" if p.show_path else p.message for p in problems]
    return str(errors.invalid(kinds.qualified_kind(kind), name, causes))


def _apply(task: Task, request: SyncRequest, namespaces: set[str]) -> tuple[str, str, Action | None]:
    """(result code, kubectl's message, action) for one task; ``namespaces`` are those that exist."""
    if task.is_prune:
        live = task.live
        assert live is not None
        if not request.prune:
            return PRUNE_SKIPPED, "ignored (requires pruning)", None
        if has_option(live, "Prune=false"):
            return PRUNE_SKIPPED, "ignored (no prune)", None
        if (live.get("metadata") or {}).get("deletionTimestamp"):
            return PRUNED, "pruned", None
        return PRUNED, "pruned", Delete(task.kind, task.namespace, task.name)
    target = task.target
    assert target is not None
    name = kubectl_name(target)
    namespace = task.namespace
    if namespace and namespace not in namespaces:
        return SYNC_FAILED, f'namespaces "{namespace}" not found', None
    if task.live is None:
        return SYNCED, f"{name} created", Create(diff.merge_apply(target, None))
    if has_option(target, "Replace=true") or "Replace=true" in request.options:
        replaced = copy.deepcopy(target)
        replaced.setdefault("metadata", {})["resourceVersion"] = (task.live.get("metadata") or {}).get(
            "resourceVersion"
        )
        if "status" in task.live:
            replaced["status"] = copy.deepcopy(task.live["status"])
        return SYNCED, f"{name} replaced", Update(replaced)
    merged = diff.merge_apply(target, task.live)
    if merged == task.live:
        return SYNCED, f"{name} unchanged", None
    return SYNCED, f"{name} configured", Update(merged)


def step(
    request: SyncRequest,
    tasks: list[Task],
    previous: Sequence[Mapping[str, Any]],
    started: bool,
    namespaces: set[str],
) -> StepResult:
    """One pass of gitops-engine's ``syncContext.Sync`` over ``tasks`` (their recorded results attached);
    ``previous`` are the results recorded so far (kept even for tasks that no longer exist); ``namespaces``
    are the namespaces that exist in the cluster."""
    actions: list[Action] = []
    namespaces = set(namespaces)

    def finish(phase: str, message: str) -> StepResult:
        by_key: dict[tuple[str, str, str, str, str], dict[str, Any]] = {
            t.result_key(): t.result for t in tasks if t.result is not None
        }
        resources: list[dict[str, Any]] = []
        for entry in previous:
            key = result_key(entry)
            resources.append(dict(by_key.pop(key) if key in by_key else entry))
        resources.extend(dict(r) for r in by_key.values())
        return StepResult(phase, message, resources, actions)

    if not started:
        # The namespace is created before anything else is even validated.
        for task in tasks:
            if task.phase == PHASE_PRESYNC and task.kind == "Namespace" and task.pending:
                code, message, action = _apply(task, request, namespaces)
                if action is not None:
                    actions.append(action)
                _set_result(task, code, _OPERATION_PHASE[code], message)
                namespaces.add(task.name)
        # kubectl apply --dry-run of everything else: invalid objects fail the operation before any change.
        invalid = False
        validate = "Validate=false" not in request.options
        for task in tasks:
            if (
                validate
                and task.pending
                and task.target is not None
                and not has_option(task.target, "Validate=false")
            ):
                problem = validation_error(task.target)
                if problem is not None:
                    _set_result(task, SYNC_FAILED, FAILED, problem)
                    invalid = True
        if invalid:
            return finish(FAILED, "one or more objects failed to apply (dry run)")

    for task in tasks:
        if task.running and task.live is not None:
            health = resource_health(task.live)
            code = str((task.result or {}).get("status") or SYNCED)
            if health is None or health.status == HEALTHY:
                _set_result(task, code, SUCCEEDED, health.message if health else "")
            elif health.status == DEGRADED:
                _set_result(task, code, FAILED, health.message)

    multi_step = len({(t.phase, t.wave()) for t in tasks}) > 1
    running = [t for t in tasks if multi_step and t.running]
    if running:
        return finish(RUNNING, _running_message(running))
    pending_deletion = [
        t
        for t in tasks
        if t.result is not None
        and t.result.get("status") == PRUNED
        and t.live is not None
        and (t.live.get("metadata") or {}).get("deletionTimestamp")
    ]
    if pending_deletion:
        return finish(RUNNING, _running_message(pending_deletion, pending_deletion=True))
    if any(t.completed and not t.successful for t in tasks):
        return finish(
            FAILED, _failed_message(tasks, "one or more synchronization tasks completed unsuccessfully")
        )
    pending = [t for t in tasks if t.pending]
    if not pending:
        return finish(SUCCEEDED, "successfully synced (no more tasks)")
    phase, wave = pending[0].phase, pending[0].wave()
    remaining = [t for t in pending if t.phase != phase or t.wave() != wave]
    current = [t for t in pending if t.phase == phase and t.wave() == wave]
    failed = False
    # Namespaces applied in this wave exist for the objects after them (kind order puts them first).
    namespaces.update(t.name for t in current if t.kind == "Namespace" and not t.group and not t.is_prune)
    # Prunes run before applies in a wave, as in gitops-engine's runTasks.
    for task in sorted(current, key=lambda t: 0 if t.is_prune else 1):
        code, message, action = _apply(task, request, namespaces)
        if action is not None:
            actions.append(action)
        if code == SYNC_FAILED:
            failed = True
        _set_result(task, code, _OPERATION_PHASE[code], message)
    if failed:
        return finish(FAILED, _failed_message(current, "one or more objects failed to apply"))
    if remaining:
        return finish(RUNNING, _running_message(remaining))
    return finish(SUCCEEDED, "successfully synced (all tasks run)")


def _failed_message(tasks: Sequence[Task], message: str) -> str:
    reasons = [
        str(t.result.get("message") or "")
        for t in tasks
        if t.result and t.result.get("status") == SYNC_FAILED
    ]
    reasons = [r for r in reasons if r]
    return f"{message}, reason: {','.join(reasons)}" if reasons else message
