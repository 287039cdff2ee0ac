"""ApplicationSet {{param}} rendering (Argo CD's fasttemplate rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.gitops.fasttemplate import TemplateError, render, replace

PARAMS = {
    "path": "apps/hotrod",
    "path.basename": "hotrod",
    "path[0]": "apps",
    "path[1]": "hotrod",
    "path.basenameNormalized": "hotrod",
    "cluster": "in-cluster",
    "count": 3,  # not a string: left alone, as Argo CD's .(string) assertion does
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{path}}", "apps/hotrod"),
        ("{{ path.basename }}", "hotrod"),
        ("{{\tpath[1] }}", "hotrod"),
        # Go's ".*{{.*}}.*" does not cross newlines, so this is not a template at all.
        ("{{\tpath[1]\n}}", "{{\tpath[1]\n}}"),
        ("{{path[0]}}-{{path[1]}}", "apps-hotrod"),
        ("{{path.basenameNormalized}}", "hotrod"),
        ("prefix-{{cluster}}-suffix", "prefix-in-cluster-suffix"),
        ("{{nope}}", "{{nope}}"),
        ("{{ nope }}", "{{ nope }}"),
        ("{{}}", "{{}}"),
        ("{{count}}", "{{count}}"),
        ("no template", "no template"),
        ("{{a", "{{a"),
        ("}}{{path}}", "}}apps/hotrod"),
        ("{{path}\n}", "{{path}\n}"),
        ("{{{path}}}", "{{{path}}}"),
    ],
)
def test_replace(template: str, expected: str) -> None:
    assert replace(template, PARAMS) == expected


def test_unclosed_tag_after_a_valid_one_is_an_error() -> None:
    with pytest.raises(TemplateError) as exc:
        replace("{{path}} {{path", PARAMS)
    assert str(exc.value) == (
        'invalid template: Cannot find end tag="}}" in the template="{{path}} {{path" starting from "path"'
    )


def test_render_walks_maps_lists_and_keys_and_drops_nulls() -> None:
    template = {
        "metadata": {"name": "{{path.basename}}", "labels": {"{{cluster}}": "x"}, "gone": None},
        "spec": {"list": ["{{path}}", 7, True], "n": 1.5},
    }
    assert render(template, PARAMS) == {
        "metadata": {"name": "hotrod", "labels": {"in-cluster": "x"}},
        "spec": {"list": ["apps/hotrod", 7, True], "n": 1.5},
    }


@given(st.text(alphabet=st.characters(blacklist_characters="{}", blacklist_categories=("Cs",))))
def test_text_without_braces_is_unchanged(text: str) -> None:
    assert replace(text, PARAMS) == text
