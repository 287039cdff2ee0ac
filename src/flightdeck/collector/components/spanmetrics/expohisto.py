"""Base-2 exponential histogram with automatic down-scaling, as ``lightstep/go-expohisto`` builds it
(the structure spanmetrics uses for ``histogram.exponential``).

Only non-negative values occur (span durations), but the negative side is kept for fidelity. Bucket
counts live in a dict keyed by bucket index at the current scale; the observable state (scale, offsets,
contiguous counts from the lowest to the highest touched index, zero count, sum, min, max) is exactly
what the Go structure reports.
"""

from __future__ import annotations

import math
import struct

MAX_SCALE = 20
_SIGNIFICAND_WIDTH = 52
_SIGNIFICAND_MASK = (1 << 52) - 1
_EXPONENT_MASK = ((1 << 11) - 1) << 52
_EXPONENT_BIAS = (1 << 10) - 1
_MIN_NORMAL_EXPONENT = -_EXPONENT_BIAS + 1
_MAX_NORMAL_EXPONENT = _EXPONENT_BIAS
_MIN_VALUE = 2.0**-1022
_LOG2E = 1 / math.log(2)
_SQRT2_2 = math.sqrt(2) / 2

# Go's math.Log (FreeBSD e_log.c) constants; the port keeps index computation bit-identical to Go.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_L1 = 6.666666666666735130e-01
_L2 = 3.999999999940941908e-01
_L3 = 2.857142874366239149e-01
_L4 = 2.222219843214978396e-01
_L5 = 1.818357216161805012e-01
_L6 = 1.531383769920937332e-01
_L7 = 1.479819860511658591e-01


def go_log(x: float) -> float:
    """Go's ``math.Log`` for finite positive ``x`` (the pure-Go algorithm)."""
    f1, ki = math.frexp(x)
    if f1 < _SQRT2_2:
        f1 *= 2
        ki -= 1
    f = f1 - 1
    k = float(ki)
    s = f / (2 + f)
    s2 = s * s
    s4 = s2 * s2
    t1 = s2 * (_L1 + s4 * (_L3 + s4 * (_L5 + s4 * _L7)))
    t2 = s4 * (_L2 + s4 * (_L4 + s4 * _L6))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


def _bits(value: float) -> int:
    return int(struct.unpack("<q", struct.pack("<d", value))[0])


def _normal_base2(value: float) -> int:
    return ((_bits(value) & _EXPONENT_MASK) >> _SIGNIFICAND_WIDTH) - _EXPONENT_BIAS


def _significand(value: float) -> int:
    return _bits(value) & _SIGNIFICAND_MASK


def map_to_index(scale: int, value: float) -> int:
    """The bucket index of a positive ``value`` at ``scale`` (logarithm mapping above 0, exponent below)."""
    if scale > 0:
        if value <= _MIN_VALUE:
            return (_MIN_NORMAL_EXPONENT << scale) - 1
        if _significand(value) == 0:
            return (_normal_base2(value) << scale) - 1
        scale_factor = math.ldexp(_LOG2E, scale)
        index = math.floor(go_log(value) * scale_factor)
        max_index = ((_MAX_NORMAL_EXPONENT + 1) << scale) - 1
        return max_index if index >= max_index else index
    shift = -scale
    if value < _MIN_VALUE:
        idx = _MIN_NORMAL_EXPONENT >> shift
        return idx - 1 if shift < 2 else idx
    raw_exp = _normal_base2(value)
    correction = (_significand(value) - 1) >> _SIGNIFICAND_WIDTH
    return (raw_exp + correction) >> shift


class _Buckets:
    __slots__ = ("counts", "end", "start")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.start = 0
        self.end = 0

    def downscale(self, by: int) -> None:
        merged: dict[int, int] = {}
        for index, count in self.counts.items():
            key = index >> by
            merged[key] = merged.get(key, 0) + count
        self.counts = merged
        self.start >>= by
        self.end >>= by

    def offset_and_counts(self) -> tuple[int, list[int]]:
        if not self.counts:
            return self.start, []
        get = self.counts.get
        return self.start, [get(i, 0) for i in range(self.start, self.end + 1)]


class ExpoHistogram:
    """One data point's exponential histogram state."""

    __slots__ = ("count", "max", "max_size", "min", "negative", "positive", "scale", "sum", "zero_count")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.scale = MAX_SCALE
        self.count = 0
        self.zero_count = 0
        self.sum = 0.0
        self.min = 0.0
        self.max = 0.0
        self.positive = _Buckets()
        self.negative = _Buckets()

    @property
    def reported_scale(self) -> int:
        return 0 if self.count == self.zero_count else self.scale

    def update(self, value: float) -> None:
        if self.count == 0:
            self.min = value
            self.max = value
        else:
            if value < self.min:
                self.min = value
            if value > self.max:
                self.max = value
        self.count += 1
        if value == 0:
            self.zero_count += 1
            return
        self.sum += value
        if value > 0:
            self._update(self.positive, value)
        else:
            self._update(self.negative, -value)

    def _update(self, buckets: _Buckets, value: float) -> None:
        index = map_to_index(self.scale, value)
        failed = self._increment(buckets, index)
        if failed is None:
            return
        low, high = failed
        change = 0
        while high - low >= self.max_size:
            high >>= 1
            low >>= 1
            change += 1
        if change:
            self.positive.downscale(change)
            self.negative.downscale(change)
            self.scale -= change
        index = map_to_index(self.scale, value)
        if self._increment(buckets, index) is not None:
            raise AssertionError("downscale logic error")

    def _increment(self, buckets: _Buckets, index: int) -> tuple[int, int] | None:
        if not buckets.counts:
            buckets.start = buckets.end = index
        elif index < buckets.start:
            if buckets.end - index >= self.max_size:
                return index, buckets.end
            buckets.start = index
        elif index > buckets.end:
            if index - buckets.start >= self.max_size:
                return buckets.start, index
            buckets.end = index
        buckets.counts[index] = buckets.counts.get(index, 0) + 1
        return None
