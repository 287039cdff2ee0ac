"""``/metrics`` counts server spans like the original's rpcmetrics (spec §6.7, TV-23)."""

from __future__ import annotations

import re

from flightdeck.apps.hotrod.metrics import normalize_endpoint
from tests.apps.conftest import Running, get

SERIES = re.compile(r"^(?P<name>[a-z_]+)(\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, line
        labels = tuple(tuple(p.split("=", 1)) for p in m["labels"].split(",")) if m["labels"] else ()
        out[(m["name"], tuple((k, v.strip('"')) for k, v in labels))] = float(m["value"])
    return out


def test_counters_after_dispatches(hotrod: Running) -> None:
    for customer in ("123", "567", "392"):
        assert get(hotrod.url + f"/dispatch?customer={customer}").status == 200
    assert get(hotrod.url + "/dispatch?customer=abc").status == 400
    assert get(hotrod.url + "/dispatch?customer=999").status == 500
    text = get(hotrod.url + "/metrics").text
    series = parse(text)

    def requests(endpoint: str, error: str) -> float:
        return series[("hotrod_requests_total", (("endpoint", endpoint), ("error", error)))]

    def http(endpoint: str, klass: str) -> float:
        return series[("hotrod_http_requests_total", (("endpoint", endpoint), ("status_code", klass)))]

    assert requests("/dispatch", "false") == 4 and requests("/dispatch", "true") == 1
    assert requests("/customer", "false") == 3 and requests("/customer", "true") == 1
    assert requests("/route", "false") == 30 and requests("/route", "true") == 0
    assert requests("driver.DriverService/FindNearest", "false") == 3
    assert [http("/dispatch", k) for k in ("2xx", "3xx", "4xx", "5xx")] == [3, 0, 1, 1]
    assert [http("/customer", k) for k in ("2xx", "3xx", "4xx", "5xx")] == [3, 0, 0, 1]
    # gRPC spans carry no HTTP status: the series exist, at zero
    assert [http("driver.DriverService/FindNearest", k) for k in ("2xx", "3xx", "4xx", "5xx")] == [0, 0, 0, 0]
    # the scrape itself is counted only after it is served
    assert ("hotrod_requests_total", (("endpoint", "/metrics"), ("error", "false"))) not in series

    endpoints = {"/customer", "/dispatch", "/route", "driver.DriverService/FindNearest"}
    latency = [k for k in series if k[0] == "hotrod_request_latency_bucket"]
    assert {dict(labels)["endpoint"] for _, labels in latency} == endpoints
    assert {dict(labels)["le"] for _, labels in latency} == {
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    }  # fmt: skip
    ok = (("endpoint", "/dispatch"), ("error", "false"))
    assert series[("hotrod_request_latency_count", ok)] == 4
    assert series[("hotrod_request_latency_bucket", (*ok, ("le", "+Inf")))] == 4
    assert series[("hotrod_request_latency_sum", ok)] > 0
    assert "# HELP hotrod_requests_total requests\n# TYPE hotrod_requests_total counter\n" in text
    assert "# TYPE hotrod_request_latency histogram" in text
    assert series[("process_resident_memory_bytes", ())] > 0

    text2 = get(hotrod.url + "/metrics").text
    assert parse(text2)[("hotrod_requests_total", (("endpoint", "/metrics"), ("error", "false")))] == 1
    # families sorted by name, series by label values (client_golang's order)
    names = [line.split()[2] for line in text2.splitlines() if line.startswith("# TYPE")]
    assert names == sorted(names)
    dispatch_lines = [line for line in text2.splitlines() if line.startswith("hotrod_requests_total{")]
    assert dispatch_lines == sorted(dispatch_lines, key=lambda line: line.split("}")[0])


def test_endpoint_normalisation() -> None:
    assert normalize_endpoint("driver.DriverService/FindNearest") == "driver.DriverService/FindNearest"
    assert normalize_endpoint("GET /a-b c") == "GET_/a_b_c"
    assert normalize_endpoint("é") == "__"  # byte-wise, as the original
