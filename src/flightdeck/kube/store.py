"""The object store of the local cluster: Kubernetes-shaped objects with resourceVersion, generation, owner
references and garbage collection, label selectors, watch — persisted in SQLite so that a restarted
flightdeck finds every object as it was.

Design: every object lives in memory as its JSON text plus the few fields the indexes need (labels, owner
uids); reads parse a fresh copy (callers may mutate what they get), writes go through one lock, one SQLite
transaction (WAL journal) and then to the watchers. The global resourceVersion is a counter, like etcd's
revision: every write (including a deletion) takes the next value.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as _dt
import json
import secrets
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from flightdeck.kube import errors
from flightdeck.kube.actions import Action, Create, Delete, Event, Update, UpdateStatus
from flightdeck.kube.defaults import apply_defaults
from flightdeck.kube.hashing import SAFE_ALPHANUMS, canonical_bytes
from flightdeck.kube.kinds import (
    UnsupportedField,
    check,
    is_namespaced,
    kind_spec,
    lint_object,
    qualified_kind,
)
from flightdeck.kube.kinds import resource_name as _resource
from flightdeck.kube.manifest import format_path
from flightdeck.kube.selectors import Selector, as_selector
from flightdeck.util.clock import Clock, RealClock
from flightdeck.util.timefmt import parse_rfc3339, rfc3339

Obj = dict[str, Any]
Key = tuple[str, str, str]
WatchType = Literal["ADDED", "MODIFIED", "DELETED", "ERROR"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
EVENT_TTL_SECONDS = 3600.0
DEFAULT_NAMESPACE = "default"
SERVICE_CIDR_PREFIX = "127.20."
_SCHEMA_VERSION = "1"

# Who reports events about which kind (``kubectl describe`` shows it in the From column).
_EVENT_SOURCES = {
    "Deployment": "deployment-controller",
    "ReplicaSet": "replicaset-controller",
    "DaemonSet": "daemonset-controller",
    "Namespace": "namespace-controller",
    "Pod": "kubelet",
    "Rollout": "rollouts-controller",
    "AnalysisRun": "rollouts-controller",
    "Application": "argocd-application-controller",
    "ApplicationSet": "applicationset-controller",
}


def _json_default(value: Any) -> Any:
    # YAML turns unquoted timestamps into datetimes; the API server stores them as RFC 3339 strings.
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_json_default)


@dataclasses.dataclass(slots=True)
class _Entry:
    kind: str
    namespace: str
    name: str
    uid: str
    rv: int
    text: str
    labels: dict[str, str]
    owners: tuple[str, ...]

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)


def _entry(obj: Obj, rv: int, text: str) -> _Entry:
    meta = obj.get("metadata") or {}
    owners = tuple(
        str(ref.get("uid") or "") for ref in meta.get("ownerReferences") or [] if isinstance(ref, dict)
    )
    labels = meta.get("labels") or {}
    return _Entry(
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        str(meta.get("uid") or ""),
        rv,
        text,
        {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        owners,
    )


class WatchEvent:
    """One change: ``type`` is ADDED, MODIFIED, DELETED (or ERROR when the watcher fell behind)."""

    __slots__ = ("_obj", "_text", "kind", "name", "namespace", "type")

    def __init__(self, type: WatchType, kind: str, namespace: str, name: str, text: str) -> None:
        self.type: WatchType = type
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self._text = text
        self._obj: Obj | None = None

    @property
    def obj(self) -> Obj:
        # Parsed on first use: most watchers only look at the key.
        if self._obj is None:
            self._obj = json.loads(self._text)
        return self._obj

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)

    def __repr__(self) -> str:
        return f"WatchEvent({self.type} {self.kind} {self.namespace}/{self.name})"


class Watch:
    """A bounded, thread-safe queue of :class:`WatchEvent`; iterate it (blocking) or poll with :meth:`get`.

    When a watcher falls more than ``maxsize`` events behind, its queue is emptied and a single ERROR event
    (``410 Expired``, as the API server answers) tells it to list again instead of silently losing changes.
    """

    def __init__(self, store: ObjectStore, kinds: frozenset[str] | None, maxsize: int) -> None:
        self._store = store
        self.kinds = kinds
        self.maxsize = maxsize
        self._queue: deque[WatchEvent] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.overflows = 0

    def _push(self, event: WatchEvent) -> None:
        if self.kinds is not None and event.kind not in self.kinds:
            return
        with self._cond:
            if self._closed:
                return
            if len(self._queue) >= self.maxsize:
                self._queue.clear()
                self.overflows += 1
                status = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "Expired",
                    "code": 410,
                    "message": "too old resource version: the watcher fell behind; list again",
                }
                event = WatchEvent("ERROR", "Status", "", "", _dumps(status))
            self._queue.append(event)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever); None on timeout or close."""
        with self._cond:
            if not self._queue and not self._closed:
                self._cond.wait(timeout)
            if self._queue:
                return self._queue.popleft()
            return None

    def drain(self) -> list[WatchEvent]:
        """Every queued event, without waiting."""
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            return out

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._store._unwatch(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[WatchEvent]:
        while True:
            event = self.get()
            if event is None:
                if self._closed:
                    return
                continue
            yield event

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ObjectStore:
    """Namespaced Kubernetes objects; ``path=None`` keeps them in memory only."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        clock: Clock | None = None,
        watch_queue_size: int = 10_000,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.clock: Clock = clock or RealClock()
        self.watch_queue_size = watch_queue_size
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], _Entry]] = {}
        self._by_uid: dict[str, _Entry] = {}
        self._dependents: dict[str, set[Key]] = {}
        self._watchers: list[Watch] = []
        self._rv = 0
        self._db: sqlite3.Connection | None = None
        self._tx_depth = 0
        self._pending_events: list[WatchEvent] = []
        self._last_event_prune = 0.0
        if self.path is not None:
            self._open_db(self.path)
            self._load()
        if self._get_entry("Namespace", "", DEFAULT_NAMESPACE) is None:
            now = self.clock.now()
            with self._tx():
                self._create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEFAULT_NAMESPACE}}, now
                )

    # --- persistence -------------------------------------------------------------------------------------

    def _open_db(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL with WAL survives a killed process (only a power cut can lose the last transactions).
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
            " resource_version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, namespace, name))"
            " WITHOUT ROWID"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (_SCHEMA_VERSION,))
        elif row[0] != _SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: object store schema version {row[0]} is not supported (want {_SCHEMA_VERSION})"
            )
        self._db = db

    def _load(self) -> None:
        assert self._db is not None
        self._objects.clear()
        self._by_uid.clear()
        self._dependents.clear()
        rv = 0
        for _kind, _ns, _name, obj_rv, body in self._db.execute(
            "SELECT kind, namespace, name, resource_version, body FROM objects"
        ):
            entry = _entry(json.loads(body), int(obj_rv), body)
            self._index(entry)
            rv = max(rv, int(obj_rv))
        row = self._db.execute("SELECT value FROM meta WHERE key = 'resource_version'").fetchone()
        self._rv = max(rv, int(row[0]) if row else 0)

    def close(self) -> None:
        with self._lock:
            for watch in list(self._watchers):
                watch.close()
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            outer = self._tx_depth == 0
            if outer and self._db is not None:
                self._db.execute("BEGIN IMMEDIATE")
            self._tx_depth += 1
            try:
                yield
            except BaseException:
                self._tx_depth -= 1
                if outer:
                    self._finish(commit=True)
                raise
            self._tx_depth -= 1
            if outer:
                self._finish(commit=True)

    def _finish(self, commit: bool) -> None:
        # Writes before a failure stay (each is its own request against a real API server), so commit them.
        if self._db is not None:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('resource_version', ?)",
                    (str(self._rv),),
                )
                self._db.execute("COMMIT" if commit else "ROLLBACK")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                self._load()
                self._pending_events.clear()
                raise
        events, self._pending_events = self._pending_events, []
        for event in events:
            for watch in self._watchers:
                watch._push(event)

    # --- indexes -----------------------------------------------------------------------------------------

    def _index(self, entry: _Entry) -> None:
        self._objects.setdefault(entry.kind, {})[(entry.namespace, entry.name)] = entry
        if entry.uid:
            self._by_uid[entry.uid] = entry
        for owner in entry.owners:
            self._dependents.setdefault(owner, set()).add(entry.key)

    def _unindex(self, entry: _Entry) -> None:
        bucket = self._objects.get(entry.kind)
        if bucket is not None:
            bucket.pop((entry.namespace, entry.name), None)
        if entry.uid and self._by_uid.get(entry.uid) is entry:
            del self._by_uid[entry.uid]
        for owner in entry.owners:
            deps = self._dependents.get(owner)
            if deps is not None:
                deps.discard(entry.key)
                if not deps:
                    del self._dependents[owner]

    def _get_entry(self, kind: str, namespace: str, name: str) -> _Entry | None:
        bucket = self._objects.get(kind)
        return bucket.get((namespace, name)) if bucket is not None else None

    def _put(self, obj: Obj, event: WatchType, old: _Entry | None) -> Obj:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        try:
            text = _dumps(obj)
        except (TypeError, ValueError) as exc:
            self._rv -= 1
            raise errors.BadRequest(f"the object cannot be stored: {exc}") from None
        entry = _entry(obj, self._rv, text)
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, namespace, name, resource_version, body) VALUES (?,?,?,?,?)",
                (entry.kind, entry.namespace, entry.name, entry.rv, text),
            )
        if old is not None:
            self._unindex(old)
        self._index(entry)
        self._pending_events.append(WatchEvent(event, entry.kind, entry.namespace, entry.name, text))
        loaded: Obj = json.loads(text)
        return loaded

    def _remove(self, entry: _Entry) -> None:
        self._rv += 1
        obj = json.loads(entry.text)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        text = _dumps(obj)
        if self._db is not None:
            self._db.execute(
                "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                (entry.kind, entry.namespace, entry.name),
            )
        self._unindex(entry)
        self._pending_events.append(WatchEvent("DELETED", entry.kind, entry.namespace, entry.name, text))

    # --- reads -------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        with self._lock:
            entry = self._get_entry(kind, self._ns(kind, namespace), name)
            return json.loads(entry.text) if entry is not None else None

    def read(self, kind: str, namespace: str, name: str) -> Obj:
        """Like :meth:`get`, but a missing object is a :class:`NotFound` error with the API server's text."""
        obj = self.get(kind, namespace, name)
        if obj is None:
            raise errors.not_found(_resource(kind), name)
        return obj

    def get_by_uid(self, uid: str) -> Obj | None:
        with self._lock:
            entry = self._by_uid.get(uid)
            return json.loads(entry.text) if entry is not None else None

    def exists_uid(self, uid: str) -> bool:
        with self._lock:
            return uid in self._by_uid

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        selector: Selector | Mapping[str, Any] | str | None = None,
    ) -> list[Obj]:
        """Objects of ``kind`` (in ``namespace`` unless None), sorted by namespace and name."""
        sel = as_selector(selector) if selector is not None else None
        with self._lock:
            bucket = self._objects.get(kind)
            if not bucket:
                return []
            entries = [
                e
                for (ns, _), e in bucket.items()
                if (namespace is None or ns == namespace) and (sel is None or sel.matches(e.labels))
            ]
            entries.sort(key=lambda e: (e.namespace, e.name))
            return [json.loads(e.text) for e in entries]

    def dependents(self, uid: str, kind: str | None = None) -> builtins.list[Obj]:
        """Objects with an ownerReference to ``uid`` (optionally only of ``kind``), sorted by key."""
        with self._lock:
            keys = sorted(k for k in self._dependents.get(uid, ()) if kind is None or k[0] == kind)
            out: list[Obj] = []
            for key in keys:
                entry = self._get_entry(*key)
                if entry is not None:
                    out.append(json.loads(entry.text))
            return out

    def kinds(self) -> builtins.list[str]:
        with self._lock:
            return sorted(k for k, bucket in self._objects.items() if bucket)

    def list_namespace(self, namespace: str) -> builtins.list[Obj]:
        """Every object in a namespace, whatever its kind (the namespace controller empties it)."""
        with self._lock:
            out = []
            for kind in sorted(self._objects):
                for (ns, _), entry in sorted(self._objects[kind].items()):
                    if ns == namespace:
                        out.append(json.loads(entry.text))
            return out

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is not None:
                return len(self._objects.get(kind, {}))
            return sum(len(b) for b in self._objects.values())

    # --- watch -------------------------------------------------------------------------------------------

    def watch(self, kinds: Iterable[str] | None = None, *, maxsize: int | None = None) -> Watch:
        watch = Watch(self, frozenset(kinds) if kinds is not None else None, maxsize or self.watch_queue_size)
        with self._lock:
            self._watchers.append(watch)
        return watch

    def _unwatch(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watchers:
                self._watchers.remove(watch)

    # --- writes ------------------------------------------------------------------------------------------

    @staticmethod
    def _ns(kind: str, namespace: str | None) -> str:
        if not is_namespaced(kind):
            return ""
        return namespace or DEFAULT_NAMESPACE

    def create(self, obj: Mapping[str, Any], *, create_namespace: bool = False) -> Obj:
        """Store a new object: fills uid, resourceVersion, generation 1 and creationTimestamp."""
        with self._tx():
            return self._create(obj, self.clock.now(), create_namespace=create_namespace)

    def update(self, obj: Mapping[str, Any]) -> Obj:
        """Replace metadata and spec (status is kept); a stale resourceVersion is a Conflict."""
        with self._tx():
            return self._update(obj, self.clock.now())

    def update_status(self, obj: Mapping[str, Any]) -> Obj:
        """Replace only ``status`` (the status subresource)."""
        with self._tx():
            return self._update_status(obj)

    def delete(self, kind: str, namespace: str, name: str, *, propagation: str = "Background") -> None:
        """Delete an object; dependents (ownerReferences) are deleted too unless ``propagation="Orphan"``.

        Objects with finalizers (a Namespace with its ``kubernetes`` finalizer) are only marked: they get a
        deletionTimestamp and disappear once their controller removes the last finalizer.
        """
        with self._tx():
            self._delete(kind, namespace, name, self.clock.now(), propagation=propagation)

    def apply(self, obj: Mapping[str, Any], *, create_namespace: bool = False) -> Obj:
        """Create or update the way ``kubectl apply`` does: three-way merge with the last applied
        configuration for maps, lists replaced, status and fields set by others kept."""
        with self._tx():
            return self._apply(obj, self.clock.now(), create_namespace=create_namespace)

    def apply_actions(self, actions: Sequence[Action], now: float) -> None:
        """Apply a reconciler's actions in order; Events become Event objects.

        The actions of one reconcile are one logical write: an object the batch itself already changed may
        be written again with the resourceVersion the reconciler read (its status after its own update).
        The first failing action raises (earlier ones stay applied, as separate API calls would).
        """
        rebased: dict[Key, tuple[str, str]] = {}
        with self._tx():
            for action in actions:
                if isinstance(action, Create):
                    self._create(action.obj, now)
                elif isinstance(action, Update | UpdateStatus):
                    obj = self._rebase(action.obj, rebased)
                    before = self._rv_of(obj)
                    written = (
                        self._update(obj, now) if isinstance(action, Update) else self._update_status(obj)
                    )
                    key = self._key_of(written)
                    after = str(written["metadata"]["resourceVersion"])
                    read = rebased.get(key, (before, after))[0]
                    rebased[key] = (read or before, after)
                elif isinstance(action, Delete):
                    # Already gone is what the controller wanted.
                    with contextlib.suppress(errors.NotFound):
                        self._delete(action.kind, action.namespace, action.name, now)
                elif isinstance(action, Event):
                    self._record_event(action, now)
                else:  # pragma: no cover - Action is a closed union
                    raise TypeError(f"unknown action {action!r}")

    def _rv_of(self, obj: Mapping[str, Any]) -> str:
        return str((obj.get("metadata") or {}).get("resourceVersion") or "")

    def _key_of(self, obj: Mapping[str, Any]) -> Key:
        kind = str(obj.get("kind") or "")
        meta = obj.get("metadata") or {}
        return (kind, self._ns(kind, meta.get("namespace")), str(meta.get("name") or ""))

    def _rebase(self, obj: Mapping[str, Any], rebased: dict[Key, tuple[str, str]]) -> Mapping[str, Any]:
        key = self._key_of(obj)
        seen = rebased.get(key)
        if seen is None or self._rv_of(obj) != seen[0]:
            return obj
        entry = self._get_entry(*key)
        if entry is None or str(entry.rv) != seen[1]:
            return obj
        out = dict(obj)
        out["metadata"] = {**(obj.get("metadata") or {}), "resourceVersion": seen[1]}
        return out

    # --- write internals (lock held, inside a transaction) -----------------------------------------------

    def _validate(self, obj: Obj) -> None:
        kind = str(obj.get("kind") or "")
        if not kind:
            raise errors.BadRequest("Object 'Kind' is missing in the object")
        if not obj.get("apiVersion"):
            raise errors.BadRequest(f"Object 'apiVersion' is missing in the {kind} object")
        spec = kind_spec(kind)
        if spec is None:
            return
        problems = [p for p in check(obj) if not isinstance(p, UnsupportedField)]
        if not problems:
            return
        name = str((obj.get("metadata") or {}).get("name") or "")
        version = str(obj.get("apiVersion")).rsplit("/", 1)[-1]
        decoding = [p for p in problems if not p.show_path and p.message.startswith("unknown field")]
        typed = [p for p in problems if p.show_path and p.message.startswith("expected ")]
        mapping = [p for p in problems if p.path == ("apiVersion",)]
        if mapping:
            raise errors.BadRequest(mapping[0].message.split(" (expected")[0])
        if decoding or typed:
            prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
            if decoding:
                raise errors.BadRequest(
                    prefix + "strict decoding error: " + ", ".join(p.message for p in decoding)
                )
            raise errors.BadRequest(prefix + "; ".join(f"{format_path(p.path)}: {p.message}" for p in typed))
        causes = [f"{format_path(p.path)}: {p.message}" if p.show_path else p.message for p in problems]
        raise errors.invalid(qualified_kind(kind), name, causes)

    def _namespace_ready(
        self, kind: str, namespace: str, name: str, create_namespace: bool, now: float
    ) -> None:
        if not is_namespaced(kind):
            return
        ns = self._get_entry("Namespace", "", namespace)
        if ns is None:
            if create_namespace:
                self._create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, now)
                return
            raise errors.not_found("namespaces", namespace)
        if '"deletionTimestamp"' in ns.text and json.loads(ns.text)["metadata"].get("deletionTimestamp"):
            raise errors.Forbidden(
                f'{_resource(kind)} "{name}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated"
            )

    def _create(self, raw: Mapping[str, Any], now: float, *, create_namespace: bool = False) -> Obj:
        obj: Obj = json.loads(_dumps(raw))
        kind = str(obj.get("kind") or "")
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(field, None)
        self._validate(obj)
        namespace = self._ns(kind, meta.get("namespace"))
        if is_namespaced(kind):
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        name = str(meta.get("name") or "")
        if not name:
            prefix = str(meta.get("generateName") or "")
            for _ in range(100):
                candidate = prefix + "".join(secrets.choice(SAFE_ALPHANUMS) for _ in range(5))
                if self._get_entry(kind, namespace, candidate) is None:
                    name = meta["name"] = candidate
                    break
        if not name:
            raise errors.invalid(
                qualified_kind(kind), "", ["metadata.name: Required value: name or generateName is required"]
            )
        self._namespace_ready(kind, namespace, name, create_namespace, now)
        if self._get_entry(kind, namespace, name) is not None:
            raise errors.already_exists(_resource(kind), name)
        warnings = _warnings(obj)
        apply_defaults(obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(now)
        meta["generation"] = 1
        if kind == "Service":
            self._allocate_cluster_ip(obj)
        elif kind == "Pod":
            status = obj.setdefault("status", {})
            if isinstance(status, dict):
                status.setdefault("phase", "Pending")
                status.setdefault("qosClass", _qos_class(obj.get("spec") or {}))
        elif kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        written = self._put(obj, "ADDED", None)
        if warnings:
            self._warn(written, warnings, now)
        return written

    def _update(self, raw: Mapping[str, Any], now: float, *, validate: bool = True) -> Obj:
        obj: Obj = json.loads(_dumps(raw))
        kind = str(obj.get("kind") or "")
        meta = obj.get("metadata") or {}
        namespace = self._ns(kind, meta.get("namespace"))
        name = str(meta.get("name") or "")
        old = self._get_entry(kind, namespace, name)
        if old is None:
            raise errors.not_found(_resource(kind), name)
        rv = meta.get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(old.rv):
            raise errors.conflict(_resource(kind), name)
        current: Obj = json.loads(old.text)
        if validate:
            self._validate(obj)
        warnings = _warnings(obj) if validate else []
        apply_defaults(obj)
        new_meta = dict(current["metadata"])
        for field in ("labels", "annotations", "ownerReferences", "finalizers"):
            if meta.get(field) is not None:
                new_meta[field] = meta[field]
            else:
                new_meta.pop(field, None)
        merged: Obj = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
        if "status" in current:
            merged["status"] = current["status"]
        merged["metadata"] = new_meta
        if kind == "Service":
            self._keep_cluster_ip(merged, current)
        return self._commit_update(merged, current, old, now, warnings)

    def _commit_update(
        self, merged: Obj, current: Obj, old: _Entry, now: float, warnings: builtins.list[str]
    ) -> Obj:
        if _body(merged) == _body(current) and merged["metadata"] == current["metadata"]:
            return current  # no change: no new resourceVersion, no watch event (as etcd skips no-op updates)
        if _body(merged) != _body(current):
            merged["metadata"]["generation"] = int(current["metadata"].get("generation") or 1) + 1
        if merged["metadata"].get("deletionTimestamp") and not _finalizers(merged):
            self._cascade(old, now, "Background")
            return merged
        written = self._put(merged, "MODIFIED", old)
        # Warn again only when the set of unsupported fields changed, not on every controller write.
        if warnings and warnings != _warnings(current):
            self._warn(written, warnings, now)
        return written

    def _update_status(self, raw: Mapping[str, Any]) -> Obj:
        kind = str(raw.get("kind") or "")
        meta = raw.get("metadata") or {}
        namespace = self._ns(kind, meta.get("namespace"))
        name = str(meta.get("name") or "")
        old = self._get_entry(kind, namespace, name)
        if old is None:
            raise errors.not_found(_resource(kind), name)
        rv = meta.get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(old.rv):
            raise errors.conflict(_resource(kind), name)
        current: Obj = json.loads(old.text)
        status = json.loads(_dumps(raw.get("status"))) if raw.get("status") is not None else None
        if status == current.get("status"):
            return current
        if status is None:
            current.pop("status", None)
        else:
            current["status"] = status
        return self._put(current, "MODIFIED", old)

    def _apply(self, raw: Mapping[str, Any], now: float, *, create_namespace: bool) -> Obj:
        obj: Obj = json.loads(_dumps(raw))
        kind = str(obj.get("kind") or "")
        meta = obj.setdefault("metadata", {})
        applied = {k: v for k, v in obj.items() if k != "status"}
        applied_meta = dict(applied.get("metadata") or {})
        annotations = dict(applied_meta.get("annotations") or {})
        annotations.pop(LAST_APPLIED, None)
        if annotations:
            applied_meta["annotations"] = annotations
        else:
            applied_meta.pop("annotations", None)
        applied["metadata"] = applied_meta
        last_applied_text = _dumps(applied)
        namespace = self._ns(kind, meta.get("namespace"))
        old = self._get_entry(kind, namespace, str(meta.get("name") or ""))
        if old is None:
            obj.pop("status", None)
            obj["metadata"] = {
                **applied_meta,
                "annotations": {**annotations, LAST_APPLIED: last_applied_text},
            }
            return self._create(obj, now, create_namespace=create_namespace)
        current: Obj = json.loads(old.text)
        previous: Obj = {}
        prev_text = (current["metadata"].get("annotations") or {}).get(LAST_APPLIED)
        if prev_text:
            with contextlib.suppress(ValueError):
                loaded = json.loads(prev_text)
                if isinstance(loaded, dict):
                    previous = loaded
        self._validate(
            {**applied, "metadata": {**applied_meta, "name": meta.get("name"), "namespace": namespace}}
        )
        warnings = _warnings(applied)
        merged_meta = dict(current["metadata"])
        prev_meta = previous.get("metadata") or {}
        for field in ("labels", "annotations"):
            merged_meta[field] = _merge_map(
                current["metadata"].get(field), prev_meta.get(field), applied_meta.get(field) or {}
            )
        merged_meta["annotations"][LAST_APPLIED] = last_applied_text
        for field in ("labels", "annotations"):
            if not merged_meta[field]:
                del merged_meta[field]
        for field in ("ownerReferences", "finalizers"):
            if field in applied_meta:
                merged_meta[field] = applied_meta[field]
        merged = _merge_map(
            {k: v for k, v in current.items() if k not in ("metadata", "status")},
            {k: v for k, v in previous.items() if k not in ("metadata", "status")},
            {k: v for k, v in applied.items() if k not in ("metadata", "status")},
        )
        merged["metadata"] = merged_meta
        apply_defaults(merged)
        if "status" in current:
            merged["status"] = current["status"]
        if kind == "Service":
            self._keep_cluster_ip(merged, current)
        return self._commit_update(merged, current, old, now, warnings)

    def _delete(
        self, kind: str, namespace: str, name: str, now: float, *, propagation: str = "Background"
    ) -> None:
        ns = self._ns(kind, namespace)
        entry = self._get_entry(kind, ns, name)
        if entry is None:
            raise errors.not_found(_resource(kind), name)
        current: Obj = json.loads(entry.text)
        if _finalizers(current):
            if not current["metadata"].get("deletionTimestamp"):
                current["metadata"]["deletionTimestamp"] = rfc3339(now)
                if kind == "Namespace":
                    current["status"] = {**(current.get("status") or {}), "phase": "Terminating"}
                self._put(current, "MODIFIED", entry)
            return
        self._cascade(entry, now, propagation)

    def _cascade(self, entry: _Entry, now: float, propagation: str) -> None:
        """Remove ``entry`` and garbage-collect its dependents (those with no other live owner)."""
        self._remove(entry)
        if not entry.uid:
            return
        for key in sorted(self._dependents.get(entry.uid, ())):
            dep = self._get_entry(*key)
            if dep is None:
                continue
            others = [o for o in dep.owners if o != entry.uid and o in self._by_uid]
            obj: Obj = json.loads(dep.text)
            if propagation == "Orphan" or others:
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != entry.uid]
                if refs:
                    obj["metadata"]["ownerReferences"] = refs
                else:
                    obj["metadata"].pop("ownerReferences", None)
                self._put(obj, "MODIFIED", dep)
            elif _finalizers(obj):
                if not obj["metadata"].get("deletionTimestamp"):
                    obj["metadata"]["deletionTimestamp"] = rfc3339(now)
                    self._put(obj, "MODIFIED", dep)
            else:
                self._cascade(dep, now, propagation)

    # --- services, events, warnings ----------------------------------------------------------------------

    def _allocate_cluster_ip(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        wanted = spec.get("clusterIP")
        if wanted:
            spec.setdefault("clusterIPs", [wanted])
            return
        used = set()
        for entry in self._objects.get("Service", {}).values():
            ip = (json.loads(entry.text).get("spec") or {}).get("clusterIP")
            if ip:
                used.add(ip)
        for i in range(1, 255 * 256):
            third, fourth = divmod(i, 256)
            if fourth in (0, 255):
                continue
            ip = f"{SERVICE_CIDR_PREFIX}{third}.{fourth}"
            if ip not in used:
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
                return
        raise errors.ApiError("Internal error occurred: failed to allocate a serviceIP: range is full")

    def _keep_cluster_ip(self, merged: Obj, current: Obj) -> None:
        old_spec = current.get("spec") or {}
        spec = merged.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        old_ip = old_spec.get("clusterIP")
        new_ip = spec.get("clusterIP")
        if not new_ip:
            if old_ip:
                spec["clusterIP"] = old_ip
                spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_ip]
        elif old_ip and new_ip != old_ip:
            name = current["metadata"]["name"]
            raise errors.invalid(
                "Service", name, [f'spec.clusterIP: Invalid value: "{new_ip}": field is immutable']
            )

    def _warn(self, obj: Obj, warnings: builtins.list[str], now: float) -> None:
        meta = obj["metadata"]
        self._record_event(
            Event(
                str(obj.get("kind")),
                str(meta.get("namespace") or ""),
                str(meta.get("name")),
                "Unsupported",
                "; ".join(warnings),
                "Warning",
            ),
            now,
            involved=obj,
        )

    def _record_event(self, event: Event, now: float, involved: Obj | None = None) -> None:
        namespace = self._ns("Event", event.namespace)
        ns_entry = self._get_entry("Namespace", "", namespace)
        if ns_entry is None or json.loads(ns_entry.text)["metadata"].get("deletionTimestamp"):
            return  # the API server refuses events in a missing or terminating namespace; they are dropped
        if involved is None:
            target = self._get_entry(event.kind, self._ns(event.kind, event.namespace), event.name)
            involved = json.loads(target.text) if target is not None else None
        imeta = (involved or {}).get("metadata") or {}
        ref = {
            "kind": event.kind,
            "namespace": event.namespace if is_namespaced(event.kind) else "",
            "name": event.name,
            "uid": str(imeta.get("uid") or ""),
            "apiVersion": str((involved or {}).get("apiVersion") or ""),
            "resourceVersion": str(imeta.get("resourceVersion") or ""),
        }
        ref = {k: v for k, v in ref.items() if v}
        digest = canonical_bytes(
            [
                event.kind,
                event.namespace,
                event.name,
                ref.get("uid", ""),
                event.type,
                event.reason,
                event.message,
            ]
        )
        name = f"{event.name}.{_fnv64a(digest):016x}"
        stamp = rfc3339(now)
        existing = self._get_entry("Event", namespace, name)
        if existing is not None:
            obj: Obj = json.loads(existing.text)
            obj["count"] = int(obj.get("count") or 1) + 1
            obj["lastTimestamp"] = stamp
            self._put(obj, "MODIFIED", existing)
        else:
            component = _EVENT_SOURCES.get(event.kind, "flightdeck")
            obj = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": stamp,
                },
                "involvedObject": ref,
                "reason": event.reason,
                "message": event.message,
                "type": event.type,
                "source": {"component": component},
                "reportingComponent": component,
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            }
            self._put(obj, "ADDED", None)
        if now - self._last_event_prune >= 60.0:
            self._last_event_prune = now
            self._prune_events(now)

    def _prune_events(self, now: float) -> None:
        # Events expire after an hour, as with the API server's default --event-ttl.
        for entry in list(self._objects.get("Event", {}).values()):
            last = json.loads(entry.text).get("lastTimestamp")
            try:
                if last and parse_rfc3339(str(last)) < now - EVENT_TTL_SECONDS:
                    self._remove(entry)
            except ValueError:
                continue

    def events_for(self, kind: str, namespace: str, name: str) -> builtins.list[Obj]:
        """Events about one object, oldest first (what ``kubectl describe`` lists)."""
        ns = self._ns("Event", namespace) if is_namespaced(kind) else DEFAULT_NAMESPACE
        out = [
            e
            for e in self.list("Event", ns)
            if (e.get("involvedObject") or {}).get("kind") == kind
            and (e.get("involvedObject") or {}).get("name") == name
        ]
        out.sort(key=lambda e: (str(e.get("firstTimestamp") or ""), e["metadata"]["name"]))
        return out


def _fnv64a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object whose change bumps ``generation``: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _finalizers(obj: Mapping[str, Any]) -> list[Any]:
    meta = obj.get("metadata") or {}
    out = list(meta.get("finalizers") or [])
    if obj.get("kind") == "Namespace":
        out += list((obj.get("spec") or {}).get("finalizers") or [])
    return out


def _warnings(obj: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in lint_object(obj) if p.severity == "warning"]


def _merge_map(current: Any, previous: Any, applied: Any) -> Any:
    """kubectl's three-way merge for maps: keys the user dropped since the last apply are removed, keys
    applied are set (recursively), keys someone else added are kept. Lists and scalars are replaced."""
    if not isinstance(applied, dict):
        return applied
    cur = current if isinstance(current, dict) else {}
    prev = previous if isinstance(previous, dict) else {}
    out: dict[str, Any] = {}
    for key, value in cur.items():
        if key in applied or key in prev:
            continue
        out[key] = value
    for key, value in applied.items():
        out[key] = _merge_map(cur.get(key), prev.get(key), value) if isinstance(value, dict) else value
    return out


def _qos_class(spec: Mapping[str, Any]) -> str:
    """The pod's QoS class (``GetPodQOS``): Guaranteed, Burstable or BestEffort."""
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    any_set = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = resources.get("requests") or {}
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or (name in requests and str(requests[name]) != str(limits[name])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
