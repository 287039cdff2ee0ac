"""Scraping on a virtual clock with an in-process fetcher: up and scrape_* series, staleness, failed
scrapes, label clashes, limits, metadata, file/HTTP discovery and targets leaving discovery."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.scrape.config import parse_config
from flightdeck.tsdb.scrape.fetch import FetchError, FetchResult
from flightdeck.tsdb.scrape.manager import ScrapeManager, mutate_labels
from flightdeck.tsdb.scrape.relabel import RelabelConfig, RelabelConfigError, relabel
from flightdeck.tsdb.storage import Storage, is_stale_nan


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class Bodies:
    """A fetcher serving a programmable body per URL."""

    def __init__(self) -> None:
        self.bodies: dict[str, str | Exception] = {}
        self.content_type = "text/plain; version=0.0.4"
        self.calls: list[str] = []

    def __call__(self, url: str, timeout: float, limit: int) -> FetchResult:
        self.calls.append(url)
        body = self.bodies.get(url, FetchError(f'Get "{url}": dial tcp: connect: connection refused'))
        if isinstance(body, Exception):
            raise body
        return FetchResult(self.content_type, body.encode())


def _values(storage: Storage, query: str, t_s: float) -> list[tuple[dict[str, str], float]]:
    res = Engine(storage).instant_query(query, int(t_s * 1000))
    return [(dict(lset), v) for lset, _, v in res.value]


def _advance(mgr: ScrapeManager, clock: FakeClock, until: float) -> None:
    """Run every scrape due up to ``until`` in order, like the scrape loop on a real clock."""
    while True:
        nxt = mgr.next_due()
        if nxt > until:
            clock.t = until
            return
        clock.t = max(clock.t, nxt)
        mgr.run_due()


CONFIG = """
global:
  scrape_interval: 10s
scrape_configs:
  - job_name: app
    metrics_path: /m
    static_configs:
      - targets: ['a:1', 'b:2']
        labels: {team: x}
    relabel_configs:
      - source_labels: [__address__]
        regex: 'b:.*'
        action: drop
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'drop_me'
        action: drop
"""


def test_scrape_loop_staleness_up_and_report() -> None:
    fetch = Bodies()
    url = "http://a:1/m"
    fetch.bodies[url] = '# TYPE x gauge\n# HELP x An x.\nx{job="exp"} 1\ndrop_me 1\ngone 5\n'
    storage = Storage()
    clock = FakeClock(1000.0)
    mgr = ScrapeManager(storage, parse_config(CONFIG), clock=clock, fetch=fetch)
    (state,) = mgr.states
    assert 1000.0 <= state.next_due < 1010.0  # spread within the interval like Prometheus
    first = state.next_due
    _advance(mgr, clock, first)
    assert len(fetch.calls) == 1
    fetch.bodies[url] = 'x{job="exp"} 2\n'
    _advance(mgr, clock, first + 10)
    fetch.bodies[url] = "garbage{"
    _advance(mgr, clock, first + 20)
    assert len(fetch.calls) == 3
    (series, value) = _values(storage, "x", first)[0]
    assert series == {"__name__": "x", "exported_job": "exp", "job": "app", "instance": "a:1", "team": "x"}
    assert value == 1.0
    assert _values(storage, "drop_me", first) == []
    assert _values(storage, "gone", first + 5)[0][1] == 5.0
    assert _values(storage, "gone", first + 10) == []  # stale marker at the second scrape
    (gone,) = storage.select([LabelMatcher("__name__", "=", "gone")])
    assert is_stale_nan(float(gone.values[-1]))
    assert [v for _, v in _values(storage, "up", first + 10)] == [1.0]
    assert [v for _, v in _values(storage, "up", first + 20)] == [0.0]
    assert _values(storage, "x", first + 20) == []  # a failed scrape makes everything stale
    assert [v for _, v in _values(storage, "scrape_samples_scraped", first)] == [3.0]
    assert [v for _, v in _values(storage, "scrape_samples_post_metric_relabeling", first)] == [2.0]
    assert [v for _, v in _values(storage, "scrape_series_added", first)] == [2.0]
    assert [v for _, v in _values(storage, "scrape_series_added", first + 10)] == [0.0]
    # The parse error is the target's lastError, word for word as Prometheus.
    assert state.health == "down"
    assert state.last_error == 'expected label name, got "INVALID"'
    assert state.metadata["x"].type == "gauge" and state.metadata["x"].help == "An x."
    assert mgr.dropped_targets()["app"][0] == (
        ("__address__", "b:2"),
        ("__metrics_path__", "/m"),
        ("__scheme__", "http"),
        ("__scrape_interval__", "10s"),
        ("__scrape_timeout__", "10s"),
        ("job", "app"),
        ("team", "x"),
    )


def test_failed_fetch_and_parse_error_text() -> None:
    fetch = Bodies()
    storage = Storage()
    clock = FakeClock(0.0)
    cfg = parse_config(
        "scrape_configs:\n  - job_name: j\n    scrape_interval: 5s\n    static_configs: [{targets: ['h:9']}]\n"
    )
    mgr = ScrapeManager(storage, cfg, clock=clock, fetch=fetch)
    _advance(mgr, clock, 5.0)
    (state,) = mgr.states
    assert state.health == "down" and "connection refused" in state.last_error
    fetch.bodies["http://h:9/metrics"] = "ok 1\nbad{a=b} 2\n"
    _advance(mgr, clock, 10.0)
    assert state.last_error == 'expected label value, got "INVALID"'
    assert _values(storage, "ok", 10.0) == []  # nothing of a failed scrape is kept …
    assert [v for _, v in _values(storage, "scrape_samples_scraped", 10.0)] == [1.0]  # … but counted
    fetch.content_type = "application/openmetrics-text; version=1.0.0"
    fetch.bodies["http://h:9/metrics"] = "ok 1\n"
    _advance(mgr, clock, 15.0)
    assert state.last_error == "data does not end with # EOF"
    fetch.bodies["http://h:9/metrics"] = "# TYPE ok gauge\n# UNIT ok_seconds seconds\nok 1\n# EOF\n"
    _advance(mgr, clock, 20.0)
    assert state.health == "up" and state.last_error == ""
    assert [v for _, v in _values(storage, "ok", 20.0)] == [1.0]


def test_honor_labels_limits_and_timestamps() -> None:
    fetch = Bodies()
    storage = Storage()
    clock = FakeClock(0.0)
    cfg = parse_config(
        """
scrape_configs:
  - job_name: h
    scrape_interval: 10s
    honor_labels: true
    honor_timestamps: false
    static_configs: [{targets: ['h:1']}]
  - job_name: lim
    scrape_interval: 10s
    sample_limit: 2
    static_configs: [{targets: ['l:1']}]
"""
    )
    fetch.bodies["http://h:1/metrics"] = 'm{job="mine",instance="i"} 1 12345\n'
    fetch.bodies["http://l:1/metrics"] = "a 1\nb 2\nc 3\n"
    mgr = ScrapeManager(storage, cfg, clock=clock, fetch=fetch)
    _advance(mgr, clock, 10.0)
    (series, _) = _values(storage, "m", clock.t)[0]
    assert series == {"__name__": "m", "job": "mine", "instance": "i"}  # honored, ts ignored
    lim = next(s for s in mgr.states if s.pool == "lim")
    assert lim.last_error == "sample limit exceeded" and _values(storage, "a", clock.t) == []


def test_mutate_labels_exported_prefix() -> None:
    got = mutate_labels([("__name__", "m"), ("job", "x"), ("exported_job", "y")], (("job", "j"),), False)
    assert got == {"__name__": "m", "job": "j", "exported_job": "y", "exported_exported_job": "x"}


def test_target_leaving_discovery_goes_stale_after_two_intervals(tmp_path: Path) -> None:
    sd = tmp_path / "targets.json"
    sd.write_text(json.dumps([{"targets": ["f:1"], "labels": {"env": "e"}}]))
    cfg = parse_config(
        f"scrape_configs:\n  - job_name: files\n    scrape_interval: 10s\n    file_sd_configs:\n"
        f"      - files: ['{tmp_path}/*.json']\n"
    )
    fetch = Bodies()
    fetch.bodies["http://f:1/metrics"] = "v 1\n"
    storage = Storage()
    clock = FakeClock(100.0)
    mgr = ScrapeManager(storage, cfg, clock=clock, fetch=fetch)
    mgr.run_due()
    (state,) = mgr.states
    assert dict(state.target.discovered)["__meta_filepath"] == str(sd)
    assert dict(state.labels) == {"env": "e", "instance": "f:1", "job": "files"}
    _advance(mgr, clock, state.next_due)
    last = clock.t
    assert [v for _, v in _values(storage, "v", last)] == [1.0]
    sd.write_text("[]")
    import os

    os.utime(sd, (last + 1, last + 1))
    _advance(mgr, clock, last + 11)
    assert mgr.states == []
    # Still there until two intervals (+10 %) after it left, then stale at the next scrape time.
    assert [v for _, v in _values(storage, "v", last + 9)] == [1.0]
    _advance(mgr, clock, last + 40)
    assert _values(storage, "v", last + 40) == []
    assert _values(storage, "up", last + 40) == []


def test_relabel_actions() -> None:
    def cfg(**kw: object) -> RelabelConfig:
        return RelabelConfig.from_dict(kw)

    base = {"__address__": "host:9100", "job": "node", "__meta_x": "A", "env": "Prod"}
    assert (relabel(base, [cfg(source_labels=["__address__"], regex="(.*):.*", target_label="host")]) or {})[
        "host"
    ] == "host"
    assert relabel(base, [cfg(source_labels=["job"], regex="node", action="drop")]) is None
    assert relabel(base, [cfg(source_labels=["job"], regex="nod", action="keep")]) is None
    assert (relabel(base, [cfg(regex="__meta_(.*)", action="labelmap")]) or {})["x"] == "A"
    assert "env" not in (relabel(base, [cfg(regex="env", action="labeldrop")]) or {})
    assert set(relabel(base, [cfg(regex="job|env", action="labelkeep")]) or {}) == {"job", "env"}
    assert (relabel(base, [cfg(source_labels=["env"], target_label="env", action="lowercase")]) or {})[
        "env"
    ] == "prod"
    assert (relabel(base, [cfg(source_labels=["env"], target_label="e", action="uppercase")]) or {})[
        "e"
    ] == "PROD"
    assert relabel(base, [cfg(source_labels=["job"], target_label="job", action="keepequal")]) == base
    assert relabel(base, [cfg(source_labels=["job"], target_label="job", action="dropequal")]) is None
    # $1x names a group "1x" (Go's template rules): empty, so the label is removed.
    assert "job" not in (
        relabel(base, [cfg(source_labels=["job"], target_label="job", replacement="$1x")]) or {}
    )
    # md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8: low 8 bytes 0xedef654fccc4a4d8
    got = relabel({"a": "foo"}, [cfg(source_labels=["a"], target_label="h", modulus=1000, action="hashmod")])
    assert got is not None and got["h"] == str(0xEDEF654FCCC4A4D8 % 1000)
    for bad, message in (
        ({"action": "replace"}, "relabel configuration for replace action requires 'target_label' value"),
        ({"action": "bogus"}, 'unknown relabel action "bogus"'),
        (
            {"action": "hashmod", "target_label": "x"},
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            {"action": "labeldrop", "source_labels": ["a"]},
            "labeldrop action requires only 'regex', and no other fields",
        ),
        ({"target_label": "1x"}, "\"1x\" is invalid 'target_label' for replace action"),
        ({"regex": "("}, "error parsing regexp: missing closing ): `^(?:()$`"),
    ):
        with pytest.raises(RelabelConfigError) as err:
            RelabelConfig.from_dict(bad)
        assert str(err.value) == message


class _SDHandler(http.server.BaseHTTPRequestHandler):
    payload = b"[]"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def sd_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SDHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sd"
    server.shutdown()
    server.server_close()


def test_http_sd(sd_server: str) -> None:
    _SDHandler.payload = json.dumps([{"targets": ["h1:80", "h2:80"], "labels": {"zone": "z"}}]).encode()
    cfg = parse_config(f"scrape_configs:\n  - job_name: h\n    http_sd_configs:\n      - url: {sd_server}\n")
    mgr = ScrapeManager(Storage(), cfg, clock=FakeClock(0.0), fetch=Bodies())
    mgr.run_due(0.0)
    assert sorted(dict(s.target.labels)["__address__"] for s in mgr.states) == ["h1:80", "h2:80"]
    assert dict(mgr.states[0].target.discovered)["__meta_url"] == sd_server
