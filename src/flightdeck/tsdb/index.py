"""Inverted label index: label name → value → sorted series ids (postings lists)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.labels import Labels
from flightdeck.tsdb.regex import compile_anchored

IdArray = npt.NDArray[np.int64]

MATCH_EQUAL = "="
MATCH_NOT_EQUAL = "!="
MATCH_REGEX = "=~"
MATCH_NOT_REGEX = "!~"


@dataclass(frozen=True)
class LabelMatcher:
    """One label matcher with Prometheus semantics (regexes fully anchored, RE2 syntax)."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in (MATCH_EQUAL, MATCH_NOT_EQUAL, MATCH_REGEX, MATCH_NOT_REGEX):
            raise ValueError(f"unknown match operator {self.op!r}")
        if self.op in (MATCH_REGEX, MATCH_NOT_REGEX):
            compile_anchored(self.value)  # validate early

    def matches(self, value: str) -> bool:
        if self.op == MATCH_EQUAL:
            return value == self.value
        if self.op == MATCH_NOT_EQUAL:
            return value != self.value
        hit = compile_anchored(self.value).fullmatch(value) is not None
        return hit if self.op == MATCH_REGEX else not hit

    def __str__(self) -> str:
        from flightdeck.util.gofmt import go_quote

        return f"{self.name}{self.op}{go_quote(self.value)}"


class PostingsIndex:
    """Postings lists kept sorted because series ids are handed out in increasing order."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, list[int]]] = {}
        self._all: list[int] = []
        self._cache: dict[tuple[str, str], IdArray] = {}
        self._all_cache: IdArray | None = None

    def add(self, series_id: int, labels: Labels) -> None:
        if self._all and series_id <= self._all[-1]:
            raise ValueError("series ids must be added in increasing order")
        self._all.append(series_id)
        self._all_cache = None
        for name, value in labels:
            self._postings.setdefault(name, {}).setdefault(value, []).append(series_id)
            self._cache.pop((name, value), None)

    def remove(self, series_ids: set[int], labels_of: dict[int, Labels]) -> None:
        if not series_ids:
            return
        self._all = [s for s in self._all if s not in series_ids]
        self._all_cache = None
        touched: set[tuple[str, str]] = set()
        for sid in series_ids:
            for pair in labels_of[sid]:
                touched.add(pair)
        for name, value in touched:
            values = self._postings.get(name)
            if values is None or value not in values:
                continue
            kept = [s for s in values[value] if s not in series_ids]
            if kept:
                values[value] = kept
            else:
                del values[value]
                if not values:
                    del self._postings[name]
            self._cache.pop((name, value), None)

    def _list(self, name: str, value: str) -> IdArray:
        key = (name, value)
        cached = self._cache.get(key)
        if cached is None:
            cached = np.asarray(self._postings.get(name, {}).get(value, ()), dtype=np.int64)
            self._cache[key] = cached
        return cached

    def all_ids(self) -> IdArray:
        if self._all_cache is None:
            self._all_cache = np.asarray(self._all, dtype=np.int64)
        return self._all_cache

    def label_names(self) -> list[str]:
        return sorted(self._postings)

    def label_values(self, name: str) -> list[str]:
        return sorted(self._postings.get(name, {}))

    def _union(self, name: str, values: list[str]) -> IdArray:
        if not values:
            return np.empty(0, dtype=np.int64)
        if len(values) == 1:
            return self._list(name, values[0])
        return np.unique(np.concatenate([self._list(name, v) for v in values]))

    def select(self, matchers: list[LabelMatcher]) -> IdArray:
        """Series ids matching every matcher. A matcher that matches the empty string also selects
        series without that label (Prometheus semantics)."""
        positive: list[IdArray] = []
        negative: list[IdArray] = []
        for m in matchers:
            values = self._postings.get(m.name, {})
            if m.matches(""):
                # Subtract the series whose value for this label does *not* match.
                bad = [v for v in values if not m.matches(v)]
                if bad:
                    negative.append(self._union(m.name, bad))
            elif m.op == MATCH_EQUAL:
                positive.append(self._list(m.name, m.value))
            else:
                positive.append(self._union(m.name, [v for v in values if m.matches(v)]))
        if positive:
            positive.sort(key=len)
            result = positive[0]
            for other in positive[1:]:
                if len(result) == 0:
                    break
                result = np.intersect1d(result, other, assume_unique=True)
        else:
            result = self.all_ids()
        for neg in negative:
            if len(result) == 0:
                break
            result = np.setdiff1d(result, neg, assume_unique=True)
        return result
