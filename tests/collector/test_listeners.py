"""Every collector listener (otlp receiver HTTP and gRPC, health_check, prometheus exporter, own telemetry)
binds through confighttp/netaddr: the same Go ``net.Listen`` error texts, and the confighttp settings
``response_headers`` / ``keep_alives_enabled`` on every HTTP server."""

from __future__ import annotations

import errno
import gzip
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from flightdeck.collector.errors import ConfigError
from flightdeck.collector.netaddr import AddressError, listen_error, split_host_port
from tests.collector.harness import running_collector
from tests.support.prometheus import free_port

IN_USE = OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))


@pytest.mark.parametrize(
    ("endpoint", "exc", "text"),
    [
        ("localhost:4318", IN_USE, "listen tcp 127.0.0.1:4318: bind: address already in use"),
        ("0.0.0.0:8889", IN_USE, "listen tcp 0.0.0.0:8889: bind: address already in use"),
        (":13133", IN_USE, "listen tcp :13133: bind: address already in use"),
        ("[::1]:4317", IN_USE, "listen tcp [::1]:4317: bind: address already in use"),
        (
            "10.9.8.7:4318",
            OSError(errno.EADDRNOTAVAIL, "x"),
            "listen tcp 10.9.8.7:4318: bind: cannot assign requested address",
        ),
        (
            "nowhere.invalid:4318",
            socket.gaierror(-2, "x"),
            "listen tcp: lookup nowhere.invalid: no such host",
        ),
    ],
)
def test_listen_error_texts(endpoint: str, exc: OSError, text: str) -> None:
    assert listen_error(endpoint, exc) == text


def test_listen_error_for_a_bad_address() -> None:
    with pytest.raises(AddressError) as info:
        split_host_port("localhost")
    assert listen_error("localhost", info.value) == "listen tcp: address localhost: missing port in address"


@contextmanager
def occupied() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _config(receiver: str, extra: str = "") -> str:
    return f"""
receivers: {{otlp: {{protocols: {receiver}}}}}
exporters: {{debug: {{}}}}
{extra}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines: {{traces: {{receivers: [otlp], exporters: [debug]}}}}
"""


@pytest.mark.parametrize("proto", ["http", "grpc"])
def test_receiver_port_in_use_fails_start_with_go_text(proto: str) -> None:
    with (
        occupied() as port,
        pytest.raises(ConfigError) as info,
        running_collector(_config(f'{{{proto}: {{endpoint: "127.0.0.1:{port}"}}}}')),
    ):
        pass
    assert str(info.value) == (
        f'cannot start pipelines: failed to start "otlp" receiver: '
        f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    )


def test_health_check_port_in_use_fails_start_with_go_text() -> None:
    http = free_port()
    with occupied() as port, pytest.raises(ConfigError) as info:
        extension = f'extensions: {{health_check: {{endpoint: "127.0.0.1:{port}"}}}}'
        text = _config(f'{{http: {{endpoint: "127.0.0.1:{http}"}}}}', extension)
        with running_collector(text.replace("  telemetry:", "  extensions: [health_check]\n  telemetry:")):
            pass
    assert str(info.value) == (
        'failed to start extensions: failed to start "health_check" extension: '
        f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    )


def test_response_headers_and_keep_alives_on_the_receiver() -> None:
    port = free_port()
    http = (
        f'{{http: {{endpoint: "127.0.0.1:{port}", response_headers: {{X-Served-By: flightdeck}}, '
        "keep_alives_enabled: false}}"
    )
    with running_collector(_config(http)):
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/traces",
            content=b"",
            headers={"content-type": "application/x-protobuf"},
            timeout=5,
        )
        assert r.status_code == 200
        assert r.headers["x-served-by"] == "flightdeck"
        assert r.headers["connection"] == "close"  # Go's SetKeepAlivesEnabled(false)
        missing = httpx.get(f"http://127.0.0.1:{port}/nope", timeout=5)
        assert (missing.status_code, missing.text) == (404, "404 page not found\n")
        assert missing.headers["x-served-by"] == "flightdeck"


def test_own_telemetry_is_served_like_promhttp() -> None:
    otlp, tel = free_port(), free_port()
    text = _config(f'{{http: {{endpoint: "127.0.0.1:{otlp}"}}}}').replace(
        "telemetry: {metrics: {level: none}}",
        f"telemetry: {{metrics: {{readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {tel}}}}}}}}}]}}}}",
    )
    with running_collector(text):
        url = f"http://127.0.0.1:{tel}/metrics"
        plain = httpx.get(url, headers={"accept-encoding": "identity"}, timeout=5)
        assert (
            plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        )
        assert "content-encoding" not in plain.headers
        assert "# TYPE otelcol_process_uptime counter\n" in plain.text
        assert 'target_info{service_instance_id="' in plain.text
        with (
            httpx.Client(timeout=5) as client,
            client.stream("GET", url, headers={"accept-encoding": "gzip"}) as zipped,
        ):
            assert zipped.headers["content-encoding"] == "gzip"
            assert gzip.decompress(b"".join(zipped.iter_raw())).startswith(b"# HELP")
        proto = httpx.get(
            url,
            headers={
                "accept": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            },
            timeout=5,
        )
        assert proto.headers["content-type"].startswith(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        )
        assert (httpx.get(f"http://127.0.0.1:{tel}/other", timeout=5).status_code) == 404
