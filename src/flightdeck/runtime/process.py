"""One container's OS process: started in its own session (a process group the node can signal as a whole),
stdout and stderr appended to the container's log file, watched through a pidfd so the node's loop sleeps until
something exits.

Processes outlive a restart of flightdeck (like containers outlive the kubelet): the node records pid and start
time and *adopts* them again. An adopted process is not our child, so its exit code cannot be known.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


class StartError(Exception):
    """The process could not be started; ``str()`` is the runtime's message (exit code 128, ``StartError``)."""


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), ``None`` if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    # fields[0] is field 3 (state); starttime is field 22
    return int(fields[19]) if len(fields) > 19 else None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except OSError:
            continue
    return out


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(current))
    return total


def _exec_error(argv0: str, path_env: str) -> str | None:
    """runc's message when ``argv0`` cannot be executed, or ``None`` if it can."""
    if "/" not in argv0:
        if shutil.which(argv0, path=path_env) is None:
            return f'exec: "{argv0}": executable file not found in $PATH'
        return None
    if not os.path.exists(argv0):
        return f'exec: "{argv0}": stat {argv0}: no such file or directory'
    if os.path.isdir(argv0) or not os.access(argv0, os.X_OK):
        return f'exec: "{argv0}": permission denied'
    return None


class Process:
    """A started or adopted container process; ``fileno()`` (a pidfd) becomes readable when it exits."""

    def __init__(self, pid: int, ticks: int, pidfd: int, popen: subprocess.Popen[bytes] | None) -> None:
        self.pid = pid
        self.ticks = ticks
        self._pidfd = pidfd
        self._popen = popen
        self.adopted = popen is None

    @classmethod
    def spawn(cls, argv: Sequence[str], env: Mapping[str, str], cwd: str, log_path: Path) -> Process:
        if not argv:
            raise StartError("unable to start container process: no command specified")
        problem = _exec_error(argv[0], env.get("PATH", os.defpath))
        if problem is not None:
            raise StartError(f"unable to start container process: {problem}")
        if not os.path.isdir(cwd):
            raise StartError(
                f'unable to start container process: chdir to cwd ("{cwd}") set in config.json failed: '
                "no such file or directory"
            )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            popen = subprocess.Popen(
                list(argv),
                env={k: v for k, v in env.items()},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise StartError(
                f'unable to start container process: exec: "{argv[0]}": {exc.strerror}'
            ) from None
        finally:
            os.close(fd)
        pidfd = os.pidfd_open(popen.pid)
        return cls(popen.pid, start_ticks(popen.pid) or 0, pidfd, popen)

    @classmethod
    def adopt(cls, pid: int, ticks: int) -> Process | None:
        """The process ``pid`` if it is still the one started at ``ticks``."""
        if start_ticks(pid) != ticks:
            return None
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return None
        if start_ticks(pid) != ticks:  # the pid was reused between the two checks
            os.close(pidfd)
            return None
        return cls(pid, ticks, pidfd, None)

    def fileno(self) -> int:
        return self._pidfd

    def signal_group(self, sig: int) -> None:
        """Signal the whole process group (the container's processes that did not leave it)."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, sig)

    def rss(self) -> int:
        return tree_rss(self.pid)

    def reap(self) -> int | None:
        """Collect the exit status once the pidfd is readable; the returned code follows the container
        runtimes' convention (128 + signal for a killed process). ``None`` when unknown (adopted process).

        Whatever else is left in the process group is killed first — a container ends with its main process —
        while the leader's pid (and so the group id) cannot yet be reused.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        code: int | None = None
        if self._popen is not None:
            rc = self._popen.wait()
            code = 128 - rc if rc < 0 else rc
        os.close(self._pidfd)
        self._pidfd = -1
        return code

    def alive(self) -> bool:
        return self._pidfd >= 0 and start_ticks(self.pid) == self.ticks

    def close(self) -> None:
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
