"""Pod-template hashes: Kubernetes' ``controller.ComputeHash`` (Deployment ``pod-template-hash``, DaemonSet
``controller-revision-hash``) and Argo Rollouts' ``hash.ComputePodTemplateHash`` (``rollouts-pod-template-hash``).

Both are FNV-32a over a dump of the ``v1.PodTemplateSpec``, then the collision count as 8 little-endian bytes (only
when the count is set), then ``rand.SafeEncodeString(fmt.Sprint(sum32))`` -- every decimal digit of the sum mapped
onto the vowel-free alphabet, so hashes look like ``5d7f9c6b8``. Every step after the dump is bit-for-bit upstream
(tested against Go's FNV golden values). They differ in the dump:

* Argo Rollouts (v1.9) dumps with Go's ``json.Marshal``. :func:`rollout_pod_template_hash` reproduces those bytes
  exactly (:mod:`flightdeck.kube.gomarshal` over the k8s.io/api v0.34 field tables), so the hash equals a real
  cluster's -- except for a template carrying a field those tables do not know, which :func:`rollout_template_json`
  reports (see there).
* Kubernetes dumps with ``spew`` (``%#v`` of the typed struct, every zero-valued field spelled out with Go type names).
  :func:`pod_template_hash` does not reproduce that: it hashes canonical JSON (sorted keys, no whitespace, UTF-8),
  which keeps the properties the Deployment and DaemonSet controllers rely on (equal templates hash equal whatever the
  key order, any change of a field changes the hash, the collision count perturbs it as upstream) but not the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flightdeck.kube import gomarshal

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


# Controllers hash the same few templates on every pass; FNV over a kilobyte in pure Python costs ~70 us, a lookup
# of the bytes ~1 us.
@lru_cache(maxsize=1024)
def compute_hash(data: bytes, collision_count: int | None = None) -> str:
    """``controller.ComputeHash`` given the already-dumped object bytes."""
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00\x00\x00\x00", h)
    return safe_encode(str(h))


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """Deployment/DaemonSet hash of a pod template (as stored: pass it without the controller's own hash label).

    Canonical JSON, not upstream's spew dump: stable and change-sensitive, but not a real cluster's value."""
    return compute_hash(canonical_bytes(template), collision_count)


def rollout_template_json(template: Mapping[str, Any]) -> gomarshal.Marshalled:
    """Go's ``json.Marshal(&template)`` as Argo Rollouts v1.9 hashes it, and what it could not represent.

    ``issues`` lists keys unknown to k8s.io/api v0.34's PodTemplateSpec and values of the wrong JSON type. A real
    cluster never hashes those (the API server prunes unknown fields of a Rollout, Go's decoder drops or rejects the
    rest); flightdeck keeps unknown keys in the bytes, after the known fields in sorted order, so that editing one
    still rolls out. A template with issues therefore hashes differently from a real cluster: warn about them."""
    return gomarshal.marshal(template)


def rollout_pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """Argo Rollouts' ``ComputePodTemplateHash``: FNV-32a of Go's ``json.Marshal`` of the PodTemplateSpec.

    ``template`` as the controller reads it from the API server (CRD defaults applied: see
    :func:`flightdeck.rollouts.hashing.pod_template_hash`)."""
    return compute_hash(gomarshal.marshal(template).data, collision_count)


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
