"""Prometheus regexes: Go RE2 syntax, fully anchored (``^(?:re)$``), ``.`` does not match newline.

Patterns are checked against RE2's grammar (constructs Python accepts but RE2 refuses are refused
with Go's error text), a few RE2 spellings are translated (``\\z``, ``\\Q…\\E``, ``[[:alpha:]]``), and
the result is compiled with Python's ``re`` in ASCII mode (RE2's ``\\d \\w \\s \\b`` are ASCII).
"""

from __future__ import annotations

import functools
import re

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_PERL_GROUP = re.compile(r"\(\?(P?<[A-Za-z_][A-Za-z0-9_]*>|[imsU]*(?:-[imsU]*)?:|[imsU]*(?:-[imsU]*)?\))")


class RegexError(ValueError):
    """A relabeling or matcher regex RE2 would reject."""


def _go_error(code: str, expr: str) -> RegexError:
    return RegexError(f"error parsing regexp: {code}: `{expr}`")


def _translate(pattern: str) -> str:
    """RE2 → Python ``re`` syntax, refusing what RE2 refuses. Error texts quote the anchored
    expression the way Go reports it."""
    full = f"^(?:{pattern})$"
    out: list[str] = []
    i = 0
    n = len(pattern)
    depth = 0
    last_was_repeat = False
    can_repeat = False
    opened: list[list[str]] = [[]]  # scoped flag groups opened at each nesting level
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise RegexError("error parsing regexp: trailing backslash at end of expression: ``")
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end == -1 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end == -1 else end + 2
                can_repeat, last_was_repeat = bool(literal), False
                continue
            if nxt == "z":
                out.append(r"\Z")
            elif nxt in "pP":
                raise RegexError(
                    f"not supported by flightdeck: Unicode class \\{nxt} in regular expression {pattern!r}"
                )
            elif (
                (nxt.isdigit() and nxt != "0")
                or nxt in "CgGkKRXhHNoVe"
                or (nxt.isalpha() and nxt not in "abfnrtvdDsSwWbBAxz")
            ):
                raise _go_error("invalid escape sequence", "\\" + nxt)
            else:
                out.append(pattern[i : i + 2])
                if nxt == "x" and i + 2 < n and pattern[i + 2] == "{":
                    end = pattern.find("}", i + 3)
                    if end != -1:
                        code = int(pattern[i + 3 : end] or "0", 16)
                        out[-1] = re.escape(chr(code))
                        i = end + 1
                        can_repeat, last_was_repeat = True, False
                        continue
            i += 2
            can_repeat, last_was_repeat = True, False
            continue
        if ch == "[":
            j = i + 1
            cls = ["["]
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            first = True
            while j < n and (pattern[j] != "]" or first):
                first = False
                if pattern.startswith("[:", j):
                    end = pattern.find(":]", j + 2)
                    name = pattern[j + 2 : end] if end != -1 else ""
                    negate = name.startswith("^")
                    body = _POSIX.get(name.lstrip("^"))
                    if end != -1 and body is not None and not negate:
                        cls.append(body)
                        j = end + 2
                        continue
                    if end != -1 and body is None:
                        raise _go_error("invalid character class range", pattern[j : end + 2])
                if pattern[j] == "\\":
                    if j + 1 >= n:
                        raise _go_error("missing closing ]", full[4 + i :])
                    if pattern[j + 1] in "pP":
                        raise RegexError(
                            f"not supported by flightdeck: Unicode class \\{pattern[j + 1]} in regular expression {pattern!r}"
                        )
                    cls.append(pattern[j : j + 2])
                    j += 2
                    continue
                if pattern[j] in "[&~|":
                    cls.append("\\" + pattern[j])
                    j += 1
                    continue
                cls.append(pattern[j])
                j += 1
            if j >= n:
                raise _go_error("missing closing ]", full[4 + i :])
            cls.append("]")
            out.append("".join(cls))
            i = j + 1
            can_repeat, last_was_repeat = True, False
            continue
        if ch == "(":
            if pattern.startswith("(?", i):
                m = _PERL_GROUP.match(pattern, i)
                if m is None:
                    raise _go_error("invalid or unsupported Perl syntax", pattern[i : i + 3])
                group = m.group(0)
                if "U" in group and not group.startswith(("(?<", "(?P<")):
                    raise RegexError(
                        f"not supported by flightdeck: ungreedy flag U in regular expression {pattern!r}"
                    )
                i = m.end()
                if group.startswith(("(?<", "(?P<")):
                    out.append(f"(?P<{group[group.index('<') + 1 : -1]}>")
                elif group.endswith(")"):
                    # RE2 flags last to the end of the enclosing group; Python wants them scoped.
                    flags = group[2:-1]
                    scoped = f"(?{flags}:" if flags.strip("-") else "(?:"
                    out.append(scoped)
                    opened[-1].append(scoped)
                    continue
                else:
                    out.append(group)
            else:
                out.append("(")
                i += 1
            depth += 1
            opened.append([])
            can_repeat, last_was_repeat = False, False
            continue
        if ch == ")":
            if depth == 0:
                raise _go_error("unexpected )", full)
            depth -= 1
            out.append(")" * len(opened.pop()))
            out.append(")")
            i += 1
            can_repeat, last_was_repeat = True, False
            continue
        if ch in "*+?":
            op = ch
            if i + 1 < n and pattern[i + 1] == "?":
                op += "?"
            if last_was_repeat:
                raise _go_error("invalid nested repetition operator", pattern[i - 1 : i + 1])
            if not can_repeat:
                raise _go_error("missing argument to repetition operator", op)
            out.append(op)
            i += len(op)
            last_was_repeat = len(op) == 1
            if len(op) == 2:
                last_was_repeat = True
            continue
        if ch == "{":
            m = _REPEAT.match(pattern, i)
            if m is not None:
                lo = int(m.group(1))
                hi = m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    raise _go_error("invalid repeat count", m.group(0))
                if last_was_repeat:
                    raise _go_error("invalid nested repetition operator", m.group(0))
                if not can_repeat:
                    raise _go_error("missing argument to repetition operator", m.group(0))
                out.append(m.group(0))
                i = m.end()
                if i < n and pattern[i] == "?":
                    out.append("?")
                    i += 1
                last_was_repeat = True
                continue
            out.append("\\{")
            i += 1
            can_repeat, last_was_repeat = True, False
            continue
        if ch == "|":
            # Close the scoped flag groups, and reopen them on the other side of the |.
            out.append(")" * len(opened[-1]) + "|" + "".join(opened[-1]))
            i += 1
            can_repeat, last_was_repeat = False, False
            continue
        out.append(ch)
        i += 1
        can_repeat, last_was_repeat = True, False
    if depth:
        raise _go_error("missing closing )", full)
    out.append(")" * len(opened[-1]))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_anchored(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` for use with ``fullmatch`` (the anchoring Prometheus adds)."""
    translated = _translate(pattern)
    try:
        return re.compile(f"(?:{translated})", re.ASCII)
    except re.error as exc:
        raise RegexError(f"error parsing regexp: {exc}: `^(?:{pattern})$`") from exc


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
