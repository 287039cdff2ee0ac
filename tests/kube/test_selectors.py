"""Label selectors: LabelSelector dicts and the kubectl string form (apimachinery labels.Parse)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.kube.selectors import (
    EVERYTHING,
    NOTHING,
    SelectorError,
    as_selector,
    from_label_selector,
    parse,
    selector_string,
)


def test_label_selector_semantics() -> None:
    sel = from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "team", "operator": "Exists"},
            ],
        }
    )
    assert sel.matches({"app": "web", "tier": "edge", "team": "x"})
    assert sel.matches({"app": "web", "tier": "edge", "team": "x", "zone": "a"})
    assert not sel.matches({"app": "web", "tier": "edge", "team": "x", "zone": "b"})
    assert not sel.matches({"app": "web", "tier": "edge", "team": "x", "canary": "1"})
    assert not sel.matches({"app": "web", "tier": "edge"})
    assert str(sel) == "app=web,!canary,team,tier in (edge,front),zone notin (b)"
    assert from_label_selector(None) is NOTHING and not NOTHING.matches({})
    assert from_label_selector({}) is EVERYTHING and EVERYTHING.matches({"a": "b"})
    assert selector_string({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    with pytest.raises(SelectorError, match=r'^"Foo" is not a valid label selector operator$'):
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "Foo"}]})


def test_as_selector_accepts_all_forms() -> None:
    labels = {"app": "web", "tier": "front"}
    assert as_selector({"app": "web"}).matches(labels)
    assert as_selector({"matchLabels": {"app": "web"}}).matches(labels)
    assert as_selector("app=web,tier!=back").matches(labels)
    assert as_selector(None).matches(labels)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a=b,c!=d", "a=b,c!=d"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("  env == prod , !canary", "!canary,env==prod"),
        ("a=", "a="),
        ("k>3", "k>3"),
        ("in in (in)", "in in (in)"),
        ("", ""),
    ],
)
def test_parse_canonical_strings(text: str, canonical: str) -> None:
    assert str(parse(text)) == canonical


def test_parse_matching() -> None:
    sel = parse("app=web,tier in (a,b),!canary,v>2")
    assert sel.matches({"app": "web", "tier": "a", "v": "3"})
    assert not sel.matches({"app": "web", "tier": "a", "v": "2"})
    assert not sel.matches({"app": "web", "tier": "c", "v": "3"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=b,", "found '', expected: identifier after ','"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        (
            "a$=b",
            'unable to parse requirement: <nil>: Invalid value: "a$": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
            "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as exc:
        parse(text)
    assert str(exc.value) == message


_names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(lambda s: s not in ("in", "notin"))
_values = st.from_regex(r"[a-zA-Z0-9]{1,5}", fullmatch=True).filter(lambda s: s not in ("in", "notin"))
_requirement = st.one_of(
    st.tuples(_names, st.sampled_from(["=", "==", "!="]), _values).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
    st.tuples(_names, st.sampled_from(["in", "notin"]), st.lists(_values, min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} {t[1]} ({','.join(t[2])})"
    ),
    _names,
    _names.map(lambda n: "!" + n),
)


@given(st.lists(_requirement, min_size=1, max_size=5), st.dictionaries(_names, _values, max_size=5))
def test_round_trip_preserves_meaning(requirements: list[str], labels: dict[str, str]) -> None:
    text = ",".join(requirements)
    sel = parse(text)
    again = parse(str(sel))
    assert str(again) == str(sel)
    assert again.matches(labels) == sel.matches(labels)


@given(st.text(alphabet="ab=!(),<> \tinotx-._/0", max_size=30))
def test_parse_never_crashes(text: str) -> None:
    try:
        sel = parse(text)
    except SelectorError:
        return
    assert str(parse(str(sel))) == str(sel)
