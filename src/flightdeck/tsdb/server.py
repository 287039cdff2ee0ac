"""In-process Prometheus-compatible server: storage + HTTP API (+ scraping, + durability).

from flightdeck.tsdb.server import start_server
srv = start_server(storage, "127.0.0.1", 0, scrape_config=config)   # port 0: pick a free one
srv.url                      # "http://127.0.0.1:PORT"
srv.discovery.set_pods(pods) # feed kubernetes_sd_configs (role: pod) with Pod objects
srv.stop()

With ``durable`` (a :class:`~flightdeck.tsdb.persist.DurableStorage`), the server also snapshots the
store every ``snapshot_interval_s`` and on :meth:`TSDBServer.stop`; retention runs every minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flightdeck.tsdb.api import PrometheusAPI, make_server
from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.scrape.discovery import DiscoveryHub
from flightdeck.tsdb.storage import Storage

if TYPE_CHECKING:
    from flightdeck.tsdb.persist import DurableStorage
    from flightdeck.tsdb.scrape.config import ScrapeConfigFile
    from flightdeck.tsdb.scrape.manager import ScrapeManager

log = logging.getLogger("flightdeck.tsdb")


class TSDBServer:
    def __init__(
        self,
        storage: Storage,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        scrape_config: ScrapeConfigFile | None = None,
        now: Callable[[], float] = time.time,
        discovery: DiscoveryHub | None = None,
        durable: DurableStorage | None = None,
        query_timeout_s: float = 120.0,
        max_samples: int = 50_000_000,
        snapshot_interval_s: float = 300.0,
        config_dir: str | Path | None = None,
        external_url: str = "",
    ) -> None:
        self.storage = storage
        self.durable = durable
        self.discovery = discovery or DiscoveryHub()
        interval_ms = 60_000
        if scrape_config is not None:
            interval_ms = int(scrape_config.evaluation_interval * 1000)
        self.engine = Engine(storage, no_step_subquery_interval_ms=interval_ms, max_samples=max_samples)
        self.scrape_manager: ScrapeManager | None = None
        if scrape_config is not None:
            from flightdeck.tsdb.scrape.manager import ScrapeManager

            self.scrape_manager = ScrapeManager(
                storage, scrape_config, discovery=self.discovery, base_dir=config_dir
            )
        self.api = PrometheusAPI(
            storage,
            self.engine,
            now=now,
            scrape=self.scrape_manager,
            config=scrape_config,
            query_timeout_s=query_timeout_s,
            external_url=external_url,
        )
        self._httpd = make_server(self.api, host, port)
        # The listen address is known once bound (port 0 picks one); the targets page needs it.
        self.api.listen_address = f"{self.host}:{self.port}"
        if not external_url:
            self.api.external_url = PrometheusAPI.default_external_url(self.api.listen_address)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="tsdb-http", daemon=True)
        self._snapshot_interval = snapshot_interval_s
        self._stop = threading.Event()
        self._maintenance = threading.Thread(target=self._maintain, name="tsdb-maintenance", daemon=True)

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TSDBServer:
        self._thread.start()
        if self.scrape_manager is not None:
            self.scrape_manager.start()
        self._maintenance.start()
        return self

    def _maintain(self) -> None:
        last_snapshot = time.monotonic()
        while not self._stop.wait(min(60.0, self._snapshot_interval)):
            try:
                self.storage.apply_retention()
                if self.durable is not None and time.monotonic() - last_snapshot >= self._snapshot_interval:
                    self.durable.snapshot()
                    last_snapshot = time.monotonic()
            except Exception:  # keep serving; the failure is logged with its traceback
                log.exception("storage maintenance failed")

    def stop(self) -> None:
        self._stop.set()
        if self.scrape_manager is not None:
            self.scrape_manager.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self._maintenance.is_alive():
            self._maintenance.join(timeout=5)
        if self.durable is not None:
            self.durable.close()


def start_server(
    storage: Storage | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    scrape_config: ScrapeConfigFile | None = None,
    discovery: DiscoveryHub | None = None,
) -> TSDBServer:
    """Start the HTTP API (and scraping, if ``scrape_config`` is given) in background threads."""
    return TSDBServer(
        storage or Storage(), host, port, scrape_config=scrape_config, discovery=discovery
    ).start()
