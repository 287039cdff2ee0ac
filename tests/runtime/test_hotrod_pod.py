"""The seed's HotROD pod on the local node: the catalog runs flightdeck's HotROD at the image's version, bound
to the pod's address, and its OTLP exporter reaches ``collector.otel.svc.cluster.local`` through the resolver."""

from __future__ import annotations

import copy
import json
import random
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from flightdeck.runtime.ipam import LoopbackPool
from flightdeck.runtime.local import LocalNode
from flightdeck.runtime.logs import LogError
from tests.runtime.conftest import free_ip

SEED = Path("/work/shared/challenge/expert-solved")
Obj = dict[str, Any]
SINK = (
    "import http.server, os, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
    "        print('POST', self.path, self.headers.get('Content-Type'), flush=True)\n"
    "        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()\n"
    "    def log_message(self, *a): pass\n"
    "http.server.ThreadingHTTPServer((os.environ['FLIGHTDECK_POD_IP'], 4318), H).serve_forever()\n"
)


def wait(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (KeyError, IndexError, LogError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_seed_hotrod_pod_exports_to_a_cluster_name(tmp_path: Path) -> None:
    rollout = yaml.safe_load((SEED / "hotrod" / "rollout.yaml").read_text())
    template = copy.deepcopy(rollout["spec"]["template"])
    labels = {**template["metadata"]["labels"], "rollouts-pod-template-hash": "7c8d9f"}
    hotrod = {
        "metadata": {
            "name": "hotrod-7c8d9f-abcde",
            "namespace": "hotrod",
            "uid": str(uuid.uuid4()),
            "labels": labels,
            "annotations": template["metadata"]["annotations"],
        },
        "spec": template["spec"],
    }
    sink = {
        "metadata": {
            "name": "collector-x",
            "namespace": "otel",
            "uid": str(uuid.uuid4()),
            "labels": {"app": "collector"},
        },
        "spec": {
            "containers": [
                {
                    "name": "sink",
                    "image": "python:3.11",
                    "command": [sys.executable, "-c", SINK],
                    "ports": [{"containerPort": 4318}],
                }
            ]
        },
    }
    hotrod_ip, collector_ip = free_ip(), free_ip()
    services = [
        {
            "metadata": {"name": "hotrod", "namespace": "hotrod"},
            "spec": {
                "clusterIP": hotrod_ip,
                "selector": {"app": "hotrod"},
                "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
            },
        },
        {
            "metadata": {"name": "collector", "namespace": "otel"},
            "spec": {
                "clusterIP": collector_ip,
                "selector": {"app": "collector"},
                "ports": [{"name": "otlp-http", "port": 4318}],
            },
        },
    ]
    pods = {"hotrod": hotrod, "collector-x": sink}
    lock = threading.Lock()
    node: LocalNode

    def on_status(namespace: str, name: str, status: Obj) -> None:
        with lock:
            key = "hotrod" if name.startswith("hotrod") else name
            pods[key]["status"] = status
            node.sync(list(pods.values()), services)

    node = LocalNode(tmp_path, on_status, pod_ips=LoopbackPool(f"127.{random.randint(150, 250)}")).start()
    try:
        with lock:
            node.sync(list(pods.values()), services)
        wait(lambda: all(p["status"]["containerStatuses"][0]["ready"] for p in pods.values()))
        status = hotrod["status"]["containerStatuses"][0]
        assert status["image"] == "jaegertracing/example-hotrod:1.75.0"
        assert status["resources"] == {"limits": {"memory": "100M"}}
        url = f"http://{hotrod_ip}:8080/dispatch?customer=123"
        reply = wait(lambda: json.loads(urllib.request.urlopen(url, timeout=10).read()))
        assert reply["Driver"].startswith("T7")
        config = json.loads(
            urllib.request.urlopen(f"http://{hotrod['status']['podIP']}:8080/config", timeout=5).read()
        )
        assert config["version"] == "1.75.0"  # the image's tag
        assert wait(
            lambda: "POST /v1/traces application/x-protobuf" in node.node.logs("otel", "collector-x").decode()
        )
        assert "Starting all services" in node.node.logs("hotrod", "hotrod-7c8d9f-abcde").decode()
    finally:
        node.close(stop_pods=True)
