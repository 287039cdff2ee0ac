"""Container probes: their spec with the API defaults, and the kubelet's probe worker as pure state.

Scheduling (``first_due``/``ProbeTracker.due``): the first probe runs ``initialDelaySeconds`` after the container
started, then one every ``periodSeconds``. Liveness and readiness wait until the startup probe (if any) has
passed; the startup probe stops once it has.

Results (``record``): the worker's ``resultRun`` logic — a result only becomes the published one after
``successThreshold`` consecutive successes or ``failureThreshold`` consecutive failures. Initial published
results: readiness fails, liveness succeeds, startup is unknown. A liveness or startup failure puts the worker
on hold until the container restarts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ProbeType = Literal["readiness", "liveness", "startup"]
FIELD_OF: dict[ProbeType, str] = {
    "readiness": "readinessProbe",
    "liveness": "livenessProbe",
    "startup": "startupProbe",
}


class ProbeSpecError(ValueError):
    """The probe cannot be run as written (e.g. a named port the container does not declare)."""


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    type: ProbeType
    action: Literal["httpGet", "tcpSocket", "exec", "grpc"]
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    # httpGet / tcpSocket / grpc
    host: str = ""
    port: int = 0
    scheme: str = "HTTP"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    grpc_service: str = ""
    # exec
    command: tuple[str, ...] = ()
    termination_grace: float | None = None

    def describe(self) -> str:
        """``kubectl describe``'s one-line form, e.g. ``http-get http://:13133/ delay=15s timeout=5s ...``."""
        if self.action == "httpGet":
            head = f"http-get {self.scheme.lower()}://{self.host}:{self.port}{self.path}"
        elif self.action == "tcpSocket":
            head = f"tcp-socket {self.host}:{self.port}"
        elif self.action == "grpc":
            head = f"grpc <pod>:{self.port} {self.grpc_service}".rstrip()
        else:
            head = "exec [" + " ".join(self.command) + "]"
        return (
            f"{head} delay={self.initial_delay:g}s timeout={self.timeout:g}s period={self.period:g}s "
            f"#success={self.success_threshold} #failure={self.failure_threshold}"
        )


def _port(value: Any, container: Mapping[str, Any], what: str) -> int:
    if isinstance(value, bool):
        raise ProbeSpecError(f"invalid {what} port {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    for port in container.get("ports") or []:
        if port.get("name") == text:
            return int(port.get("containerPort", 0))
    raise ProbeSpecError(f"couldn't find port: {text} in {container.get('name')}")


def _number(raw: Mapping[str, Any], key: str, default: float, minimum: float) -> float:
    value = raw.get(key)
    if value is None or value == 0:
        return default
    return max(float(value), minimum)


def parse_probe(kind: ProbeType, raw: Mapping[str, Any], container: Mapping[str, Any]) -> ProbeSpec:
    """A probe with the API server's defaults (period 10 s, timeout 1 s, thresholds 1/3)."""
    success = int(_number(raw, "successThreshold", 1, 1))
    if kind in ("liveness", "startup"):
        success = 1  # validation only allows 1 for these
    common: dict[str, Any] = {
        "type": kind,
        "initial_delay": float(raw.get("initialDelaySeconds") or 0),
        "period": _number(raw, "periodSeconds", 10, 1),
        "timeout": _number(raw, "timeoutSeconds", 1, 1),
        "success_threshold": success,
        "failure_threshold": int(_number(raw, "failureThreshold", 3, 1)),
        "termination_grace": (
            float(raw["terminationGracePeriodSeconds"])
            if raw.get("terminationGracePeriodSeconds") is not None
            else None
        ),
    }
    if raw.get("httpGet") is not None:
        http = raw["httpGet"]
        path = str(http.get("path") or "/")
        if not path.startswith("/"):
            path = "/" + path
        headers = tuple(
            (str(h.get("name", "")), str(h.get("value", ""))) for h in http.get("httpHeaders") or []
        )
        return ProbeSpec(
            action="httpGet",
            host=str(http.get("host") or ""),
            port=_port(http.get("port"), container, "httpGet"),
            scheme=str(http.get("scheme") or "HTTP").upper(),
            path=path,
            headers=headers,
            **common,
        )
    if raw.get("tcpSocket") is not None:
        tcp = raw["tcpSocket"]
        return ProbeSpec(
            action="tcpSocket",
            host=str(tcp.get("host") or ""),
            port=_port(tcp.get("port"), container, "tcpSocket"),
            **common,
        )
    if raw.get("grpc") is not None:
        grpc = raw["grpc"]
        return ProbeSpec(
            action="grpc",
            port=_port(grpc.get("port"), container, "grpc"),
            grpc_service=str(grpc.get("service") or ""),
            **common,
        )
    if raw.get("exec") is not None:
        command = tuple(str(c) for c in (raw["exec"].get("command") or []))
        if not command:
            raise ProbeSpecError("exec probe has no command")
        return ProbeSpec(action="exec", command=command, **common)
    raise ProbeSpecError("probe has no handler (httpGet, tcpSocket, exec or grpc)")


@dataclass(frozen=True, slots=True)
class ProbeTracker:
    """One probe worker of one running container."""

    spec: ProbeSpec
    next_at: float
    result: bool | None  # the published result
    last: bool | None = None  # the last raw result
    run: int = 0  # how many times in a row ``last`` came out
    on_hold: bool = False

    def due(self, now: float, started: bool) -> bool:
        """Whether the probe should run now (``started``: the container's startup probe has passed)."""
        if self.on_hold or now < self.next_at:
            return False
        return (not started) if self.spec.type == "startup" else started


def new_tracker(spec: ProbeSpec, started_at: float) -> ProbeTracker:
    initial = {"readiness": False, "liveness": True, "startup": None}[spec.type]
    return ProbeTracker(spec=spec, next_at=started_at + spec.initial_delay, result=initial)


def skip(tracker: ProbeTracker, now: float) -> ProbeTracker:
    """The probe was not due for its container's state this period: look again one period later."""
    return dataclasses.replace(tracker, next_at=now + tracker.spec.period)


def record(tracker: ProbeTracker, ok: bool, now: float) -> ProbeTracker:
    """The tracker after one probe outcome observed at ``now``; the next probe is one period later."""
    run = tracker.run + 1 if tracker.last is ok else 1
    spec = tracker.spec
    result = tracker.result
    on_hold = False
    if (ok and run >= spec.success_threshold) or (not ok and run >= spec.failure_threshold):
        result = ok
        if not ok and spec.type in ("liveness", "startup"):
            on_hold = True
            run = 0
    return ProbeTracker(
        spec=spec, next_at=now + spec.period, result=result, last=ok, run=run, on_hold=on_hold
    )


def failed_to_restart(tracker: ProbeTracker) -> bool:
    """A liveness or startup probe that has failed enough to restart its container."""
    return tracker.spec.type in ("liveness", "startup") and tracker.result is False


def restart_message(container: str, probe_type: ProbeType) -> str:
    """The kubelet's ``Killing`` event text when a probe restarts a container."""
    return f"Container {container} failed {probe_type} probe, will be restarted"


def failure_event(probe_type: ProbeType, output: str) -> str:
    """The ``Unhealthy`` event text."""
    return f"{probe_type.capitalize()} probe failed: {output}"
