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


def expand_template(template: str, match: re.Match[str]) -> str:
    """Go's ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "$" or i + 1 >= len(template):
            out.append(ch)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end != -1 else ""
            if end == -1 or not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
                out.append("$")
                i += 1
                continue
            i = end + 1
        else:
            m = re.match(r"[A-Za-z0-9_]+", template[i + 1 :])
            if m is None:
                out.append("$")
                i += 1
                continue
            name = m.group(0)
            i += 1 + len(name)
        if name.isdigit():
            idx = int(name)
            if idx <= (match.re.groups or 0):
                out.append(match.group(idx) or "")
        elif name in match.re.groupindex:
            out.append(match.group(name) or "")
    return "".join(out)
