"""Prometheus remote write (protocol 1.0): the ``prometheus.WriteRequest`` protobuf, snappy block
compressed, decoded by hand and appended with Prometheus' receiver semantics.

Only the messages the receiver reads are decoded (``WriteRequest.timeseries`` → ``labels`` and
``samples``); ``metadata`` and ``exemplars`` are skipped like Prometheus 2.42 skips them by default,
native ``histograms`` are refused like its default storage refuses them. Error texts are those of
Prometheus' gogo-protobuf decoder and snappy, so clients see the same messages.

Samples of a time series usually have the same encoded length (value + millisecond timestamp), so a
run of them is decoded with numpy in one go instead of one Python step per sample.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cramjam
import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.labels import Labels
from flightdeck.tsdb.storage import AppendError, Storage

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class DecodeError(ValueError):
    """A malformed request; ``str()`` is the message Prometheus answers with (HTTP 400)."""


class _EOF(DecodeError):
    def __init__(self) -> None:
        super().__init__("unexpected EOF")


@dataclass
class DecodedSeries:
    key: bytes  # the encoded label fields: identical label sets give identical keys
    label_fields: list[tuple[int, int]]  # (start, end) of each Label message
    has_histograms: bool


@dataclass
class WriteRequest:
    data: bytes
    series: list[DecodedSeries]
    counts: I64  # samples per series
    ts: I64
    vs: F64

    def labels(self, i: int) -> list[tuple[str, str]]:
        return [_decode_label(self.data, a, b) for a, b in self.series[i].label_fields]


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if shift >= 64:
            raise DecodeError("proto: integer overflow")
        if pos >= end:
            raise _EOF()
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    length, pos = _varint(data, pos, end)
    if length >= 1 << 63:
        raise DecodeError("proto: negative length found during unmarshaling")
    if pos + length > end:
        raise _EOF()
    return length, pos


def _skip(data: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        _, pos = _varint(data, pos, end)
        return pos
    if wire == 1:
        if pos + 8 > end:
            raise _EOF()
        return pos + 8
    if wire == 5:
        if pos + 4 > end:
            raise _EOF()
        return pos + 4
    if wire == 2:
        length, pos = _length(data, pos, end)
        return pos + length
    if wire == 3:
        depth = 1
        while depth:
            tag, pos = _varint(data, pos, end)
            w = tag & 7
            if w == 3:
                depth += 1
            elif w == 4:
                depth -= 1
            else:
                pos = _skip(data, pos, end, w)
        return pos
    if wire == 4:
        raise DecodeError("proto: unexpected end of group")
    raise DecodeError(f"proto: illegal wireType {wire}")


def _tag(data: bytes, pos: int, end: int, message: str) -> tuple[int, int, int]:
    tag, pos = _varint(data, pos, end)
    field, wire = tag >> 3, tag & 7
    if wire == 4:
        raise DecodeError(f"proto: {message}: wiretype end group for non-group")
    if field <= 0:
        raise DecodeError(f"proto: {message}: illegal tag {field} (wire type {wire})")
    return field, wire, pos


def _decode_label(data: bytes, pos: int, end: int) -> tuple[str, str]:
    name = value = ""
    while pos < end:
        field, wire, pos = _tag(data, pos, end, "Label")
        if field in (1, 2):
            if wire != 2:
                raise DecodeError(
                    f"proto: wrong wireType = {wire} for field {'Name' if field == 1 else 'Value'}"
                )
            length, pos = _length(data, pos, end)
            text = data[pos : pos + length].decode("utf-8", "replace")
            pos += length
            if field == 1:
                name = text
            else:
                value = text
        else:
            pos = _skip(data, pos, end, wire)
    return name, value


def _decode_sample(data: bytes, pos: int, end: int) -> tuple[float, int]:
    value = 0.0
    ts = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end, "Sample")
        if field == 1:
            if wire != 1:
                raise DecodeError(f"proto: wrong wireType = {wire} for field Value")
            if pos + 8 > end:
                raise _EOF()
            (value,) = struct.unpack_from("<d", data, pos)
            pos += 8
        elif field == 2:
            if wire != 0:
                raise DecodeError(f"proto: wrong wireType = {wire} for field Timestamp")
            raw, pos = _varint(data, pos, end)
            ts = raw - (1 << 64) if raw >= 1 << 63 else raw
        else:
            pos = _skip(data, pos, end, wire)
    return value, ts


def _sample_run(data: bytes, pos: int, end: int) -> tuple[int, F64, I64]:
    """Decode the longest run of identically laid out samples at ``pos``: ``0x12 L 0x09 <8 bytes>
    0x10 <varint of L-9 bytes>``. Returns (bytes consumed, values, timestamps); 0 when not applicable."""
    if pos + 2 > end:
        return 0, np.empty(0), np.empty(0, dtype=np.int64)
    size = data[pos + 1]
    stride = size + 2
    if size < 11 or size > 19 or data[pos + 2] != 0x09 or pos + stride > end or data[pos + 11] != 0x10:
        return 0, np.empty(0), np.empty(0, dtype=np.int64)
    count = (end - pos) // stride
    rows = np.frombuffer(data, dtype=np.uint8, count=count * stride, offset=pos).reshape(count, stride)
    ok = (rows[:, 0] == 0x12) & (rows[:, 1] == size) & (rows[:, 2] == 0x09) & (rows[:, 11] == 0x10)
    vbytes = rows[:, 12:stride]
    ok &= (vbytes[:, :-1] >= 0x80).all(axis=1) & (vbytes[:, -1] < 0x80)
    bad = np.flatnonzero(~ok)
    run = int(bad[0]) if len(bad) else count
    if run == 0:
        return 0, np.empty(0), np.empty(0, dtype=np.int64)
    rows = rows[:run]
    values = np.ascontiguousarray(rows[:, 3:11]).view("<f8").reshape(run).astype(np.float64)
    acc = np.zeros(run, dtype=np.uint64)
    for k in range(stride - 12):
        acc |= (rows[:, 12 + k].astype(np.uint64) & np.uint64(0x7F)) << np.uint64(7 * k)
    return run * stride, values, acc.view(np.int64)


def decode_write_request(data: bytes) -> WriteRequest:
    """Parse an uncompressed ``WriteRequest``; raises :class:`DecodeError`."""
    end = len(data)
    pos = 0
    series: list[DecodedSeries] = []
    counts: list[int] = []
    ts_parts: list[I64] = []
    vs_parts: list[F64] = []
    while pos < end:
        field, wire, pos = _tag(data, pos, end, "WriteRequest")
        if field != 1:
            pos = _skip(data, pos, end, wire)
            continue
        if wire != 2:
            raise DecodeError(f"proto: wrong wireType = {wire} for field Timeseries")
        length, pos = _length(data, pos, end)
        s_end = pos + length
        labels: list[tuple[int, int]] = []
        n_samples = 0
        single_t: list[int] = []
        single_v: list[float] = []
        hist = False
        p = pos
        key_start = key_end = pos
        while p < s_end:
            field_start = p
            f, w, p = _tag(data, p, s_end, "TimeSeries")
            if f == 1:
                if w != 2:
                    raise DecodeError(f"proto: wrong wireType = {w} for field Labels")
                ln, p = _length(data, p, s_end)
                if not labels:
                    key_start = field_start
                labels.append((p, p + ln))
                p += ln
                key_end = p
            elif f == 2:
                if w != 2:
                    raise DecodeError(f"proto: wrong wireType = {w} for field Samples")
                used, rv, rt = _sample_run(data, p - 1, s_end)
                if used >= 3 * 18:
                    # A long regular run: hand it over as arrays.
                    if single_t:
                        ts_parts.append(np.array(single_t, dtype=np.int64))
                        vs_parts.append(np.array(single_v, dtype=np.float64))
                        single_t, single_v = [], []
                    ts_parts.append(rt)
                    vs_parts.append(rv)
                    n_samples += len(rt)
                    p = p - 1 + used
                    continue
                ln, p = _length(data, p, s_end)
                value, t = _decode_sample(data, p, p + ln)
                single_v.append(value)
                single_t.append(t)
                n_samples += 1
                p += ln
            elif f == 4:
                if w != 2:
                    raise DecodeError(f"proto: wrong wireType = {w} for field Histograms")
                ln, p = _length(data, p, s_end)
                hist = True
                p += ln
            else:
                p = _skip(data, p, s_end, w)
        if single_t:
            ts_parts.append(np.array(single_t, dtype=np.int64))
            vs_parts.append(np.array(single_v, dtype=np.float64))
        # The bytes from the first to the last label field: equal bytes, equal label sets.
        series.append(DecodedSeries(data[key_start:key_end], labels, hist))
        counts.append(n_samples)
        pos = s_end
    ts = np.concatenate(ts_parts) if ts_parts else np.empty(0, dtype=np.int64)
    vs = np.concatenate(vs_parts) if vs_parts else np.empty(0, dtype=np.float64)
    return WriteRequest(data, series, np.array(counts, dtype=np.int64), ts, vs)


# -- encoding (clients, tests, benchmarks) -----------------------------------------------------------
def _enc_varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _enc_field(num: int, payload: bytes) -> bytes:
    return _enc_varint(num << 3 | 2) + _enc_varint(len(payload)) + payload


def encode_samples(ts: I64, vs: F64) -> bytes:
    """The ``samples`` fields of a TimeSeries (vectorised when every timestamp has the same
    varint length and no value is zero, i.e. every sample encodes to the same length)."""
    if len(ts) == 0:
        return b""
    if int(ts.min()) > 0 and (vs != 0).all():
        nbytes = max(1, (int(ts.max()).bit_length() + 6) // 7)
        lo = 1 << (7 * (nbytes - 1)) if nbytes > 1 else 0
        if int(ts.min()) >= lo:
            stride = 2 + 9 + 1 + nbytes
            rows = np.empty((len(ts), stride), dtype=np.uint8)
            rows[:, 0] = 0x12
            rows[:, 1] = stride - 2
            rows[:, 2] = 0x09
            rows[:, 3:11] = vs.astype("<f8").view(np.uint8).reshape(-1, 8)
            rows[:, 11] = 0x10
            u = ts.astype(np.uint64)
            for k in range(nbytes):
                byte = (u >> np.uint64(7 * k)) & np.uint64(0x7F)
                if k < nbytes - 1:
                    byte |= np.uint64(0x80)
                rows[:, 12 + k] = byte.astype(np.uint8)
            return rows.tobytes()
    parts = []
    for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
        body = b""
        if v != 0:
            body += b"\x09" + struct.pack("<d", v)
        if t != 0:
            body += b"\x10" + _enc_varint(t)
        parts.append(_enc_field(2, body))
    return b"".join(parts)


def encode_write_request(series: Iterable[tuple[Sequence[tuple[str, str]], I64, F64]]) -> bytes:
    """An uncompressed WriteRequest of (labels, timestamps, values) time series."""
    out = []
    for labels, ts, vs in series:
        body = b"".join(
            _enc_field(1, _enc_field(1, k.encode()) + _enc_field(2, v.encode())) for k, v in labels
        )
        body += encode_samples(np.asarray(ts, dtype=np.int64), np.asarray(vs, dtype=np.float64))
        out.append(_enc_field(1, body))
    return b"".join(out)


def compress(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data))


# -- receiving -----------------------------------------------------------------------------------------
@dataclass
class WriteOutcome:
    status: int  # 204, 400 or 500 like Prometheus
    message: str = ""
    samples: int = 0


class RemoteWriteReceiver:
    """Appends remote-write requests to a :class:`Storage` like Prometheus' receiver: the request is
    one transaction (any rejected sample rejects all of it, answering 400 with the storage error),
    label sets are cached by their encoded bytes so known series skip label decoding."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._cache: dict[bytes, int] = {}
        self._cache_series = 0
        self._lock = threading.Lock()

    def handle(self, body: bytes) -> WriteOutcome:
        try:
            claimed, _ = _varint(body, 0, min(len(body), 10))
        except DecodeError:
            return WriteOutcome(400, "snappy: corrupt input")
        if claimed > 32 * len(body) + 1024:
            # More than snappy can expand to: refuse before allocating it.
            return WriteOutcome(400, "snappy: corrupt input")
        try:
            raw = bytes(cramjam.snappy.decompress_raw(body))
        except Exception:  # cramjam raises its own DecompressionError (and ValueError on garbage)
            return WriteOutcome(400, "snappy: corrupt input")
        try:
            req = decode_write_request(raw)
        except DecodeError as exc:
            return WriteOutcome(400, str(exc))
        return self.append(req)

    def append(self, req: WriteRequest) -> WriteOutcome:
        if any(s.has_histograms for s in req.series):
            return WriteOutcome(500, "native histograms are disabled")
        with_samples = np.flatnonzero(req.counts)
        if not len(with_samples):
            return WriteOutcome(204)
        refs = np.zeros(len(req.series), dtype=np.int64)
        label_error: tuple[int, WriteOutcome] | None = None
        with self._lock:
            if self.storage.num_series < self._cache_series:
                self._cache.clear()  # series were dropped (retention): refs may be stale
            new: list[tuple[int, Labels]] = []
            for i in with_samples.tolist():
                s = req.series[i]
                ref = self._cache.get(s.key)
                if ref is not None:
                    refs[i] = ref
                    continue
                pairs = req.labels(i)
                names = [k for k, _ in pairs]
                lset: Labels = tuple(sorted((k, v) for k, v in pairs if v != ""))
                if len(set(names)) != len(names):
                    dup = next(k for k in sorted(names) if names.count(k) > 1)
                    label_error = (i, WriteOutcome(500, f'label name "{dup}" is not unique: invalid sample'))
                    break
                if not lset:
                    label_error = (i, WriteOutcome(500, "empty labelset: invalid sample"))
                    break
                new.append((i, lset))
            if new:
                made = self.storage.refs([lset for _, lset in new])
                for (i, _), ref in zip(new, made.tolist(), strict=True):
                    refs[i] = ref
                    self._cache[req.series[i].key] = ref
            self._cache_series = self.storage.num_series
        ts, vs, counts = req.ts, req.vs, req.counts
        if label_error is not None:
            # Samples of the series before the bad one are checked first, in request order.
            upto = int(counts[: label_error[0]].sum())
            ts, vs, counts = ts[:upto], vs[:upto], counts[: label_error[0]]
            refs = refs[: label_error[0]]
        sample_refs = np.repeat(refs, counts)
        try:
            result = self.storage.append_refs(
                sample_refs, ts, vs, atomic=True, validate_only=label_error is not None
            )
        except AppendError as exc:
            return WriteOutcome(500, str(exc))
        if result.first_error is not None:
            return WriteOutcome(400, str(result.first_error))
        if label_error is not None:
            return label_error[1]
        return WriteOutcome(204, samples=len(ts))
