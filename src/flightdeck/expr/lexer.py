"""Tokenizer for expr v1.15.5 source text.

It follows expr's lexer state by state (which characters start which token, how ``not in`` and
``1..2`` are split, which escapes a string may contain) because the token stream decides the exact
parse errors users see, e.g. ``unexpected token Operator(")")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.expr.errors import ExprError
from flightdeck.expr.values import go_quote

IDENTIFIER = "Identifier"
NUMBER = "Number"
STRING = "String"
OPERATOR = "Operator"
BRACKET = "Bracket"
EOF = "EOF"

_WORD_OPERATORS = frozenset({"in", "or", "and", "matches", "contains", "startsWith", "endsWith", "let"})
_NOT_FOLLOWERS = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    pos: int

    def is_(self, kind: str, *values: str) -> bool:
        return self.kind == kind and (not values or self.value in values)

    def __str__(self) -> str:
        # Go's Token.String: the kind alone, or Kind("value") with the value quoted like %#v
        return self.kind if self.value == "" else f"{self.kind}({go_quote(self.value)})"


def is_space(ch: str) -> bool:
    return ch in _GO_SPACE or (ord(ch) > 0xFF and ch.isspace())


def is_alphabetic(ch: str) -> bool:
    return ch == "_" or ch == "$" or ch.isalpha()


def is_alphanumeric(ch: str) -> bool:
    return is_alphabetic(ch) or ch.isdecimal()


def is_valid_identifier(s: str) -> bool:
    return bool(s) and is_alphabetic(s[0]) and all(is_alphanumeric(c) for c in s[1:])


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.start = 0
        self.end = 0
        self.tokens: list[Token] = []

    # -- character helpers (an empty string stands for EOF)
    def next(self) -> str:
        if self.end >= self.n:
            self.end += 1  # so that backup() after EOF is symmetric
            return ""
        ch = self.text[self.end]
        self.end += 1
        return ch

    def backup(self) -> None:
        self.end -= 1

    def peek(self) -> str:
        return self.text[self.end] if self.end < self.n else ""

    def accept(self, valid: str) -> bool:
        ch = self.next()
        if ch != "" and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            ch = self.next()
            if ch == "" or ch not in valid:
                self.backup()
                return

    def word(self) -> str:
        return self.text[self.start : self.end]

    def emit(self, kind: str, value: str | None = None) -> None:
        self.tokens.append(Token(kind, self.word() if value is None else value, self.start))
        self.start = self.end

    def ignore(self) -> None:
        self.start = self.end

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.next()
        self.ignore()

    # -- states
    def run(self) -> list[Token]:
        while True:
            ch = self.next()
            if ch == "":
                self.end = self.n
                self.tokens.append(Token(EOF, "", max(self.n - 1, 0)))
                return self.tokens
            if is_space(ch):
                self.ignore()
            elif ch in "'\"":
                self.scan_string(ch)
                self.emit(STRING, unescape(self.word()))
            elif "0" <= ch <= "9":
                self.backup()
                self.number()
            elif ch == "?":
                self.accept(".?")
                self.emit(OPERATOR)
            elif ch == "/":
                self.slash()
            elif ch == "#":
                self.pointer()
            elif ch == "|":
                self.accept("|")
                self.emit(OPERATOR)
            elif ch in "([{)]}":
                self.emit(BRACKET)
            elif ch in ",:;%+-^":
                self.emit(OPERATOR)
            elif ch in "&!=*<>":
                self.accept("&=*")
                self.emit(OPERATOR)
            elif ch == ".":
                self.backup()
                self.dot()
            elif is_alphanumeric(ch):
                self.backup()
                self.identifier()
            else:
                raise ExprError(f"unrecognized character: {_go_unicode(ch)}")

    def number(self) -> None:
        if not self.scan_number():
            raise ExprError(f"bad number syntax: {go_quote(self.word())}")
        self.emit(NUMBER)

    def scan_number(self) -> bool:
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        end = self.end
        if self.accept("."):
            if self.peek() == ".":
                # `1..2` is a range: give the dot back to the operator
                self.end = end
                return True
            self.accept_run(digits)
        if self.accept("eE"):
            self.accept("+-")
            self.accept_run(digits)
        nxt = self.peek()
        if nxt != "" and is_alphanumeric(nxt):
            self.next()
            return False
        return True

    def dot(self) -> None:
        self.next()
        if self.accept("0123456789"):
            self.backup()
            self.number()
            return
        self.accept(".")
        self.emit(OPERATOR)

    def identifier(self) -> None:
        while True:
            ch = self.next()
            if ch == "" or not is_alphanumeric(ch):
                self.backup()
                break
        word = self.word()
        if word == "not":
            self.not_()
        elif word in _WORD_OPERATORS:
            self.emit(OPERATOR)
        else:
            self.emit(IDENTIFIER)

    def not_(self) -> None:
        self.emit(OPERATOR)
        self.skip_spaces()
        saved = self.end
        while True:
            ch = self.next()
            if ch == "" or not is_alphanumeric(ch):
                self.backup()
                break
        if self.word() in _NOT_FOLLOWERS:
            self.emit(OPERATOR)
        else:
            self.end = saved

    def slash(self) -> None:
        if self.accept("/"):
            while True:
                ch = self.next()
                if ch in ("", "\n"):
                    break
            if self.end > self.n:
                self.end = self.n
            self.ignore()
        elif self.accept("*"):
            while True:
                ch = self.next()
                if ch == "":
                    raise ExprError("unclosed comment")
                if ch == "*" and self.accept("/"):
                    break
            self.ignore()
        else:
            self.emit(OPERATOR)

    def pointer(self) -> None:
        self.accept("#")
        self.emit(OPERATOR)
        while True:
            ch = self.next()
            if ch == "" or not is_alphanumeric(ch):
                self.backup()
                if self.word():
                    self.emit(IDENTIFIER)
                return

    def scan_string(self, quote: str) -> None:
        ch = self.next()
        while ch != quote:
            if ch in ("\n", ""):
                raise ExprError("literal not terminated")
            ch = self.scan_escape(quote) if ch == "\\" else self.next()

    def scan_escape(self, quote: str) -> str:
        ch = self.next()
        if ch != "" and ch in "abfnrtv\\" + quote:
            return self.next()
        if ch != "" and ch in "01234567":
            return self.scan_digits(ch, 8, 3)
        if ch == "x":
            return self.scan_digits(self.next(), 16, 2)
        if ch == "u":
            return self.scan_digits(self.next(), 16, 4)
        if ch == "U":
            return self.scan_digits(self.next(), 16, 8)
        raise ExprError("invalid char escape")

    def scan_digits(self, ch: str, base: int, n: int) -> str:
        while n > 0 and _digit_val(ch) < base:
            ch = self.next()
            n -= 1
        if n > 0:
            raise ExprError("invalid char escape")
        return ch


def _digit_val(ch: str) -> int:
    if "0" <= ch <= "9":
        return ord(ch) - 48
    low = ch.lower() if ch.isascii() else ""
    if "a" <= low <= "f":
        return ord(low) - 87
    return 16


def _go_unicode(ch: str) -> str:
    # Go's %#U: U+0040 '@'
    o = ord(ch)
    code = f"U+{o:04X}"
    return f"{code} '{ch}'" if ch.isprintable() else code


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}


def unescape(quoted: str) -> str:
    """Strip the quotes of a string literal and resolve its escapes (expr's ``unescape``)."""
    value = quoted.replace("\r\n", "\n").replace("\r", "\n")
    n = len(value)
    if n < 2 or value[0] != value[-1] or value[0] not in "'\"":
        raise ExprError("unable to unescape string")
    value = value[1:-1]
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise ExprError("unable to unescape string, found '\\' as last character")
        c = value[i + 1]
        i += 2
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        elif c in "xXuU":
            width = 8 if c == "U" else 4 if c == "u" else 2
            hexdigits = value[i : i + width]
            if len(hexdigits) < width or any(_digit_val(h) >= 16 for h in hexdigits):
                raise ExprError("unable to unescape string")
            code = int(hexdigits, 16)
            if code > 0x10FFFF:
                raise ExprError("unable to unescape string")
            out.append(_rune(code))
            i += width
        elif c in "0123":
            octal = value[i : i + 2]
            if len(octal) < 2 or any(not "0" <= d <= "7" for d in octal):
                raise ExprError("unable to unescape octal sequence in string")
            out.append(_rune(int(c + octal, 8)))
            i += 2
        else:
            raise ExprError("unable to unescape string")
    return "".join(out)


def _rune(code: int) -> str:
    # Go strings cannot hold lone surrogates: encoding one yields U+FFFD
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an EOF token; raises :class:`ExprError` like expr."""
    return _Lexer(text).run()
