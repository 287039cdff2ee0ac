"""``$(VAR)`` expansion against the vectors of Kubernetes' expansion tests and a few properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightdeck.runtime.env import expand_command
from flightdeck.runtime.expand import expand, mapping_lookup

VARS = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": "", "BLOCK": "$$"}
LOOKUP = mapping_lookup(VARS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-1", "A-1"),
        ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        ("$$(VAR_B)", "$(VAR_B)"),
        ("$$$(VAR_B)", "$B"),
        ("$$", "$"),
        ("$$$", "$$"),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("$(VAR_REF)", "$(VAR_A)"),  # one level only
        ("$(VAR_EMPTY)", ""),
        ("$(UNDEFINED)", "$(UNDEFINED)"),
        ("$(", "$("),
        ("$()", "$()"),
        ("$(VAR_A", "$(VAR_A"),
        ("$VAR_A", "$VAR_A"),
        ("$", "$"),
        ("$(VAR_A)$", "A$"),
        ("${VAR_A}", "${VAR_A}"),
        ("$($(VAR_A))", "$($(VAR_A))"),  # the name is "$(VAR_A" (up to the first ")"), undefined
        ("$((1 + 2))", "$((1 + 2))"),
        ("ünïcode $(VAR_A)", "ünïcode A"),
    ],
)
def test_vectors(text: str, expected: str) -> None:
    assert expand(text, LOOKUP) == expected


def test_non_ascii_after_dollar_is_byte_for_byte_like_go() -> None:
    # Go appends string(input[0]) — the first UTF-8 byte as a rune — and leaves the continuation byte
    out = expand("$é", LOOKUP)
    assert out.encode("utf-8", "surrogateescape") == b"$\xc3\x83\xa9"


def test_seed_traffic_generator_script_survives_expansion() -> None:
    script = (
        "RAND=$(($(date +%s) % 5))\n"
        'curl -w "Status: %{http_code} | Endpoint: ${ENDPOINT}\\n" "http://hotrod.hotrod.svc.cluster.local:8080${ENDPOINT}"'
    )
    words = ["/bin/sh", "-c", script]
    assert expand_command(words, {"HOSTNAME": "x", "ENDPOINT": "/nope"}) == words


def test_seed_otel_resource_attributes() -> None:
    env = {"POD_NAME": "hotrod-6d9f-abcde", "POD_NAMESPACE": "hotrod", "POD_HASH": "6d9f"}
    value = "hotrod.pod.name=$(POD_NAME),hotrod.namespace=$(POD_NAMESPACE),hotrod.pod.hash=$(POD_HASH)"
    assert expand(value, mapping_lookup(env)) == (
        "hotrod.pod.name=hotrod-6d9f-abcde,hotrod.namespace=hotrod,hotrod.pod.hash=6d9f"
    )


@given(st.text(alphabet=st.characters(blacklist_characters="$", blacklist_categories=("Cs",))))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert expand(text, LOOKUP) == text


@given(st.text(alphabet="ab$()_VAR", max_size=30))
def test_escaped_text_round_trips(text: str) -> None:
    # doubling every "$" escapes it: expansion gives the text back, references included
    assert expand(text.replace("$", "$$"), LOOKUP) == text


@given(st.lists(st.sampled_from(["x", "$(VAR_A)", "$(VAR_B)", "$$", "-", "$(NOPE)"]), max_size=12))
def test_concatenation_of_tokens(tokens: list[str]) -> None:
    meaning = {"x": "x", "$(VAR_A)": "A", "$(VAR_B)": "B", "$$": "$", "-": "-", "$(NOPE)": "$(NOPE)"}
    assert expand("".join(tokens), LOOKUP) == "".join(meaning[t] for t in tokens)
