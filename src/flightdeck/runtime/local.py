"""The whole local node in one object, as the server wires it: cluster names, Service load balancers, the
forward proxy and the pod runtime, sharing one network event loop.

    node = LocalNode(state_dir, on_status, lookup=store_lookup, on_event=record_event, on_stopped=finish_delete)
    node.add_platform("prometheus-server", "prometheus", "127.0.0.1", {80: ("127.0.0.1", 9090)})
    problems = node.sync(pods, services)   # after every change of Pods or Services in the store
    node.refresh()                          # after ConfigMaps/Secrets changed
    node.close(stop_pods=True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from flightdeck.runtime.catalog import ImageCatalog
from flightdeck.runtime.env import Lookup
from flightdeck.runtime.http_proxy import ForwardProxy
from flightdeck.runtime.ipam import LoopbackPool
from flightdeck.runtime.names import ClusterNames
from flightdeck.runtime.netloop import NetLoop
from flightdeck.runtime.node import EventCallback, Node, StatusCallback, StoppedCallback
from flightdeck.runtime.service_proxy import ServiceProxies

Obj = dict[str, Any]


class LocalNode:
    def __init__(
        self,
        state_dir: Path,
        on_status: StatusCallback,
        *,
        lookup: Lookup | None = None,
        on_event: EventCallback | None = None,
        on_stopped: StoppedCallback | None = None,
        images_file: Path | None = None,
        node_name: str = "flightdeck",
        pod_ips: LoopbackPool | None = None,
    ) -> None:
        state_dir = Path(state_dir)
        self.net = NetLoop("flightdeck-net").start()
        self.names = ClusterNames(state_dir / "cluster-hosts")
        self.services = ServiceProxies(self.net)
        self.proxy = ForwardProxy(self.names.resolve, self.net)
        self.catalog = ImageCatalog(config_path=images_file or state_dir / "images.yaml")
        self.node = Node(
            state_dir,
            self.catalog,
            self.names,
            on_status,
            lookup=lookup,
            on_event=on_event,
            on_stopped=on_stopped,
            proxy_for=self.proxy.url_for,
            node_name=node_name,
            pod_ips=pod_ips,
        )

    def start(self) -> LocalNode:
        self.node.start()
        return self

    def sync(self, pods: Sequence[Obj], services: Sequence[Obj]) -> list[str]:
        """Pods bound to this node (all of them) and all Services; returns the Services' problems."""
        self.names.set_services(services)
        self.node.sync(pods)
        return self.services.sync(services, pods)

    def refresh(self) -> None:
        self.node.refresh()

    def add_platform(
        self, name: str, namespace: str, ip: str, ports: Mapping[int, tuple[str, int]] | None = None
    ) -> None:
        self.names.add_platform(name, namespace, ip, ports)

    def hosts_file(self, namespace: str = "default") -> Path:
        """For ``resolver.install(path)`` in the server itself (platform names are the same everywhere)."""
        return self.names.hosts_file(namespace)

    def read_logs(
        self, namespace: str, name: str, container: str | None, previous: bool, follow: bool
    ) -> Iterator[bytes]:
        return self.node.read_logs(namespace, name, container, previous, follow)

    def close(self, stop_pods: bool = True) -> None:
        self.node.close(stop_pods=stop_pods)
        self.services.close()
        self.proxy.close()
        self.net.stop()
