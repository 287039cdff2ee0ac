from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.tsdb.index import LabelMatcher
from flightdeck.tsdb.promql import Engine
from flightdeck.tsdb.scrape.config import ConfigError, parse_config
from flightdeck.tsdb.scrape.manager import ScrapeManager
from flightdeck.tsdb.scrape.relabel import RelabelConfig, RelabelConfigError, relabel
from flightdeck.tsdb.scrape.textparse import ExpositionError, parse_text
from flightdeck.tsdb.storage import Storage, is_stale_nan

BODY = """# HELP http_requests_total Total.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
trailing_comma{a="b",} NaN
"""


def test_parse_text_format_example() -> None:
    samples, types = parse_text(BODY)
    assert types == {"http_requests_total": "counter"}
    assert [s.name for s in samples] == [
        "http_requests_total",
        "http_requests_total",
        "msdos_file_access_time_seconds",
        "metric_without_timestamp_and_labels",
        "something_weird",
        "trailing_comma",
    ]
    assert (
        samples[0].labels == (("method", "post"), ("code", "200"))
        and samples[0].timestamp_ms == 1395066363000
    )
    assert samples[2].labels[0] == ("path", "C:\\DIR\\FILE.TXT")
    assert samples[2].labels[1] == ("error", 'Cannot find file:\n"FILE.TXT"')
    assert samples[4].value == math.inf and samples[4].timestamp_ms == -3982045
    assert math.isnan(samples[5].value)


@pytest.mark.parametrize(
    "bad", ["a{b=c} 1", "a 1 2 3", 'a{b="c" 1', "1a 2", "a xyz", "# TYPE a nonsense", 'a{b="1",b="2"} 1']
)
def test_parse_errors(bad: str) -> None:
    with pytest.raises(ExpositionError):
        parse_text(bad)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(ExpositionError):
        parse_text(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "{", "}", '"', "=", ",", " ", "1", "\\", "\n", "#", "TYPE", "e", "+Inf", "."]),
        max_size=40,
    )
)
def test_parser_never_crashes_structured(parts: list[str]) -> None:
    with contextlib.suppress(ExpositionError):
        parse_text("".join(parts))


def _cfg(**kw: object) -> RelabelConfig:
    return RelabelConfig.from_dict(kw)


def test_relabel_actions() -> None:
    base = {"__address__": "host:9100", "job": "node", "__meta_x": "A", "env": "Prod"}
    assert (
        relabel(base, [_cfg(source_labels=["__address__"], regex="(.*):.*", target_label="host")])["host"]
        == "host"
    )  # type: ignore[index]
    assert relabel(base, [_cfg(source_labels=["job"], regex="node", action="drop")]) is None
    assert relabel(base, [_cfg(source_labels=["job"], regex="nod", action="keep")]) is None
    assert relabel(base, [_cfg(regex="__meta_(.*)", action="labelmap")])["x"] == "A"  # type: ignore[index]
    assert "env" not in relabel(base, [_cfg(regex="env", action="labeldrop")])  # type: ignore[operator]
    assert set(relabel(base, [_cfg(regex="job|env", action="labelkeep")]) or {}) == {"job", "env"}
    assert (
        relabel(base, [_cfg(source_labels=["env"], target_label="env", action="lowercase")])["env"] == "prod"
    )  # type: ignore[index]
    assert relabel(base, [_cfg(source_labels=["env"], target_label="e", action="uppercase")])["e"] == "PROD"  # type: ignore[index]
    assert relabel(base, [_cfg(source_labels=["job"], target_label="job", action="keepequal")]) == base
    assert relabel(base, [_cfg(source_labels=["job"], target_label="job", action="dropequal")]) is None
    hashed = relabel(
        base, [_cfg(source_labels=["__address__"], target_label="shard", modulus=8, action="hashmod")]
    )
    assert hashed is not None and 0 <= int(hashed["shard"]) < 8
    # replacement that expands to empty removes the target label
    assert "job" not in (
        relabel(base, [_cfg(source_labels=["nope"], regex="(.*)", target_label="job")]) or {}
    )
    with pytest.raises(RelabelConfigError):
        _cfg(action="replace")
    with pytest.raises(RelabelConfigError):
        _cfg(action="bogus", target_label="x")


def test_hashmod_matches_prometheus() -> None:
    # md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8: low 8 bytes 0xedef654fccc4a4d8
    got = relabel({"a": "foo"}, [_cfg(source_labels=["a"], target_label="h", modulus=1000, action="hashmod")])
    assert got is not None and got["h"] == str(0xEDEF654FCCC4A4D8 % 1000)


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


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_config_targets() -> None:
    cfg = parse_config(CONFIG)
    (target,) = cfg.targets()
    assert target.url == "http://a:1/m"
    assert dict(target.labels) == {"instance": "a:1", "job": "app", "team": "x"}
    assert cfg.jobs[0].scrape_timeout == 10.0
    with pytest.raises(ConfigError, match="scrape timeout greater than scrape interval"):
        parse_config("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n")


def test_scrape_loop_virtual_clock_staleness_and_up() -> None:
    bodies = ['x{job="exp"} 1\ndrop_me 1\ngone 5\n', 'x{job="exp"} 2\n', "garbage{"]
    calls: list[str] = []

    def fetch(url: str, timeout: float) -> tuple[int, str]:
        calls.append(url)
        return 200, bodies[min(len(calls) - 1, len(bodies) - 1)]

    storage = Storage()
    clock = FakeClock(1000.0)
    mgr = ScrapeManager(storage, parse_config(CONFIG), clock=clock, fetch=fetch)
    assert mgr.run_due() == 1
    assert mgr.run_due() == 0  # not due yet
    clock.t += 10
    assert mgr.run_due() == 1
    clock.t += 10
    assert mgr.run_due() == 1
    engine = Engine(storage)
    q = engine.instant_query
    (series,) = q("x", 1000_000).value
    assert dict(series[0]) == {
        "__name__": "x",
        "exported_job": "exp",
        "job": "app",
        "instance": "a:1",
        "team": "x",
    }
    assert q("drop_me", 1000_000).value == []
    assert q("gone", 1005_000).value[0][2] == 5.0
    assert q("gone", 1010_000).value == []  # stale marker at the second scrape
    (gone,) = storage.select([LabelMatcher("__name__", "=", "gone")])
    assert is_stale_nan(float(gone.values[-1]))
    assert [v for _, _, v in q("up", 1010_000).value] == [1.0]
    assert [v for _, _, v in q("up", 1020_000).value] == [0.0]
    assert q("x", 1020_000).value == []  # failed scrape: everything goes stale
    assert [v for _, _, v in q("scrape_samples_scraped", 1000_000).value] == [3.0]
    assert [v for _, _, v in q("scrape_samples_post_metric_relabeling", 1000_000).value] == [2.0]
