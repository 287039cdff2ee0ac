"""Pods from templates (``controller.GetPodFromTemplate``) and the deletion ranking of ``ActivePods``."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from flightdeck.kube.hashing import SAFE_ALPHANUMS
from flightdeck.kube.podutil import (
    creation_time,
    is_pod_ready,
    name_of,
    namespace_of,
    new_controller_ref,
    phase_of,
    ready_since,
    restart_count,
)

Obj = dict[str, Any]

MAX_GENERATED_PREFIX = 58  # names.SimpleNameGenerator: 63 - 5 random characters


def _fnv64a(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def generated_names(owner: Mapping[str, Any], count: int, now: float, taken: Collection[str]) -> list[str]:
    """``count`` names ``<owner>-<5 chars>`` like the API server's generateName, but derived from the owner's
    uid and ``now`` instead of a random source, so reconcilers stay pure and tests deterministic."""
    prefix = name_of(owner)[:MAX_GENERATED_PREFIX] + "-"
    uid = str((owner.get("metadata") or {}).get("uid") or "")
    used = set(taken)
    out: list[str] = []
    attempt = 0
    while len(out) < count:
        h = _fnv64a(f"{uid}/{now!r}/{attempt}")
        attempt += 1
        chars = []
        for _ in range(5):
            h, digit = divmod(h, len(SAFE_ALPHANUMS))
            chars.append(SAFE_ALPHANUMS[digit])
        name = prefix + "".join(chars)
        if name not in used:
            used.add(name)
            out.append(name)
    return out


def pod_from_template(
    owner: Mapping[str, Any],
    template: Mapping[str, Any],
    name: str,
    extra_labels: Mapping[str, str] | None = None,
) -> Obj:
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    if extra_labels:
        labels.update(extra_labels)
    metadata: Obj = {
        "name": name,
        "generateName": name_of(owner)[:MAX_GENERATED_PREFIX] + "-",
        "namespace": namespace_of(owner),
        "labels": labels,
        "ownerReferences": [new_controller_ref(owner)],
    }
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        metadata["finalizers"] = list(tmeta["finalizers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(dict(template.get("spec") or {})),
    }


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Obj]) -> list[Obj]:
    """Pods in the order a ReplicaSet deletes them (``ActivePods.Less``): unassigned, then Pending <
    Unknown < Running, not ready before ready, ready for less time first, more restarts first, newer first."""

    def rank(pod: Obj) -> tuple[Any, ...]:
        assigned = bool((pod.get("spec") or {}).get("nodeName"))
        ready = is_pod_ready(pod)
        since = ready_since(pod) if ready else None
        return (
            1 if assigned else 0,
            _PHASE_RANK.get(phase_of(pod), 1),
            1 if ready else 0,
            -(since or 0.0),
            -restart_count(pod),
            -creation_time(pod),
            name_of(pod),
        )

    return sorted(pods, key=rank)
