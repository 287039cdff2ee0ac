"""Remote write: the hand-written WriteRequest decoder (round trips, garbage never crashes it) and the
receiver answering exactly like Prometheus 2.42's (same requests sent to both, same status and text,
same data stored)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.tsdb.remotewrite import (
    DecodeError,
    RemoteWriteReceiver,
    compress,
    decode_write_request,
    encode_write_request,
)
from flightdeck.tsdb.server import TSDBServer
from flightdeck.tsdb.storage import Storage, float_bits
from tests.support.prometheus import free_port, prometheus_binary

_names = st.text(alphabet="abcxyz_", min_size=1, max_size=6)
_series = st.tuples(
    st.lists(st.tuples(_names, st.text(max_size=8)), min_size=1, max_size=4, unique_by=lambda p: p[0]),
    st.lists(
        st.tuples(
            st.integers(-(2**62), 2**62),
            st.one_of(st.floats(allow_nan=False), st.just(0.0), st.just(1.5)),
        ),
        max_size=12,
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_series, max_size=5), st.booleans())
def test_round_trip(
    series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]], regular: bool
) -> None:
    items = []
    for labels, samples in series:
        if regular:  # the shape real senders produce: millisecond times, non-zero values
            samples = [(1_700_000_000_000 + i * 15_000, float(i) + 0.5) for i in range(len(samples) + 4)]
        ts = np.array([t for t, _ in samples], dtype=np.int64)
        vs = np.array([v for _, v in samples], dtype=np.float64)
        items.append((labels, ts, vs))
    req = decode_write_request(encode_write_request(items))
    assert len(req.series) == len(items)
    offset = 0
    for i, (labels, ts, vs) in enumerate(items):
        assert req.labels(i) == labels
        n = int(req.counts[i])
        assert req.ts[offset : offset + n].tolist() == ts.tolist()
        # proto3 omits a zero value, -0.0 included (as Go's encoder does): it reads back as 0.0.
        want = [float_bits(v if v != 0 else 0.0) for v in vs.tolist()]
        assert [float_bits(v) for v in req.vs[offset : offset + n].tolist()] == want
        offset += n


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_garbage_never_crashes(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_write_request(data)
    outcome = RemoteWriteReceiver(Storage()).handle(data)
    assert outcome.status in (204, 400, 500)


# -- against the real receiver -------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _label(name: str, value: str) -> bytes:
    return _field(1, _field(1, name.encode()) + _field(2, value.encode()))


def _sample(value: float, t: int) -> bytes:
    import struct

    return _field(2, b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(t))


NOW = int(time.time() * 1000) // 1000 * 1000
CASES: list[tuple[str, bytes]] = [
    (
        "ok",
        _field(
            1, _label("__name__", "rw_a") + _label("x", "1") + _sample(1.0, NOW) + _sample(2.0, NOW + 1000)
        ),
    ),
    (
        "in-request out of order is dropped",
        _field(1, _label("__name__", "rw_b") + _sample(1.0, NOW) + _sample(2.0, NOW - 5000)),
    ),
    ("out of order", _field(1, _label("__name__", "rw_a") + _label("x", "1") + _sample(3.0, NOW - 60_000))),
    (
        "transaction rolled back",
        _field(1, _label("__name__", "rw_c") + _sample(1.0, NOW))
        + _field(1, _label("__name__", "rw_a") + _label("x", "1") + _sample(9.0, NOW)),
    ),
    (
        "duplicate in request",
        _field(1, _label("__name__", "rw_d") + _sample(1.0, NOW))
        + _field(1, _label("__name__", "rw_d") + _sample(2.0, NOW)),
    ),
    ("same value again", _field(1, _label("__name__", "rw_a") + _label("x", "1") + _sample(2.0, NOW + 1000))),
    (
        "other value same time",
        _field(1, _label("__name__", "rw_a") + _label("x", "1") + _sample(7.0, NOW + 1000)),
    ),
    ("too old", _field(1, _label("__name__", "rw_e") + _sample(1.0, NOW - 3 * 3600_000))),
    ("empty label set", _field(1, _sample(1.0, NOW))),
    (
        "duplicate label names",
        _field(1, _label("__name__", "rw_f") + _label("a", "1") + _label("a", "2") + _sample(1.0, NOW)),
    ),
    ("unsorted labels", _field(1, _label("z", "1") + _label("__name__", "rw_g") + _sample(1.0, NOW))),
    ("empty label value", _field(1, _label("__name__", "rw_h") + _label("e", "") + _sample(1.0, NOW))),
    ("no samples", _field(1, _label("__name__", "rw_i"))),
    ("native histogram", _field(1, _label("__name__", "rw_j") + _field(4, b""))),
    ("exemplar only", _field(1, _label("__name__", "rw_k") + _sample(4.0, NOW) + _field(3, b""))),
    (
        "metadata",
        _field(3, b"\x08\x01\x12\x03abc") + _field(1, _label("__name__", "rw_l") + _sample(5.0, NOW)),
    ),
    ("wrong wire type", b"\x08\x01"),
    ("truncated", b"\x0a\x05abc"),
    ("empty", b""),
]


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="flightdeck-rw-"))
    (work / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    proc = subprocess.Popen(
        [prometheus_binary(), f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    flightdeck = TSDBServer(Storage(out_of_bounds_ms=3_600_000)).start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not start")
        yield f"http://127.0.0.1:{port}", flightdeck.url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        flightdeck.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.prometheus
def test_same_answers_as_prometheus(receivers: tuple[str, str]) -> None:
    prom, fd = receivers
    with httpx.Client(timeout=10) as client:
        for name, body in CASES:
            answers = [client.post(f"{url}/api/v1/write", content=compress(body)) for url in (prom, fd)]
            assert answers[0].status_code == answers[1].status_code, name
            assert answers[0].text == answers[1].text, name
        for url in (prom, fd):  # garbage that is not even snappy
            resp = client.post(f"{url}/api/v1/write", content=b"garbage")
            assert (resp.status_code, resp.text) == (400, "snappy: corrupt input\n")
        resp = [client.get(f"{url}/api/v1/write") for url in (prom, fd)]
        assert resp[0].status_code == resp[1].status_code == 405
        params = {"query": '{__name__=~"rw_.*"}[10m]', "time": str(NOW / 1000 + 5)}
        stored = [
            client.get(f"{url}/api/v1/query", params=params).json()["data"]["result"] for url in (prom, fd)
        ]
        key = [sorted((str(sorted(r["metric"].items())), r["values"]) for r in rs) for rs in stored]
        assert key[0] == key[1]
