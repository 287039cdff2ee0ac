from __future__ import annotations

import math

import numpy as np
import pytest

from flightdeck.tsdb.index import LabelMatcher, PostingsIndex
from flightdeck.tsdb.regex import RegexError
from flightdeck.tsdb.storage import (
    STALE_NAN,
    DuplicateSampleError,
    OutOfOrderSampleError,
    Storage,
    TooOldSampleError,
    float_bits,
    is_stale_nan,
)


def _names(storage: Storage, matchers: list[LabelMatcher]) -> list[str]:
    return sorted(dict(s.labels).get("i", "") for s in storage.select(matchers))


@pytest.fixture
def store() -> Storage:
    s = Storage()
    s.append({"__name__": "m", "i": "1", "env": "prod"}, 1000, 1.0)
    s.append({"__name__": "m", "i": "2", "env": "dev"}, 1000, 2.0)
    s.append({"__name__": "m", "i": "3"}, 1000, 3.0)
    s.append({"__name__": "other", "i": "4", "env": "prod\nx"}, 1000, 4.0)
    return s


def test_matchers(store: Storage) -> None:
    assert _names(store, [LabelMatcher("__name__", "=", "m")]) == ["1", "2", "3"]
    assert _names(store, [LabelMatcher("env", "=", "prod")]) == ["1"]
    assert _names(store, [LabelMatcher("__name__", "=", "m"), LabelMatcher("env", "!=", "prod")]) == [
        "2",
        "3",
    ]
    assert _names(store, [LabelMatcher("__name__", "=", "m"), LabelMatcher("env", "=", "")]) == ["3"]
    assert _names(store, [LabelMatcher("env", "=~", "pro.")]) == ["1"]
    assert _names(store, [LabelMatcher("env", "=~", "pr")]) == []  # fully anchored
    assert _names(store, [LabelMatcher("env", "=~", "prod.*")]) == ["1"]  # . does not match \n
    assert _names(store, [LabelMatcher("__name__", "=", "m"), LabelMatcher("env", "!~", "prod|dev")]) == ["3"]
    assert _names(store, [LabelMatcher("__name__", "=", "m"), LabelMatcher("env", "=~", "|dev")]) == [
        "2",
        "3",
    ]


def test_regex_rejects_non_re2() -> None:
    with pytest.raises(RegexError):
        LabelMatcher("a", "=~", "(?=x)")
    with pytest.raises(RegexError):
        LabelMatcher("a", "=~", "(")


def test_postings_sorted_and_removal() -> None:
    idx = PostingsIndex()
    labels = {i: (("a", str(i % 2)), ("b", "x")) for i in range(1, 8)}
    for i, lset in labels.items():
        idx.add(i, lset)
    assert idx.select([LabelMatcher("a", "=", "1")]).tolist() == [1, 3, 5, 7]
    idx.remove({3, 5}, labels)
    assert idx.select([LabelMatcher("a", "=", "1")]).tolist() == [1, 7]
    assert idx.select([LabelMatcher("b", "=", "x"), LabelMatcher("a", "!=", "1")]).tolist() == [2, 4, 6]
    with pytest.raises(ValueError):
        idx.add(2, (("a", "z"),))


def test_chunked_append_and_arrays() -> None:
    s = Storage()
    n = 2000
    for i in range(n):
        s.append({"__name__": "x"}, i * 10, float(i))
    (data,) = s.select([LabelMatcher("__name__", "=", "x")])
    assert data.timestamps.dtype == np.int64 and data.values.dtype == np.float64
    assert data.timestamps.tolist() == [i * 10 for i in range(n)]
    (part,) = s.select([LabelMatcher("__name__", "=", "x")], 100, 200)
    assert part.timestamps.tolist() == list(range(100, 201, 10))


def test_out_of_order_and_duplicates() -> None:
    s = Storage()
    lbl = {"__name__": "x"}
    s.append(lbl, 1000, 1.0)
    s.append(lbl, 1000, 1.0)  # identical duplicate: ignored
    with pytest.raises(DuplicateSampleError, match="duplicate sample for timestamp"):
        s.append(lbl, 1000, 2.0)
    with pytest.raises(OutOfOrderSampleError, match="out of order sample"):
        s.append(lbl, 500, 2.0)
    s2 = Storage(out_of_order_window_ms=10_000)
    s2.append(lbl, 20_000, 3.0)
    s2.append(lbl, 15_000, 2.0)
    s2.append(lbl, 12_000, 1.0)
    with pytest.raises(DuplicateSampleError):
        s2.append(lbl, 15_000, 9.0)
    with pytest.raises(TooOldSampleError):
        s2.append(lbl, 5_000, 1.0)
    (data,) = s2.select([LabelMatcher("__name__", "=", "x")])
    assert data.timestamps.tolist() == [12_000, 15_000, 20_000]
    assert data.values.tolist() == [1.0, 2.0, 3.0]


def test_stale_marker_bits() -> None:
    assert float_bits(STALE_NAN) == 0x7FF0000000000002
    assert is_stale_nan(STALE_NAN) and not is_stale_nan(math.nan)
    s = Storage()
    s.append({"__name__": "x"}, 1, STALE_NAN)
    (data,) = s.select([LabelMatcher("__name__", "=", "x")])
    assert float_bits(float(data.values[0])) == 0x7FF0000000000002


def test_retention_drops_samples_and_series() -> None:
    s = Storage(retention_ms=1000)
    s.append({"__name__": "old"}, 0, 1.0)
    s.append({"__name__": "new"}, 0, 1.0)
    s.append({"__name__": "new"}, 5000, 2.0)
    assert s.apply_retention() == 1
    assert s.label_values("__name__") == ["new"]
    (data,) = s.select([LabelMatcher("__name__", "=", "new")])
    assert data.timestamps.tolist() == [5000]


def test_labels_api(store: Storage) -> None:
    assert store.label_names() == ["__name__", "env", "i"]
    assert store.label_values("env") == ["dev", "prod", "prod\nx"]
    assert store.label_values("env", [[LabelMatcher("__name__", "=", "m")]]) == ["dev", "prod"]
