"""The local node: Pod objects in, OS processes out, pod status back — the kubelet's job on one machine.

``Node.sync(pods)`` hands over the complete set of pods bound to this node. New pods get a loopback address, their
volumes and their containers; pods that are gone or carry a ``deletionTimestamp`` are stopped (SIGTERM to the
process group, SIGKILL after the grace period). Every change of a pod's status is reported through
``on_status(namespace, name, status)``; kubelet-style events through ``on_event``.

One thread owns all state and sleeps in ``epoll`` until a process exits (pidfds), a probe result arrives, a
``sync`` comes in or a timer is due (a back-off ending, a probe period, a grace period, the memory check). The
decisions are the pure functions of :mod:`backoff`, :mod:`probes` and :mod:`podstatus`; this module does the I/O.

Memory limits are enforced by a watchdog on the resident memory of the container's process tree (checked every
``memory_interval`` seconds; over the limit → SIGKILL, reported as ``OOMKilled``, exit code 137). Address-space
rlimits are not used: Python runtimes reserve far more virtual memory than they use (HotROD: 1.2 GB of
address space for 55 MB resident), so RLIMIT_AS/RLIMIT_DATA at a pod's limit would kill healthy programs. CPU
limits are not enforced. ``containerStatuses[].resources`` reports what is.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import selectors
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flightdeck
from flightdeck.kube.quantity import QuantityError, parse_quantity
from flightdeck.runtime import logs as logfiles
from flightdeck.runtime.backoff import (
    Backoff,
    backoff_until,
    crash_loop_message,
    next_backoff,
    should_restart,
)
from flightdeck.runtime.catalog import ImageCatalog, ImagePullError, Launch
from flightdeck.runtime.env import ContainerConfigError, EnvBuilder, Lookup, PodFacts, expand_command
from flightdeck.runtime.ipam import LoopbackPool
from flightdeck.runtime.logs import LogError
from flightdeck.runtime.names import ClusterNames
from flightdeck.runtime.podstatus import ContainerView, PodView, Terminated, build_status
from flightdeck.runtime.probe_exec import ExecContext, ProbeOutcome, run_probe
from flightdeck.runtime.probes import (
    FIELD_OF,
    ProbeSpecError,
    ProbeTracker,
    ProbeType,
    failed_to_restart,
    failure_event,
    new_tracker,
    parse_probe,
    record,
    restart_message,
    skip,
)
from flightdeck.runtime.process import Process, StartError
from flightdeck.runtime.volumes import (
    Mount,
    PathMapper,
    VolumeBuilder,
    VolumeError,
    check_path_flags,
    container_mounts,
)
from flightdeck.util.timefmt import parse_rfc3339

Obj = dict[str, Any]
StatusCallback = Callable[[str, str, Obj], None]
EventCallback = Callable[[str, str, str, str, str], None]  # namespace, pod, type, reason, message
StoppedCallback = Callable[[str, str, str], None]  # namespace, pod, uid
ProxyFor = Callable[[str], str | None]  # namespace -> http://127.0.0.1:port of the forward proxy

DEFAULT_GRACE = 30.0
MIN_GRACE = 2.0  # the kubelet's minimumGracePeriodInSeconds
RETRY = 5.0  # how soon a pod waiting on configuration (image, volume, env) is looked at again
TERMINATION_LOG_LINES = 80
TERMINATION_LOG_BYTES = 2048
TERMINATION_MESSAGE_MAX = 4096
ROTATE_CHECK = 10.0
_PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
_NO_PROXY = "localhost,127.0.0.0/8,::1"


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _grace(value: Any, default: float = DEFAULT_GRACE) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(float(value), MIN_GRACE)
    return default


@dataclass(eq=False)
class _Container:
    name: str
    spec: Obj
    view: ContainerView
    dir: Path
    proc: Process | None = None
    run: int = 0  # the log file of the current (or last) run
    last_run: int | None = None  # the log file of lastState.terminated
    started_once: bool = False
    backoff: Backoff | None = None
    pending_finished_at: float | None = None  # exited, a restart is owed (subject to back-off)
    start_at: float | None = None
    probes: dict[str, ProbeTracker] = field(default_factory=dict)
    probe_inflight: set[str] = field(default_factory=set)
    env: dict[str, str] | None = None  # the running process's environment, working dir and path mapping,
    cwd: str = ""  # which exec probes share
    mapper: PathMapper | None = None
    kill_reason: str | None = None
    kill_deadline: float | None = None
    memory_limit: int | None = None
    next_memory_check: float = 0.0
    next_rotate_check: float = 0.0
    last_error: str = ""  # the last config/pull error reported as an event (no repeats)
    generation: int = 0  # bumps on every start; stale probe results are dropped


@dataclass(frozen=True, slots=True)
class _Prepared:
    launch: Launch
    env: dict[str, str]
    argv: list[str]
    cwd: str
    mapper: PathMapper
    memory_limit: int | None
    resources: Obj | None


@dataclass(eq=False)
class _Pod:
    uid: str
    namespace: str
    name: str
    dir: Path
    ip: str
    start_time: float
    scheduled_at: float
    obj: Obj | None = None
    containers: dict[str, _Container] = field(default_factory=dict)
    volume_paths: dict[str, Path] | None = None
    volume_error: str = ""
    volume_retry_at: float = 0.0
    terminating: bool = False
    gone: bool = False
    stopped_reported: bool = False
    published: Obj | None = None
    dirty: bool = True
    recovered: bool = False
    recorded_ready: dict[str, bool] = field(default_factory=dict)

    @property
    def spec(self) -> Obj:
        return (self.obj or {}).get("spec") or {}

    @property
    def running(self) -> bool:
        return any(c.proc is not None for c in self.containers.values())


class Node:
    """The local node; see the module docstring. Start it with :meth:`start`, stop it with :meth:`close`."""

    def __init__(
        self,
        state_dir: Path,
        catalog: ImageCatalog,
        names: ClusterNames,
        on_status: StatusCallback,
        *,
        lookup: Lookup | None = None,
        on_event: EventCallback | None = None,
        on_stopped: StoppedCallback | None = None,
        proxy_for: ProxyFor | None = None,
        node_name: str = "flightdeck",
        host_ip: str = "127.0.0.1",
        pod_ips: LoopbackPool | None = None,
        clock: Callable[[], float] = time.time,
        memory_interval: float = 1.0,
        probe_workers: int = 4,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.pods_dir = self.state_dir / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = catalog
        self.names = names
        self.on_status = on_status
        self.lookup = lookup
        self.on_event = on_event
        self.on_stopped = on_stopped
        self.proxy_for = proxy_for
        self.node_name = node_name
        self.host_ip = host_ip
        self.ips = pod_ips if pod_ips is not None else LoopbackPool("127.10")
        self.clock = clock
        self.memory_interval = memory_interval
        self._probe_pool = concurrent.futures.ThreadPoolExecutor(
            probe_workers, thread_name_prefix="node-probe"
        )
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._desired: list[Obj] | None = None
        self._refresh = False
        self._results: deque[tuple[_Pod, _Container, int, str, ProbeOutcome]] = deque()
        self._closing: bool | None = None  # None: running; True/False: closing, stopping the pods or not
        self._pods: dict[str, _Pod] = {}
        self._log_index: dict[tuple[str, str], _Pod] = {}
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.iterations = 0  # loop passes: the node must sleep when nothing is due (tests check it)
        self._recover()

    # ------------------------------------------------------------------------------------------------ API

    def start(self) -> Node:
        self._thread = threading.Thread(target=self._loop, name="flightdeck-node", daemon=True)
        self._thread.start()
        return self

    def sync(self, pods: Sequence[Obj]) -> None:
        """The complete set of pods that should be on this node (a pod missing from it is stopped)."""
        with self._lock:
            self._desired = list(pods)
        self._wake()

    def refresh(self) -> None:
        """ConfigMaps or Secrets changed: refresh volumes, retry containers waiting on configuration."""
        with self._lock:
            self._refresh = True
        self._wake()

    def close(self, stop_pods: bool = True, timeout: float = 60.0) -> None:
        """Stop the node. ``stop_pods``: terminate every pod (grace periods apply) before returning;
        otherwise leave the processes running for the next start to adopt."""
        with self._lock:
            self._closing = stop_pods
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._probe_pool.shutdown(wait=False, cancel_futures=True)

    def pod_ip(self, namespace: str, name: str) -> str | None:
        with self._lock:
            pod = self._log_index.get((namespace, name))
            return pod.ip if pod else None

    def logs(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        tail: int | None = None,
        limit_bytes: int | None = None,
    ) -> bytes:
        """``kubectl logs``: the container's current run (or its last one), or with ``previous`` the run before."""
        path, _current = self._log_target(namespace, name, container, previous)
        return logfiles.read_log(path, tail=tail, limit_bytes=limit_bytes)

    def follow_logs(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail: int | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[bytes]:
        """``kubectl logs -f``: chunks as they are written, until the run ends or ``stop`` is set."""
        path, current = self._log_target(namespace, name, container, False)
        return logfiles.follow(path, current, stop=stop, tail=tail)

    def read_logs(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        follow: bool = False,
        tail: int | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[bytes]:
        """``flightdeck logs POD [-c C] [-f] [--previous]`` in one call; errors (:class:`LogError`) are raised
        before the first chunk, with the API server's wording."""
        if follow and not previous:
            return self.follow_logs(namespace, name, container, tail=tail, stop=stop)
        return iter([self.logs(namespace, name, container, previous, tail=tail)])

    # ----------------------------------------------------------------------------------------------- logs

    def _log_target(
        self, namespace: str, name: str, container: str | None, previous: bool
    ) -> tuple[Path, Callable[[], bool]]:
        with self._lock:
            pod = self._log_index.get((namespace, name))
            if pod is None:
                raise LogError(f'pods "{name}" not found')
            names = list(pod.containers)
            if container is None:
                if len(names) != 1:
                    raise LogError(
                        f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                    )
                container = names[0]
            c = pod.containers.get(container)
            if c is None:
                raise LogError(f"container {container} is not valid for pod {name}")
            view = c.view
            if previous:
                if view.last_terminated is None or c.last_run is None:
                    raise LogError(f'previous terminated container "{container}" in pod "{name}" not found')
                return logfiles.run_log(c.dir, c.last_run), lambda: False
            if view.running_since is not None:
                run = c.run
                return logfiles.run_log(c.dir, run), lambda: c.proc is not None and c.run == run
            if view.terminated is not None or view.last_terminated is not None:
                run = c.run if view.terminated is not None or c.last_run is None else c.last_run
                return logfiles.run_log(c.dir, run), lambda: False
            if view.waiting_reason == "ErrImagePull":
                raise LogError(
                    f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled'
                )
            raise LogError(
                f'container "{container}" in pod "{name}" is waiting to start: {view.waiting_reason}'
            )

    # ------------------------------------------------------------------------------------------- the loop

    def _wake(self) -> None:
        # a full pipe means a wake-up is already pending
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        try:
            while True:
                self.iterations += 1
                now = self.clock()
                if self._take_inbox(now):
                    break
                self._step(now)
                self._publish(now)
                timeout = self._next_wake(self.clock())
                for key, _mask in self._selector.select(timeout):
                    if key.data is None:
                        try:
                            while os.read(self._wake_r, 4096):
                                pass
                        except BlockingIOError:
                            pass
                    else:
                        pod, c = key.data
                        self._on_exit(pod, c, self.clock())
        finally:
            self._stopped.set()

    def _take_inbox(self, now: float) -> bool:
        with self._lock:
            desired, self._desired = self._desired, None
            refresh, self._refresh = self._refresh, False
            results = list(self._results)
            self._results.clear()
            closing = self._closing
        if desired is not None:
            self._apply_desired(desired, now)
        if refresh:
            for pod in self._pods.values():
                pod.volume_retry_at = now
                if pod.volume_paths is not None and not pod.terminating:
                    self._setup_volumes(pod, now)  # mounted ConfigMaps and Secrets follow their objects
                for c in pod.containers.values():
                    if c.proc is None and c.start_at is not None and c.pending_finished_at is None:
                        c.start_at = min(c.start_at, now)
        for pod, c, generation, kind, outcome in results:
            c.probe_inflight.discard(kind)
            if c.generation == generation and c.proc is not None and pod.uid in self._pods:
                self._on_probe(pod, c, kind, outcome, now)
        if closing is None:
            return False
        if closing is False:
            for pod in self._pods.values():
                for c in pod.containers.values():
                    if c.proc is not None:
                        c.proc.close()
            return True
        for pod in list(self._pods.values()):
            if not pod.terminating:
                pod.gone = True
                self._terminate(pod, now)
        return not any(p.running for p in self._pods.values())

    def _next_wake(self, now: float) -> float | None:
        """The earliest time :meth:`_step` has something to do (mirrors its conditions, so the loop never spins)."""
        times: list[float] = []
        for pod in self._pods.values():
            confirmed = pod.obj is not None
            active = confirmed and not pod.terminating
            if active and pod.volume_paths is None:
                times.append(pod.volume_retry_at)
            for c in pod.containers.values():
                if c.proc is None:
                    if active and c.start_at is not None:
                        times.append(c.start_at)
                    continue
                if c.kill_deadline is not None:
                    times.append(c.kill_deadline)
                if not confirmed and not pod.terminating:
                    continue
                if c.memory_limit is not None:
                    times.append(c.next_memory_check)
                times.append(c.next_rotate_check)
                if active and c.kill_reason is None:
                    times.extend(
                        t.next_at for k, t in c.probes.items() if k not in c.probe_inflight and not t.on_hold
                    )
        if not times:
            return None
        return max(0.0, min(times) - now)

    # --------------------------------------------------------------------------------------- admission

    def _pod_dir(self, namespace: str, name: str, uid: str) -> Path:
        return logfiles.pod_log_dir(self.pods_dir, namespace, name, uid)

    def _apply_desired(self, pods: list[Obj], now: float) -> None:
        seen: set[str] = set()
        for obj in pods:
            meta = _meta(obj)
            namespace = str(meta.get("namespace") or "default")
            name = str(meta.get("name") or "")
            uid = str(meta.get("uid") or f"{namespace}/{name}")
            seen.add(uid)
            pod = self._pods.get(uid)
            if pod is None:
                pod = self._admit(obj, uid, namespace, name, now)
            elif pod.obj is None or pod.recovered:
                pod.obj = obj
                self._attach_spec(pod, now)
            else:
                self._update(pod, obj, now)
            if meta.get("deletionTimestamp") and not pod.terminating:
                grace = meta.get("deletionGracePeriodSeconds")
                self._terminate(
                    pod, now, _grace(grace, _grace(pod.spec.get("terminationGracePeriodSeconds")))
                )
        for uid, pod in list(self._pods.items()):
            if uid not in seen and not pod.gone:
                pod.gone = True
                if not pod.terminating:
                    self._terminate(pod, now)
                elif not pod.running:
                    self._forget(pod)

    def _admit(self, obj: Obj, uid: str, namespace: str, name: str, now: float) -> _Pod:
        spec = obj.get("spec") or {}
        ip = self.host_ip if spec.get("hostNetwork") else self.ips.allocate()
        status = obj.get("status") or {}
        start = parse_rfc3339(status["startTime"]) if status.get("startTime") else now
        pod = _Pod(uid, namespace, name, self._pod_dir(namespace, name, uid), ip, start, now, obj=obj)
        pod.dir.mkdir(parents=True, exist_ok=True)
        self._pods[uid] = pod
        with self._lock:
            self._log_index[(namespace, name)] = pod
        ignored = unsupported(spec)
        if ignored:
            self._event(
                pod,
                "Warning",
                "NotSupported",
                "not supported on flightdeck's local node: " + "; ".join(ignored),
            )
        self._attach_spec(pod, now)
        self._save(pod)
        return pod

    def _attach_spec(self, pod: _Pod, now: float) -> None:
        """Create container records for the spec (keeping recovered ones) and schedule their start."""
        spec = pod.spec
        previous_status = {
            str(cs.get("name")): cs
            for cs in ((pod.obj or {}).get("status") or {}).get("containerStatuses") or []
        }
        for cspec in spec.get("containers") or []:
            name = str(cspec.get("name", ""))
            c = pod.containers.get(name)
            if c is None:
                c = _Container(name, cspec, ContainerView(name, str(cspec.get("image", ""))), pod.dir / name)
                pod.containers[name] = c
                if not pod.terminating:
                    c.start_at = now
            else:
                c.spec = cspec
            pod.recorded_ready[name] = bool(previous_status.get(name, {}).get("ready"))
            if c.proc is not None and pod.recovered:
                self._arm_probes(pod, c, c.view.running_since or now, adopted=True)
        pod.recovered = False
        pod.dirty = True

    def _update(self, pod: _Pod, obj: Obj, now: float) -> None:
        old = pod.obj or {}
        pod.obj = obj
        if old.get("status", {}).get("conditions") != obj.get("status", {}).get("conditions"):
            pod.dirty = True  # readiness gates may have changed
        for cspec in (obj.get("spec") or {}).get("containers") or []:
            c = pod.containers.get(str(cspec.get("name", "")))
            if c is None:
                continue
            image_changed = cspec.get("image") != c.spec.get("image")
            c.spec = cspec
            if image_changed and not pod.terminating:
                c.view.image = str(cspec.get("image", ""))
                if c.proc is not None:
                    self._kill(
                        pod,
                        c,
                        now,
                        _grace(pod.spec.get("terminationGracePeriodSeconds")),
                        "definition",
                        f"Container {c.name} definition changed, will be restarted",
                    )
                pod.dirty = True

    # ------------------------------------------------------------------------------------------- steps

    def _step(self, now: float) -> None:
        for pod in list(self._pods.values()):
            if pod.gone and pod.terminating and not pod.running:
                self._forget(pod)
                continue
            if pod.obj is None and not pod.terminating:
                continue  # recovered from disk, waiting for the first sync to say whether it stays
            if not pod.terminating and pod.volume_paths is None and now >= pod.volume_retry_at:
                self._setup_volumes(pod, now)
            for c in pod.containers.values():
                if c.proc is None:
                    if c.start_at is not None and now >= c.start_at and not pod.terminating:
                        self._try_start(pod, c, now)
                    continue
                if c.kill_deadline is not None and now >= c.kill_deadline:
                    c.proc.signal_group(signal.SIGKILL)
                    c.kill_deadline = None
                if c.memory_limit is not None and now >= c.next_memory_check:
                    c.next_memory_check = now + self.memory_interval
                    if c.kill_reason != "OOMKilled" and c.proc.rss() > c.memory_limit:
                        c.kill_reason = "OOMKilled"
                        c.proc.signal_group(signal.SIGKILL)
                if now >= c.next_rotate_check:
                    c.next_rotate_check = now + ROTATE_CHECK
                    logfiles.rotate_if_large(logfiles.run_log(c.dir, c.run))
                if not pod.terminating and c.kill_reason is None:
                    self._schedule_probes(pod, c, now)
            if pod.terminating and not pod.running and not pod.stopped_reported:
                pod.stopped_reported = True
                pod.dirty = True
                if not pod.gone and self.on_stopped is not None:
                    self._publish_pod(pod, now)
                    self.on_stopped(pod.namespace, pod.name, pod.uid)

    def _setup_volumes(self, pod: _Pod, now: float) -> None:
        if pod.obj is None:
            return
        builder = VolumeBuilder(pod.dir, self._facts(pod), self.lookup)
        try:
            pod.volume_paths = builder.setup(pod.spec.get("volumes") or [])
            pod.volume_error = ""
        except (VolumeError, OSError) as exc:
            pod.volume_paths = None
            pod.volume_retry_at = now + RETRY
            message = str(exc)
            if message != pod.volume_error:
                pod.volume_error = message
                self._event(pod, "Warning", "FailedMount", message)

    def _facts(self, pod: _Pod) -> PodFacts:
        return PodFacts(pod.obj or {}, pod.ip, self.host_ip, self.node_name)

    # ----------------------------------------------------------------------------------- starting

    def _wait(self, pod: _Pod, c: _Container, reason: str, message: str, retry_at: float | None) -> None:
        if (c.view.waiting_reason, c.view.waiting_message) != (reason, message):
            c.view.waiting_reason, c.view.waiting_message = reason, message
            pod.dirty = True
        c.start_at = retry_at

    def _try_start(self, pod: _Pod, c: _Container, now: float) -> None:
        if pod.spec.get("initContainers"):
            self._wait(
                pod,
                c,
                "CreateContainerConfigError",
                "not supported: initContainers (flightdeck runs a pod's regular containers only)",
                None,
            )
            return
        if pod.volume_paths is None:
            self._wait(
                pod,
                c,
                c.view.waiting_reason if c.started_once else "ContainerCreating",
                c.view.waiting_message,
                now + RETRY,
            )
            return
        if c.pending_finished_at is not None:
            until = backoff_until(c.backoff, c.pending_finished_at)
            if until is not None and now < until:
                assert c.backoff is not None
                message = crash_loop_message(c.backoff, c.name, pod.name, pod.namespace, pod.uid)
                if c.view.waiting_reason != "CrashLoopBackOff":
                    self._event(
                        pod,
                        "Warning",
                        "BackOff",
                        f"Back-off restarting failed container {c.name} in pod {pod.name}_{pod.namespace}({pod.uid})",
                    )
                self._wait(pod, c, "CrashLoopBackOff", message, until)
                return
            c.backoff = next_backoff(c.backoff, c.pending_finished_at, now)
        try:
            prepared = self._prepare(pod, c)
        except ImagePullError as exc:
            self._fail_config(
                pod, c, "ErrImagePull", str(exc), now, f'Failed to pull image "{c.spec.get("image")}": {exc}'
            )
            return
        except ContainerConfigError as exc:
            self._fail_config(pod, c, "CreateContainerConfigError", str(exc), now, f"Error: {exc}")
            return
        if c.started_once:
            c.view.restart_count += 1
        c.started_once = True
        c.pending_finished_at = None
        c.start_at = None
        c.last_error = ""
        c.generation += 1
        c.run = c.view.restart_count
        c.env, c.cwd, c.mapper = prepared.env, prepared.cwd, prepared.mapper
        c.memory_limit, c.view.resources = prepared.memory_limit, prepared.resources
        c.view.image_id = "local:" + " ".join(
            prepared.launch.argv[:3] if prepared.launch.entry else prepared.launch.argv[:1]
        )
        c.kill_reason = None
        c.kill_deadline = None
        (c.dir / "termination-log").unlink(missing_ok=True)
        log = logfiles.run_log(c.dir, c.run)
        self._prune_logs(c)
        self._event(
            pod, "Normal", "Pulled", f'Container image "{c.spec.get("image")}" already present on machine'
        )
        try:
            proc = Process.spawn(prepared.argv, prepared.env, prepared.cwd, log)
        except StartError as exc:
            self._event(pod, "Normal", "Created", f"Created container: {c.name}")
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            self._exited(pod, c, Terminated(128, "StartError", None, now, "", str(exc)), now)
            return
        c.proc = proc
        c.view.container_id = f"flightdeck://{proc.pid}"
        c.view.running_since = now
        c.view.terminated = None
        c.view.waiting_reason, c.view.waiting_message = "", ""
        c.next_rotate_check = now + ROTATE_CHECK
        c.next_memory_check = now
        self._selector.register(proc, selectors.EVENT_READ, (pod, c))
        self._arm_probes(pod, c, now, adopted=False)
        self._event(pod, "Normal", "Created", f"Created container: {c.name}")
        self._event(pod, "Normal", "Started", f"Started container {c.name}")
        pod.dirty = True
        self._save(pod)

    def _fail_config(
        self, pod: _Pod, c: _Container, reason: str, message: str, now: float, event: str
    ) -> None:
        if message != c.last_error:
            c.last_error = message
            self._event(pod, "Warning", "Failed", event)
            self._event(pod, "Warning", "Failed", f"Error: {reason}")
        self._wait(pod, c, reason, message, now + RETRY)

    def _prepare(self, pod: _Pod, c: _Container) -> _Prepared:
        """Environment, command line, working directory and limits of the container's next run."""
        cspec = c.spec
        builder = EnvBuilder(self._facts(pod), self.lookup)
        env_error: ContainerConfigError | None = None
        env: dict[str, str] = {}
        service_env = (
            self.names.service_env(pod.namespace) if pod.spec.get("enableServiceLinks", True) else {}
        )
        try:
            env = builder.build(cspec, service_env, node_cpu=os.cpu_count() or 1, node_memory=_memory_total())
        except ContainerConfigError as exc:
            env_error = exc
        command = cspec.get("command")
        args = cspec.get("args")
        words_cmd = expand_command(command, env) if command else None
        words_args = expand_command(args, env) if args is not None else None
        launch = self.catalog.resolve(
            str(cspec.get("image", "")), words_cmd, words_args
        )  # ErrImagePull first
        if env_error is not None:
            raise env_error
        if builder.skipped_keys:
            self._event(
                pod,
                "Warning",
                "InvalidEnvironmentVariableNames",
                f"Keys [{', '.join(builder.skipped_keys)}] from the EnvFrom were skipped since they are "
                "considered invalid environment variable names.",
            )
        assert pod.volume_paths is not None
        mounts = container_mounts(cspec, pod.volume_paths, env)
        termination_path = str(cspec.get("terminationMessagePath") or "/dev/termination-log")
        c.dir.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(os.path.normpath(termination_path), str(c.dir / "termination-log")))
        mapper = PathMapper(mounts)
        argv = [mapper.rewrite(w) for w in launch.argv]
        check_path_flags(launch.argv, argv, launch.path_flags, mapper, c.name)
        full_env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        full_env["HOSTNAME"] = str(pod.spec.get("hostname") or pod.name)
        full_env.update(launch.env)
        full_env["FLIGHTDECK_POD_IP"] = pod.ip
        full_env["FLIGHTDECK_CLUSTER_HOSTS"] = str(self.names.hosts_file(pod.namespace))
        if launch.cluster_aware:
            src = str(Path(flightdeck.__file__).resolve().parent.parent)
            full_env["PYTHONPATH"] = src + (
                os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""
            )
        else:
            proxy = self.proxy_for(pod.namespace) if self.proxy_for else None
            if proxy:
                for key in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
                    full_env[key] = proxy
                full_env["no_proxy"] = full_env["NO_PROXY"] = _NO_PROXY
        for key, value in env.items():
            full_env[key] = mapper.rewrite(value)
        working_dir = cspec.get("workingDir")
        if working_dir:
            cwd = mapper.resolve(str(working_dir)) or (
                str(working_dir) if os.path.isdir(str(working_dir)) else ""
            )
            if not cwd:
                raise ContainerConfigError(
                    f'flightdeck cannot map workingDir "{working_dir}" of container "{c.name}": it is under no '
                    f"volumeMount (mounted: {mapper.mounted()}) and does not exist on this machine"
                )
        else:
            cwd = str(c.dir / "work")
            os.makedirs(cwd, exist_ok=True)
        memory_limit: int | None = None
        resources: Obj | None = None
        limit = ((cspec.get("resources") or {}).get("limits") or {}).get("memory")
        if limit is not None:
            try:
                memory_limit = int(parse_quantity(str(limit)))
            except QuantityError as exc:
                raise ContainerConfigError(str(exc)) from None
            resources = {"limits": {"memory": str(limit)}}
        return _Prepared(launch, full_env, argv, cwd, mapper, memory_limit, resources)

    def _prune_logs(self, c: _Container) -> None:
        """Keep the current and the previous run's log, as the kubelet keeps the last dead container."""
        keep = {c.run, c.last_run}
        try:
            entries = list(c.dir.glob("*.log*"))
        except OSError:
            return
        for path in entries:
            run_text = path.name.split(".", 1)[0]
            if run_text.isdigit() and int(run_text) not in keep:
                path.unlink(missing_ok=True)

    # ----------------------------------------------------------------------------------------- probes

    def _arm_probes(self, pod: _Pod, c: _Container, started_at: float, adopted: bool) -> None:
        c.probes = {}
        for kind, field_name in FIELD_OF.items():
            raw = c.spec.get(field_name)
            if not raw:
                continue
            try:
                spec = parse_probe(kind, raw, c.spec)
            except ProbeSpecError as exc:
                self._event(pod, "Warning", "Unhealthy", f"{kind.capitalize()} probe errored: {exc}")
                continue
            tracker = new_tracker(spec, started_at)
            if adopted and kind == "readiness" and pod.recorded_ready.get(c.name):
                tracker = ProbeTracker(
                    spec, tracker.next_at, True
                )  # keep a ready pod ready across our restart
            if adopted and kind == "startup":
                tracker = ProbeTracker(spec, tracker.next_at, True)
            c.probes[kind] = tracker
        self._derive_readiness(pod, c)

    def _exec_context(self, pod: _Pod, c: _Container, command: Sequence[str]) -> ExecContext | None:
        """How an exec probe runs: the container's environment, working dir and mount paths."""
        if c.mapper is None or c.env is None:
            if pod.volume_paths is None:
                return None
            try:  # an adopted process: rebuild what its start would have used
                prepared = self._prepare(pod, c)
            except (ImagePullError, ContainerConfigError, OSError):
                return None
            c.env, c.cwd, c.mapper = prepared.env, prepared.cwd, prepared.mapper
        return ExecContext(c.env, c.cwd, [c.mapper.rewrite(w) for w in command])

    def _derive_readiness(self, pod: _Pod, c: _Container) -> None:
        running = c.proc is not None and c.kill_reason is None
        startup = c.probes.get("startup")
        started = running and (startup is None or startup.result is True)
        readiness = c.probes.get("readiness")
        ready = started and (readiness is None or readiness.result is True)
        if (c.view.started, c.view.ready) != (started, ready):
            c.view.started, c.view.ready = started, ready
            pod.dirty = True

    def _schedule_probes(self, pod: _Pod, c: _Container, now: float) -> None:
        for kind, tracker in list(c.probes.items()):
            if kind in c.probe_inflight or tracker.on_hold or now < tracker.next_at:
                continue
            if not tracker.due(now, c.view.started):
                c.probes[kind] = skip(tracker, now)
                continue
            ctx = None
            if tracker.spec.action == "exec":
                ctx = self._exec_context(pod, c, tracker.spec.command)
                if ctx is None:
                    c.probes[kind] = skip(tracker, now)
                    continue
            c.probe_inflight.add(kind)
            c.probes[kind] = skip(tracker, now)  # placeholder until the result; keeps next_at moving
            self._probe_pool.submit(self._run_probe, pod, c, c.generation, kind, tracker, ctx)

    def _run_probe(
        self,
        pod: _Pod,
        c: _Container,
        generation: int,
        kind: str,
        tracker: ProbeTracker,
        ctx: ExecContext | None,
    ) -> None:
        try:
            outcome = run_probe(tracker.spec, pod.ip, ctx)
        except Exception as exc:  # a probe must never take the node down; report it as a failure
            outcome = ProbeOutcome(False, f"probe error: {exc}")
        with self._lock:
            self._results.append((pod, c, generation, kind, outcome))
        self._wake()

    def _on_probe(self, pod: _Pod, c: _Container, kind: str, outcome: ProbeOutcome, now: float) -> None:
        tracker = c.probes.get(kind)
        if tracker is None:
            return
        probe_type: ProbeType = tracker.spec.type
        if not outcome.ok:
            self._event(pod, "Warning", "Unhealthy", failure_event(probe_type, outcome.message))
        updated = record(tracker, outcome.ok, now)
        c.probes[kind] = updated
        self._derive_readiness(pod, c)
        if failed_to_restart(updated) and c.proc is not None and c.kill_reason is None:
            grace = updated.spec.termination_grace
            if grace is None:
                grace = _grace(pod.spec.get("terminationGracePeriodSeconds"))
            self._kill(pod, c, now, max(grace, MIN_GRACE), probe_type, restart_message(c.name, probe_type))

    # -------------------------------------------------------------------------------- stopping / exits

    def _kill(self, pod: _Pod, c: _Container, now: float, grace: float, reason: str, message: str) -> None:
        if c.proc is None:
            return
        self._event(pod, "Normal", "Killing", message)
        c.kill_reason = c.kill_reason or reason
        c.proc.signal_group(signal.SIGTERM)
        c.kill_deadline = now + grace
        self._derive_readiness(pod, c)

    def _terminate(self, pod: _Pod, now: float, grace: float | None = None) -> None:
        pod.terminating = True
        pod.dirty = True
        if grace is None:
            grace = _grace(pod.spec.get("terminationGracePeriodSeconds"))
        for c in pod.containers.values():
            c.start_at = None
            if c.proc is not None:
                self._kill(pod, c, now, grace, "deleted", f"Stopping container {c.name}")

    def _on_exit(self, pod: _Pod, c: _Container, now: float) -> None:
        proc = c.proc
        if proc is None:
            return
        self._selector.unregister(proc)
        code = proc.reap()
        c.proc = None
        if code is None:
            t = Terminated(
                137,
                "ContainerStatusUnknown",
                c.view.running_since,
                now,
                c.view.container_id,
                "flightdeck restarted while the container ran; its exit code is unknown",
            )
        else:
            reason = "OOMKilled" if c.kill_reason == "OOMKilled" else ("Completed" if code == 0 else "Error")
            t = Terminated(
                code,
                reason,
                c.view.running_since,
                now,
                c.view.container_id,
                self._termination_message(c, code),
            )
        self._exited(pod, c, t, now)

    def _termination_message(self, c: _Container, code: int) -> str:
        path = c.dir / "termination-log"
        try:
            with open(path, "rb") as fh:
                message = fh.read(TERMINATION_MESSAGE_MAX).decode("utf-8", "replace")
        except OSError:
            message = ""
        if not message and code != 0 and c.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            message = logfiles.tail_bytes(
                logfiles.run_log(c.dir, c.run), TERMINATION_LOG_LINES, TERMINATION_LOG_BYTES
            )
        return message

    def _exited(self, pod: _Pod, c: _Container, t: Terminated, now: float) -> None:
        c.view.running_since = None
        c.probes = {}
        c.kill_deadline = None
        self._derive_readiness(pod, c)
        policy = str(pod.spec.get("restartPolicy") or "Always")
        if pod.terminating or not should_restart(policy, t.exit_code):
            c.view.terminated = t
            c.start_at = None
        else:
            c.last_run = c.run
            c.view.last_terminated = t
            c.view.terminated = None
            c.view.waiting_reason, c.view.waiting_message = "", ""
            c.pending_finished_at = now
            c.start_at = now
        pod.dirty = True
        self._save(pod)

    def _forget(self, pod: _Pod) -> None:
        self._pods.pop(pod.uid, None)
        with self._lock:
            if self._log_index.get((pod.namespace, pod.name)) is pod:
                del self._log_index[(pod.namespace, pod.name)]
        if pod.ip != self.host_ip:
            self.ips.release(pod.ip)
        shutil.rmtree(pod.dir, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ status

    def _publish(self, now: float) -> None:
        for pod in list(self._pods.values()):
            if pod.dirty and not pod.gone and pod.obj is not None:
                self._publish_pod(pod, now)

    def _publish_pod(self, pod: _Pod, now: float) -> None:
        pod.dirty = False
        status = (pod.obj or {}).get("status") or {}
        view = PodView(
            spec=pod.spec,
            containers=[c.view for c in pod.containers.values()],
            pod_ip=pod.ip,
            host_ip=self.host_ip,
            start_time=pod.start_time,
            scheduled_at=pod.scheduled_at,
            terminal=pod.terminating and not pod.running,
            previous_conditions=(pod.published or {}).get("conditions") or status.get("conditions") or [],
            previous_phase=(pod.published or status).get("phase"),
        )
        # readiness gates are set by others on the stored object: take theirs, keep our transition times
        gates = {str(g.get("conditionType")) for g in pod.spec.get("readinessGates") or []}
        if gates:
            theirs = [c for c in status.get("conditions") or [] if c.get("type") in gates]
            view.previous_conditions = [
                c for c in view.previous_conditions if c.get("type") not in gates
            ] + theirs
        new = build_status(view, now)
        if new != pod.published:
            pod.published = new
            try:
                self.on_status(pod.namespace, pod.name, new)
            except Exception as exc:  # the store may reject a write (e.g. the pod was just deleted)
                pod.dirty = True
                self._event(pod, "Warning", "StatusUpdateFailed", str(exc))

    def _event(self, pod: _Pod, kind: str, reason: str, message: str) -> None:
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # events are best effort, as in the kubelet
                self.on_event(pod.namespace, pod.name, kind, reason, message)

    # ---------------------------------------------------------------------------------- persistence

    def _save(self, pod: _Pod) -> None:
        """What a restarted flightdeck needs to adopt the pod's processes and keep its history."""
        containers = {}
        for c in pod.containers.values():
            lt = c.view.last_terminated
            containers[c.name] = {
                "pid": c.proc.pid if c.proc is not None else None,
                "ticks": c.proc.ticks if c.proc is not None else None,
                "image": c.view.image,
                "run": c.run,
                "lastRun": c.last_run,
                "restartCount": c.view.restart_count,
                "startedOnce": c.started_once,
                "runningSince": c.view.running_since,
                "containerID": c.view.container_id,
                "memoryLimit": c.memory_limit,
                "resources": c.view.resources,
                "lastTerminated": None
                if lt is None
                else {
                    "exitCode": lt.exit_code,
                    "reason": lt.reason,
                    "message": lt.message,
                    "startedAt": lt.started_at,
                    "finishedAt": lt.finished_at,
                    "containerID": lt.container_id,
                },
                "backoff": None if c.backoff is None else [c.backoff.delay, c.backoff.last_update],
            }
        record_data = {
            "uid": pod.uid,
            "namespace": pod.namespace,
            "name": pod.name,
            "ip": pod.ip,
            "startTime": pod.start_time,
            "scheduledAt": pod.scheduled_at,
            "grace": _grace(pod.spec.get("terminationGracePeriodSeconds")),
            "containers": containers,
        }
        path = pod.dir / "record.json"
        tmp = pod.dir / ".record.json.tmp"
        try:
            tmp.write_text(json.dumps(record_data), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # the pod dir was removed under us (pod forgotten); nothing left to remember

    def _recover(self) -> None:
        """Pods of a previous run: adopt their live processes; the first sync decides what stays."""
        now = self.clock()
        for path in sorted(self.pods_dir.glob("*/record.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            ip = str(data.get("ip", ""))
            if self.ips.contains(ip):
                self.ips.reserve(ip)
            pod = _Pod(
                str(data["uid"]),
                str(data["namespace"]),
                str(data["name"]),
                path.parent,
                ip,
                float(data.get("startTime", now)),
                float(data.get("scheduledAt", now)),
                recovered=True,
            )
            for name, cd in (data.get("containers") or {}).items():
                view = ContainerView(
                    name, str(cd.get("image", "")), restart_count=int(cd.get("restartCount", 0))
                )
                lt = cd.get("lastTerminated")
                if lt:
                    view.last_terminated = Terminated(
                        int(lt["exitCode"]),
                        str(lt["reason"]),
                        lt.get("startedAt"),
                        float(lt["finishedAt"]),
                        str(lt.get("containerID", "")),
                        str(lt.get("message", "")),
                    )
                c = _Container(
                    name,
                    {},
                    view,
                    pod.dir / name,
                    run=int(cd.get("run", 0)),
                    last_run=cd.get("lastRun"),
                    started_once=bool(cd.get("startedOnce")),
                )
                c.memory_limit = cd.get("memoryLimit")
                view.resources = cd.get("resources")
                if cd.get("backoff"):
                    c.backoff = Backoff(float(cd["backoff"][0]), float(cd["backoff"][1]))
                proc = Process.adopt(int(cd["pid"]), int(cd["ticks"])) if cd.get("pid") else None
                if proc is not None:
                    c.proc = proc
                    view.running_since = float(cd.get("runningSince") or now)
                    view.container_id = str(cd.get("containerID", ""))
                    view.waiting_reason = ""
                    self._selector.register(proc, selectors.EVENT_READ, (pod, c))
                elif cd.get("runningSince") is not None:
                    # it ended while flightdeck was down: unknown exit, restart like the kubelet would
                    c.view.running_since = float(cd["runningSince"])
                    c.view.container_id = str(cd.get("containerID", ""))
                    t = Terminated(
                        137,
                        "ContainerStatusUnknown",
                        c.view.running_since,
                        now,
                        c.view.container_id,
                        "the container ended while flightdeck was not running; its exit code is unknown",
                    )
                    c.view.running_since = None
                    c.view.last_terminated = t
                    c.last_run = c.run
                    c.pending_finished_at = now
                    c.start_at = now
                elif c.started_once:
                    c.pending_finished_at = (
                        c.view.last_terminated.finished_at if c.view.last_terminated else now
                    )
                    c.start_at = now
                else:
                    c.start_at = now
                pod.containers[name] = c
            self._pods[pod.uid] = pod
            with self._lock:
                self._log_index[(pod.namespace, pod.name)] = pod


def unsupported(spec: Obj) -> list[str]:
    """Fields of a pod spec the node accepts but cannot honour (reported once as a ``NotSupported`` event)."""
    out: list[str] = []
    for key in ("activeDeadlineSeconds", "hostAliases", "ephemeralContainers", "shareProcessNamespace"):
        if spec.get(key):
            out.append(f"spec.{key}")
    if any(k in (spec.get("securityContext") or {}) for k in ("runAsUser", "runAsGroup", "fsGroup")):
        out.append("spec.securityContext (processes run as flightdeck's user)")
    for c in spec.get("containers") or []:
        name = c.get("name")
        if c.get("lifecycle"):
            out.append(f"containers[{name}].lifecycle (postStart/preStop hooks are not run)")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            out.append(f"containers[{name}].ports[].hostPort")
        if ((c.get("resources") or {}).get("limits") or {}).get("cpu") is not None:
            out.append(f"containers[{name}].resources.limits.cpu (not enforced)")
        if any(
            k in (c.get("securityContext") or {})
            for k in ("runAsUser", "runAsGroup", "capabilities", "privileged")
        ):
            out.append(f"containers[{name}].securityContext (processes run as flightdeck's user)")
    return out


def _memory_total() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 33
