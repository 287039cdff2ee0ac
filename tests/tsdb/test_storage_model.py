"""Storage against a naive model: random batches (in order, out of order, duplicates, repeats within a
batch), tiny head rows so blocks are cut and merged all the time, then every read compared."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.persist import DurableStorage
from flightdeck.tsdb.storage import Storage, float_bits

Model = dict[int, dict[int, float]]

_batch = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from([0.0, 1.0, 2.5, -1.0, math.inf])),
    min_size=1,
    max_size=25,
)


def _apply_model(
    model: Model, last: dict[int, int], batch: list[tuple[int, int, float]], window: int
) -> None:
    """Prometheus' rules: validate against the committed state, then drop in-batch repeats."""
    committed = dict(last)
    head_max = max(committed.values(), default=None)  # the out-of-order window counts from here
    accepted_in_batch: dict[int, int] = {}
    for s, t, v in batch:
        newest = committed.get(s)
        if newest is not None and t <= newest:
            if t == newest:
                continue
            if window and head_max is not None and t >= head_max - window:
                existing = model[s].get(t)
                if existing is None:
                    model[s][t] = v
                continue
            continue
        prev = accepted_in_batch.get(s)
        if prev is not None and t <= prev:
            continue
        accepted_in_batch[s] = t
        model.setdefault(s, {})[t] = v
        last[s] = t


def _check(storage: Storage, model: Model) -> None:
    for s in range(6):
        found = storage.select([LabelMatcher("s", "=", str(s))])
        expected = sorted(model.get(s, {}).items())
        if not expected:
            assert not found or len(found[0].timestamps) == 0
            continue
        (series,) = found
        assert series.timestamps.tolist() == [t for t, _ in expected]
        assert [float_bits(v) for v in series.values.tolist()] == [float_bits(v) for _, v in expected]
    # A windowed read across all series at once.
    got = storage.select_set([LabelMatcher("__name__", "=", "m")], 10, 40)
    for i in range(len(got)):
        data = got.series(i)
        s = int(dict(data.labels)["s"])
        assert data.timestamps.tolist() == [t for t in sorted(model.get(s, {})) if 10 <= t <= 40]


@settings(max_examples=60, deadline=None)
@given(st.lists(_batch, min_size=1, max_size=12), st.sampled_from([0, 15]))
def test_storage_matches_model(batches: list[list[tuple[int, int, float]]], window: int) -> None:
    storage = Storage(head_width=4, out_of_order_window_ms=window)
    model: Model = {}
    last: dict[int, int] = {}
    for i, batch in enumerate(batches):
        refs = storage.refs([(("__name__", "m"), ("s", str(s))) for s, _, _ in batch])
        ts = np.array([t + 10 * i for _, t, _ in batch], dtype=np.int64)
        vs = np.array([v for _, _, v in batch], dtype=np.float64)
        storage.append_refs(refs, ts, vs)
        _apply_model(model, last, [(s, t + 10 * i, v) for s, t, v in batch], window)
    _check(storage, model)
    with tempfile.TemporaryDirectory() as tmp:
        # The same operations through the WAL, with a snapshot in the middle, reopened.
        durable = DurableStorage(tmp, head_width=4, out_of_order_window_ms=window)
        for i, batch in enumerate(batches):
            refs = durable.storage.refs([(("__name__", "m"), ("s", str(s))) for s, _, _ in batch])
            ts = np.array([t + 10 * i for _, t, _ in batch], dtype=np.int64)
            vs = np.array([v for _, _, v in batch], dtype=np.float64)
            durable.storage.append_refs(refs, ts, vs)
            if i == len(batches) // 2:
                durable.snapshot()
        durable.wal.close()
        reopened = DurableStorage(Path(tmp), head_width=4, out_of_order_window_ms=window)
        _check(reopened.storage, model)
        reopened.close()


def test_blocks_are_cut_and_merged() -> None:
    storage = Storage(head_width=8)
    refs = storage.refs([(("__name__", "m"), ("i", str(i))) for i in range(50)])
    for step in range(200):
        storage.append_refs(refs, step * 1000, np.full(50, float(step)))
    assert storage.num_samples == 50 * 200
    assert storage.num_blocks < 10  # 25 cuts, merged by tiers
    got = storage.select_set([LabelMatcher("__name__", "=", "m")], 5000, 150_000)
    assert len(got) == 50
    first = got.series(0)
    assert first.timestamps.tolist() == list(range(5000, 150_001, 1000))
    assert first.values.tolist() == [float(s) for s in range(5, 151)]
    blocks = storage.export_state().blocks
    assert sum(b.nbytes for b in blocks) / sum(b.num_samples for b in blocks) < 14  # int32 times


def test_bulk_series_load_and_truncate() -> None:
    storage = Storage(head_width=16)
    storage.append_series({"__name__": "a"}, range(0, 100_000, 10), np.arange(10_000.0))
    storage.append_series({"__name__": "b"}, range(50, 600, 50), np.arange(11.0))
    (a,) = storage.select([LabelMatcher("__name__", "=", "a")], 99_000, None)
    assert a.timestamps[0] == 99_000 and len(a.timestamps) == 100
    assert storage.truncate(50_000) == 1  # b is gone entirely
    assert storage.label_values("__name__") == ["a"]
    (a,) = storage.select([LabelMatcher("__name__", "=", "a")])
    assert a.timestamps[0] == 50_000 and a.values[0] == 5000.0


def test_atomic_batch_rejects_everything() -> None:
    storage = Storage()
    r1, r2 = storage.refs([(("__name__", "x"),), (("__name__", "y"),)])
    storage.append_refs([r1], [100], [1.0])
    res = storage.append_refs([r2, r1], [200, 50], [1.0, 1.0], atomic=True)
    assert str(res.first_error) == "out of order sample" and res.first_error_index == 1
    assert res.accepted == 0
    assert storage.select([LabelMatcher("__name__", "=", "y")]) == []
    res = storage.append_refs([r2, r1], [200, 50], [1.0, 1.0])  # per-sample: y goes in
    assert res.accepted == 1 and res.out_of_order == 1


def test_out_of_bounds_like_prometheus_head() -> None:
    storage = Storage(out_of_bounds_ms=3_600_000)
    storage.append({"__name__": "x"}, 10_000_000, 1.0)
    res = storage.append_refs([storage.ref({"__name__": "y"})], [10_000_000 - 3_600_001], [1.0], atomic=True)
    assert str(res.first_error) == "out of bounds"
