"""The pod-template hash of Kubernetes' ``controller.ComputeHash`` (Deployment ``pod-template-hash``,
DaemonSet ``controller-revision-hash``, Argo Rollouts ``rollouts-pod-template-hash``).

Upstream: FNV-32a over a dump of the Go struct, then the collision count as 8 little-endian bytes (only
when the count is set), then ``rand.SafeEncodeString(fmt.Sprint(sum32))`` — every decimal digit of the sum
mapped onto the vowel-free alphabet, so hashes look like ``5d7f9c6b8``.

What flightdeck hashes differs in one deliberate way: upstream dumps the *typed Go struct* with
``spew`` (``%#v`` with every zero-valued field of ``v1.PodTemplateSpec`` spelled out, type names and
pointer-following). Reproducing those bytes would mean mirroring the full, version-specific field list of
the Pod API in Go's declaration order, and the result would still change with each Kubernetes release
(upstream hashes already differ between versions). flightdeck instead dumps the template as canonical JSON
(sorted keys, no whitespace, UTF-8), which has the properties the controllers rely on: equal templates hash
equal regardless of key order, any change of a field changes the hash, and the collision count perturbs it
exactly as upstream. Every step after the dump is bit-for-bit the upstream algorithm (tested against Go's
FNV golden values).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = "pod-template-hash"
ROLLOUTS_POD_TEMPLATE_HASH_KEY = "rollouts-pod-template-hash"


def fnv32a(data: bytes, h: int = FNV32_OFFSET) -> int:
    """FNV-1a, 32 bits (Go's ``hash/fnv.New32a``); ``h`` continues an earlier sum."""
    for byte in data:
        h = ((h ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """apimachinery ``rand.SafeEncodeString``: each character's code point modulo 27 picks a letter."""
    n = len(SAFE_ALPHANUMS)
    return "".join(SAFE_ALPHANUMS[ord(ch) % n] for ch in text)


def compute_hash(data: bytes, collision_count: int | None = None) -> str:
    """``controller.ComputeHash`` given the already-dumped object bytes."""
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00\x00\x00\x00", h)
    return safe_encode(str(h))


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The hash of a pod template (as stored: pass it without the controller's own hash label)."""
    return compute_hash(canonical_bytes(template), collision_count)


def template_without_label(template: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A copy of ``template`` whose ``metadata.labels`` lacks ``key`` (for ``EqualIgnoreHash``)."""
    out = dict(template)
    metadata = dict(out.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    if key in labels:
        del labels[key]
        metadata["labels"] = labels
        out["metadata"] = metadata
    return out


def _semantic(value: Any) -> Any:
    """Drop empty maps/lists and nulls: apimachinery's semantic equality treats nil and empty alike."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            v = _semantic(v)
            if v is not None and v != {} and v != []:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def equal_ignore_hash(
    a: Mapping[str, Any], b: Mapping[str, Any], key: str = DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY
) -> bool:
    """``EqualIgnoreHash``: templates semantically equal once the hash label is removed from both."""
    return bool(_semantic(template_without_label(a, key)) == _semantic(template_without_label(b, key)))
