"""HotROD under test: every port free (0), loopback only, the model's delays scaled down 20×."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flightdeck.apps.hotrod import Config, HotRod

SCALE = 0.05

BASE = Config(
    customer_hostname="127.0.0.1",
    driver_hostname="127.0.0.1",
    frontend_hostname="127.0.0.1",
    route_hostname="127.0.0.1",
    customer_port=0,
    driver_port=0,
    frontend_port=0,
    route_port=0,
    time_scale=SCALE,
    seed=7,
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def get(url: str, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


@dataclass
class Running:
    app: HotRod
    exporter: InMemorySpanExporter

    @property
    def url(self) -> str:
        return self.app.frontend_url

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def trace_of(self, reply: Reply) -> list[ReadableSpan]:
        trace_id = int(reply.headers["traceresponse"].split("-")[1], 16)
        return [s for s in self.spans() if s.context is not None and s.context.trace_id == trace_id]


@pytest.fixture
def start_hotrod() -> Iterator[Callable[..., Running]]:
    started: list[HotRod] = []

    def start(**changes: Any) -> Running:
        exporter = InMemorySpanExporter()
        app = HotRod(replace(BASE, **changes), exporter=exporter, log_out=io.StringIO()).start()
        started.append(app)
        return Running(app, exporter)

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def hotrod(start_hotrod: Callable[..., Running]) -> Running:
    return start_hotrod()
