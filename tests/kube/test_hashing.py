"""The pod-template hash: Kubernetes' ComputeHash after the dump, checked against Go's golden values."""

from __future__ import annotations

from flightdeck.kube import gomarshal
from flightdeck.kube.hashing import (
    compute_hash,
    equal_ignore_hash,
    fnv32a,
    pod_template_hash,
    rollout_pod_template_hash,
    rollout_template_json,
    safe_encode,
)

# Argo Rollouts' getting-started Rollout (docs/getting-started/basic/rollout.yaml), key order as users write it.
DEMO_CONTAINER = {
    "name": "rollouts-demo",
    "image": "argoproj/rollouts-demo:blue",
    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
    "resources": {"requests": {"memory": "32Mi", "cpu": "5m"}},
}
ROLLOUTS_DEMO = {"metadata": {"labels": {"app": "rollouts-demo"}}, "spec": {"containers": [DEMO_CONTAINER]}}
ROLLOUTS_DEMO_YELLOW = {
    "metadata": {"labels": {"app": "rollouts-demo"}},
    "spec": {"containers": [{**DEMO_CONTAINER, "image": "argoproj/rollouts-demo:yellow"}]},
}


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


def test_rollout_hash_reproduces_published_argo_outputs() -> None:
    # The ReplicaSets rollouts-demo-687d76d795 (blue) and rollouts-demo-6cf78c66c5 (yellow) of countless published
    # walkthroughs were hashed by Argo Rollouts <= v1.8, whose k8s.io/apimachinery v0.29 wrote "creationTimestamp":null.
    legacy = gomarshal.marshal(ROLLOUTS_DEMO, omitzero=False).data
    assert legacy == (
        b'{"metadata":{"creationTimestamp":null,"labels":{"app":"rollouts-demo"}},"spec":{"containers":[{'
        b'"name":"rollouts-demo","image":"argoproj/rollouts-demo:blue","ports":[{"name":"http","containerPort":8080,'
        b'"protocol":"TCP"}],"resources":{"requests":{"cpu":"5m","memory":"32Mi"}}}]}}'
    )
    assert compute_hash(legacy) == "687d76d795"
    assert compute_hash(gomarshal.marshal(ROLLOUTS_DEMO_YELLOW, omitzero=False).data) == "6cf78c66c5"


def test_rollout_hash_of_argo_rollouts_v1_9() -> None:
    # v1.9 (k8s.io/apimachinery v0.34 tags creationTimestamp omitzero, Go 1.24 honours it) drops the null, which is
    # why upgrading to v1.9.0 re-hashed every Rollout (argoproj/argo-rollouts#4696).
    marshalled = rollout_template_json(ROLLOUTS_DEMO)
    assert marshalled.issues == ()
    assert marshalled.data == gomarshal.marshal(ROLLOUTS_DEMO, omitzero=False).data.replace(
        b'"creationTimestamp":null,', b""
    )
    assert rollout_pod_template_hash(ROLLOUTS_DEMO) == "5cd66ff7ff"
    assert rollout_pod_template_hash(ROLLOUTS_DEMO_YELLOW) == "76ddfb4f47"
    # The collision count is appended to the same bytes.
    expected = fnv32a(marshalled.data + (2).to_bytes(4, "little") + b"\0\0\0\0")
    assert rollout_pod_template_hash(ROLLOUTS_DEMO, 2) == safe_encode(str(expected))


def test_deployment_hash_is_unchanged_canonical_json() -> None:
    # Deployments/DaemonSets keep the canonical-JSON dump (Kubernetes itself hashes a spew dump there).
    assert pod_template_hash(ROLLOUTS_DEMO) == compute_hash(
        b'{"metadata":{"labels":{"app":"rollouts-demo"}},"spec":{"containers":[{"image":"argoproj/rollouts-demo:blue",'
        b'"name":"rollouts-demo","ports":[{"containerPort":8080,"name":"http","protocol":"TCP"}],'
        b'"resources":{"requests":{"cpu":"5m","memory":"32Mi"}}}]}}'
    )
