"""The collector's own metrics, served on :8888 ``/metrics`` like otelcol's internal telemetry.

Upstream exports them through the OTel Go SDK's Prometheus exporter configured ``without_type_suffix``,
``without_units`` and ``without_scope_info``: so counters keep their bare names
(``otelcol_receiver_accepted_spans``), labels are only the instrument's attributes
(``receiver``/``transport``, ``exporter``, ``data_type``…), and a ``target_info`` series carries the
resource. Counters are plain Python floats behind a small object: adding is one attribute update.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping

from flightdeck.collector import expfmt
from flightdeck.collector.expfmt import GAUGE_T, Family, Series

TARGET_INFO = "target_info"

LabelKey = tuple[tuple[str, str], ...]


class CounterHandle:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def add(self, value: float = 1.0) -> None:
        self.value += value


class _Family:
    __slots__ = ("description", "kind", "series")

    def __init__(self, kind: str, description: str) -> None:  # kind: expfmt's "counter" / "gauge"
        self.kind = kind
        self.description = description
        self.series: dict[LabelKey, CounterHandle | Callable[[], float]] = {}


class TelemetryRegistry:
    """Implements :class:`flightdeck.collector.component.Telemetry`."""

    def __init__(self, service_name: str = "otelcol-contrib", service_version: str = "0.142.0") -> None:
        self._families: dict[str, _Family] = {}
        self.instance_id = str(uuid.uuid4())
        self.resource = {
            "service.instance.id": self.instance_id,
            "service.name": service_name,
            "service.version": service_version,
        }
        self._started = time.monotonic()
        self._register_process_metrics()

    def _family(self, name: str, kind: str, description: str) -> _Family:
        fam = self._families.get(name)
        if fam is None:
            fam = self._families[name] = _Family(kind, description)
        return fam

    def counter(self, name: str, description: str, labels: Mapping[str, str]) -> CounterHandle:
        fam = self._family(name, "counter", description)
        key = tuple(sorted(labels.items()))
        handle = fam.series.get(key)
        if not isinstance(handle, CounterHandle):
            handle = CounterHandle()
            fam.series[key] = handle
        return handle

    def gauge(
        self, name: str, description: str, labels: Mapping[str, str], read: Callable[[], float]
    ) -> None:
        self.observe(name, description, labels, read, "gauge")

    def observe(
        self,
        name: str,
        description: str,
        labels: Mapping[str, str],
        read: Callable[[], float],
        kind: str = "gauge",
    ) -> None:
        """An observable instrument read at scrape time (``kind`` counter for observable counters)."""
        self._family(name, kind, description).series[tuple(sorted(labels.items()))] = read

    def value(self, name: str, labels: Mapping[str, str]) -> float | None:
        """The current value of one series (tests and the benchmark read it)."""
        fam = self._families.get(name)
        if fam is None:
            return None
        item = fam.series.get(tuple(sorted(labels.items())))
        if item is None:
            return None
        return item.value if isinstance(item, CounterHandle) else float(item())

    def _register_process_metrics(self) -> None:
        self.observe(
            "otelcol_process_uptime",
            "Uptime of the process [Alpha]",
            {},
            lambda: time.monotonic() - self._started,
            "counter",
        )
        self.gauge(
            "otelcol_process_memory_rss", "Total physical memory (resident set size) [Alpha]", {}, _rss_bytes
        )
        self.observe(
            "otelcol_process_cpu_seconds",
            "Total CPU user and system time in seconds [Alpha]",
            {},
            lambda: sum(os.times()[:2]),
            "counter",
        )

    def families(self) -> list[Family]:
        """Every family with its current values, sorted by name like client_golang's Gather (series by
        label count, then label values), plus ``target_info`` with the resource."""
        out: list[Family] = []
        families = dict(self._families)
        for name in sorted([*families, TARGET_INFO]):
            if name == TARGET_INFO:
                labels = tuple(sorted((k.replace(".", "_"), v) for k, v in self.resource.items()))
                out.append(Family(TARGET_INFO, "Target metadata", GAUGE_T, [Series(labels, value=1.0)]))
                continue
            fam = families[name]
            if not fam.series:
                continue
            series = [
                Series(key, value=item.value if isinstance(item, CounterHandle) else float(item()))
                for key, item in sorted(
                    fam.series.items(), key=lambda kv: (len(kv[0]), [v for _, v in kv[0]])
                )
            ]
            out.append(Family(name, fam.description, fam.kind, series))
        return out

    def render(self) -> bytes:
        """Prometheus text exposition (0.0.4) of :meth:`families`."""
        return expfmt.encode(self.families(), expfmt.negotiate("", enable_open_metrics=False))


def _rss_bytes() -> float:
    """Current resident set size from /proc (cheap: one small read)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return float(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return 0.0
