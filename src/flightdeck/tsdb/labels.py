"""Label sets: sorted tuples of (name, value) pairs, the identity of a series."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from flightdeck.util.gofmt import go_quote

Labels = tuple[tuple[str, str], ...]

METRIC_NAME = "__name__"
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

EMPTY: Labels = ()


def make_labels(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Labels:
    """A canonical label set: sorted by name, empty values dropped (as Prometheus does)."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((k, v) for k, v in items if v != ""))


def get(labels: Labels, name: str) -> str:
    for k, v in labels:
        if k == name:
            return v
    return ""


def drop_metric_name(labels: Labels) -> Labels:
    if labels and labels[0][0] == METRIC_NAME:
        return labels[1:]
    return tuple(p for p in labels if p[0] != METRIC_NAME)


def without(labels: Labels, names: Iterable[str]) -> Labels:
    drop = set(names)
    return tuple(p for p in labels if p[0] not in drop)


def keep_only(labels: Labels, names: Iterable[str]) -> Labels:
    keep = set(names)
    return tuple(p for p in labels if p[0] in keep)


def with_label(labels: Labels, name: str, value: str) -> Labels:
    rest = [p for p in labels if p[0] != name]
    if value != "":
        rest.append((name, value))
    return tuple(sorted(rest))


def labels_string(labels: Labels) -> str:
    """``labels.Labels.String()``: ``{a="b", c="d"}``."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in labels) + "}"


# Characters Go's encoding/json escapes (it also escapes <, > and & for HTML safety).
_JSON_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_GO_SPECIAL = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json_string(text: str) -> str:
    """A JSON string exactly as Go's ``encoding/json`` writes it (UTF-8 kept, HTML characters escaped)."""
    if _JSON_ESCAPE.search(text) is None:
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch in _GO_SPECIAL:
            out.append(_GO_SPECIAL[ch])
        elif ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")  # invalid UTF-8 becomes U+FFFD in Go
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


@functools.lru_cache(maxsize=1 << 17)
def labels_json(labels: Labels) -> str:
    return "{" + ",".join(f"{go_json_string(k)}:{go_json_string(v)}" for k, v in labels) + "}"
