"""Prometheus regexes: RE2 syntax, fully anchored (``^(?:re)$``), ``.`` does not match newline."""

from __future__ import annotations

import functools
import re

# Constructs Python's ``re`` accepts but RE2 (Go's regexp) rejects.
_UNSUPPORTED = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=|\(\?\(|\(\?#")


class RegexError(ValueError):
    pass


@functools.lru_cache(maxsize=4096)
def compile_anchored(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` for use with ``fullmatch`` (the anchoring Prometheus adds)."""
    if _UNSUPPORTED.search(pattern):
        raise RegexError(f"error parsing regexp: invalid or unsupported Perl syntax in {pattern!r}")
    # RE2 spells named groups (?P<name>…) like Python; Go also accepts (?<name>…) since 1.22.
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise RegexError(f"error parsing regexp: {exc}") from exc


def compile_search(pattern: str) -> re.Pattern[str]:
    """The same regex for unanchored use (label_replace expands over a full match)."""
    return compile_anchored(pattern)
