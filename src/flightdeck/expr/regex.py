"""RE2 (Go ``regexp``) patterns on top of Python's ``re``.

Patterns are validated with RE2's rules first, so a bad pattern yields Go's message
(``error parsing regexp: missing closing ): `(a```); then the few syntax differences are
translated (``\\z``, ``$``, POSIX classes, ``\\Q..\\E``). RE2 features Python cannot express
(Unicode classes ``\\pL``, ``\\C``) raise a "not supported by flightdeck" error.
"""

from __future__ import annotations

import re
from functools import lru_cache

from flightdeck.expr.errors import ExprError, Unsupported

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_SIMPLE_ESCAPES = set("afnrtv")
_CLASS_ESCAPES = set("dDsSwW")
_ASSERT_ESCAPES = {"b": "\\b", "B": "\\B", "A": "\\A", "z": "\\Z"}
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_MAX_REPEAT = 1000


def _err(code: str, expr: str) -> ExprError:
    return ExprError(f"error parsing regexp: {code}: `{expr}`")


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        self.multiline = False

    def run(self) -> str:
        p = self.p
        n = len(p)
        groups: list[int] = []
        # what the previous item was: "none" (nothing to repeat), "atom", or "repeat"
        prev = "none"
        while self.i < n:
            c = p[self.i]
            if c == "\\":
                prev = self.escape(in_class=False)
            elif c == "[":
                self.char_class()
                prev = "atom"
            elif c == "(":
                if p.startswith("(?", self.i):
                    prev = self.group_flags(groups)
                else:
                    groups.append(self.i)
                    self.out.append("(")
                    self.i += 1
                    prev = "none"
            elif c == ")":
                if not groups:
                    raise _err("unexpected )", p)
                groups.pop()
                self.out.append(")")
                self.i += 1
                prev = "atom"
            elif c == "|":
                self.out.append("|")
                self.i += 1
                prev = "none"
            elif c in "*+?":
                op = c
                j = self.i + 1
                if j < n and p[j] == "?":
                    j += 1
                if prev == "none":
                    raise _err("missing argument to repetition operator", p[self.i : j])
                if prev == "repeat":
                    raise _err("invalid nested repetition operator", p[self.repeat_start : j])
                self.repeat_start = self.i
                self.out.append(p[self.i : j])
                self.i = j
                prev = "repeat"
                del op
            elif c == "{" and (m := _REPEAT.match(p, self.i)):
                j = m.end()
                if j < n and p[j] == "?":
                    j += 1
                lo = int(m.group(1))
                hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else -1)
                if prev == "none":
                    raise _err("missing argument to repetition operator", p[self.i : j])
                if lo > _MAX_REPEAT or hi > _MAX_REPEAT or (hi != -1 and hi < lo):
                    raise _err("invalid repeat count", p[self.i : m.end()])
                if prev == "repeat":
                    raise _err("invalid nested repetition operator", p[self.repeat_start : j])
                self.repeat_start = self.i
                self.out.append(p[self.i : j])
                self.i = j
                prev = "repeat"
            elif c == "$":
                self.out.append("$" if self.multiline else "(?!\\n)\\Z")
                self.i += 1
                prev = "atom"
            elif c == "^":
                self.out.append("^")
                self.i += 1
                prev = "atom"
            else:
                self.out.append(re.escape(c) if c in "{}#&~- \t\n\r\v\f" else c)
                self.i += 1
                prev = "atom"
        if groups:
            raise _err("missing closing )", p)
        return "".join(self.out)

    repeat_start = 0

    def group_flags(self, groups: list[int]) -> str:
        p = self.p
        start = self.i
        rest = p[start + 2 :]
        if rest.startswith("P<"):
            end = p.find(">", start)
            name = p[start + 4 : end] if end != -1 else ""
            if end == -1 or not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
                shown = p[start : end + 1] if end != -1 else p[start:]
                raise _err("invalid named capture", shown)
            groups.append(start)
            self.out.append(f"(?P<{name}>")
            self.i = end + 1
            return "none"
        m = re.match(r"([imsU]*)(?:-([imsU]*))?([:)])", rest)
        if m is None or (m.group(2) is not None and m.group(2) == "" and True and m.group(1) == ""):
            shown = p[start : start + 3]
            raise _err("invalid or unsupported Perl syntax", shown)
        on, off, close = m.group(1), m.group(2) or "", m.group(3)
        if "U" in on + off:
            raise Unsupported(f"the regexp flag U in {p!r}")
        if "m" in on:
            self.multiline = True
        self.i = start + 2 + m.end()
        flags = on + (f"-{off}" if off else "")
        if close == ")":
            # Python accepts global flags only at the very start of a pattern
            if not self.out:
                if on:
                    self.out.append(f"(?{on})")
                return "none"
            if not on and not off:
                return "none"
            raise Unsupported(f"the inline flag group (?{flags}) in the middle of {p!r}")
        groups.append(start)
        self.out.append(f"(?{flags}:" if flags else "(?:")
        return "none"

    def escape(self, *, in_class: bool) -> str:
        p = self.p
        if self.i + 1 >= len(p):
            raise _err("trailing backslash at end of expression", "")
        c = p[self.i + 1]
        if c in _SIMPLE_ESCAPES or c in _CLASS_ESCAPES:
            self.out.append("\\" + c)
            self.i += 2
            return "atom"
        if not in_class and c in _ASSERT_ESCAPES:
            self.out.append(_ASSERT_ESCAPES[c])
            self.i += 2
            return "atom"
        if c in "pP":
            raise Unsupported(f"the Unicode class escape \\{c} in {p!r}")
        if c == "C":
            raise Unsupported(f"the escape \\C in {p!r}")
        if c == "Q" and not in_class:
            end = p.find("\\E", self.i + 2)
            literal = p[self.i + 2 :] if end == -1 else p[self.i + 2 : end]
            self.out.append(re.escape(literal))
            self.i = len(p) if end == -1 else end + 2
            return "atom" if literal else "none"
        if c == "x":
            m = re.match(r"\\x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))", p[self.i :])
            if m is None:
                raise _err("invalid escape sequence", p[self.i : self.i + 4])
            code = int(m.group(1) or m.group(2), 16)
            if code > 0x10FFFF:
                raise _err("invalid escape sequence", m.group(0))
            self.out.append(re.escape(chr(code)))
            self.i += m.end()
            return "atom"
        if "0" <= c <= "7":
            m = re.match(r"\\([0-7]{1,3})", p[self.i :])
            assert m is not None
            if c != "0" and len(m.group(1)) == 1:
                raise _err("invalid escape sequence", p[self.i : self.i + 2])
            self.out.append(re.escape(chr(int(m.group(1), 8))))
            self.i += m.end()
            return "atom"
        if c.isascii() and not c.isalnum() and c != "_":
            self.out.append(re.escape(c))
            self.i += 2
            return "atom"
        raise _err("invalid escape sequence", p[self.i : self.i + 2])

    def char_class(self) -> None:
        p = self.p
        start = self.i
        self.i += 1
        self.out.append("[")
        if self.i < len(p) and p[self.i] == "^":
            self.out.append("^")
            self.i += 1
        first = True
        prev_char: str | None = None  # last literal char, for range validation
        while True:
            if self.i >= len(p):
                raise _err("missing closing ]", p[start:])
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                self.out.append("]")
                return
            first = False
            if p.startswith("[:", self.i):
                end = p.find(":]", self.i + 2)
                name = p[self.i + 2 : end] if end != -1 else ""
                negated = name.startswith("^")
                if end != -1 and name.lstrip("^") in _POSIX:
                    if negated:
                        raise Unsupported(f"the negated POSIX class [:{name}:] in {p!r}")
                    self.out.append(_POSIX[name])
                    self.i = end + 2
                    prev_char = None
                    continue
                if end != -1 and re.fullmatch(r"\^?[a-z]+", name):
                    raise _err("invalid character class range", p[self.i : end + 2])
            if c == "-" and prev_char is not None and self.i + 1 < len(p) and p[self.i + 1] != "]":
                hi_pos = self.i + 1
                hi = p[hi_pos]
                if hi == "\\":
                    out_len = len(self.out)
                    self.i = hi_pos
                    self.escape(in_class=True)
                    hi_text = "".join(self.out[out_len:])
                    del self.out[out_len:]
                    hi_char = _unescape_single(hi_text)
                else:
                    hi_char = hi
                    self.i = hi_pos + 1
                    hi_text = re.escape(hi)
                if hi_char is not None and hi_char < prev_char:
                    raise _err("invalid character class range", f"{prev_char}-{hi_char}")
                self.out.append("-" + hi_text)
                prev_char = None
                continue
            if c == "\\":
                out_len = len(self.out)
                self.escape(in_class=True)
                prev_char = _unescape_single("".join(self.out[out_len:]))
                continue
            self.out.append(re.escape(c) if c in "[]\\^-&~|" else c)
            prev_char = c
            self.i += 1


def _unescape_single(text: str) -> str | None:
    """The character an escaped single-char translation stands for, or None for a class like \\d."""
    if len(text) == 1:
        return text
    if len(text) == 2 and text[0] == "\\" and not text[1].isalnum():
        return text[1]
    simple = {"\\a": "\a", "\\f": "\f", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\v": "\v"}
    return simple.get(text)


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern; raises ExprError with Go's message for invalid patterns."""
    translated = _Translator(pattern).run()
    try:
        return re.compile(translated, re.ASCII)
    except (re.error, OverflowError, RecursionError):
        raise Unsupported(f"the regular expression {pattern!r}") from None
