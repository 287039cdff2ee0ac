"""Shared fixtures: a programmable exporter and the real Prometheus scraping it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.exporter import MetricsExporter
from tests.support.prometheus import PrometheusServer


@pytest.fixture(scope="module")
def exporter() -> Iterator[MetricsExporter]:
    exp = MetricsExporter()
    exp.start()
    yield exp
    exp.stop()


@pytest.fixture(scope="module")
def prometheus(exporter: MetricsExporter) -> Iterator[PrometheusServer]:
    server = PrometheusServer([exporter.address]).start()
    yield server
    server.stop()
