"""Write-ahead log: numbered segment files of CRC-framed records.

Records (little endian): ``type:u8 length:u32 crc32:u32`` then ``length`` bytes of payload.

- series  (1): JSON ``[[ref, [[name, value], ...]], ...]`` — new series, before any sample uses them
- samples (2): ``flags:u8 n:u32 [t:i64] refs[n] [ts:i64[n]] vs:f64[n]``; flags: 1 = in order,
  2 = one timestamp for all (a scrape), 4 = refs as u32
- truncate (3): ``before_ms:i64``

A commit writes all records of one append with a single ``write(2)`` before the append becomes
visible, so anything acknowledged survives ``kill -9`` (the bytes are in the kernel). ``fsync``
decides when they reach the disk too: ``always`` (each commit: survives power loss), ``interval``
(at most once a second, and on rotation and close) or ``never`` (rotation and close only).
A torn or corrupt record ends replay; the log is cut there, as Prometheus repairs its WAL.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from flightdeck.tsdb.labels import Labels

if TYPE_CHECKING:
    from flightdeck.tsdb.storage import Storage

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

REC_SERIES = 1
REC_SAMPLES = 2
REC_TRUNCATE = 3
_HEADER = struct.Struct("<BII")
_SAMPLES_HEAD = struct.Struct("<BI")
FLAG_IN_ORDER = 1
FLAG_ONE_TS = 2
FLAG_REFS32 = 4
FSYNC_MODES = ("always", "interval", "never")
SEGMENT_BYTES = 128 << 20


class WALError(Exception):
    """A write-ahead-log segment that cannot be written or read."""


def segment_name(n: int) -> str:
    return f"{n:08d}"


def list_segments(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and p.is_file())


def _frame(kind: int, payload: bytes) -> bytes:
    return _HEADER.pack(kind, len(payload), zlib.crc32(payload)) + payload


def encode_samples(refs: I64, ts: I64, vs: F64, in_order: bool) -> bytes:
    n = len(refs)
    flags = FLAG_IN_ORDER if in_order else 0
    one_ts = n > 0 and bool((ts == ts[0]).all())
    small = n == 0 or (int(refs.max()) < (1 << 32) and int(refs.min()) >= 0)
    parts = []
    if one_ts:
        flags |= FLAG_ONE_TS
    if small:
        flags |= FLAG_REFS32
    parts.append(_SAMPLES_HEAD.pack(flags, n))
    if one_ts:
        parts.append(struct.pack("<q", int(ts[0])))
    parts.append(refs.astype("<u4" if small else "<i8").tobytes())
    if not one_ts:
        parts.append(ts.astype("<i8").tobytes())
    parts.append(vs.astype("<f8").tobytes())
    return b"".join(parts)


def decode_samples(payload: bytes) -> tuple[I64, I64, F64, bool]:
    flags, n = _SAMPLES_HEAD.unpack_from(payload, 0)
    pos = _SAMPLES_HEAD.size
    t0 = 0
    if flags & FLAG_ONE_TS:
        (t0,) = struct.unpack_from("<q", payload, pos)
        pos += 8
    width = 4 if flags & FLAG_REFS32 else 8
    refs = np.frombuffer(payload, dtype="<u4" if width == 4 else "<i8", count=n, offset=pos).astype(np.int64)
    pos += width * n
    if flags & FLAG_ONE_TS:
        ts = np.full(n, t0, dtype=np.int64)
    else:
        ts = np.frombuffer(payload, dtype="<i8", count=n, offset=pos).astype(np.int64)
        pos += 8 * n
    vs = np.frombuffer(payload, dtype="<f8", count=n, offset=pos).astype(np.float64)
    if pos + 8 * n != len(payload):
        raise WALError("samples record has the wrong length")
    return refs, ts, vs, bool(flags & FLAG_IN_ORDER)


@dataclass
class Record:
    kind: int
    payload: bytes
    segment: int
    offset: int


def read_records(path: Path, segment: int) -> tuple[list[Record], int | None]:
    """All intact records of a segment, and the offset of the first torn/corrupt one (or None)."""
    data = path.read_bytes()
    out: list[Record] = []
    pos = 0
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            return out, pos
        kind, length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        end = start + length
        if kind not in (REC_SERIES, REC_SAMPLES, REC_TRUNCATE) or end > len(data):
            return out, pos
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return out, pos
        out.append(Record(kind, payload, segment, pos))
        pos = end
    return out, None


class WAL:
    """The journal of a :class:`~flightdeck.tsdb.storage.Storage` (see module docs)."""

    def __init__(
        self, directory: str | Path, *, fsync: str = "interval", segment_bytes: int = SEGMENT_BYTES
    ) -> None:
        if fsync not in FSYNC_MODES:
            raise ValueError(f"unknown WAL fsync mode {fsync!r} (one of: {', '.join(FSYNC_MODES)})")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        existing = list_segments(self.directory)
        self.segment = (existing[-1] + 1) if existing else 0
        self._fd = -1
        self._size = 0
        self._pending: list[bytes] = []
        self._last_sync = time.monotonic()
        self.bytes_written = 0
        self._open(self.segment)

    def _open(self, n: int) -> None:
        path = self.directory / segment_name(n)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        _fsync_dir(self.directory)

    # -- Journal -----------------------------------------------------------------------------------
    def log_series(self, refs: Sequence[int], labels: Sequence[Labels]) -> None:
        body = json.dumps(
            [[int(r), [list(p) for p in lset]] for r, lset in zip(refs, labels, strict=True)],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        self._pending.append(_frame(REC_SERIES, body))

    def log_samples(self, refs: I64, ts: I64, vs: F64, *, in_order: bool) -> None:
        if len(refs):
            self._pending.append(_frame(REC_SAMPLES, encode_samples(refs, ts, vs, in_order)))

    def log_truncate(self, before_ms: int) -> None:
        self._pending.append(_frame(REC_TRUNCATE, struct.pack("<q", before_ms)))

    def commit(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        self.bytes_written += len(data)
        now = time.monotonic()
        if self.fsync == "always" or (self.fsync == "interval" and now - self._last_sync >= 1.0):
            os.fdatasync(self._fd)
            self._last_sync = now
        if self._size >= self.segment_bytes:
            self.rotate()

    # -- segments ----------------------------------------------------------------------------------
    def rotate(self) -> int:
        """Start a new segment; returns its number (everything before it is complete)."""
        self.commit()
        os.fsync(self._fd)
        os.close(self._fd)
        self.segment += 1
        self._open(self.segment)
        return self.segment

    def remove_before(self, segment: int) -> None:
        for n in list_segments(self.directory):
            if n < segment:
                (self.directory / segment_name(n)).unlink(missing_ok=True)

    def sync(self) -> None:
        self.commit()
        os.fsync(self._fd)
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class ReplayStats:
    segments: int = 0
    records: int = 0
    samples: int = 0
    series: int = 0
    torn_at: tuple[int, int] | None = None  # (segment, offset) where the log was cut


def iter_log(directory: Path, first_segment: int) -> Iterator[Record]:
    """Records from ``first_segment`` on; stops (and cuts the log) at the first damaged record."""
    segments = [n for n in list_segments(directory) if n >= first_segment]
    for i, n in enumerate(segments):
        path = directory / segment_name(n)
        records, torn = read_records(path, n)
        yield from records
        if torn is not None:
            # Everything after a damaged record is unusable: drop it, keep the good prefix.
            with open(path, "r+b") as fh:
                fh.truncate(torn)
                fh.flush()
                os.fsync(fh.fileno())
            for later in segments[i + 1 :]:
                (directory / segment_name(later)).unlink(missing_ok=True)
            raise _Torn(n, torn)


class _Torn(Exception):
    def __init__(self, segment: int, offset: int) -> None:
        super().__init__(f"WAL cut at segment {segment} offset {offset}")
        self.segment = segment
        self.offset = offset


def replay(directory: Path, storage: Storage, first_segment: int) -> ReplayStats:
    """Apply the log to ``storage`` (which must not journal while replaying)."""
    stats = ReplayStats()
    seen_segments: set[int] = set()
    try:
        for rec in iter_log(directory, first_segment):
            seen_segments.add(rec.segment)
            stats.records += 1
            if rec.kind == REC_SERIES:
                entries = json.loads(rec.payload)
                refs = [int(e[0]) for e in entries]
                labels = [tuple((str(k), str(v)) for k, v in e[1]) for e in entries]
                storage.replay_series(refs, labels)
                stats.series += len(refs)
            elif rec.kind == REC_SAMPLES:
                refs_a, ts, vs, in_order = decode_samples(rec.payload)
                storage.replay_samples(refs_a, ts, vs, in_order=in_order)
                stats.samples += len(refs_a)
            else:
                (before,) = struct.unpack("<q", rec.payload)
                storage.replay_truncate(before)
    except _Torn as torn:
        stats.torn_at = (torn.segment, torn.offset)
    stats.segments = len(seen_segments)
    return stats
