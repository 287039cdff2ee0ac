"""What a pure reconciler asks the object store to do.

Controllers never touch the store: they return these values and the controller manager applies them, so the same
reconciler runs against the local store, a virtual clock in tests, or (later) a real API server.
Objects are plain Kubernetes-shaped dicts (apiVersion, kind, metadata, spec, status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Create:
    obj: Obj


@dataclass(frozen=True, slots=True)
class Update:
    """Replace metadata (labels, annotations, ownerReferences) and spec; ``obj`` carries the resourceVersion it was read at."""

    obj: Obj


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    """Replace only ``status``; spec changes in ``obj`` are ignored, as with the status subresource."""

    obj: Obj


@dataclass(frozen=True, slots=True)
class Delete:
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Event:
    """A Kubernetes Event about ``kind/namespace/name`` (``type`` is Normal or Warning)."""

    kind: str
    namespace: str
    name: str
    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Normal"


Action = Create | Update | UpdateStatus | Delete | Event


@dataclass(slots=True)
class Reconciled:
    """The outcome of one reconcile pass: what to write, and when to look again (absolute time, seconds)."""

    actions: list[Action] = field(default_factory=list)
    requeue_at: float | None = None
