"""Container logs on disk, laid out like the kubelet's ``/var/log/pods``: one directory per pod
(``<namespace>_<name>_<uid>``), one per container, one file per run (``<restartCount>.log``).

The process writes straight into its file, so logs survive a restart of flightdeck. A file over the size cap
is rotated by copy-and-truncate into ``<run>.log.1`` (the kubelet keeps rotated files too; lines written during
the copy may be lost). ``kubectl logs`` reads the current run, ``--previous`` the run before.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MAX_SIZE = 10 * 1024 * 1024  # the kubelet's containerLogMaxSize default (10Mi)


class LogError(Exception):
    """A ``logs`` request that cannot be served; ``str()`` is the API server's message."""


def pod_log_dir(root: Path, namespace: str, name: str, uid: str) -> Path:
    return root / f"{namespace}_{name}_{uid}"


def run_log(container_dir: Path, run: int) -> Path:
    return container_dir / f"{run}.log"


def rotate_if_large(path: Path, max_size: int = MAX_SIZE) -> bool:
    """Copy-truncate ``path`` into ``path.1`` when it is larger than ``max_size``."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size <= max_size:
        return False
    rotated = path.with_name(path.name + ".1")
    with open(path, "r+b") as src:
        data = src.read()
        tmp = rotated.with_name(rotated.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, rotated)
        src.truncate(0)
    return True


def read_log(path: Path, tail: int | None = None, limit_bytes: int | None = None) -> bytes:
    """The run's log (rotated part first); ``tail`` keeps the last lines, ``limit_bytes`` the first bytes."""
    data = b""
    rotated = path.with_name(path.name + ".1")
    for part in (rotated, path):
        try:
            data += part.read_bytes()
        except FileNotFoundError:
            continue
    if tail is not None:
        if tail <= 0:
            data = b""
        else:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:])
    if limit_bytes is not None:
        data = data[:limit_bytes]
    return data


def tail_bytes(path: Path, max_lines: int, max_bytes: int) -> str:
    """The kubelet's ``FallbackToLogsOnError`` message: the last lines of the log, capped in bytes."""
    data = read_log(path, tail=max_lines)
    if len(data) > max_bytes:
        data = data[-max_bytes:]
    return data.decode("utf-8", "replace")


def follow(
    path: Path,
    still_current: Callable[[], bool],
    stop: threading.Event | None = None,
    tail: int | None = None,
    poll: float = 0.2,
) -> Iterator[bytes]:
    """``logs -f``: what is there, then what gets appended, until the run ends (``still_current`` is false and
    everything has been read) or ``stop`` is set."""
    first = read_log(path, tail=tail)
    if first:
        yield first
    try:
        offset = path.stat().st_size
    except FileNotFoundError:
        offset = 0
    while stop is None or not stop.is_set():
        current = still_current()
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size < offset:  # truncated by rotation
            offset = 0
        if size > offset:
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read(size - offset)
            offset += len(chunk)
            yield chunk
            continue
        if not current:
            return
        if stop is not None:
            stop.wait(poll)
        else:
            time.sleep(poll)
