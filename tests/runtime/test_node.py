"""The node with real processes: probes, restarts, back-off, Services following readiness, logs, limits.

Timing logic itself (back-off, probe thresholds) is tested on a virtual clock in test_backoff/test_probes;
these tests check that the node wires it to real processes, each in a second or two (the seed's traffic
generator sleeps 10 s before its first request, so that one takes about 12 s).
"""

from __future__ import annotations

import copy
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flightdeck.runtime.catalog import ImageCatalog
from flightdeck.runtime.http_proxy import ForwardProxy
from flightdeck.runtime.ipam import LoopbackPool
from flightdeck.runtime.logs import LogError
from flightdeck.runtime.names import ClusterNames
from flightdeck.runtime.node import Node
from flightdeck.runtime.service_proxy import ServiceProxies
from tests.runtime.conftest import ask, free_ip

SEED = Path(__file__).resolve().parents[3] / "shared" / "challenge" / "expert-solved"
if not SEED.exists():
    SEED = Path("/work/shared/challenge/expert-solved")
Obj = dict[str, Any]
HTTP_SERVER = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = os.environ['HOSTNAME'].encode()\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *a): pass\n"
    "http.server.ThreadingHTTPServer((os.environ['FLIGHTDECK_POD_IP'], int(os.environ.get('PORT', '8080'))), H).serve_forever()\n"
)


class Harness:
    """A node plus what it reports; ``wait`` polls the reported state."""

    def __init__(self, state: Path, services: list[Obj] | None = None, **node_kw: Any) -> None:
        self.statuses: dict[str, Obj] = {}
        self.history: dict[str, list[Obj]] = {}
        self.events: list[tuple[str, str, str, str, str]] = []
        self.stopped: list[str] = []
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.lock = threading.Lock()
        self.names = ClusterNames(state / "dns")
        self.services = services or []
        self.names.set_services(self.services)
        self.proxies = ServiceProxies()
        self.forward = ForwardProxy(self.names.resolve)
        self.pods: dict[str, Obj] = {}
        self.node = Node(
            state,
            ImageCatalog(),
            self.names,
            self.on_status,
            lookup=lambda kind, ns, name: self.objects.get((kind, ns, name)),
            on_event=lambda *e: self.events.append(e),
            on_stopped=lambda ns, name, uid: self.stopped.append(name),
            proxy_for=self.forward.url_for,
            pod_ips=LoopbackPool(f"127.{random.randint(150, 250)}"),
            **node_kw,
        ).start()

    def on_status(self, namespace: str, name: str, status: Obj) -> None:
        with self.lock:
            self.statuses[name] = status
            self.history.setdefault(name, []).append(status)
            for pod in self.pods.values():
                if pod["metadata"]["name"] == name:
                    pod["status"] = status
            self.proxies.sync(self.services, list(self.pods.values()))

    def sync(self, *pods: Obj) -> None:
        with self.lock:
            for pod in pods:
                self.pods[pod["metadata"]["uid"]] = pod
        self.node.sync(list(pods))

    def container(self, name: str) -> Obj:
        return dict(self.statuses.get(name, {}).get("containerStatuses", [{}])[0])

    def wait(self, check: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                try:
                    value = check()
                except (KeyError, IndexError, TypeError, LogError):
                    value = None
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out; statuses: {self.statuses}; events: {self.events[-8:]}")

    def close(self) -> None:
        self.node.close(stop_pods=True, timeout=30)
        self.proxies.close()
        self.forward.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**kw: Any) -> Harness:
        h = Harness(tmp_path / f"state{len(made)}", **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def pod(
    name: str, namespace: str, containers: list[Obj], labels: dict[str, str] | None = None, **spec: Any
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "labels": labels or {}},
        "spec": {"containers": containers, **spec},
    }


def web_container(**extra: Any) -> Obj:
    return {"name": "web", "image": "python:3.11", "command": [sys.executable, "-c", HTTP_SERVER], **extra}


def test_readiness_probe_and_service_endpoint_across_a_kill(harness: Callable[..., Harness]) -> None:
    cluster_ip = free_ip()
    svc = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "clusterIP": cluster_ip,
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": "http"}],
        },
    }
    h = harness(services=[svc])
    probe = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
    web = pod(
        "web-1",
        "shop",
        [web_container(ports=[{"name": "http", "containerPort": 8080}], readinessProbe=probe)],
        {"app": "web"},
    )
    svc["spec"]["ports"][0]["port"] = port = random.randint(20000, 30000)
    h.sync(web)
    h.wait(lambda: h.container("web-1")["ready"])
    status = h.statuses["web-1"]
    assert status["phase"] == "Running" and status["podIP"].startswith("127.")
    ready = {c["type"]: c["status"] for c in status["conditions"]}
    assert ready == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    assert h.wait(lambda: ask(cluster_ip, port, "GET / HTTP/1.0\r\n").endswith("web-1"))
    os.kill(int(h.container("web-1")["containerID"].split("//")[1]), signal.SIGKILL)
    h.wait(lambda: h.container("web-1")["restartCount"] == 1 and h.container("web-1")["ready"])
    readiness = [s["containerStatuses"][0]["ready"] for s in h.history["web-1"]]
    first_ready = readiness.index(True)
    assert False in readiness[first_ready:] and readiness[-1] is True  # ready, not ready, ready again
    last = h.container("web-1")["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")
    # the endpoint left while the pod was not ready and is back now
    assert h.wait(lambda: ask(cluster_ip, port, "GET / HTTP/1.0\r\n").endswith("web-1"))


def test_crash_loop_back_off(harness: Callable[..., Harness]) -> None:
    h = harness()
    crash = pod(
        "crash", "t", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "echo boom $$$$; exit 3"]}]
    )
    uid = crash["metadata"]["uid"]
    h.sync(crash)
    state = h.wait(
        lambda: (
            h.container("crash")["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
            and h.container("crash")
        )
    )
    assert (
        state["state"]["waiting"]["message"]
        == f"back-off 10s restarting failed container=c pod=crash_t({uid})"
    )
    assert state["restartCount"] == 1
    assert (state["lastState"]["terminated"]["exitCode"], state["lastState"]["terminated"]["reason"]) == (
        3,
        "Error",
    )
    assert h.statuses["crash"]["phase"] == "Running"  # restartPolicy Always: it will run again
    assert (
        "t",
        "crash",
        "Warning",
        "BackOff",
        f"Back-off restarting failed container c in pod crash_t({uid})",
    ) in h.events
    current = h.node.logs("t", "crash").decode()
    previous = h.node.logs("t", "crash", previous=True).decode()
    # waiting to restart, both read the run that just ended (the kubelet serves lastState's container)
    assert current == previous and current.startswith("boom ") and current.strip() != "boom $"
    logs = sorted(p.name for p in (h.node.pods_dir).glob(f"t_crash_{uid}/c/*.log"))
    assert logs == ["0.log", "1.log"]


def test_unmapped_image_and_unmappable_config(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.sync(
        pod("mystery", "t", [{"name": "m", "image": "acme/mystery:2"}]),
        pod(
            "collector", "t", [{"name": "collector", "image": "otel/opentelemetry-collector-contrib:0.142.0"}]
        ),
    )
    waiting = h.wait(
        lambda: (
            h.container("mystery")["state"]["waiting"]["reason"] == "ErrImagePull" and h.container("mystery")
        )
    )
    assert 'flightdeck has no program for image "acme/mystery:2"' in waiting["state"]["waiting"]["message"]
    assert h.statuses["mystery"]["phase"] == "Pending"
    with pytest.raises(
        LogError, match='container "m" in pod "mystery" is waiting to start: image can\'t be pulled'
    ):
        h.node.logs("t", "mystery")
    config = h.wait(
        lambda: (
            h.container("collector")["state"]["waiting"]["reason"] == "CreateContainerConfigError"
            and h.container("collector")
        )
    )
    assert config["state"]["waiting"]["message"].startswith(
        'flightdeck cannot map path "/etc/otelcol-contrib/config.yaml" (--config) of container "collector"'
    )


def test_volumes_env_and_expansion_reach_the_process(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.objects[("ConfigMap", "t", "cfg")] = {"data": {"msg": "from-configmap"}}
    container = {
        "name": "c",
        "image": "alpine:3",
        "command": [
            "sh",
            "-c",
            'cat /conf/msg; echo " $POD $(GREETING) $$FLIGHTDECK_POD_IP"; pwd; echo $http_proxy',
        ],
        "env": [
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "GREETING", "value": "hello-$(POD)"},
        ],
        "volumeMounts": [{"name": "config", "mountPath": "/conf"}],
    }
    h.sync(
        pod(
            "env-demo",
            "t",
            [container],
            volumes=[{"name": "config", "configMap": {"name": "cfg"}}],
            restartPolicy="Never",
        )
    )
    h.wait(lambda: h.statuses["env-demo"]["phase"] == "Succeeded")
    out = h.node.logs("t", "env-demo").decode().splitlines()
    ip = h.statuses["env-demo"]["podIP"]
    assert out[0] == f"from-configmap env-demo hello-env-demo {ip}"
    assert out[1].endswith("/c/work")
    assert out[2].startswith("http://127.0.0.1:")
    assert h.container("env-demo")["state"]["terminated"]["reason"] == "Completed"


def test_memory_limit_kills_as_oom(harness: Callable[..., Harness]) -> None:
    h = harness(memory_interval=0.1)
    hog = {
        "name": "hog",
        "image": "python:3.11",
        "command": [
            sys.executable,
            "-c",
            "import time\nx = bytearray(200 * 1024 * 1024)\nx[::4096] = b'1' * len(x[::4096])\ntime.sleep(30)",
        ],
        "resources": {"limits": {"memory": "64Mi"}},
    }
    h.sync(pod("hog", "t", [hog], restartPolicy="Never"))
    status = h.wait(lambda: h.statuses["hog"]["phase"] == "Failed" and h.container("hog"))
    assert status["state"]["terminated"]["reason"] == "OOMKilled"
    assert status["state"]["terminated"]["exitCode"] == 137
    assert status["resources"] == {"limits": {"memory": "64Mi"}}


def test_liveness_failure_restarts_the_container(harness: Callable[..., Harness]) -> None:
    h = harness()
    sleeper = {
        "name": "app",
        "image": "busybox",
        "command": ["sleep", "30"],
        "livenessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 2},
    }
    h.sync(pod("sick", "t", [sleeper]))
    h.wait(lambda: h.container("sick")["restartCount"] >= 1)
    assert h.container("sick")["lastState"]["terminated"]["exitCode"] == 143  # SIGTERM
    messages = [e[4] for e in h.events if e[1] == "sick"]
    assert "Container app failed liveness probe, will be restarted" in messages
    assert any(
        m.startswith("Liveness probe failed: dial tcp ") and m.endswith(":9: connect: connection refused")
        for m in messages
    )


def test_graceful_deletion(harness: Callable[..., Harness]) -> None:
    h = harness()
    script = 'trap "echo bye; exit 0" TERM; echo up; while true; do sleep 0.1; done'
    obj = pod("polite", "t", [{"name": "c", "image": "busybox", "command": ["sh", "-c", script]}])
    h.sync(obj)
    h.wait(lambda: b"up" in h.node.logs("t", "polite"))
    deleting = copy.deepcopy(obj)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    deleting["metadata"]["deletionGracePeriodSeconds"] = 10
    h.sync(deleting)
    h.wait(lambda: "polite" in h.stopped, timeout=8)
    state = h.container("polite")["state"]["terminated"]
    assert (state["exitCode"], state["reason"]) == (0, "Completed")
    assert h.statuses["polite"]["phase"] == "Succeeded"
    assert h.node.logs("t", "polite").decode().splitlines()[-1] == "bye"
    h.sync()  # the object is gone: the node forgets the pod and its address
    h.wait(lambda: h.node.pod_ip("t", "polite") is None)


def test_processes_survive_a_restart_of_flightdeck(harness: Callable[..., Harness], tmp_path: Path) -> None:
    first = harness()
    obj = pod("steady", "t", [{"name": "c", "image": "busybox", "command": ["sleep", "60"]}])
    first.sync(obj)
    running = first.wait(
        lambda: "running" in first.container("steady")["state"] and first.container("steady")
    )
    first.node.close(stop_pods=False)
    second = Harness(first.node.state_dir, pod_ips=None) if False else None
    del second
    again = Node(first.node.state_dir, ImageCatalog(), first.names, first.on_status).start()
    try:
        stored = copy.deepcopy(obj)
        stored["status"] = first.statuses["steady"]
        again.sync([stored])
        time.sleep(0.3)
        assert again.pod_ip("t", "steady") == first.statuses["steady"]["podIP"]
        status = first.container("steady")
        assert status["containerID"] == running["containerID"] and status["restartCount"] == 0
        pid = int(running["containerID"].split("//")[1])
        assert alive(pid)  # adopted, not restarted
    finally:
        again.close(stop_pods=True)
    assert not alive(pid)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie: the first node's Popen is this test process, its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_seed_traffic_generator_runs_unmodified(harness: Callable[..., Harness]) -> None:
    cluster_ip = free_ip()
    svc = yaml.safe_load((SEED / "hotrod" / "service.yaml").read_text())
    svc["metadata"]["namespace"] = "hotrod"
    svc["spec"]["clusterIP"] = cluster_ip
    h = harness(services=[svc])
    frontend = pod("hotrod-1", "hotrod", [web_container(ports=[{"containerPort": 8080}])], {"app": "hotrod"})
    deployment = yaml.safe_load((SEED / "traffic-generator" / "deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    generator = pod(
        "traffic-generator-1",
        "traffic-generator",
        template["spec"]["containers"],
        template["metadata"]["labels"],
    )
    h.sync(frontend, generator)
    log = h.wait(
        lambda: (
            "Request successful | Status: 200"
            in (text := h.node.logs("traffic-generator", "traffic-generator-1").decode())
            and text
        ),
        timeout=25,
    )
    assert log.startswith("Starting HotROD traffic generator...\nWaiting 10s for HotROD to be ready...\n")
    assert "Request failed" not in log


def test_exec_readiness_probe_sees_the_mounted_volume(harness: Callable[..., Harness]) -> None:
    h = harness()
    container = {
        "name": "c",
        "image": "busybox",
        "command": ["sh", "-c", "sleep 0.5; touch /data/ready; exec sleep 30"],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "readinessProbe": {"exec": {"command": ["sh", "-c", "test -f /data/ready"]}, "periodSeconds": 1},
    }
    h.sync(pod("exec-probe", "t", [container], volumes=[{"name": "data", "emptyDir": {}}]))
    h.wait(lambda: h.container("exec-probe")["started"])
    assert h.container("exec-probe")["ready"] is False
    h.wait(lambda: h.container("exec-probe")["ready"])


def test_image_change_restarts_the_container(harness: Callable[..., Harness]) -> None:
    h = harness()
    obj = pod("versioned", "t", [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "30"]}])
    h.sync(obj)
    first = h.wait(lambda: "running" in h.container("versioned")["state"] and h.container("versioned"))
    changed = copy.deepcopy(obj)
    changed["spec"]["containers"][0]["image"] = "busybox:1.37"
    h.sync(changed)
    now = h.wait(
        lambda: (
            h.container("versioned")["restartCount"] == 1
            and "running" in h.container("versioned")["state"]
            and h.container("versioned")
        )
    )
    assert now["image"] == "busybox:1.37" and now["containerID"] != first["containerID"]
    assert (
        "t",
        "versioned",
        "Normal",
        "Killing",
        "Container c definition changed, will be restarted",
    ) in h.events


def test_the_node_sleeps_while_nothing_is_due(harness: Callable[..., Harness]) -> None:
    h = harness()
    stubborn = {
        "name": "c",
        "image": "busybox",
        "command": ["sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.2; done"],
        "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
    }
    obj = pod("stubborn", "t", [stubborn], terminationGracePeriodSeconds=3)
    h.sync(obj)
    h.wait(lambda: h.container("stubborn")["ready"])
    before = h.node.iterations
    time.sleep(1.5)
    assert h.node.iterations - before < 12  # a probe a second, not a busy loop
    deleting = copy.deepcopy(obj)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    h.sync(deleting)
    before = h.node.iterations
    started = time.monotonic()
    h.wait(lambda: "stubborn" in h.stopped, timeout=10)
    assert time.monotonic() - started >= 2.5  # SIGTERM ignored: SIGKILL after the grace period
    assert h.node.iterations - before < 30
    assert h.container("stubborn")["state"]["terminated"]["exitCode"] == 137


def test_a_container_that_ended_while_flightdeck_was_down_restarts(harness: Callable[..., Harness]) -> None:
    first = harness()
    obj = pod("lonely", "t", [{"name": "c", "image": "busybox", "command": ["sleep", "60"]}])
    first.sync(obj)
    running = first.wait(
        lambda: "running" in first.container("lonely")["state"] and first.container("lonely")
    )
    first.node.close(stop_pods=False)
    os.kill(int(running["containerID"].split("//")[1]), signal.SIGKILL)
    statuses: list[Obj] = []
    again = Node(
        first.node.state_dir, ImageCatalog(), first.names, lambda ns, n, s: statuses.append(s)
    ).start()
    try:
        time.sleep(0.3)
        assert again.iterations < 5  # recovered, waiting for the first sync without spinning
        again.sync([obj])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            statuses and "running" in statuses[-1]["containerStatuses"][0]["state"]
        ):
            time.sleep(0.05)
        status = statuses[-1]["containerStatuses"][0]
        assert status["restartCount"] == 1
        assert status["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
        assert statuses[-1]["podIP"] == first.statuses["lonely"]["podIP"]
    finally:
        again.close(stop_pods=True)
