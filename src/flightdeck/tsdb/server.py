"""In-process Prometheus-compatible server: storage + HTTP API (+ optional scraping).

from flightdeck.tsdb.server import start_server
srv = start_server(storage, "127.0.0.1", 0, scrape_config=config)   # port 0: pick a free one
srv.url   # "http://127.0.0.1:PORT"
srv.stop()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flightdeck.tsdb.api import PrometheusAPI, make_server
from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.storage import Storage

if TYPE_CHECKING:
    from flightdeck.tsdb.scrape.config import ScrapeConfigFile
    from flightdeck.tsdb.scrape.manager import ScrapeManager


class TSDBServer:
    def __init__(
        self,
        storage: Storage,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        scrape_config: ScrapeConfigFile | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        interval_ms = 60_000
        if scrape_config is not None:
            interval_ms = int(scrape_config.evaluation_interval * 1000)
        self.engine = Engine(storage, no_step_subquery_interval_ms=interval_ms)
        self.api = PrometheusAPI(storage, self.engine, now=now)
        self._httpd = make_server(self.api, host, port)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="tsdb-http", daemon=True)
        self.scrape_manager: ScrapeManager | None = None
        if scrape_config is not None:
            from flightdeck.tsdb.scrape.manager import ScrapeManager

            self.scrape_manager = ScrapeManager(storage, scrape_config)

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
        return self

    def stop(self) -> None:
        if self.scrape_manager is not None:
            self.scrape_manager.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_server(
    storage: Storage | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    scrape_config: ScrapeConfigFile | None = None,
) -> TSDBServer:
    """Start the HTTP API (and scraping, if ``scrape_config`` is given) in background threads."""
    return TSDBServer(storage or Storage(), host, port, scrape_config=scrape_config).start()
