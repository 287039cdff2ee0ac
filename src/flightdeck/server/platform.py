"""``flightdeck up``: one process that runs the whole platform.

    store (SQLite) ─ controllers (workloads, Rollouts, AnalysisRuns, Applications)
         │
         ├─ local node: Pod objects → processes, Services → loopback load balancers, cluster names
         ├─ embedded Prometheus-compatible store: scrapes pods the way the challenge's Prometheus does
         ├─ embedded trace store: OTLP in, Jaeger's query API out
         └─ control API: what the CLI talks to

Platform names resolve to the embedded backends, so the manifests run unchanged:
``prometheus-server.prometheus.svc.cluster.local`` (port 80) → the store's API, and
``jaeger-collector.jaeger.svc.cluster.local:4317/4318`` → the trace store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flightdeck.analysis.controller import AnalysisRunController
from flightdeck.controllers import register_builtin
from flightdeck.controllers.kubestate import exposition
from flightdeck.controllers.manager import ControllerManager
from flightdeck.kube import actions as kube_actions
from flightdeck.kube import errors as kube_errors
from flightdeck.kube.store import ObjectStore
from flightdeck.rollouts import actions as rollout_actions
from flightdeck.rollouts import controller as rollouts_controller
from flightdeck.rollouts.render import render_rollout_tree
from flightdeck.rollouts.steps import current_set_weight, steps_of
from flightdeck.runtime.local import LocalNode
from flightdeck.server.api import ApiError, ControlAPI
from flightdeck.server.control import StoreControl, api_error
from flightdeck.server.state import StateDir
from flightdeck.util.clock import RealClock

Obj = dict[str, Any]
log = logging.getLogger("flightdeck.server")

PROMETHEUS_IP = "127.30.0.1"
JAEGER_IP = "127.30.0.2"
SYNC_DEBOUNCE = 0.05


@dataclasses.dataclass(slots=True)
class UpOptions:
    state_dir: Path
    repo: str | None = None
    appset: str | None = None
    repo_url: str | None = None
    poll: float = 10.0
    api_listen: str = "127.0.0.1:0"
    prometheus_listen: str = f"{PROMETHEUS_IP}:9090"
    jaeger_listen: str = f"{JAEGER_IP}:16686"
    prometheus_url: str | None = None
    live: bool = False
    scrape_interval: str | None = None
    """Override the embedded store's scrape interval (tests compress time with it)."""


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        return host.strip("[]") or "127.0.0.1", int(port)
    except ValueError:
        raise ApiError(400, f"invalid address {text!r}: the port must be a number") from None


class Platform:
    """Everything ``flightdeck up`` runs; :meth:`start` and :meth:`stop` bracket its life."""

    def __init__(self, options: UpOptions) -> None:
        self.options = options
        self.clock = RealClock()
        self.state = StateDir(Path(options.state_dir))
        self.state.ensure()
        self.token = self.state.token(create=True) or ""
        self.store = ObjectStore(self.state.path / "objects.db", clock=self.clock)
        self.objects = StoreControl(self.store)
        self.manager = ControllerManager(self.store, self.clock)
        register_builtin(self.manager)
        rollouts_controller.register(self.manager)
        self.analysis = AnalysisRunController(
            self.store, self.clock.now, resolver=self._resolve_for_providers
        )
        self.analysis.register(self.manager)
        self.node = LocalNode(
            self.state.path / "node",
            self._pod_status,
            lookup=self.store.get,
            on_event=self._pod_event,
        )
        self.endpoints: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._prometheus_target = ""
        self.tsdb: Any = None
        self.traces: Any = None
        self.api = ControlAPI(self, self.token, *_host_port(options.api_listen, 0))
        self.gitops: Any = None
        if options.repo:
            from flightdeck.server.gitops_runner import GitOpsRunner

            self.gitops = GitOpsRunner(self)

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._start_backends()
        self.node.start()
        self.api.start()
        self.endpoints["api"] = self.api.url
        self._spawn("controllers", lambda: self.manager.run(self._stop))
        self._spawn("node-sync", self._sync_loop)
        self._start_gitops()
        self.state.pid_file.write_text(f"{os.getpid()}\n")
        self.state.write_endpoints(self.endpoints)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop everything this process started; objects stay in the store for the next start."""
        self._stop.set()
        if self.gitops is not None:
            self.gitops.stop()
        self.node.close(stop_pods=True)
        self.analysis.close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.api.stop()
        if self.traces is not None:
            self.traces.stop()
            self._trace_log.close()
        if self.tsdb is not None:
            self.tsdb.stop()
        self.manager.close()
        self.store.close()
        with contextlib.suppress(FileNotFoundError):
            self.state.pid_file.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.state.endpoints_file.unlink()

    def _start_backends(self) -> None:
        from flightdeck.traces.server import TraceServer

        jaeger_host, jaeger_port = _host_port(self.options.jaeger_listen, 16686)
        self._trace_log = open(self.state.path / "traces.log", "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.traces = TraceServer(
            host=jaeger_host,
            query_port=jaeger_port,
            otlp_http_port=4318,
            otlp_grpc_port=4317,
            log_stream=self._trace_log,
        ).start()
        self.endpoints["jaeger"] = self.traces.query_url
        for name in ("jaeger-collector", "jaeger-query"):
            self.node.add_platform(name, "jaeger", jaeger_host)
        if self.options.prometheus_url:
            url = urlsplit(self.options.prometheus_url)
            port = url.port or (443 if url.scheme == "https" else 80)
            self._prometheus_target = f"{url.hostname}:{port}"
            self.endpoints["prometheus"] = self.options.prometheus_url
        else:
            self._start_tsdb()
        self.endpoints["kube-state-metrics"] = f"{self.api.url}/metrics"
        self.endpoints["pod-sd"] = f"{self.api.url}/api/v1/sd/pods"

    def _start_tsdb(self) -> None:
        from flightdeck.server.prometheus_config import platform_scrape_config
        from flightdeck.tsdb.persist import DurableStorage
        from flightdeck.tsdb.scrape.discovery import DiscoveryHub
        from flightdeck.tsdb.server import TSDBServer

        host, port = _host_port(self.options.prometheus_listen, 9090)
        self.discovery = DiscoveryHub()
        config = platform_scrape_config(
            kube_state_target=urlsplit(self.api.url).netloc, scrape_interval=self.options.scrape_interval
        )
        durable = DurableStorage(self.state.path / "tsdb")
        self.tsdb = TSDBServer(
            durable.storage, host, port, scrape_config=config, discovery=self.discovery, durable=durable
        ).start()
        self._prometheus_target = f"{self.tsdb.host}:{self.tsdb.port}"
        self.endpoints["prometheus"] = self.tsdb.url
        self.node.add_platform(
            "prometheus-server", "prometheus", self.tsdb.host, {80: (self.tsdb.host, self.tsdb.port)}
        )

    def _start_gitops(self) -> None:
        if self.gitops is not None:
            self.gitops.start()

    def _resolve_for_providers(self, host: str) -> str | None:
        """Cluster names as metric providers see them (the analysis runs in this process)."""
        if host.rstrip(".").lower().startswith("prometheus-server.prometheus") and self._prometheus_target:
            return self._prometheus_target
        found = self.node.names.resolve(host, "default")
        return found[0] if found else None

    # -- node <-> store ----------------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        watch = self.store.watch(["Pod", "Service", "ConfigMap", "Secret"])
        self._sync_node(refresh=True)
        while not self._stop.is_set():
            event = watch.get(timeout=0.5)
            if event is None:
                continue
            time.sleep(SYNC_DEBOUNCE)
            events = [event, *watch.drain()]
            self._sync_node(refresh=any(e.kind in ("ConfigMap", "Secret") for e in events))
        watch.close()

    def _sync_node(self, *, refresh: bool) -> None:
        pods = self.store.list("Pod")
        services = self.store.list("Service")
        try:
            problems = self.node.sync(pods, services)
        except Exception:
            log.exception("node sync failed")
            return
        for problem in problems:
            log.warning("service: %s", problem)
        if refresh:
            self.node.refresh()
        if self.tsdb is not None:
            self.discovery.set_pods(pods)

    def _pod_status(self, namespace: str, name: str, status: Obj) -> None:
        for _ in range(5):
            pod = self.store.get("Pod", namespace, name)
            if pod is None:
                return
            pod["status"] = status
            try:
                self.store.update_status(pod)
                return
            except kube_errors.Conflict:
                continue
            except kube_errors.ApiError as exc:
                log.warning("pod %s/%s status not recorded: %s", namespace, name, exc)
                return

    def _pod_event(self, namespace: str, pod: str, type_: str, reason: str, message: str) -> None:
        event = kube_actions.Event(
            "Pod", namespace, pod, reason, message, "Warning" if type_ == "Warning" else "Normal"
        )
        with contextlib.suppress(kube_errors.ApiError):
            self.store.apply_actions([event], self.clock.now())

    # -- ControlPlane (the API's view) ---------------------------------------------------------------

    def list_objects(self, kind: str, namespace: str | None, selector: str | None) -> list[Obj]:
        return self.objects.list_objects(kind, namespace, selector)

    def get_object(self, kind: str, namespace: str, name: str) -> Obj:
        return self.objects.get_object(kind, namespace, name)

    def apply_objects(self, objects: list[Obj]) -> list[str]:
        return self.objects.apply_objects(objects)

    def delete_object(self, kind: str, namespace: str, name: str) -> str:
        return self.objects.delete_object(kind, namespace, name)

    def rollout_action(self, namespace: str, name: str, action: str, params: Obj) -> str:
        rollout = self.objects.get_object("Rollout", namespace, name)
        try:
            if action == "promote":
                result = rollout_actions.promote(rollout, full=bool(params.get("full")))
            elif action == "abort":
                result = rollout_actions.abort(rollout)
            elif action == "retry":
                result = rollout_actions.retry(rollout)
            elif action == "pause":
                result = rollout_actions.pause(rollout)
            elif action == "resume":
                result = rollout_actions.resume(rollout)
            elif action == "restart":
                result = rollout_actions.restart(rollout, self.clock.now())
            elif action == "undo":
                replicasets = self.store.list("ReplicaSet", namespace)
                result = rollout_actions.undo(rollout, replicasets, int(params.get("revision") or 0))
            elif action == "set-image":
                container, image = rollout_actions.parse_image_arg(str(params.get("image") or ""))
                result = rollout_actions.set_image(rollout, container, image)
            else:
                raise ApiError(404, f"unknown rollout action {action!r}")
        except rollout_actions.ActionError as exc:
            raise ApiError(400, str(exc)) from None
        try:
            written = result.rollout
            if result.spec_changed:
                written = self.store.update(written)
                if result.status_changed:
                    written = {**written, "status": result.rollout.get("status")}
            if result.status_changed:
                self.store.update_status(written)
        except kube_errors.ApiError as exc:
            raise api_error(exc) from None
        self.manager.enqueue("Rollout", namespace, name)
        return result.message

    def rollout_tree(self, namespace: str, name: str) -> str:
        rollout = self.objects.get_object("Rollout", namespace, name)
        return render_rollout_tree(
            rollout,
            self.store.list("ReplicaSet", namespace),
            self.store.list("Pod", namespace),
            self.store.list("AnalysisRun", namespace),
            self.clock.now(),
        )

    def read_logs(
        self, namespace: str, pod: str, container: str | None, previous: bool, follow: bool
    ) -> Iterator[bytes]:
        from flightdeck.runtime.logs import LogError

        try:
            return self.node.read_logs(namespace, pod, container, previous, follow)
        except LogError as exc:
            raise ApiError(404, str(exc)) from None

    def refresh_application(self, name: str) -> str:
        if self.gitops is None:
            raise ApiError(404, "no GitOps repository is configured (flightdeck up REPO)")
        try:
            return str(self.gitops.refresh(name))
        except kube_errors.ApiError as exc:
            raise api_error(exc) from None

    def kube_state_metrics(self) -> str:
        return exposition(self.store)

    def pod_targets(self) -> list[Obj]:
        """The pods as Prometheus HTTP service discovery: one group per target, since HTTP SD has no
        per-target labels (``__meta_*`` labels are allowed and relabeling sees them as usual)."""
        from flightdeck.tsdb.scrape.discovery import pod_target_group

        out: list[Obj] = []
        for pod in self.store.list("Pod"):
            group = pod_target_group(pod)
            for target in group.targets:
                labels = dict(group.labels)
                labels.update(target)
                address = labels.pop("__address__", "")
                out.append({"targets": [address], "labels": labels})
        return out

    def summary(self) -> Obj:
        apps = []
        for app in self.store.list("Application"):
            status = app.get("status") or {}
            apps.append(
                {
                    "name": app["metadata"]["name"],
                    "sync": (status.get("sync") or {}).get("status", ""),
                    "revision": (status.get("sync") or {}).get("revision", ""),
                    "health": (status.get("health") or {}).get("status", ""),
                    "message": (status.get("health") or {}).get("message", ""),
                }
            )
        rollouts = []
        for ro in self.store.list("Rollout"):
            namespace = ro["metadata"].get("namespace", "")
            status = ro.get("status") or {}
            steps = steps_of(ro)
            index = status.get("currentStepIndex")
            runs = [
                r
                for r in self.store.list("AnalysisRun", namespace)
                if any(
                    o.get("uid") == ro["metadata"].get("uid")
                    for o in r["metadata"].get("ownerReferences") or []
                )
            ]
            runs.sort(key=lambda r: str(r["metadata"].get("creationTimestamp", "")))
            containers = ((ro.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                "containers"
            ) or []
            rollouts.append(
                {
                    "namespace": namespace,
                    "name": ro["metadata"]["name"],
                    "phase": status.get("phase", ""),
                    "message": status.get("message", ""),
                    "step": f"{index}/{len(steps)}" if index is not None else "-",
                    "weight": current_set_weight(ro),
                    "images": ",".join(str(c.get("image", "")) for c in containers),
                    "analysis": [_run_summary(r) for r in runs[-1:]],
                }
            )
        return {"applications": apps, "rollouts": rollouts, "endpoints": dict(self.endpoints)}


def _run_summary(run: Obj) -> Obj:
    status = run.get("status") or {}
    metrics = []
    for result in status.get("metricResults") or []:
        measurements = result.get("measurements") or []
        last = measurements[-1] if measurements else {}
        metrics.append(
            {
                "name": result.get("name", ""),
                "phase": result.get("phase", ""),
                "value": last.get("value") or last.get("message") or "",
                "successful": result.get("successful", 0),
                "failed": result.get("failed", 0),
            }
        )
    return {"name": run["metadata"]["name"], "phase": status.get("phase", ""), "metrics": metrics}


def run_platform(options: UpOptions) -> int:
    """Run until SIGINT/SIGTERM; print the live summary when it changes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    platform = Platform(options)
    stop = threading.Event()

    def _signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    platform.start()
    from flightdeck.cli.up import render_summary

    print("flightdeck is up:", flush=True)
    for name, url in platform.endpoints.items():
        print(f"  {name:<20} {url}", flush=True)
    last = ""
    while not stop.wait(2.0):
        if not options.live:
            continue
        text = render_summary(platform.summary())
        if text != last:
            sys.stdout.write(text)
            sys.stdout.flush()
            last = text
    print("flightdeck: stopping (pods are stopped; objects stay for the next `flightdeck up`)", flush=True)
    platform.stop()
    return 0
