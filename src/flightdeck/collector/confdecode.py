"""Overlay a user's config mapping on a component's default config dataclass, the way the collector's
confmap/mapstructure decoder does, with its error texts.

Rules (go-viper/mapstructure v2.4.0 as configured by confmap v0.142):

* keys match field names case-sensitively (a field's key is its name, or ``metadata={"key": …}``);
  unknown keys ⇒ ``'<path>' has invalid keys: a, b`` (path ``''`` at the top, dotted below);
* no weak typing: ``'<path>' expected type 'string', got unconvertible type 'int'`` and the like;
* a ``null`` value keeps the default for sections/lists/maps and zeroes a scalar;
* ``DurationNs`` fields take Go duration strings or integer nanoseconds (``'<path>' time: invalid duration``);
* a list of strings also takes one comma-separated string;
* an optional section (type ``X | None``) becomes ``X()`` overlaid with the value as soon as its key is
  present, even when the value is ``null`` (how ``protocols: {http:}`` enables the HTTP server);
* ``metadata={"decode": f}``: ``f(value)`` converts/checks a value; raising ``ValueError(msg)`` reports
  ``'<path>' msg`` (upstream TextUnmarshaler errors, e.g. spanmetrics' ``unknown Unit "h", …``).

All errors of one decode are collected; :func:`decode` raises one ConfigError whose text is upstream's
(``decoding failed due to the following error(s):\\n\\n`` + the errors, newline-joined).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

from flightdeck.collector.errors import ConfigError
from flightdeck.collector.expand import Expanded
from flightdeck.kube.durations import DurationError, parse_go_duration


class _DurationMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DURATION"


DURATION = _DurationMarker()
# Go ``time.Duration``: integer nanoseconds.
DurationNs = Annotated[int, DURATION]

T = TypeVar("T")

_GO_TYPE = {str: "string", int: "int", float: "float64", bool: "bool"}


def go_type_name(value: Any) -> str:
    """What Go's reflect prints for a YAML-decoded value's type."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def _expected_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        args = get_args(tp)
        if DURATION in args[1:]:
            return "time.Duration"
        return _expected_name(args[0])
    if tp in _GO_TYPE:
        return _GO_TYPE[tp]
    if origin in (list, tuple):
        return "[]" + _expected_name(get_args(tp)[0])
    if origin in (dict, Mapping):
        k, v = get_args(tp)
        return f"map[{_expected_name(k)}]{_expected_name(v)}"
    if tp is Any:
        return "interface {}"
    return getattr(tp, "__name__", str(tp))


def format_go_duration_ns(ns: int) -> str:
    """Go's ``time.Duration.String()`` exactly (``-20s``, ``1m30s``, ``1.5µs``, ``0s``)."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    sign = "-" if neg else ""
    if u < 1_000_000_000:
        # sub-second: ns, µs or ms with a fraction
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            whole, frac, unit = u // 1_000, u % 1_000, "µs"
            width = 3
        else:
            whole, frac, unit = u // 1_000_000, u % 1_000_000, "ms"
            width = 6
        tail = f"{frac:0{width}d}".rstrip("0")
        return f"{sign}{whole}{'.' + tail if tail else ''}{unit}"
    secs, frac_ns = divmod(u, 1_000_000_000)
    tail = f"{frac_ns:09d}".rstrip("0")
    out = f"{secs % 60}{'.' + tail if tail else ''}s"
    mins = secs // 60
    if mins:
        out = f"{mins % 60}m" + out
        hours = mins // 60
        if hours:
            out = f"{hours}h" + out
    return sign + out


def _duration_error(exc: DurationError) -> str:
    # mapstructure strips the quoted input from time.ParseDuration's message.
    msg = str(exc)
    if msg.startswith("time: unknown unit "):
        return "time: unknown unit"
    if msg.startswith("time: "):
        return msg[: msg.rfind(" ")]
    return msg


class _Decoder:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, msg: str) -> None:
        self.errors.append(f"'{path}' {msg}")

    def value(self, path: str, tp: Any, raw: Any, current: Any, meta: Mapping[str, Any]) -> Any:
        if isinstance(raw, Expanded):
            # ${env:X} as a whole value: string fields see the text, others the YAML-parsed value
            raw = raw.original if _base_type(tp) is str else raw.value
        hook: Callable[[Any], Any] | None = meta.get("decode")
        if hook is not None:
            if raw is None:
                return current
            try:
                return hook(raw)
            except ValueError as exc:
                self.fail(path, str(exc))
                return current
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            if DURATION in args[1:]:
                return self.duration(path, raw)
            return self.value(path, args[0], raw, current, meta)
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                inner = members[0]
                if dataclasses.is_dataclass(inner):
                    base = current if current is not None else typing.cast(Any, inner)()
                    return self.struct(path, base, raw)
                if raw is None:
                    return None
                return self.value(path, inner, raw, current, meta)
            return raw
        if dataclasses.is_dataclass(tp):
            return self.struct(path, current if current is not None else typing.cast(Any, tp)(), raw)
        if tp is Any or tp is object:
            return raw
        if origin in (list, tuple):
            return self.seq(path, tp, raw, current)
        if origin in (dict, Mapping):
            return self.mapping(path, tp, raw, current)
        if raw is None:
            return tp() if tp in _GO_TYPE else current
        if tp is bool:
            if isinstance(raw, bool):
                return raw
        elif tp is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
        elif tp is float:
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return float(raw)
        elif tp is str:
            if isinstance(raw, str):
                return raw
        else:
            return raw
        self.fail(path, f"expected type '{_expected_name(tp)}', got unconvertible type '{go_type_name(raw)}'")
        return current

    def duration(self, path: str, raw: Any) -> int:
        if raw is None:
            return 0
        if isinstance(raw, str):
            try:
                return round(parse_go_duration(raw) * 1e9)
            except DurationError as exc:
                self.fail(path, _duration_error(exc))
                return 0
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        self.fail(path, f"expected type 'time.Duration', got unconvertible type '{go_type_name(raw)}'")
        return 0

    def seq(self, path: str, tp: Any, raw: Any, current: Any) -> Any:
        (elem,) = get_args(tp)[:1]
        if raw is None:
            return current
        if isinstance(raw, str) and elem is str:
            return [] if raw == "" else raw.split(",")
        if not isinstance(raw, list | tuple):
            self.fail(path, f"source data must be an array or slice, got {go_kind(raw)}")
            return current
        out = []
        for i, item in enumerate(raw):
            out.append(self.value(f"{path}[{i}]", elem, item, None, {}))
        return out

    def mapping(self, path: str, tp: Any, raw: Any, current: Any) -> Any:
        _, elem = get_args(tp)
        if raw is None:
            return current
        if not isinstance(raw, Mapping):
            self.fail(path, f'expected a map or struct, got "{go_kind(raw)}"')
            return current
        out = dict(current or {})
        for key, item in raw.items():
            out[str(key)] = self.value(f"{path}[{key}]", elem, item, out.get(str(key)), {})
        return out

    def struct(self, path: str, base: Any, raw: Any) -> Any:
        if raw is None:
            return base
        if not isinstance(raw, Mapping):
            self.fail(path, f'expected a map or struct, got "{go_kind(raw)}"')
            return base
        cls = type(base)
        hints = get_type_hints(cls, include_extras=True)
        changes: dict[str, Any] = {}
        used: set[str] = set()
        for f in dataclasses.fields(base):
            key = f.metadata.get("key", f.name)
            if key not in raw:
                continue
            used.add(key)
            sub = f"{path}.{key}" if path else key
            changes[f.name] = self.value(sub, hints[f.name], raw[key], getattr(base, f.name), f.metadata)
        unknown = sorted(str(k) for k in raw if k not in used)
        if unknown:
            self.fail(path, "has invalid keys: " + ", ".join(unknown))
        return dataclasses.replace(base, **changes) if changes else base


def _base_type(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is Annotated:
        return _base_type(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        return _base_type(members[0]) if len(members) == 1 else tp
    return tp


def go_kind(value: Any) -> str:
    """reflect.Kind's name of a YAML-decoded value, as mapstructure's messages print it."""
    name = go_type_name(value)
    if name.startswith("map["):
        return "map"
    if name.startswith("[]"):
        return "slice"
    return name


def decode(raw: Mapping[str, Any] | None, default: T) -> T:
    """``default`` (a dataclass instance) overlaid with ``raw``; ConfigError with upstream's text on errors."""
    decoder = _Decoder()
    result = decoder.struct("", default, raw)
    if decoder.errors:
        raise ConfigError(decode_failure(decoder.errors))
    return typing.cast(T, result)


def decode_failure(errors: list[str]) -> str:
    """mapstructure's wrapping of joined errors."""
    return "decoding failed due to the following error(s):\n\n" + "\n".join(errors)
