"""OTLP/JSON ⇄ protobuf messages with pdata's JSON rules (upstream ``pdata/internal/json``):

* trace/span IDs are hex strings (``""`` = zero ID), not base64 as in canonical proto3 JSON;
* field names in lowerCamelCase or snake_case; unknown fields are skipped;
* 64-bit integers as numbers or decimal strings; enums as integers or names.

Decoding turns the hex IDs into the base64 that ``json_format`` expects and lets the upb-backed
``ParseDict`` do the rest (C speed for the bulk of the work). Encoding does the reverse for the
exporters and the debug output.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)

_ID_FIELDS = {"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"}


class OTLPJSONError(ValueError):
    """Bad OTLP/JSON; ``str()`` is the message returned in the 400 Status body."""


_ID_SIZES = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}
_FIELD_CACHE: dict[str, dict[str, Any]] = {}


def _fields(desc: Any) -> dict[str, Any]:
    """JSON name and proto name → field descriptor, per message type (cached)."""
    table = _FIELD_CACHE.get(desc.full_name)
    if table is None:
        table = {}
        for f in desc.fields:
            table[f.name] = f
            table[f.json_name] = f
        _FIELD_CACHE[desc.full_name] = table
    return table


def _clean(node: dict[str, Any], desc: Any) -> None:
    """pdata's reader in place: drop unknown fields, hex IDs → base64, recurse into messages."""
    table = _fields(desc)
    for key in list(node):
        f = table.get(key)
        if f is None:
            del node[key]
            continue
        value = node[key]
        if f.message_type is not None:
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        _clean(item, f.message_type)
            elif isinstance(value, dict):
                _clean(value, f.message_type)
        elif f.name in _ID_SIZES and isinstance(value, str) and value:
            size = _ID_SIZES[f.name]
            try:
                raw = binascii.unhexlify(value)
            except (binascii.Error, ValueError):
                raise OTLPJSONError(f"parse {f.name}: invalid hex id {value!r}") from None
            if len(raw) != size:
                raise OTLPJSONError(f"parse {f.name}: id must be {size * 2} hex characters, got {len(value)}")
            node[key] = base64.b64encode(raw).decode("ascii")


def decode(body: bytes | str, message_type: type[M]) -> M:
    """Parse an OTLP/JSON request body into ``message_type``; OTLPJSONError with a readable reason."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise OTLPJSONError(str(exc)) from None
    if not isinstance(data, dict):
        raise OTLPJSONError(f"expected a JSON object, got {type(data).__name__}")
    msg = message_type()
    try:
        _clean(data, msg.DESCRIPTOR)
        json_format.ParseDict(data, msg)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise OTLPJSONError(str(exc)) from None
    return msg


def _ids_to_hex(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            elif isinstance(value, dict | list):
                _ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _ids_to_hex(item)
    return node


def to_dict(msg: Message) -> dict[str, Any]:
    """The OTLP/JSON form of a message (camelCase, hex IDs, enums as integers)."""
    data = json_format.MessageToDict(msg, use_integers_for_enums=True)
    return _ids_to_hex(data)  # type: ignore[no-any-return]


def encode(msg: Message) -> bytes:
    return json.dumps(to_dict(msg), separators=(",", ":")).encode()
