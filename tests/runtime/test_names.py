"""Cluster names per namespace, the hosts files, and the resolver that reads them."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.runtime import resolver
from flightdeck.runtime.names import ClusterNames

SERVICES = [
    {
        "metadata": {"name": "hotrod", "namespace": "hotrod"},
        "spec": {"clusterIP": "127.20.0.2", "ports": [{"port": 8080}]},
    },
    {
        "metadata": {"name": "collector", "namespace": "otel"},
        "spec": {"clusterIP": "127.20.0.3", "ports": [{"port": 4318}]},
    },
    {"metadata": {"name": "headless", "namespace": "otel"}, "spec": {"clusterIP": "None"}},
]


def test_forms_depend_on_the_namespace(tmp_path: Path) -> None:
    names = ClusterNames(tmp_path)
    names.set_services(SERVICES)
    names.add_platform("prometheus-server", "prometheus", "127.30.0.1", {80: ("127.0.0.1", 9090)})
    table = names.table("hotrod")
    for name in (
        "hotrod",
        "hotrod.hotrod",
        "hotrod.hotrod.svc",
        "hotrod.hotrod.svc.cluster.local",
        "collector.otel",
        "collector.otel.svc",
        "collector.otel.svc.cluster.local",
    ):
        assert name in table
    assert "collector" not in table and "headless.otel" not in table
    assert names.table("otel")["collector"] == "127.20.0.3"
    assert table["prometheus-server.prometheus.svc.cluster.local:80"] == "127.0.0.1:9090"
    assert names.resolve("Collector.OTEL.svc.cluster.local.", "hotrod", 4318) == ("127.20.0.3", 4318)
    assert names.resolve("prometheus-server.prometheus.svc.cluster.local", "x", 80) == ("127.0.0.1", 9090)
    assert names.resolve("prometheus-server.prometheus", "x", 9999) == ("127.30.0.1", 9999)
    assert names.resolve("nope", "hotrod", 1) is None
    path = names.hosts_file("hotrod")
    assert json.loads(path.read_text()) == table
    names.set_services(SERVICES[1:])
    assert "hotrod" not in json.loads(path.read_text())
    assert names.service_env("hotrod") == {}
    assert names.service_env("otel")["COLLECTOR_SERVICE_HOST"] == "127.20.0.3"


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps({"web.demo.svc.cluster.local": "127.0.0.1", "moved.demo:80": "127.0.0.1:1"}))
    assert resolver.install(str(path))
    yield path
    resolver.uninstall()


def test_getaddrinfo_resolves_cluster_names(installed: Path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    port = server.server_address[1]
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        with urllib.request.urlopen(f"http://web.demo.svc.cluster.local:{port}/", timeout=5) as reply:
            assert reply.status == 200
    finally:
        server.server_close()
    info = socket.getaddrinfo("moved.demo", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert info[0][4] == ("127.0.0.1", 1)
    assert socket.gethostbyname("WEB.demo.svc.cluster.local.") == "127.0.0.1"
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("absent.demo.svc.cluster.local", 80)
    assert socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4] == ("127.0.0.1", 80)


def test_table_follows_the_file(installed: Path) -> None:
    installed.write_text(json.dumps({"late.demo": "127.0.0.9"}))
    import os
    import time

    os.utime(installed, (time.time() + 5, time.time() + 5))
    table = resolver.table()
    assert table is not None
    table._checked = 0.0  # skip the re-check interval
    assert table.lookup("late.demo") == ("127.0.0.9", None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("web.demo.svc.cluster.local:4317", "127.0.0.1:4317"),
        ("dns:///web.demo.svc.cluster.local:4317", "127.0.0.1:4317"),
        ("dns://8.8.8.8/web.demo.svc.cluster.local:4317", "127.0.0.1:4317"),
        ("moved.demo:80", "127.0.0.1:1"),
        ("web.demo.svc.cluster.local", "127.0.0.1:443"),
        ("unknown.example:4317", "unknown.example:4317"),
        ("ipv4:10.0.0.1:80", "ipv4:10.0.0.1:80"),
        ("unix:/tmp/s", "unix:/tmp/s"),
    ],
)
def test_resolve_target(installed: Path, target: str, expected: str) -> None:
    assert resolver.resolve_target(target) == expected
