"""Binary operators: arithmetic, comparisons (with and without ``bool``) and ``and``/``or``/``unless``,
with ``on``/``ignoring`` and ``group_left``/``group_right``. Matching works on label signatures per
series; the arithmetic then runs on whole (pairs, steps) matrices. Prometheus' per-step rules
(duplicate series on the "one" side, many-to-many, unique results) are checked with the masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flightdeck.tsdb.labels import METRIC_NAME, Labels, drop_metric_name, get, labels_string
from flightdeck.tsdb.promql.errors import ExecutionError, UnsupportedError
from flightdeck.tsdb.promql.values import F64, I64, B, Vector, merge_rows

ARITH = {"+", "-", "*", "/", "%", "^", "atan2"}
COMPARISON = {"==", "!=", ">", "<", ">=", "<="}
SET_OPS = {"and", "or", "unless"}
_DROPS_NAME = {"+", "-", "*", "/", "%", "^"}  # Prometheus' shouldDropMetricName (not atan2)


def arith(op: str, lv: F64, rv: F64) -> F64:
    with np.errstate(all="ignore"):
        if op == "+":
            return lv + rv
        if op == "-":
            return lv - rv
        if op == "*":
            return lv * rv
        if op == "/":
            return np.true_divide(lv, rv)
        if op == "%":
            return np.fmod(lv, rv)
        if op == "^":
            return np.power(lv, rv)
        if op == "atan2":
            return np.arctan2(lv, rv)
    raise UnsupportedError(f"binary operator {op!r} is not supported")


def compare(op: str, lv: F64, rv: F64) -> B:
    result: B
    with np.errstate(all="ignore"):
        if op == "==":
            result = lv == rv
        elif op == "!=":
            result = lv != rv
        elif op == ">":
            result = lv > rv
        elif op == "<":
            result = lv < rv
        elif op == ">=":
            result = lv >= rv
        elif op == "<=":
            result = lv <= rv
        else:
            raise UnsupportedError(f"comparison operator {op!r} is not supported")
    return result


def vector_scalar(op: str, vec: Vector, scalar: F64, swap: bool, return_bool: bool) -> Vector:
    sv = scalar[None, :]
    lv, rv = (sv, vec.values) if swap else (vec.values, sv)
    if op in COMPARISON:
        keep = compare(op, np.broadcast_to(lv, vec.values.shape), np.broadcast_to(rv, vec.values.shape))
        if return_bool:
            out = Vector([drop_metric_name(x) for x in vec.labels], keep.astype(np.float64), vec.present)
        else:
            return Vector(vec.labels, vec.values, vec.present & keep)
    else:
        labels = [drop_metric_name(x) for x in vec.labels] if op in _DROPS_NAME else vec.labels
        out = Vector(labels, arith(op, lv, rv), vec.present)
    return merge_rows(out)


def signature(on: bool, names: list[str]) -> Callable[[Labels], Labels]:
    if on:
        keep = set(names)
        return lambda lset: tuple(p for p in lset if p[0] in keep)
    drop = set(names) | {METRIC_NAME}
    return lambda lset: tuple(p for p in lset if p[0] not in drop)


def _sig_ids(labels: list[Labels], sig: Callable[[Labels], Labels], index: dict[Labels, int]) -> I64:
    out = np.empty(len(labels), dtype=np.int64)
    for i, lset in enumerate(labels):
        key = sig(lset)
        g = index.get(key)
        if g is None:
            g = len(index)
            index[key] = g
        out[i] = g
    return out


def _presence_by_sig(ids: I64, present: B, n_sigs: int) -> B:
    acc = np.zeros((n_sigs, present.shape[1]), dtype=bool)
    if len(ids):
        np.logical_or.at(acc, ids, present)
    return acc


def set_op(op: str, lhs: Vector, rhs: Vector, on: bool, names: list[str], steps: int) -> Vector:
    sig = signature(on, names)
    index: dict[Labels, int] = {}
    lid = _sig_ids(lhs.labels, sig, index)
    rid = _sig_ids(rhs.labels, sig, index)
    n = len(index)
    if op == "and":
        right = _presence_by_sig(rid, rhs.present, n)
        return merge_rows(Vector(lhs.labels, lhs.values, lhs.present & right[lid]))
    if op == "unless":
        right = _presence_by_sig(rid, rhs.present, n)
        return merge_rows(Vector(lhs.labels, lhs.values, lhs.present & ~right[lid]))
    left = _presence_by_sig(lid, lhs.present, n)
    labels = lhs.labels + rhs.labels
    values = np.concatenate([lhs.values, rhs.values]) if len(labels) else np.empty((0, steps))
    present = (
        np.concatenate([lhs.present, rhs.present & ~left[rid]])
        if len(labels)
        else np.zeros((0, steps), dtype=bool)
    )
    return merge_rows(Vector(labels, values, present))


def _result_metric(
    lhs: Labels, rhs: Labels, drop_name: bool, card: str, on: bool, names: list[str], include: list[str]
) -> Labels:
    lb = dict(lhs)
    if drop_name:
        lb.pop(METRIC_NAME, None)
    if card == "OneToOne":
        if on:
            keep = set(names)
            lb = {k: v for k, v in lb.items() if k in keep}
        else:
            for name in names:
                lb.pop(name, None)
    for name in include:
        value = get(rhs, name)
        if value:
            lb[name] = value
        else:
            lb.pop(name, None)
    return tuple(sorted(lb.items()))


def vector_vector(
    op: str,
    lhs: Vector,
    rhs: Vector,
    on: bool,
    names: list[str],
    card: str,
    include: list[str],
    return_bool: bool,
    steps: int,
) -> Vector:
    if card == "ManyToMany":
        raise ExecutionError("many-to-many only allowed for set operators")
    sig = signature(on, names)
    left, right = (rhs, lhs) if card == "OneToMany" else (lhs, rhs)
    if len(left) == 0 or len(right) == 0:
        return Vector.empty(steps)
    index: dict[Labels, int] = {}
    lid = _sig_ids(left.labels, sig, index)
    rid = _sig_ids(right.labels, sig, index)
    any_left = np.asarray(left.present.any(axis=0), dtype=bool)
    # The "one" side must have at most one series per signature at a step where the other side has
    # data (Prometheus checks while building its per-step signature map).
    counts = np.zeros((len(index), steps), dtype=np.int64)
    np.add.at(counts, rid, right.present.astype(np.int64))
    bad = (counts > 1) & any_left[None, :]
    if bad.any():
        g, step = (int(x[0]) for x in np.nonzero(bad))
        members = [i for i in np.flatnonzero(rid == g).tolist() if right.present[i, step]]
        dupl, rs = right.labels[members[0]], right.labels[members[1]]
        side = "left" if card == "OneToMany" else "right"
        matched = sig(rs) if on else tuple(p for p in rs if p[0] not in set(names) | {METRIC_NAME})
        raise ExecutionError(
            f"found duplicate series for the match group {labels_string(matched)} on the {side} "
            f"hand-side of the operation: [{labels_string(rs)}, {labels_string(dupl)}]"
            ";many-to-many matching not allowed: matching labels must be unique on one side"
        )
    by_sig: dict[int, list[int]] = {}
    for i, g in enumerate(rid.tolist()):
        by_sig.setdefault(g, []).append(i)
    li_list: list[int] = []
    ri_list: list[int] = []
    for i, g in enumerate(lid.tolist()):
        for j in by_sig.get(g, ()):
            li_list.append(i)
            ri_list.append(j)
    if not li_list:
        return Vector.empty(steps)
    li = np.array(li_list, dtype=np.int64)
    ri = np.array(ri_list, dtype=np.int64)
    both = left.present[li] & right.present[ri]
    keep_pair = both.any(axis=1)
    li, ri, both = li[keep_pair], ri[keep_pair], both[keep_pair]
    lv, rv = left.values[li], right.values[ri]
    if card == "OneToMany":
        lv, rv = rv, lv
    is_cmp = op in COMPARISON
    if is_cmp:
        keep = compare(op, lv, rv)
        if return_bool:
            value, mask = keep.astype(np.float64), both
        else:
            value, mask = lv, both & keep
    else:
        value, mask = arith(op, lv, rv), both
    drop_name = op in _DROPS_NAME or return_bool
    metric_cache: dict[tuple[int, int], Labels] = {}
    labels: list[Labels] = []
    for a, b in zip(li.tolist(), ri.tolist(), strict=True):
        key = (a, b)
        m = metric_cache.get(key)
        if m is None:
            m = _result_metric(left.labels[a], right.labels[b], drop_name, card, on, names, include)
            if return_bool:
                m = drop_metric_name(m)
            metric_cache[key] = m
        labels.append(m)
    # Per-step uniqueness of the results within a match group.
    pair_sig = lid[li]
    if card == "OneToOne":
        seen = np.zeros((len(index), steps), dtype=np.int64)
        np.add.at(seen, pair_sig, mask.astype(np.int64))
        if (seen > 1).any():
            raise ExecutionError(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
            )
    else:
        groups: dict[tuple[int, Labels], int] = {}
        gid = np.empty(len(labels), dtype=np.int64)
        for i, (s, lab) in enumerate(zip(pair_sig.tolist(), labels, strict=True)):
            gid[i] = groups.setdefault((s, lab), len(groups))
        seen = np.zeros((len(groups), steps), dtype=np.int64)
        np.add.at(seen, gid, mask.astype(np.int64))
        if (seen > 1).any():
            raise ExecutionError("multiple matches for labels: grouping labels must ensure unique matches")
    return merge_rows(Vector(labels, value, mask))
