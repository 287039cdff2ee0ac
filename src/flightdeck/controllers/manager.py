"""The controller manager: watches the store, keeps a work queue of object keys per controller, runs each
controller's reconcile for keys that are due and applies the actions it returns.

Each registered controller names the kind it reconciles, the kinds it *owns* (an event on an owned object —
a Pod of a ReplicaSet — queues the owner named by its controller ownerReference) and optional custom
mappings from other kinds. ``step()`` processes every due key once, in a fixed order, so tests on a
:class:`~flightdeck.util.clock.VirtualClock` are deterministic; ``run()`` is the server's loop.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flightdeck.kube.actions import Reconciled
from flightdeck.kube.errors import ApiError
from flightdeck.kube.kinds import is_namespaced
from flightdeck.kube.podutil import controller_ref
from flightdeck.kube.store import Key, ObjectStore, Watch, WatchEvent
from flightdeck.util.clock import Clock

Obj = dict[str, Any]
# Observe what the controller needs from the store, then call the pure reconciler.
ReconcileFn = Callable[[Obj, ObjectStore, float], Reconciled]
# Map an event on another kind to keys of the controller's own kind.
MapFn = Callable[[WatchEvent, ObjectStore], Iterable[Key]]

log = logging.getLogger(__name__)

BASE_BACKOFF = 0.005
MAX_BACKOFF = 300.0


@dataclasses.dataclass(slots=True)
class Registration:
    name: str
    kind: str
    reconcile: ReconcileFn
    owns: frozenset[str]
    maps: dict[str, MapFn]
    events: frozenset[str]


@dataclasses.dataclass(slots=True)
class Stats:
    reconciles: int = 0
    errors: int = 0
    last_error: str = ""


class ControllerManager:
    def __init__(self, store: ObjectStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._registrations: list[Registration] = []
        self._queue: dict[tuple[int, Key], float] = {}
        self._failures: dict[tuple[int, Key], int] = {}
        self._watch: Watch | None = None
        self._lock = threading.Lock()
        self.stats: dict[str, Stats] = {}

    def register(
        self,
        kind: str,
        reconcile: ReconcileFn,
        *,
        owns: Iterable[str] = (),
        maps: Mapping[str, MapFn] | None = None,
        name: str | None = None,
        events: Iterable[str] = ("ADDED", "MODIFIED", "DELETED"),
    ) -> None:
        """Run ``reconcile(obj, store, now)`` for objects of ``kind`` when they or related objects change."""
        reg = Registration(
            name or f"{kind.lower()}-controller",
            kind,
            reconcile,
            frozenset(owns),
            dict(maps or {}),
            frozenset(events),
        )
        with self._lock:
            self._registrations.append(reg)
            self.stats[reg.name] = Stats()
            if self._watch is not None:
                self._enqueue_all_of(len(self._registrations) - 1, self.clock.now())

    @property
    def registrations(self) -> list[Registration]:
        return list(self._registrations)

    # --- queue -------------------------------------------------------------------------------------------

    def enqueue(self, kind: str, namespace: str, name: str, at: float | None = None) -> None:
        """Queue ``kind/namespace/name`` for every controller of that kind (``at``: not before then)."""
        when = self.clock.now() if at is None else at
        with self._lock:
            for index, reg in enumerate(self._registrations):
                if reg.kind == kind:
                    self._add(index, (kind, namespace, name), when)

    def _add(self, index: int, key: Key, when: float) -> None:
        slot = (index, key)
        current = self._queue.get(slot)
        if current is None or when < current:
            self._queue[slot] = when

    def _enqueue_all_of(self, index: int, now: float) -> None:
        kind = self._registrations[index].kind
        for obj in self.store.list(kind):
            meta = obj["metadata"]
            self._add(index, (kind, str(meta.get("namespace") or ""), str(meta["name"])), now)

    def _start(self) -> None:
        if self._watch is not None:
            return
        # Watch first, then list, so that nothing changes unseen in between.
        self._watch = self.store.watch()
        now = self.clock.now()
        with self._lock:
            for index in range(len(self._registrations)):
                self._enqueue_all_of(index, now)

    def _handle(self, event: WatchEvent, now: float) -> None:
        if event.type == "ERROR":
            log.warning("controller manager fell behind the store's watch; listing everything again")
            for index in range(len(self._registrations)):
                self._enqueue_all_of(index, now)
            return
        for index, reg in enumerate(self._registrations):
            if event.type not in reg.events and event.kind == reg.kind:
                continue
            if event.kind == reg.kind:
                self._add(index, event.key, now)
            if event.kind in reg.owns:
                ref = controller_ref(event.obj)
                if ref is not None and ref.get("kind") == reg.kind:
                    namespace = event.namespace if is_namespaced(reg.kind) else ""
                    self._add(index, (reg.kind, namespace, str(ref.get("name") or "")), now)
            mapper = reg.maps.get(event.kind)
            if mapper is not None:
                try:
                    for key in mapper(event, self.store):
                        self._add(index, key, now)
                except Exception:  # a broken mapping must not stop the manager
                    log.exception("%s: mapping %s event failed", reg.name, event.kind)

    def _drain(self, now: float) -> None:
        if self._watch is None:
            return
        events = self._watch.drain()
        if events:
            with self._lock:
                for event in events:
                    self._handle(event, now)

    # --- processing --------------------------------------------------------------------------------------

    def step(self) -> int:
        """Process every key that is due now, once each (sorted by due time, controller, key)."""
        self._start()
        now = self.clock.now()
        self._drain(now)
        with self._lock:
            due = sorted((when, index, key) for (index, key), when in self._queue.items() if when <= now)
            for _, index, key in due:
                del self._queue[(index, key)]
        for _, index, key in due:
            self._process(index, key, now)
        return len(due)

    def settle(self, max_rounds: int = 1000) -> int:
        """Step until nothing is due at the current time (virtual-clock tests); returns keys processed."""
        total = 0
        for _ in range(max_rounds):
            processed = self.step()
            total += processed
            if processed == 0:
                self._drain(self.clock.now())
                if not self._due(self.clock.now()):
                    return total
        raise RuntimeError(f"controllers did not settle after {max_rounds} rounds")

    def _due(self, now: float) -> bool:
        with self._lock:
            return any(when <= now for when in self._queue.values())

    def next_due(self) -> float | None:
        with self._lock:
            return min(self._queue.values(), default=None)

    def _process(self, index: int, key: Key, now: float) -> None:
        reg = self._registrations[index]
        stats = self.stats[reg.name]
        obj = self.store.get(*key)
        if obj is None:
            self._failures.pop((index, key), None)
            return
        stats.reconciles += 1
        try:
            result = reg.reconcile(obj, self.store, now)
            self.store.apply_actions(result.actions, now)
        except ApiError as exc:
            # Conflicts and races are normal: look again soon with the fresh object (rate limited).
            self._retry(
                index, key, now, stats, str(exc), logging.DEBUG if exc.reason == "Conflict" else logging.INFO
            )
            return
        except Exception as exc:
            log.exception("%s: reconciling %s %s/%s failed", reg.name, *key)
            self._retry(index, key, now, stats, f"{type(exc).__name__}: {exc}", logging.ERROR)
            return
        self._failures.pop((index, key), None)
        if result.requeue_at is not None:
            with self._lock:
                self._add(index, key, result.requeue_at)

    def _retry(self, index: int, key: Key, now: float, stats: Stats, message: str, level: int) -> None:
        stats.errors += 1
        stats.last_error = message
        count = self._failures.get((index, key), 0)
        self._failures[(index, key)] = count + 1
        delay = min(BASE_BACKOFF * (2**count), MAX_BACKOFF)
        log.log(
            level, "%s: %s %s/%s: %s (retry in %.3fs)", self._registrations[index].name, *key, message, delay
        )
        with self._lock:
            self._add(index, key, now + delay)

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """The server loop: process due keys, then sleep until the next is due or the store changes."""
        self._start()
        assert self._watch is not None
        while not stop.is_set():
            self.step()
            now = self.clock.now()
            next_due = self.next_due()
            wait = idle_wait if next_due is None else max(0.0, min(idle_wait, next_due - now))
            if wait > 0:
                event = self._watch.get(wait)
                if event is not None:
                    with self._lock:
                        self._handle(event, self.clock.now())

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
