"""Character-exact emulations of Prometheus 2.42's exposition lexers and parsers (``promlex.l`` /
``openmetricslex.l`` with ``PromParser`` / ``OpenMetricsParser``).

The generated lexers are DFAs without backtracking: a token ends where the next character has no
transition; if the state reached is not accepting, lexing aborts (token INVALID) at that character.
NUL bytes never match a character class, and ``next()`` skips them inside label values, help texts
and comments. Error texts are Prometheus' own (``expected value after metric, got "INVALID"``, …).

These are the slow path of :mod:`flightdeck.tsdb.scrape.textparse`: lines in the canonical shape are
parsed by one regular expression there; anything else comes here, so every odd input gets exactly
Prometheus' answer (or error).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flightdeck.util.gofmt import go_quote

# tokens
T_INVALID, T_EOF, T_LINEBREAK, T_WHITESPACE, T_HELP, T_TYPE, T_UNIT, T_EOFWORD = -1, 0, 2, 3, 4, 5, 6, 7
T_TEXT, T_COMMENT, T_BLANK, T_MNAME, T_BOPEN, T_BCLOSE, T_LNAME, T_LVALUE = 8, 9, 10, 11, 12, 13, 14, 15
T_COMMA, T_EQUAL, T_TIMESTAMP, T_VALUE = 16, 17, 18, 19
TOKEN_NAMES = {
    T_INVALID: "INVALID", T_EOF: "EOF", T_LINEBREAK: "LINEBREAK", T_WHITESPACE: "WHITESPACE",
    T_HELP: "HELP", T_TYPE: "TYPE", T_UNIT: "UNIT", T_EOFWORD: "EOFWORD", T_TEXT: "TEXT",
    T_COMMENT: "COMMENT", T_BLANK: "BLANK", T_MNAME: "MNAME", T_BOPEN: "BOPEN", T_BCLOSE: "BCLOSE",
    T_LNAME: "LNAME", T_LVALUE: "LVALUE", T_COMMA: "COMMA", T_EQUAL: "EQUAL",
    T_TIMESTAMP: "TIMESTAMP", T_VALUE: "VALUE",
}  # fmt: skip

# states
S_INIT, S_COMMENT, S_META1, S_META2, S_LABELS, S_LVALUE, S_VALUE, S_TIMESTAMP = range(8)
S_EXEMPLAR, S_EVALUE, S_ETIMESTAMP = 8, 9, 10
_SKIP_NUL = (S_LVALUE, S_META2, S_COMMENT)

_M = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:")
_L = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_D = frozenset("0123456789")
_MD = _M | _D
_LD = _L | _D

PROM_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "summary": "summary",
    "untyped": "unknown",
}
OM_TYPES = {
    t: t
    for t in ("counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown")
}
_EXEMPLAR_SUFFIXES = ("_total", "_bucket")
_GO_FLOAT = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)$|^[nN][aA][nN]$"
)
_GO_HEXFLOAT = re.compile(r"^[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+$")
_INT64_MAX = (1 << 63) - 1


class ExpositionError(ValueError):
    """A parse error; ``str()`` is Prometheus' message (what its targets page shows)."""


def token_quoted(tok: int) -> str:
    return go_quote(TOKEN_NAMES.get(tok, f"<invalid: {tok}>"))


def parse_error(expected: str, got: int) -> ExpositionError:
    return ExpositionError(f"{expected}, got {token_quoted(got)}")


def go_parse_float(text: str) -> float:
    """``strconv.ParseFloat(s, 64)`` behind Prometheus' ``parseFloat`` (no ``p``/``_``)."""
    if any(c in text for c in "pP_"):
        raise ExpositionError("unsupported character in float")
    if not _GO_FLOAT.match(text):
        raise ExpositionError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax")
    value = float(text)
    if math.isinf(value) and "n" not in text.lower():
        raise ExpositionError(f"strconv.ParseFloat: parsing {go_quote(text)}: value out of range")
    return value


def go_parse_int(text: str) -> int:
    value = int(text)
    if value > _INT64_MAX:
        raise ExpositionError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


def _unescape_lvalue(raw: str) -> str:
    """``lvalReplacer``: ``\\"`` ``\\\\`` ``\\n`` (other escapes stay as they are)."""
    if "\\" not in raw:
        return raw
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in '"\\n':
            out.append({"n": "\n", "\\": "\\", '"': '"'}[raw[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _unescape_help(raw: str) -> str:
    """``helpReplacer`` of the text format: ``\\\\`` and ``\\n``."""
    if "\\" not in raw:
        return raw
    out = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in "\\n":
            out.append("\\" if raw[i + 1] == "\\" else "\n")
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _valid_utf8(text: str) -> bool:
    # Bodies are decoded with surrogateescape: undecodable bytes become lone surrogates.
    return not any("\udc80" <= ch <= "\udcff" for ch in text)


@dataclass
class Entry:
    kind: str  # "series", "type", "help", "unit", "comment"
    name: str = ""  # metric name (series) or family name (metadata)
    series: str = ""  # the series text (name and label set as written): the scrape cache key
    labels: tuple[tuple[str, str], ...] = ()
    value: float = 0.0
    timestamp: int | None = None
    text: str = ""


class _Lexer:
    def __init__(self, text: str, pos: int, openmetrics: bool) -> None:
        self.b = text
        self.i = pos
        self.start = pos
        self.state = S_INIT
        self.om = openmetrics

    def cur(self) -> str:
        if self.i < len(self.b):
            return self.b[self.i]
        return " " if self.om else "\x00"

    def next(self) -> str:
        self.i += 1
        if self.i >= len(self.b):
            return "\x00"
        while self.b[self.i] == "\x00" and self.state in _SKIP_NUL:
            self.i += 1
            if self.i >= len(self.b):
                return "\x00"
        return self.b[self.i]

    def buf(self) -> str:
        return self.b[self.start : self.i]

    def _end(self) -> bool:
        return self.i >= len(self.b)

    def consume_comment(self) -> int:
        c = self.cur()
        while True:
            if c == "\x00":
                return T_EOF
            if c == "\n":
                self.state = S_INIT
                return T_COMMENT
            c = self.next()

    def _keyword(self, c: str, word: str) -> tuple[bool, str]:
        """Follow ``word`` from ``c`` (its first letter); returns (matched, current char)."""
        for expected in word[1:]:
            c = self.next()
            if c != expected or self._end():
                return False, c
        return True, self.next()

    # -- the text format -----------------------------------------------------------------------
    def lex_prom(self) -> int:
        if self.i >= len(self.b):
            return T_EOF
        c = self.b[self.i]
        self.start = self.i
        while True:
            st = self.state
            if c in " \t" and not self._end():
                while c in " \t" and not self._end():
                    c = self.next()
                if st == S_META2 and c != "\n" and not (c == "\x00" and self._end()) and c != "\x00":
                    # {C}* is longer than the whitespace: it is text
                    while c != "\n" and not self._end() and c != "\x00":
                        c = self.next()
                    self.state = S_INIT
                    return T_TEXT
                return T_WHITESPACE
            if st == S_INIT:
                if c == "\x00":
                    self.next()
                    return T_EOF
                if c == "\n":
                    self.next()
                    return T_LINEBREAK
                if c == "#":
                    c = self.next()
                    if c in " \t" and not self._end():
                        while c in " \t" and not self._end():
                            c = self.next()
                        self.state = S_COMMENT
                        continue
                    return self.consume_comment()
                if c in _M:
                    while True:
                        c = self.next()
                        if c not in _MD or self._end():
                            break
                    self.state = S_VALUE
                    return T_MNAME
                break
            if st == S_COMMENT:
                if c in ("H", "T"):
                    word = "HELP" if c == "H" else "TYPE"
                    ok, c = self._keyword(c, word)
                    if ok and c in " \t" and not self._end():
                        while c in " \t" and not self._end():
                            c = self.next()
                        self.state = S_META1
                        return T_HELP if word == "HELP" else T_TYPE
                break
            if st == S_META1:
                if c in _M:
                    while True:
                        c = self.next()
                        if c not in _MD or self._end():
                            break
                    self.state = S_META2
                    return T_MNAME
                break
            if st == S_META2:
                # {C}*: anything to the end of the line (possibly nothing)
                while c != "\n" and c != "\x00" and not self._end():
                    c = self.next()
                self.state = S_INIT
                return T_TEXT
            if st == S_LABELS:
                if c in _L:
                    while True:
                        c = self.next()
                        if c not in _LD or self._end():
                            break
                    return T_LNAME
                if c == "}":
                    self.next()
                    self.state = S_VALUE
                    return T_BCLOSE
                if c == "=":
                    self.next()
                    self.state = S_LVALUE
                    return T_EQUAL
                if c == ",":
                    self.next()
                    return T_COMMA
                break
            if st == S_LVALUE:
                if c == '"':
                    c = self.next()
                    while not self._end():
                        if c == "\\":
                            c = self.next()
                            if c == "\n" or self._end() or c == "\x00":
                                return T_INVALID
                            c = self.next()
                            continue
                        if c == '"':
                            self.next()
                            self.state = S_LABELS
                            return T_LVALUE
                        if c == "\x00":
                            return T_INVALID
                        c = self.next()
                    return T_INVALID
                break
            if st == S_VALUE:
                if c == "{":
                    self.next()
                    self.state = S_LABELS
                    return T_BOPEN
                if c not in "{ \t\n\x00" and not self._end():
                    while True:
                        c = self.next()
                        if c in "{ \t\n\x00" or self._end():
                            break
                    self.state = S_TIMESTAMP
                    return T_VALUE
                break
            if st == S_TIMESTAMP:
                if c in _D and not self._end():
                    while True:
                        c = self.next()
                        if c not in _D or self._end():
                            break
                    return T_TIMESTAMP
                if c == "\n":
                    self.next()
                    self.state = S_INIT
                    return T_LINEBREAK
                break
            break
        if self.state == S_COMMENT:
            return self.consume_comment()
        return T_INVALID

    # -- OpenMetrics -----------------------------------------------------------------------------
    def lex_om(self) -> int:
        if self.i >= len(self.b):
            return T_EOF
        c = self.b[self.i]
        self.start = self.i
        while True:
            st = self.state
            if st == S_INIT:
                if c == "#":
                    c = self.next()
                    if c == " " and not self._end():
                        c = self.next()
                        self.state = S_COMMENT
                        continue
                    return T_INVALID
                if c in _M:
                    while True:
                        c = self.next()
                        if c not in _MD or self._end():
                            break
                    self.state = S_VALUE
                    return T_MNAME
                return T_INVALID
            if st == S_COMMENT:
                if c == "E":
                    ok, c = self._keyword(c, "EOF")
                    if not ok:
                        return T_INVALID
                    if c == "\n" and not self._end():
                        self.next()
                    self.state = S_INIT
                    return T_EOFWORD
                for word, tok in (("HELP", T_HELP), ("TYPE", T_TYPE), ("UNIT", T_UNIT)):
                    if c == word[0]:
                        ok, c = self._keyword(c, word)
                        if ok and c == " " and not self._end():
                            self.next()
                            self.state = S_META1
                            return tok
                        return T_INVALID
                return T_INVALID
            if st == S_META1:
                if c in _M:
                    while True:
                        c = self.next()
                        if c not in _MD or self._end():
                            break
                    self.state = S_META2
                    return T_MNAME
                return T_INVALID
            if st == S_META2:
                if c != " " or self._end():
                    return T_INVALID
                c = self.next()
                while not self._end() and c != "\n":
                    c = self.next()
                if self._end():
                    return T_INVALID
                self.next()
                self.state = S_INIT
                return T_TEXT
            if st in (S_LABELS, S_EXEMPLAR):
                if c in _L:
                    while True:
                        c = self.next()
                        if c not in _LD or self._end():
                            break
                    return T_LNAME
                if c == "}":
                    self.next()
                    self.state = S_VALUE if st == S_LABELS else S_EVALUE
                    return T_BCLOSE
                if c == "=":
                    self.next()
                    self.state = S_LVALUE if st == S_LABELS else S_EVALUE
                    return T_EQUAL
                if c == ",":
                    self.next()
                    return T_COMMA
                return T_INVALID
            if st in (S_LVALUE, S_EVALUE) and c == '"':
                c = self.next()
                while not self._end():
                    if c == "\\":
                        c = self.next()
                        if c == "\n" or self._end() or c == "\x00":
                            return T_INVALID
                        c = self.next()
                        continue
                    if c == '"':
                        self.next()
                        self.state = S_LABELS if st == S_LVALUE else S_EXEMPLAR
                        return T_LVALUE
                    if c in "\n\x00":
                        return T_INVALID
                    c = self.next()
                return T_INVALID
            if st == S_VALUE and c == "{":
                self.next()
                self.state = S_LABELS
                return T_BOPEN
            if st in (S_VALUE, S_TIMESTAMP, S_EVALUE, S_ETIMESTAMP):
                if c == "\n" and st in (S_TIMESTAMP, S_ETIMESTAMP):
                    self.next()
                    self.state = S_INIT
                    return T_LINEBREAK
                if c != " " or self._end():
                    return T_INVALID
                c = self.next()
                if st == S_TIMESTAMP and c == "#":
                    # " #" is a complete timestamp token; " # {" starts an exemplar.
                    c = self.next()
                    if c == " " and not self._end():
                        c = self.next()
                        if c == "{" and not self._end():
                            self.next()
                            self.state = S_EXEMPLAR
                            return T_COMMENT
                        return T_INVALID
                    while c not in " \n\x00" and not self._end():
                        c = self.next()
                    return T_TIMESTAMP
                if c in " \n\x00" or self._end():
                    return T_INVALID
                while True:
                    c = self.next()
                    if c in " \n\x00" or self._end():
                        break
                if st == S_VALUE:
                    self.state = S_TIMESTAMP
                    return T_VALUE
                if st == S_EVALUE:
                    self.state = S_ETIMESTAMP
                    return T_VALUE
                return T_TIMESTAMP
            return T_INVALID


class PromParser:
    """``PromParser.Next`` over ``text + "\\n"``, one entry at a time from a position."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.lex = _Lexer(text, pos, openmetrics=False)

    @property
    def pos(self) -> int:
        return self.lex.i

    def _token(self) -> int:
        while True:
            tok = self.lex.lex_prom()
            if tok != T_WHITESPACE:
                return tok

    def next(self) -> Entry | None:
        """The next entry, or None at the end; raises :class:`ExpositionError`."""
        lex = self.lex
        while True:
            start = lex.i
            tok = self._token()
            if tok == T_EOF:
                return None
            if tok == T_LINEBREAK:
                continue
            break
        if tok in (T_HELP, T_TYPE):
            what = "HELP" if tok == T_HELP else "TYPE"
            t2 = self._token()
            if t2 != T_MNAME:
                raise parse_error(f"expected metric name after {what}", t2)
            name = lex.buf()
            t2 = self._token()
            if t2 != T_TEXT:
                raise ExpositionError(f"expected text in {what}")
            raw = lex.buf()
            text = raw[1:] if len(raw) > 1 else ""
            entry: Entry
            if tok == T_TYPE:
                if text not in PROM_TYPES:
                    raise ExpositionError(f"invalid metric type {go_quote(text)}")
                entry = Entry("type", name, text=PROM_TYPES[text])
            else:
                if not _valid_utf8(text):
                    raise ExpositionError("help text is not a valid utf8 string")
                entry = Entry("help", name, text=_unescape_help(text))
            t3 = self._token()
            if t3 != T_LINEBREAK:
                raise parse_error("linebreak expected after metadata", t3)
            return entry
        if tok == T_COMMENT:
            t2 = self._token()
            if t2 != T_LINEBREAK:
                raise parse_error("linebreak expected after comment", t2)
            return Entry("comment")
        if tok == T_MNAME:
            name = lex.buf()
            labels: list[tuple[str, str]] = []
            series_end = lex.i
            t2 = self._token()
            if t2 == T_BOPEN:
                self._labels(labels)
                series_end = lex.i
                t2 = self._token()
            if t2 != T_VALUE:
                raise parse_error("expected value after metric", t2)
            value = go_parse_float(lex.buf())
            if math.isnan(value):
                value = math.nan
            ts: int | None = None
            t3 = self._token()
            if t3 == T_TIMESTAMP:
                ts = go_parse_int(lex.buf())
                t4 = self._token()
                if t4 != T_LINEBREAK:
                    raise parse_error("expected next entry after timestamp", t4)
            elif t3 != T_LINEBREAK:
                raise parse_error("expected timestamp or new record", t3)
            return Entry("series", name, lex.b[start:series_end].lstrip(" \t"), tuple(labels), value, ts)
        raise ExpositionError(f"{token_quoted(tok)} is not a valid start token")

    def _labels(self, out: list[tuple[str, str]]) -> None:
        lex = self.lex
        t = self._token()
        while True:
            if t == T_BCLOSE:
                return
            if t != T_LNAME:
                raise parse_error("expected label name", t)
            name = lex.buf()
            t = self._token()
            if t != T_EQUAL:
                raise parse_error("expected equal", t)
            t = self._token()
            if t != T_LVALUE:
                raise parse_error("expected label value", t)
            raw = lex.buf()
            if not _valid_utf8(raw):
                raise ExpositionError("invalid UTF-8 label value")
            out.append((name, _unescape_lvalue(raw[1:-1])))
            t = self._token()
            if t == T_COMMA:
                t = self._token()


class OpenMetricsParser:
    """``OpenMetricsParser.Next``, one entry at a time from a position."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.lex = _Lexer(text, pos, openmetrics=True)
        self.finished = False

    @property
    def pos(self) -> int:
        return self.lex.i

    def next(self) -> Entry | None:
        lex = self.lex
        start = lex.i
        tok = lex.lex_om()
        if tok == T_EOFWORD:
            if lex.lex_om() != T_EOF:
                raise ExpositionError("unexpected data after # EOF")
            self.finished = True
            return None
        if tok == T_EOF:
            raise ExpositionError("data does not end with # EOF")
        if tok in (T_HELP, T_TYPE, T_UNIT):
            what = TOKEN_NAMES[tok]
            t2 = lex.lex_om()
            if t2 != T_MNAME:
                raise parse_error(f"expected metric name after {what}", t2)
            name = lex.buf()
            t2 = lex.lex_om()
            if t2 != T_TEXT:
                raise ExpositionError(f"expected text in {what}")
            raw = lex.buf()
            text = raw[1:-1] if len(raw) > 1 else ""
            if tok == T_TYPE:
                if text not in OM_TYPES:
                    raise ExpositionError(f"invalid metric type {go_quote(text)}")
                return Entry("type", name, text=text)
            if tok == T_HELP:
                if not _valid_utf8(text):
                    raise ExpositionError("help text is not a valid utf8 string")
                return Entry("help", name, text=_unescape_lvalue(text))
            if text and (not name.endswith(text) or len(name) < len(text) + 1 or name[-len(text) - 1] != "_"):
                raise ExpositionError(f"unit not a suffix of metric {go_quote(name)}")
            return Entry("unit", name, text=text)
        if tok == T_MNAME:
            name = lex.buf()
            labels: list[tuple[str, str]] = []
            series_end = lex.i
            t2 = lex.lex_om()
            if t2 == T_BOPEN:
                self._labels(labels)
                series_end = lex.i
                t2 = lex.lex_om()
            value = self._float(t2, "metric")
            ts: int | None = None
            t3 = lex.lex_om()
            if t3 == T_EOF:
                raise ExpositionError("data does not end with # EOF")
            if t3 == T_COMMENT:
                self._exemplar(name)
            elif t3 == T_TIMESTAMP:
                seconds = go_parse_float(lex.buf()[1:])
                if math.isnan(seconds) or math.isinf(seconds):
                    raise ExpositionError("invalid timestamp")
                ts = max(min(int(seconds * 1000), _INT64_MAX), -(1 << 63))
                t4 = lex.lex_om()
                if t4 == T_COMMENT:
                    self._exemplar(name)
                elif t4 != T_LINEBREAK:
                    raise parse_error("expected next entry after timestamp", t4)
            elif t3 != T_LINEBREAK:
                raise parse_error("expected timestamp or # symbol", t3)
            return Entry("series", name, lex.b[start:series_end], tuple(labels), value, ts)
        shown = lex.cur()
        if shown >= "\x80":
            shown = chr(shown.encode("utf-8", "surrogateescape")[0])
        raise ExpositionError(f"{token_quoted(tok)} {go_quote(shown)} is not a valid start token")

    def _float(self, tok: int, after: str) -> float:
        if tok != T_VALUE:
            raise parse_error(f"expected value after {after}", tok)
        value = go_parse_float(self.lex.buf()[1:])
        return math.nan if math.isnan(value) else value

    def _labels(self, out: list[tuple[str, str]]) -> None:
        lex = self.lex
        first = True
        while True:
            t = lex.lex_om()
            if t == T_BCLOSE:
                return
            if t == T_COMMA:
                if first:
                    raise parse_error("expected label name or left brace", t)
                t = lex.lex_om()
                if t != T_LNAME:
                    raise parse_error("expected label name", t)
            elif t == T_LNAME:
                if not first:
                    raise parse_error("expected comma", t)
            else:
                if first:
                    raise parse_error("expected label name or left brace", t)
                raise parse_error("expected comma or left brace", t)
            first = False
            name = lex.buf()
            t = lex.lex_om()
            if t != T_EQUAL:
                raise parse_error("expected equal", t)
            t = lex.lex_om()
            if t != T_LVALUE:
                raise parse_error("expected label value", t)
            raw = lex.buf()
            if not _valid_utf8(raw):
                raise ExpositionError("invalid UTF-8 label value")
            out.append((name, _unescape_lvalue(raw[1:-1])))

    def _exemplar(self, name: str) -> None:
        if not name.endswith(_EXEMPLAR_SUFFIXES):
            raise ExpositionError(f"metric name {name} does not support exemplars")
        self._labels([])
        self._float(self.lex.lex_om(), "exemplar labels")
        t = self.lex.lex_om()
        if t == T_EOF:
            raise ExpositionError("data does not end with # EOF")
        if t == T_TIMESTAMP:
            seconds = go_parse_float(self.lex.buf()[1:])
            if math.isnan(seconds) or math.isinf(seconds):
                raise ExpositionError("invalid exemplar timestamp")
            t2 = self.lex.lex_om()
            if t2 != T_LINEBREAK:
                raise parse_error("expected next entry after exemplar timestamp", t2)
        elif t != T_LINEBREAK:
            raise parse_error("expected timestamp or comment", t)
