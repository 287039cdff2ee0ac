"""Kubernetes' ``$(VAR)`` expansion (``third_party/forked/golang/expansion``), byte for byte.

``$(NAME)`` is replaced by the variable's value when it is defined and left as written when it is not;
``$$`` is an escaped ``$``; any other ``$x`` stays as written. The scan for the closing parenthesis does not
validate the name, so ``$((1 + 2))`` is "the variable ``(1 + 2``" (undefined, kept) followed by ``)`` — which is
why shell arithmetic in a pod's command survives expansion.

The original works on Go strings (bytes): in the "not a reference" case it appends ``string(input[0])`` — the
*byte* converted to a rune — so ``$é`` turns into ``$Ã`` plus a stray continuation byte. We reproduce that on
the UTF-8 bytes and decode with ``surrogateescape`` so the exact bytes reach the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

_DOLLAR = 0x24
_OPEN = 0x28
_CLOSE = 0x29


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand ``$(VAR)`` references in ``text``; ``lookup`` returns ``None`` for an undefined variable."""
    if "$" not in text:
        return text
    data = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    checkpoint = 0
    cursor = 0
    n = len(data)
    while cursor < n:
        if data[cursor] == _DOLLAR and cursor + 1 < n:
            out += data[checkpoint:cursor]
            nxt = data[cursor + 1]
            advance = 1
            if nxt == _DOLLAR:
                out.append(_DOLLAR)
            elif nxt == _OPEN:
                close = data.find(b")", cursor + 2)
                if close < 0:
                    out += b"$("
                else:
                    name = data[cursor + 2 : close].decode("utf-8", "surrogateescape")
                    value = lookup(name)
                    if value is None:
                        out += b"$(" + data[cursor + 2 : close] + b")"
                    else:
                        out += value.encode("utf-8", "surrogateescape")
                    advance = close - cursor
            else:
                out.append(_DOLLAR)
                out += chr(nxt).encode("utf-8")
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out += data[checkpoint:]
    return out.decode("utf-8", "surrogateescape")


def mapping_lookup(*contexts: Mapping[str, str]) -> Callable[[str], str | None]:
    """``MappingFuncFor``: the first context that defines the name wins."""

    def lookup(name: str) -> str | None:
        for ctx in contexts:
            value = ctx.get(name)
            if value is not None:
                return value
        return None

    return lookup
