"""Go's path.Match (the git directory generator's matcher): Go's own behaviour table, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.gitops import gopath

ERR = "error"

CASES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", ERR),
    ("[-]", "-", ERR),
    ("[x-]", "x", ERR),
    ("[x-]", "-", ERR),
    ("[x-]", "z", ERR),
    ("[-x]", "x", ERR),
    ("[-x]", "-", ERR),
    ("[-x]", "a", ERR),
    ("\\", "a", ERR),
    ("[a-b-c]", "a", ERR),
    ("[", "a", ERR),
    ("[^", "a", ERR),
    ("[^bc", "a", ERR),
    ("a[", "a", ERR),
    ("a[", "ab", ERR),
    ("a[", "x", ERR),
    ("a/b[", "x", ERR),
    ("*x", "xxx", True),
    # The shapes ApplicationSets use.
    ("*", "hotrod", True),
    ("*", "hotrod/base", False),
    ("apps/*", "apps/hotrod", True),
    ("apps/*", "apps", False),
    ("appset.yaml", "appset.yaml", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), CASES)
def test_match(pattern: str, name: str, expected: bool | str) -> None:
    if expected == ERR:
        with pytest.raises(gopath.BadPattern, match="syntax error in pattern"):
            gopath.match(pattern, name)
    else:
        assert gopath.match(pattern, name) is expected


_SAFE = st.text(
    alphabet=st.characters(blacklist_characters="*?[]\\", blacklist_categories=("Cs",)), max_size=20
)


@given(_SAFE)
def test_a_literal_matches_itself(text: str) -> None:
    assert gopath.match(text, text)


@given(_SAFE.filter(lambda s: "/" not in s))
def test_star_matches_any_single_segment(text: str) -> None:
    assert gopath.match("*", text)
    assert not gopath.match("*", text + "/x")


@pytest.mark.parametrize(
    ("path", "base", "dirname", "clean"),
    [
        ("a/b/c", "c", "a/b", "a/b/c"),
        ("a/b/", "b", "a/b", "a/b"),
        ("hotrod", "hotrod", ".", "hotrod"),
        ("", ".", ".", "."),
        ("/", "/", "/", "/"),
        ("a/../b/./c//", "c", "b/c", "b/c"),
    ],
)
def test_base_dir_clean(path: str, base: str, dirname: str, clean: str) -> None:
    assert gopath.base(path) == base
    assert gopath.dirname(path) == dirname
    assert gopath.clean(path) == clean
