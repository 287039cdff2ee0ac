"""Go's ``encoding/json`` as seen from outside: its output for plain maps and strings, and the JSON kind names
its unmarshal errors print."""

from __future__ import annotations

import json
from typing import Any


def go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of maps/strings: sorted keys, no spaces, HTML-safe escapes, raw UTF-8."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # encoding/json escapes HTML-significant characters and the JS line separators.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def json_kind(value: object) -> str:
    """The JSON kind of a decoded value as ``json.UnmarshalTypeError`` names it ("cannot unmarshal <kind>")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
