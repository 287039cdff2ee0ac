"""The pod-template hash: Kubernetes' ComputeHash after the dump, checked against Go's golden values."""

from __future__ import annotations

from flightdeck.kube.hashing import (
    compute_hash,
    equal_ignore_hash,
    fnv32a,
    pod_template_hash,
    safe_encode,
)


def test_fnv32a_matches_go_golden_values() -> None:
    # hash/fnv fnv_test.go golden32a
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"ab") == 0x4D2505CA
    assert fnv32a(b"abc") == 0x1A47E90B
    # Writing in pieces continues the same sum (Go's hasher.Write appends).
    assert fnv32a(b"bc", fnv32a(b"a")) == fnv32a(b"abc")


def test_safe_encode_is_apimachinery_mapping() -> None:
    # rand.SafeEncodeString: alphanums[int(r) % 27]; digits '0'..'9' are 48..57.
    assert safe_encode("0123456789") == "456789bcdf"
    assert safe_encode("a") == "v"  # 97 % 27 == 16 -> 'v'


def test_compute_hash_layout() -> None:
    data = b'{"spec":{}}'
    assert compute_hash(data) == safe_encode(str(fnv32a(data)))
    # The collision count is appended as 8 little-endian bytes (uint32 in the low four).
    expected = fnv32a(data + (3).to_bytes(4, "little") + b"\0\0\0\0")
    assert compute_hash(data, 3) == safe_encode(str(expected))
    assert compute_hash(data, 0) != compute_hash(data)  # a set count of 0 still writes 8 bytes


def test_pod_template_hash_properties() -> None:
    a = {
        "metadata": {"labels": {"app": "x", "v": "1"}},
        "spec": {"containers": [{"name": "c", "image": "i:1"}]},
    }
    b = {
        "spec": {"containers": [{"image": "i:1", "name": "c"}]},
        "metadata": {"labels": {"v": "1", "app": "x"}},
    }
    assert pod_template_hash(a) == pod_template_hash(b)
    changed = {**a, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}
    assert pod_template_hash(changed) != pod_template_hash(a)
    assert pod_template_hash(a, 1) != pod_template_hash(a)
    assert set(pod_template_hash(a)) <= set("456789bcdf")
    assert 1 <= len(pod_template_hash(a)) <= 10


def test_equal_ignore_hash() -> None:
    t = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    hashed = {"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}}, "spec": t["spec"]}
    assert equal_ignore_hash(t, hashed)
    assert equal_ignore_hash({"metadata": {}, "spec": {"a": []}}, {"spec": {}})
    assert not equal_ignore_hash(t, {**hashed, "spec": {"containers": []}})
