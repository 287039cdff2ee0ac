"""The state directory of a running flightdeck: where the server says how to reach it.

``endpoints.json`` names the control API and each embedded UI/API; ``token`` authorises mutating
calls (mode 0600, so only the user who started the server can change the cluster); ``server.pid``
lets ``flightdeck down`` find the process.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROCFS = Path("/proc")

DEFAULT_STATE_DIR = Path(os.environ.get("FLIGHTDECK_STATE_DIR", ".flightdeck"))


@dataclass(frozen=True, slots=True)
class StateDir:
    path: Path

    @property
    def token_file(self) -> Path:
        return self.path / "token"

    @property
    def endpoints_file(self) -> Path:
        return self.path / "endpoints.json"

    @property
    def pid_file(self) -> Path:
        return self.path / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.path / "server.log"

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def token(self, *, create: bool = False) -> str | None:
        """The API token; a new one is written when ``create`` is set and none exists."""
        try:
            return self.token_file.read_text().strip() or None
        except FileNotFoundError:
            if not create:
                return None
        self.ensure()
        value = secrets.token_urlsafe(32)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value

    def write_endpoints(self, endpoints: dict[str, str]) -> None:
        self.ensure()
        tmp = self.endpoints_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(endpoints, indent=2) + "\n")
        tmp.replace(self.endpoints_file)

    def endpoints(self) -> dict[str, str]:
        try:
            data = json.loads(self.endpoints_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def server_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if process_running(pid) else None


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process; on Linux a zombie (exited, not yet reaped by its parent) is not."""
    if PROCFS.is_dir():
        try:
            stat = (PROCFS / str(pid) / "stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
