"""Exposition parsers: Prometheus 2.42's error texts for malformed input (the cases its own test suite
pins), the valid corner cases, and the regex fast path agreeing with the exact parser on anything."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.tsdb.scrape.textparse import parse, parse_text, series_labels

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _bytes(text: str) -> bytes:
    # \xff in a case means the raw byte 0xff (invalid UTF-8), as in Prometheus' Go tests.
    return "".join(chr(ord(c)) for c in text).encode("latin-1") if "\xff" in text else text.encode()


PROM_ERRORS = [
    ("a", 'expected value after metric, got "INVALID"'),
    ("a{b='c'} 1\n", 'expected label value, got "INVALID"'),
    ("a{b=\n", 'expected label value, got "INVALID"'),
    ('a{\xff="foo"} 1\n', 'expected label name, got "INVALID"'),
    ('a{b="\xff"} 1\n', "invalid UTF-8 label value"),
    ("a true\n", 'strconv.ParseFloat: parsing "true": invalid syntax'),
    ('something_weird{problem="', 'expected label value, got "INVALID"'),
    ('empty_label_name{=""} 0', 'expected label name, got "EQUAL"'),
    ("foo 1_2\n", "unsupported character in float"),
    ("foo 0x1p-3\n", "unsupported character in float"),
    ("foo 0 1_2\n", 'expected next entry after timestamp, got "INVALID"'),
    ('{a="ok"} 1', '"INVALID" is not a valid start token'),
    ("# TYPE #\n#EOF\n", 'expected metric name after TYPE, got "INVALID"'),
    ("# HELP #\n#EOF\n", 'expected metric name after HELP, got "INVALID"'),
    ('a{b=\x00"ssss"} 1\n', 'expected label value, got "INVALID"'),
    ('a{b="\x00', 'expected label value, got "INVALID"'),
    ('a{b\x00="hiih"}\t1', 'expected equal, got "INVALID"'),
    ('a\x00{b="ddd"} 1', 'expected value after metric, got "INVALID"'),
    ("a 0 1\x00", 'expected next entry after timestamp, got "INVALID"'),
    ("a 1 2 3", 'expected next entry after timestamp, got "TIMESTAMP"'),
    ("a 1 -5", 'expected timestamp or new record, got "INVALID"'),
    ("a 1e999", 'strconv.ParseFloat: parsing "1e999": value out of range'),
    ("a 1 99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ("# TYPE a nonsense", 'invalid metric type "nonsense"'),
    ("a 1\r\n", 'strconv.ParseFloat: parsing "1\\r": invalid syntax'),
]

OM_ERRORS = [
    ("", "data does not end with # EOF"),
    ("\n", '"INVALID" "\\n" is not a valid start token'),
    ("metric", 'expected value after metric, got "EOF"'),
    ("metric 1\n", "data does not end with # EOF"),
    ("a\n#EOF\n", 'expected value after metric, got "INVALID"'),
    (" a 1\n#EOF\n", '"INVALID" " " is not a valid start token'),
    ("# TYPE u untyped\n#EOF\n", 'invalid metric type "untyped"'),
    ("# TYPE c counter \n#EOF\n", 'invalid metric type "counter "'),
    ("#  TYPE c counter\n#EOF\n", '"INVALID" " " is not a valid start token'),
    ("# TYPE m\n#EOF\n", "expected text in TYPE"),
    ("# UNIT metric suffix\n#EOF\n", 'unit not a suffix of metric "metric"'),
    ("a 1\t2\n#EOF\n", 'strconv.ParseFloat: parsing "1\\t2": invalid syntax'),
    ("a 1 2 \n#EOF\n", 'expected next entry after timestamp, got "INVALID"'),
    ("a 1 2 #\n#EOF\n", 'expected next entry after timestamp, got "TIMESTAMP"'),
    ("# EOF\na 1", "unexpected data after # EOF"),
    ("# EOF\n\n", "unexpected data after # EOF"),
    ("#\tTYPE c counter\n", '"INVALID" "\\t" is not a valid start token'),
    ('a{b="c",} 1\n# EOF\n', 'expected label name, got "BCLOSE"'),
    ('a{,b="c"} 1\n# EOF\n', 'expected label name or left brace, got "COMMA"'),
    ('a{b="c"d="e"} 1\n# EOF\n', 'expected comma, got "LNAME"'),
    ('a{b="\xff"} 1\n# EOF\n', "invalid UTF-8 label value"),
    ('custom_metric_total 1 # {aa="bb"}\n# EOF\n', 'expected value after exemplar labels, got "INVALID"'),
    ('custom_metric 1 # {aa="bb"}', "metric name custom_metric does not support exemplars"),
    ('{b="c",} 1', '"INVALID" "{" is not a valid start token'),
    ("a 1 NaN", "invalid timestamp"),
    ('# TYPE hhh histogram\nhhh_bucket{le="+Inf"} 1 # {aa="bb"} 4 Inf', "invalid exemplar timestamp"),
    ("#", '"INVALID" " " is not a valid start token'),
    ("# H", '"INVALID" " " is not a valid start token'),
    ('custom_metric_total 1 # {b="\x00ss"} 1\n', 'expected label value, got "INVALID"'),
]


@pytest.mark.parametrize(("body", "error"), PROM_ERRORS)
def test_text_format_errors(body: str, error: str) -> None:
    assert parse(_bytes(body)).error == error
    assert parse(_bytes(body), fast=False).error == error


@pytest.mark.parametrize(("body", "error"), OM_ERRORS)
def test_openmetrics_errors(body: str, error: str) -> None:
    assert parse(_bytes(body), OM).error == error
    assert parse(_bytes(body), OM, fast=False).error == error


PROM_VALID = """# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# \tTYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.8", a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
# Hrandom comment starting with prefix of HELP
#
wind_speed{A="2",c="3"} 12345
# comment with escaped \\n newline
# HELP nohelp1
go_gc_duration_seconds { quantile = "1.0", a = "b" } 8.3835e-05
some:aggregate:rate5m{a_b="c"}\t1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  \t123123
testmetric{label="\\"bar\\""} 1
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
nan_and_inf{x="y"} NaN
inf +Inf
multi{a="line
break"} 2
no_comma{a="1"b="2"} 3
# HELP metric foo\x00bar
null_byte_metric{a="abc\x00"} 1"""


def test_text_format_valid_corner_cases() -> None:
    for fast in (True, False):
        res = parse(PROM_VALID, "text/plain; version=0.0.4", fast=fast)
        assert res.error is None
        samples = {
            s: (series_labels(res, s), v, t)
            for s, v, t in zip(res.series, res.values, res.timestamps, strict=True)
        }
        got = [(series_labels(res, s)[0], dict(series_labels(res, s)[1])) for s in res.series]
        assert ("go_gc_duration_seconds", {"quantile": "1.0", "a": "b"}) in got
        assert ("go_goroutines", {}) in got
        assert res.timestamps[res.series.index("go_goroutines")] == 123123
        assert ("testmetric", {"label": '"bar"'}) in got
        assert (
            "msdos_file_access_time_seconds",
            {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'},
        ) in got
        assert ("multi", {"a": "line\nbreak"}) in got
        assert ("no_comma", {"a": "1", "b": "2"}) in got
        assert ("null_byte_metric", {"a": "abc\x00"}) in got
        assert res.types == {"go_gc_duration_seconds": "summary", "go_goroutines": "gauge"}
        assert res.helps["nohelp1"] == "" and res.helps["metric"] == "foo\x00bar"
        assert res.helps["go_gc_duration_seconds"] == "A summary of the GC invocation durations."
        assert math.isnan(res.values[res.series.index('nan_and_inf{x="y"}')])
        assert samples["inf"][1] == math.inf


OM_VALID = """# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile="0"} 4.9351e-05
# HELP help2 escape \\ \\n \\\\ \\" \\x chars
go_goroutines 33 123.123
# TYPE ggh gaugehistogram
ggh_bucket{le="+Inf"} 1 # {cc="dd",xx="yy"} 4 123.123
# TYPE ss stateset
ss{ss="foo"} 1
foo_total 17.0 1520879607.789 # {xx="yy"} 5
# EOF
"""


def test_openmetrics_valid() -> None:
    for fast in (True, False):
        res = parse(OM_VALID, OM, fast=fast)
        assert res.error is None
        assert res.types == {"go_gc_duration_seconds": "summary", "ggh": "gaugehistogram", "ss": "stateset"}
        assert res.units == {"go_gc_duration_seconds": "seconds"}
        assert res.helps["help2"] == 'escape \\ \n \\ " \\x chars'
        assert res.timestamps[res.series.index("go_goroutines")] == 123123
        assert res.timestamps[res.series.index("foo_total")] == 1520879607789
        assert res.values[res.series.index('ggh_bucket{le="+Inf"}')] == 1.0


def test_content_negotiation() -> None:
    body = "a 1\n"
    assert parse(body, "text/plain; version=0.0.4").error is None
    assert parse(body, "").error is None
    assert parse(body, "application/openmetrics-text; version=0.0.1").error == "data does not end with # EOF"
    assert parse(body, "garbage;;").error is None  # unparseable types fall back to the text format


def test_parse_text_compat() -> None:
    samples, types = parse_text('# TYPE x counter\nx{a="b"} 1 5\n')
    assert types == {"x": "counter"}
    assert samples[0].name == "x" and samples[0].labels == (("a", "b"),) and samples[0].timestamp_ms == 5


_pieces = st.sampled_from(
    ["a", "b_c", ":", "{", "}", '"', "=", ",", " ", "  ", "\t", "1", "1.5", "-2", "e3", "\\", "\\n", "\n",
     "#", "# ", "TYPE ", "HELP ", "UNIT ", "counter", "EOF", "+Inf", "NaN", ".", "\x00", "le", '"x"', "_total"]
)  # fmt: skip


def _same(fast: object, slow: object) -> None:
    assert fast == slow


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=30), st.booleans())
def test_fast_path_agrees_with_exact_parser(parts: list[str], openmetrics: bool) -> None:
    body = "".join(parts)
    ctype = OM if openmetrics else ""
    fast = parse(body, ctype)
    slow = parse(body, ctype, fast=False)
    assert fast.error == slow.error
    key = [
        (series_labels(fast, s), v if v == v else "nan", t)
        for s, v, t in zip(fast.series, fast.values, fast.timestamps, strict=True)
    ]
    key2 = [
        (series_labels(slow, s), v if v == v else "nan", t)
        for s, v, t in zip(slow.series, slow.values, slow.timestamps, strict=True)
    ]
    assert key == key2
    assert (fast.types, fast.helps, fast.units) == (slow.types, slow.helps, slow.units)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_never_crashes_on_bytes(body: bytes, openmetrics: bool) -> None:
    res = parse(body, OM if openmetrics else "")
    assert res.error is None or isinstance(res.error, str)
