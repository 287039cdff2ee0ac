"""Go's ``json.Marshal`` of a typed Kubernetes object, given the object as decoded JSON/YAML.

The output is what a Go program prints after decoding the object into its typed struct (``json.Unmarshal``) and
marshalling it again: fields in declaration order (:mod:`flightdeck.kube.gostruct`), ``omitempty`` dropping ``""``,
``0``, ``false``, nil pointers and nil or empty slices and maps but never structs, ``omitzero`` dropping zero values
(Go >= 1.24 honours it: ``metadata.creationTimestamp`` disappears when unset), fields without ``omitempty`` always
written (``null`` for an absent slice, map or pointer; the zero value otherwise), map keys sorted, strings with Go's
HTML-safe escapes, and the custom marshalers of ``resource.Quantity`` (canonical text, see
:mod:`flightdeck.kube.goquantity`), ``intstr.IntOrString`` (number or string), ``metav1.Time`` (RFC 3339 in UTC, ``null``
when zero) and ``metav1.FieldsV1`` (raw JSON). JSON ``null`` behaves as an absent key, as in Go.

What Go cannot represent is reported, never silently mis-encoded: a key the tables do not know (a field newer than
k8s.io/api v0.34, or a misspelling) and a value of the wrong JSON type. Go's decoder would drop the first and fail on
the second; flightdeck by default writes such a key after the known fields of its object, in sorted order and with
Go's encoding of untyped JSON, so that changing it still changes the bytes (and any hash of them), and lists each one
in :attr:`Marshalled.issues`. Bytes with issues therefore differ from a real controller's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Literal

from flightdeck.kube import gostruct
from flightdeck.kube.goquantity import go_quantity_text
from flightdeck.kube.quantity import QuantityError
from flightdeck.util.gofmt import format_float
from flightdeck.util.gojson import go_json, json_kind

UnknownFields = Literal["append", "drop"]


@dataclass(frozen=True, slots=True)
class Marshalled:
    """Go's ``json.Marshal`` output and what in the input it could not represent (``path: problem``)."""

    data: bytes
    issues: tuple[str, ...]


class _Ctx:
    """Per-call state: the path to the current value (joined only when an issue is reported) and the issues."""

    __slots__ = ("append_unknown", "issues", "path")

    def __init__(self, append_unknown: bool) -> None:
        self.append_unknown = append_unknown
        self.path: list[str] = []
        self.issues: list[str] = []

    def issue(self, problem: str, key: str | None = None) -> None:
        path = "".join(self.path) + ("" if key is None else "." + key)
        self.issues.append(f"{path.lstrip('.') or '<root>'}: {problem}")


_Encoder = Callable[[Any, list[str], _Ctx], None]
_Empty = Callable[[Any], bool]

# Strings that need no escaping at all (the common case: names, images, label values).
_PLAIN = re.compile(r'[^"\\<>&\x00-\x1f\x7f-\uffff]*\Z')


def go_string(s: str) -> str:
    """A Go JSON string literal (HTML-safe escapes as :func:`flightdeck.util.gojson.go_json`)."""
    if _PLAIN.match(s):
        return '"' + s + '"'
    return go_json(s)


def go_float(value: float) -> str:
    """Go's JSON number for a float64: positional, or exponent form below 1e-6 and from 1e21 (``1e-7``, ``1e+21``)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {format_float(value)}")
    magnitude = abs(value)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        return format_float(value)
    text = repr(value)  # shortest round-trip digits, exponent form at these magnitudes
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    sign = "-" if exponent.startswith("-") else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    return f"{mantissa}e{sign}{digits}"


def encode_any(value: Any, out: list[str]) -> None:
    """Go's encoding of untyped JSON (``interface{}``): maps with sorted keys, Go number and string forms."""
    if isinstance(value, str):
        out.append(go_string(value))
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        out.append("{")
        for i, (k, v) in enumerate(items):
            out.append(("," if i else "") + go_string(k) + ":")
            encode_any(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            encode_any(v, out)
        out.append("]")
    elif isinstance(value, datetime | date):
        # A YAML timestamp the loader turned into an object; JSON would have carried its text.
        out.append(go_string(value.isoformat()))
    else:
        out.append(go_string(str(value)))


def _mismatch(expected: str) -> _Encoder:
    def fallback(value: Any, out: list[str], ctx: _Ctx) -> None:
        ctx.issue(f"expected {expected}, got {json_kind(value)}")
        encode_any(value, out)

    return fallback


_NOT_STRING = _mismatch("a string")
_NOT_INT = _mismatch("an integer")
_NOT_BOOL = _mismatch("a boolean")
_NOT_LIST = _mismatch("an array")
_NOT_OBJECT = _mismatch("an object")
_NOT_INT_OR_STRING = _mismatch("an integer or a string")


def _enc_string(value: Any, out: list[str], ctx: _Ctx) -> None:
    if isinstance(value, str):
        out.append(go_string(value))
    elif value is None:
        out.append('""')
    else:
        _NOT_STRING(value, out, ctx)


def _enc_int(value: Any, out: list[str], ctx: _Ctx) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        out.append(str(value))
    elif value is None:
        out.append("0")
    elif isinstance(value, float) and value.is_integer():
        # JSON has one number type: a YAML 8080.0 reaches the API server as 8080.
        out.append(str(int(value)))
    else:
        _NOT_INT(value, out, ctx)


def _enc_bool(value: Any, out: list[str], ctx: _Ctx) -> None:
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif value is None:
        out.append("false")
    else:
        _NOT_BOOL(value, out, ctx)


def _enc_quantity(value: Any, out: list[str], ctx: _Ctx) -> None:
    if value is None:
        out.append('"0"')  # null decodes to the zero Quantity
        return
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        ctx.issue(f"expected a quantity, got {json_kind(value)}")
        encode_any(value, out)
        return
    # Quantity.UnmarshalJSON parses the raw JSON text between the quotes (escapes not decoded, so an escaped tab is
    # no space to trim but a parse error), and a JSON number's own text.
    if isinstance(value, str):
        raw = go_string(value)[1:-1]
    else:
        raw = str(value) if isinstance(value, int) else go_float(value)
    try:
        out.append('"' + go_quantity_text(raw) + '"')
    except QuantityError as err:
        ctx.issue(f"invalid quantity {raw!r}: {err}")
        encode_any(value, out)


def _enc_int_or_string(value: Any, out: list[str], ctx: _Ctx) -> None:
    if isinstance(value, str):
        out.append(go_string(value))
    elif value is None:
        out.append("0")  # null decodes to the zero IntOrString: the integer 0
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append(str(value))
    elif isinstance(value, float) and value.is_integer():
        out.append(str(int(value)))
    else:
        _NOT_INT_OR_STRING(value, out, ctx)


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _utc_time(value: Any) -> str | None:
    """``metav1.Time`` after a round trip: RFC 3339 in UTC without fractions, or None when it cannot parse."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and _RFC3339.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def _time_is_zero(value: Any) -> bool:
    return value is None or _utc_time(value) == _ZERO_TIME


def _enc_time(value: Any, out: list[str], ctx: _Ctx) -> None:
    if value is None:
        out.append("null")
        return
    text = _utc_time(value)
    if text is None:
        ctx.issue(f"expected an RFC 3339 time, got {json_kind(value)} {value!r}")
        encode_any(value, out)
    else:
        out.append("null" if text == _ZERO_TIME else '"' + text + '"')


def _enc_raw(value: Any, out: list[str], ctx: _Ctx) -> None:
    encode_any(value, out)


_SCALARS: dict[str, _Encoder] = {
    "string": _enc_string,
    "int": _enc_int,
    "bool": _enc_bool,
    "quantity": _enc_quantity,
    "intorstr": _enc_int_or_string,
    "time": _enc_time,
    "raw": _enc_raw,
}


def _empty_for(kind: str) -> _Empty | None:
    """Go's ``omitempty`` test for a field of this kind (None: never omitted, as for every struct)."""
    if kind == "string":
        return lambda v: v is None or v == ""
    if kind == "int":
        return lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool) and v == 0)
    if kind == "bool":
        return lambda v: v is None or v is False
    if kind.startswith("*"):
        return lambda v: v is None
    if kind.startswith(("[]", "map[")):
        return lambda v: v is None or (isinstance(v, list | tuple | Mapping) and len(v) == 0)
    return None


def _omit_for(kind: str, options: str, omitzero: bool) -> _Empty | None:
    flags = options.split(",")
    empty = _empty_for(kind) if "omitempty" in flags else None
    if omitzero and "omitzero" in flags:
        if kind != "time":
            raise NotImplementedError(f"not supported: omitzero on a {kind} field")
        return _time_is_zero if empty is None else (lambda v: empty(v) or _time_is_zero(v))
    return empty


class _Codec:
    """Encoders compiled from the tables for one set of options (built lazily, shared by every call)."""

    def __init__(self, omitzero: bool) -> None:
        self.omitzero = omitzero
        self.structs: dict[str, _Encoder] = {}

    def encoder(self, kind: str) -> _Encoder:
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind.startswith("*"):
            inner = self.encoder(kind[1:])

            def pointer(value: Any, out: list[str], ctx: _Ctx) -> None:
                if value is None:
                    out.append("null")
                else:
                    inner(value, out, ctx)

            return pointer
        if kind.startswith("[]"):
            return self._slice(self.encoder(kind[2:]))
        if kind.startswith("map[string]"):
            return self._map(self.encoder(kind[len("map[string]") :]))
        return self._struct_ref(kind)

    def _slice(self, item: _Encoder) -> _Encoder:
        def slice_(value: Any, out: list[str], ctx: _Ctx) -> None:
            if value is None:
                out.append("null")
                return
            if not isinstance(value, list | tuple):
                _NOT_LIST(value, out, ctx)
                return
            out.append("[")
            path = ctx.path
            for i, v in enumerate(value):
                if i:
                    out.append(",")
                path.append(f"[{i}]")
                item(v, out, ctx)
                path.pop()
            out.append("]")

        return slice_

    def _map(self, item: _Encoder) -> _Encoder:
        def map_(value: Any, out: list[str], ctx: _Ctx) -> None:
            if value is None:
                out.append("null")
                return
            if not isinstance(value, Mapping):
                _NOT_OBJECT(value, out, ctx)
                return
            out.append("{")
            path = ctx.path
            for i, key in enumerate(sorted(value, key=str)):
                out.append(("," if i else "") + go_string(str(key)) + ":")
                path.append(f"[{key}]")
                item(value[key], out, ctx)
                path.pop()
            out.append("}")

        return map_

    def _struct_ref(self, name: str) -> _Encoder:
        if name not in gostruct.GO_TYPES:
            raise KeyError(f"not supported: Go type {name!r} has no field table")

        # Resolved on first use, so types may refer to each other in any order.
        def struct_ref(value: Any, out: list[str], ctx: _Ctx) -> None:
            enc = self.structs.get(name)
            if enc is None:
                enc = self.structs[name] = self._struct(name)
            enc(value, out, ctx)

        return struct_ref

    def _fields(self, name: str) -> list[tuple[str, str, str]]:
        """The type's fields with embedded (``inline``) structs promoted in place."""
        fields: list[tuple[str, str, str]] = []
        for json_name, kind, options in gostruct.GO_TYPES[name]:
            if options == "inline":
                fields.extend(self._fields(kind))
            else:
                fields.append((json_name, kind, options))
        return fields

    def _struct(self, name: str) -> _Encoder:
        compiled = [
            (
                json_name,
                go_string(json_name) + ":",
                self.encoder(kind),
                _omit_for(kind, options, self.omitzero),
            )
            for json_name, kind, options in self._fields(name)
        ]
        known = frozenset(f[0] for f in compiled)
        empty: Mapping[str, Any] = {}

        def struct(value: Any, out: list[str], ctx: _Ctx) -> None:
            if value is None:
                value = empty  # a non-pointer struct decodes null as its zero value
            elif not isinstance(value, Mapping):
                _NOT_OBJECT(value, out, ctx)
                return
            out.append("{")
            sep = ""
            path = ctx.path
            get = value.get
            for json_name, prefix, enc, omit in compiled:
                v = get(json_name)
                if omit is not None and omit(v):
                    continue
                out.append(sep + prefix)
                sep = ","
                path.append("." + json_name)
                enc(v, out, ctx)
                path.pop()
            if len(value) and not known.issuperset(value):
                for key in sorted(str(k) for k in value if k not in known):
                    ctx.issue(f"unknown field (not in {name}, {gostruct.SOURCE})", key)
                    if ctx.append_unknown:
                        out.append(sep + go_string(key) + ":")
                        sep = ","
                        encode_any(value[key], out)
            out.append("}")

        return struct


@cache
def _codec(omitzero: bool) -> _Codec:
    return _Codec(omitzero)


def marshal(
    value: Any, type_name: str = gostruct.ROOT, *, omitzero: bool = True, unknown: UnknownFields = "append"
) -> Marshalled:
    """``json.Marshal`` of ``value`` decoded into Go type ``type_name`` (a key of ``gostruct.GO_TYPES``).

    ``omitzero=False`` ignores that tag as Go before 1.24 did: ``"creationTimestamp":null``, the bytes Argo
    Rollouts up to v1.8 hashed (its k8s.io/apimachinery v0.29 had no omitzero tag at all). ``unknown="drop"`` leaves unknown keys out, as Go's decoder does (they are
    still listed in the issues).
    """
    ctx = _Ctx(unknown == "append")
    out: list[str] = []
    _codec(omitzero).encoder(type_name)(value, out, ctx)
    return Marshalled("".join(out).encode("utf-8"), tuple(ctx.issues))
