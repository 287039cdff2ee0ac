"""HotROD's HTTP surface: bodies, status codes and error texts as the original's (spec §6.4, §10)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable

from tests.apps.conftest import Running, get


def test_dispatch_argument_errors(hotrod: Running) -> None:
    cases = {
        "/dispatch": (400, "Missing required 'customer' parameter\n"),
        "/dispatch?customer=": (400, "Missing required 'customer' parameter\n"),
        "/dispatch?customer=abc": (400, "Parameter 'customer' is not an integer\n"),
        "/dispatch?customer=1.5": (400, "Parameter 'customer' is not an integer\n"),
        "/dispatch?customer=%zz": (400, 'invalid URL escape "%zz"\n'),
        "/dispatch?customer=999": (500, "invalid customer ID\n\n"),
    }
    for path, (status, body) in cases.items():
        reply = get(hotrod.url + path)
        assert (reply.status, reply.text) == (status, body), path
        assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["traceresponse"].startswith("00-")


def test_dispatch_ok_and_config_and_page(hotrod: Running) -> None:
    reply = get(hotrod.url + "/dispatch?customer=731")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    config = get(hotrod.url + "/config")
    assert json.loads(config.body) == {"jaeger": "http://localhost:16686", "version": "1.76.0"}
    page = get(hotrod.url + "/")
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>HotROD - Rides On Demand</title>" in page.text and "v1.76.0" in page.text
    for customer in ("123", "392", "731", "567"):
        assert f'data-customer="{customer}"' in page.text
    assert "traceresponse" in page.text and "/dispatch?customer=" in page.text
    assert get(hotrod.url + "/nothing-here").status == 404


def test_customer_and_route_services(hotrod: Running) -> None:
    app = hotrod.app
    assert app.customer is not None and app.route is not None
    customer = f"http://127.0.0.1:{app.customer.http.port}"
    reply = get(customer + "/customer?customer=123")
    assert reply.text == '{"ID":"123","Name":"Rachel\'s_Floral_Designs","Location":"115,277"}'
    assert get(customer + "/customer").text == "Missing required 'customer' parameter\n"
    route = f"http://127.0.0.1:{app.route.http.port}"
    query = urllib.parse.urlencode({"pickup": "1,2", "dropoff": "3,4"})
    body = json.loads(get(f"{route}/route?{query}").body)
    assert body["Pickup"] == "1,2" and body["Dropoff"] == "3,4" and body["ETA"] % 60_000_000_000 == 0
    assert get(route + "/route?dropoff=1").text == "Missing required 'pickup' parameter\n"
    assert get(route + "/route?pickup=1").text == "Missing required 'dropoff' parameter\n"
    for path in ("/metrics", "/debug/vars"):
        moved = get(route + path)
        assert (moved.status, moved.text) == (404, "endpoint moved to the frontend service\n")


def test_basepath(start_hotrod: Callable[..., Running]) -> None:
    running = start_hotrod(basepath="/hotrod")
    base = running.url
    assert base.endswith("/hotrod")
    assert get(base).status == 200
    assert get(base + "/dispatch?customer=123").status == 200
    assert get(base.removesuffix("/hotrod") + "/dispatch?customer=123").status == 404
    root = next(s for s in running.spans() if s.parent is None and s.name.endswith("dispatch"))
    assert root.name == "/hotrod/dispatch"
