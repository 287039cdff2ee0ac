"""Basic-canary replica arithmetic: spec §8.4 vectors, and Argo's own table tests read from the mirror."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.rollouts.replicas import (
    approximate_weighted_counts,
    at_desired_counts,
    basic_canary_counts,
    max_surge,
    max_unavailable,
    replicas_for_scale_down,
    resolve_fenceposts,
)
from tests.rollouts import mirror


def rs(name: str, spec: int, available: int, status_replicas: int | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": spec},
        "status": {
            "availableReplicas": available,
            "replicas": spec if status_replicas is None else status_replicas,
        },
    }


# spec §8.4: approximate(replicas, weight, maxSurgeResolved) -> (canary, stable)
APPROXIMATE = [
    (2, 50, 1, 1, 1),
    (2, 50, 0, 1, 1),
    (2, 1, 0, 1, 1),
    (2, 1, 1, 1, 2),
    (2, 99, 1, 2, 1),
    (1, 49, 0, 0, 1),
    (1, 50, 0, 1, 0),
    (1, 1, 1, 1, 1),
    (3, 25, 0, 1, 2),
    (3, 50, 0, 2, 1),
    (3, 49, 1, 2, 2),
    (10, 41, 0, 4, 6),
    (10, 45, 0, 5, 5),
    (10, 24, 1, 3, 8),
    (10, 0, 1, 0, 10),
]


@pytest.mark.parametrize(("replicas", "weight", "surge", "canary", "stable"), APPROXIMATE)
def test_approximate_weighted_counts(
    replicas: int, weight: int, surge: int, canary: int, stable: int
) -> None:
    assert approximate_weighted_counts(replicas, weight, surge) == (canary, stable)


# spec §8.4 stepwise vectors: (replicas, weight, surge, unavailable, (new spec, avail), (stable spec, avail)) -> (new, stable)
STEPWISE = [
    (10, 20, 2, 0, (0, 0), (10, 10), (2, 10)),
    (10, 20, 2, 0, (2, 2), (10, 10), (2, 8)),
    (10, 20, 0, 2, (0, 0), (10, 10), (0, 8)),
    (10, 50, 2, 1, (0, 0), (10, 10), (2, 9)),
    (1, 20, 1, 0, (0, 0), (1, 1), (1, 1)),
]


@pytest.mark.parametrize(
    ("replicas", "weight", "surge", "unavailable", "new", "stable", "expected"), STEPWISE
)
def test_stepwise_counts(
    replicas: int,
    weight: int,
    surge: int,
    unavailable: int,
    new: tuple[int, int],
    stable: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    canary = {"maxSurge": surge, "maxUnavailable": unavailable}
    got = basic_canary_counts(replicas, weight, canary, rs("new", *new), rs("stable", *stable), [])
    assert got == expected


def test_defaults_are_percentages() -> None:
    # "25" without % is a percentage: surge rounds up, unavailable down.
    assert resolve_fenceposts("25", "25", 2) == (1, 0)
    assert max_surge(2, {}) == 1
    assert max_unavailable(2, {}) == 0
    assert max_unavailable(10, {"maxUnavailable": "25%"}) == 2
    # both resolve to zero: one pod may be unavailable
    assert resolve_fenceposts(0, "1%", 2) == (0, 1)
    # unavailable is capped at the replica count
    assert max_unavailable(2, {"maxUnavailable": 5}) == 2
    # an unreadable value resolves to nothing (validation reports it)
    assert resolve_fenceposts("abc", 1, 4) == (0, 0)


def test_replicas_timeline_for_two_replicas() -> None:
    canary: dict[str, Any] = {}
    # canary 0 -> 1 first (3 pods, surge 1) ...
    assert basic_canary_counts(2, 50, canary, rs("n", 0, 0), rs("s", 2, 2), []) == (1, 2)
    # ... the stable drains only once the canary pod is available
    assert basic_canary_counts(2, 50, canary, rs("n", 1, 0), rs("s", 2, 2), []) == (1, 2)
    assert basic_canary_counts(2, 50, canary, rs("n", 1, 1), rs("s", 2, 2), []) == (1, 1)
    # abort (weight 0): stable back to 2 first, then the canary goes
    assert basic_canary_counts(2, 0, canary, rs("n", 1, 1), rs("s", 1, 1), []) == (1, 2)
    assert basic_canary_counts(2, 0, canary, rs("n", 1, 1), rs("s", 2, 2), []) == (0, 2)


def test_older_replicasets_are_scaled_down_first() -> None:
    older = rs("older", 3, 3)
    # 10 pods + surge 2: the stable grows to its share (8) first, the canary gets the last slot; nothing
    # shrinks while an older ReplicaSet still has pods.
    canary = {"maxSurge": 2, "maxUnavailable": 0}
    assert basic_canary_counts(10, 20, canary, rs("n", 0, 0), rs("s", 7, 7), [older]) == (1, 8)
    assert basic_canary_counts(10, 20, canary, rs("n", 2, 2), rs("s", 10, 10), [older]) == (2, 10)


def test_scale_down_ignores_unavailable_pods_when_spec_is_lower() -> None:
    assert replicas_for_scale_down(rs("x", 2, 3), ignore_availability=False) == 2
    assert replicas_for_scale_down(rs("x", 3, 1), ignore_availability=False) == 1
    assert replicas_for_scale_down(rs("x", 3, 1), ignore_availability=True) == 3
    assert replicas_for_scale_down(None, ignore_availability=True) == 0


def test_at_desired_counts_needs_exact_replicas_and_no_old_pods() -> None:
    new, stable = rs("n", 1, 1), rs("s", 1, 1)
    assert at_desired_counts(2, 50, {}, new, stable, [])
    assert not at_desired_counts(2, 50, {}, rs("n", 1, 0), stable, [])
    assert not at_desired_counts(2, 50, {}, new, rs("s", 1, 1, status_replicas=2), [])
    assert not at_desired_counts(2, 50, {}, new, stable, [rs("old", 0, 1)])
    # replicaProgressThreshold relaxes the canary check
    threshold = {"replicaProgressThreshold": {"type": "Pod", "value": 1}}
    assert at_desired_counts(4, 50, threshold, rs("n", 2, 1), rs("s", 2, 2), [])


# -- differential: Argo's own table tests (utils/replicaset/canary_test.go) ----------------------------


def _go_int_or_string(text: str) -> int | str:
    number = re.fullmatch(r"intstr\.FromInt\((\d+)\)", text)
    if number:
        return int(number.group(1))
    string = re.fullmatch(r'intstr\.FromString\("([^"]*)"\)', text)
    assert string, text
    return string.group(1)


def _go_cases(source: str, func: str) -> list[str]:
    body = source[source.index(f"func {func}(") :]
    body = body[: body.index("\n\tfor ")]
    return re.findall(r"\n\t\t\{\n(.*?)\n\t\t\},", body, re.S)


@mirror.needs_mirror
def test_argo_approximate_table() -> None:
    source = mirror.show("utils/replicaset/canary_test.go")
    body = source[source.index("func TestApproximateWeightedNewStableReplicaCounts(") :]
    rows = re.findall(
        r"\{replicas: (\d+), weight: (\d+), maxWeight: (\d+), maxSurge: (\d+), expCanary: (\d+), expStable: (\d+)\}",
        body,
    )
    assert len(rows) > 20
    for replicas, weight, max_weight, surge, canary, stable in rows:
        got = approximate_weighted_counts(int(replicas), int(weight), int(surge), int(max_weight))
        assert got == (int(canary), int(stable)), (replicas, weight, surge)


@mirror.needs_mirror
def test_argo_calculate_replica_counts_table() -> None:
    source = mirror.show("utils/replicaset/canary_test.go")
    checked = 0
    for case in _go_cases(source, "TestCalculateReplicaCountsForCanary"):
        fields = dict(re.findall(r"^\s*(\w+):\s*(.+?),\s*(?://.*)?$", case, re.M))
        if "trafficRouting" in fields and fields["trafficRouting"] != "nil":
            continue  # traffic-routed canaries are not run by flightdeck
        replicas = int(fields["rolloutSpecReplicas"])
        weight = int(fields["setWeight"])
        if fields.get("promoteFull") == "true":
            weight = 100
        elif fields.get("statusAbort") == "true":
            weight = 0
        canary = {
            "maxSurge": _go_int_or_string(fields["maxSurge"]),
            "maxUnavailable": _go_int_or_string(fields["maxUnavailable"]),
        }
        older = []
        if "olderRS" in fields:
            match = re.fullmatch(r'newRS\("(\w+)", (\d+), (\d+)\)', fields["olderRS"])
            assert match, fields["olderRS"]
            older.append(rs(match.group(1), int(match.group(2)), int(match.group(3))))
        new = rs("canary", int(fields["canarySpecReplica"]), int(fields["canaryAvailableReplica"]))
        stable = rs("stable", int(fields["stableSpecReplica"]), int(fields["stableAvailableReplica"]))
        got = basic_canary_counts(replicas, weight, canary, new, stable, older)
        expected = (int(fields["expectedCanaryReplicaCount"]), int(fields["expectedStableReplicaCount"]))
        assert got == expected, fields["name"]
        checked += 1
    assert checked >= 30


# -- properties ------------------------------------------------------------------------------------------


@given(st.integers(0, 50), st.integers(0, 100), st.integers(0, 5))
def test_approximation_stays_within_one_surge_pod(replicas: int, weight: int, surge: int) -> None:
    canary, stable = approximate_weighted_counts(replicas, weight, surge)
    assert canary >= 0 and stable >= 0
    total = canary + stable
    assert total == replicas or (surge > 0 and total == replicas + 1)
    argo_fallback = surge == 0 and -(-replicas * weight // 100) == replicas
    if 0 < weight < 100 and replicas > 1 and not argo_fallback:
        assert canary >= 1 and stable >= 1  # both stacks keep a pod for weights 1-99


def test_no_option_falls_back_like_argo() -> None:
    # 10 replicas at 95 %: the ceiling (10) leaves no stable pod, the floor (9) is tied with it, and without
    # surge Argo's approximateWeightedCanaryStableReplicaCounts has no option and returns (0, spec).
    assert approximate_weighted_counts(10, 95, 0) == (0, 10)


@given(
    st.integers(1, 12),
    st.integers(0, 100),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 14),
    st.integers(0, 14),
    st.data(),
)
def test_a_scaling_step_respects_surge_and_availability(
    replicas: int,
    weight: int,
    surge: int,
    unavailable: int,
    new_spec: int,
    stable_spec: int,
    data: st.DataObject,
) -> None:
    new_available = data.draw(st.integers(0, new_spec))
    stable_available = data.draw(st.integers(0, stable_spec))
    canary = {"maxSurge": surge, "maxUnavailable": unavailable}
    new, stable = rs("n", new_spec, new_available), rs("s", stable_spec, stable_available)
    new_count, stable_count = basic_canary_counts(replicas, weight, canary, new, stable, [])
    max_total = replicas + max_surge(replicas, canary)
    # never grow past the surge limit (a total already above it may only shrink)
    if new_count + stable_count > new_spec + stable_spec:
        assert new_count + stable_count <= max_total
    # never remove available pods below replicas - maxUnavailable (unless already below)
    floor = replicas - max_unavailable(replicas, canary)
    kept = min(new_available, new_count) + min(stable_available, stable_count)
    assert kept >= min(floor, new_available + stable_available)
