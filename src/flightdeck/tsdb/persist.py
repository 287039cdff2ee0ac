"""A durable :class:`~flightdeck.tsdb.storage.Storage` under a data directory: snapshots plus the WAL.

Layout of ``--storage.tsdb.path``::

    wal/00000007 …          write-ahead log segments (see flightdeck.tsdb.wal)
    blocks/<id>.npz         immutable sample blocks, written once
    snapshot-<seq>.npz      head rows + per-series state of one snapshot
    snapshot-<seq>.json     series table of that snapshot
    SNAPSHOT                manifest (JSON): seq, first WAL segment to replay, block ids

Start-up loads the manifest's snapshot and replays the WAL from the segment it names. A snapshot is
taken by rotating the WAL under the storage lock (so the snapshot is exactly the state at the end of
the previous segment), writing the files with fsync, then atomically replacing the manifest; only
after that are older segments and unreferenced files deleted, so a crash at any point leaves either
the old or the new snapshot complete, with the WAL needed to reach the acknowledged state.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from flightdeck.tsdb.block import Block, bump_block_ids
from flightdeck.tsdb.storage import Storage, StorageState
from flightdeck.tsdb.wal import WAL, ReplayStats, _fsync_dir, replay

log = logging.getLogger("flightdeck.tsdb")

MANIFEST = "SNAPSHOT"


class DataDirError(Exception):
    """A data directory that cannot be created or whose snapshot cannot be loaded."""


def _write_npz(path: Path, **arrays: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_block(directory: Path, block: Block) -> None:
    path = directory / f"{block.id}.npz"
    if path.exists():
        return
    _write_npz(
        path,
        refs=block.refs,
        offsets=block.offsets,
        ts=block.ts,
        vs=block.vs,
        meta=np.array([block.t_base, block.mint, block.maxt, int(block.sorted)], dtype=np.int64),
    )


def _load_block(directory: Path, block_id: int) -> Block:
    with np.load(directory / f"{block_id}.npz", allow_pickle=False) as z:
        t_base, mint, maxt, sorted_ = (int(x) for x in z["meta"])
        return Block(
            block_id,
            z["refs"].astype(np.int64),
            z["offsets"].astype(np.int64),
            t_base,
            z["ts"],
            z["vs"].astype(np.float64),
            mint,
            maxt,
            bool(sorted_),
        )


class DurableStorage:
    """Opens (or creates) a data directory and keeps ``storage`` durable.

    ``storage`` is an ordinary :class:`Storage` whose journal is the WAL; call :meth:`snapshot` now
    and then (the server does, every ``snapshot_interval``) and :meth:`close` on shutdown.
    """

    def __init__(self, path: str | Path, *, fsync: str = "interval", **storage_kwargs: Any) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / "blocks").mkdir(exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot create data directory {self.path}: {exc.strerror or exc}") from exc
        self._snapshot_lock = threading.Lock()
        self.storage = Storage(**storage_kwargs)
        self.seq = 0
        first_segment = 0
        manifest = self.path / MANIFEST
        if manifest.exists():
            try:
                info = json.loads(manifest.read_text())
                self.seq = int(info["seq"])
                first_segment = int(info["wal_segment"])
                self.storage.import_state(self._load_state(info))
            except (OSError, ValueError, KeyError) as exc:
                raise DataDirError(f"cannot load snapshot in {self.path}: {exc}") from exc
        self.replay_stats: ReplayStats = replay(self.path / "wal", self.storage, first_segment)
        if self.replay_stats.torn_at is not None:
            seg, off = self.replay_stats.torn_at
            log.warning("WAL damaged at segment %d offset %d: later records dropped", seg, off)
        self.wal = WAL(self.path / "wal", fsync=fsync)
        self.storage.journal = self.wal

    def _load_state(self, info: dict[str, Any]) -> StorageState:
        seq = int(info["seq"])
        blocks_dir = self.path / "blocks"
        blocks = [_load_block(blocks_dir, int(b)) for b in info["blocks"]]
        if blocks:
            bump_block_ids(max(b.id for b in blocks))
        series = json.loads((self.path / f"snapshot-{seq}.json").read_text(encoding="utf-8"))
        with np.load(self.path / f"snapshot-{seq}.npz", allow_pickle=False) as z:
            return StorageState(
                series_refs=np.array([int(s[0]) for s in series], dtype=np.int64),
                series_labels=[tuple((str(k), str(v)) for k, v in s[1]) for s in series],
                next_ref=int(info["next_ref"]),
                last_t=z["last_t"].astype(np.int64),
                last_bits=z["last_bits"].astype(np.uint64),
                head=(
                    z["head_refs"].astype(np.int64),
                    z["head_counts"].astype(np.int64),
                    z["head_ts"].astype(np.int64),
                    z["head_vs"].astype(np.float64),
                ),
                blocks=blocks,
                max_time=int(info["max_time"]),
                samples_appended=int(info["samples_appended"]),
                unsorted=bool(info.get("unsorted", False)),
            )

    def snapshot(self) -> None:
        """Persist the current state and drop the WAL segments it covers."""
        with self._snapshot_lock:
            with self.storage.lock:
                state = self.storage.export_state()
                segment = self.wal.rotate()
            seq = self.seq + 1
            blocks_dir = self.path / "blocks"
            for block in state.blocks:
                _save_block(blocks_dir, block)
            series = [
                [int(r), [list(p) for p in lset]]
                for r, lset in zip(state.series_refs.tolist(), state.series_labels, strict=True)
            ]
            _write_text(
                self.path / f"snapshot-{seq}.json",
                json.dumps(series, separators=(",", ":"), ensure_ascii=False),
            )
            head_refs, head_counts, head_ts, head_vs = state.head
            _write_npz(
                self.path / f"snapshot-{seq}.npz",
                last_t=state.last_t,
                last_bits=state.last_bits,
                head_refs=head_refs,
                head_counts=head_counts,
                head_ts=head_ts,
                head_vs=head_vs,
            )
            _fsync_dir(blocks_dir)
            manifest = {
                "seq": seq,
                "wal_segment": segment,
                "blocks": [b.id for b in state.blocks],
                "next_ref": state.next_ref,
                "max_time": state.max_time,
                "samples_appended": state.samples_appended,
                "unsorted": state.unsorted,
            }
            _write_text(self.path / MANIFEST, json.dumps(manifest))
            _fsync_dir(self.path)
            self.seq = seq
            # The new snapshot is durable: what it replaces can go.
            self.wal.remove_before(segment)
            keep = {f"{b.id}.npz" for b in state.blocks}
            for p in blocks_dir.iterdir():
                if p.name not in keep:
                    p.unlink(missing_ok=True)
            for p in self.path.iterdir():
                if p.name.startswith("snapshot-") and p.name.split(".")[0] != f"snapshot-{seq}":
                    p.unlink(missing_ok=True)

    def close(self, *, snapshot: bool = True) -> None:
        if snapshot:
            self.snapshot()
        self.wal.close()
