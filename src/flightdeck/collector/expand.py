"""``${…}`` references in config values, expanded as confmap does (v0.142).

* ``${env:NAME}``, ``${NAME}`` (env is the default scheme), ``${env:NAME:-default}``;
  ``${file:path}`` and ``${yaml:inline}`` too. An unset variable expands to nothing (logged).
* A value that is exactly one reference takes the referenced text parsed as YAML (``${env:PORT}`` with
  ``PORT=4318`` is the int 4318), but string-typed fields still see the original text; a reference inside
  a longer string is replaced textually. ``$${…}`` escapes (becomes ``${…}``, not expanded).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flightdeck.collector import yamlgo
from flightdeck.collector.errors import ConfigError

_URI = re.compile(r"^(?s:([A-Za-z][A-Za-z0-9+.-]+):(.*))$")
_ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MAX_ROUNDS = 1000


@dataclass(frozen=True, slots=True)
class Expanded:
    """A whole-value expansion: the YAML-parsed value and its original text (for string fields)."""

    value: Any
    original: str


Warn = Callable[[str, str], None]


class Expander:
    def __init__(self, env: Mapping[str, str] | None = None, warn: Warn | None = None) -> None:
        self.env = os.environ if env is None else env
        self.warn = warn

    def expand(self, value: Any) -> Any:
        for _ in range(_MAX_ROUNDS):
            value, changed = self._value(value)
            if not changed:
                return _unescape(value)
        raise ConfigError("too many recursive expansions")

    def _value(self, value: Any) -> tuple[Any, bool]:
        if isinstance(value, Expanded):
            inner, changed = self._value(value.value)
            if isinstance(inner, Expanded | str):
                return inner, changed
            orig, orig_changed = self._value(value.original)
            if isinstance(orig, str):
                return Expanded(inner, orig), changed or orig_changed
            return inner, changed
        if isinstance(value, str):
            if "${" not in value or "}" not in value:
                return value, False
            return self._find_and_expand(value)
        if isinstance(value, list):
            out_list = []
            any_changed = False
            for item in value:
                new, changed = self._value(item)
                out_list.append(new)
                any_changed = any_changed or changed
            return out_list, any_changed
        if isinstance(value, dict):
            out_map = {}
            any_changed = False
            for key, item in value.items():
                new, changed = self._value(item)
                out_map[key] = new
                any_changed = any_changed or changed
            return out_map, any_changed
        return value, False

    def _find_uri(self, text: str) -> str:
        close = text.find("}")
        remaining = text[close + 1 :]
        open_ = text[: close + 1].rfind("${")
        if open_ < 0:
            return self._find_uri(remaining) if "}" in remaining else ""
        # an odd number of '$' before "${" means it is escaped
        count = 0
        i = open_ - 1
        while i >= 0 and text[i] == "$":
            count += 1
            i -= 1
        if count % 2 == 1:
            return ""
        return text[open_ : close + 1]

    def _find_and_expand(self, text: str) -> tuple[Any, bool]:
        uri = self._find_uri(text)
        if not uri:
            return text, False
        raw, as_text = self._retrieve(uri)
        if uri == text:
            if as_text is not None:
                return Expanded(raw, as_text), True
            return raw, True
        if as_text is None:
            raise ConfigError(
                f"expanding {uri}: retrieved value does not have unambiguous string representation: {raw}"
            )
        return text.replace(uri, as_text), True

    def _retrieve(self, ref: str) -> tuple[Any, str | None]:
        uri = ref[2:-1]
        if ":" not in uri:
            uri = "env:" + uri
        m = _URI.match(uri)
        if m is None:
            raise ConfigError(f'invalid uri: "{uri}"')
        scheme, opaque = m.group(1), m.group(2)
        if "$" in opaque:
            raise ConfigError(f"the uri \"{scheme}:{opaque}\" contains unsupported characters ('$')")
        if scheme == "env":
            name, sep, default = opaque.partition(":-")
            if not _ENV_NAME.match(name):
                raise ConfigError(
                    f'environment variable "{name}" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$'
                )
            text = self.env.get(name)
            if text is None:
                if sep:
                    text = default
                else:
                    text = ""
                    if self.warn:
                        self.warn("Configuration references unset environment variable", name)
            return _from_yaml(text)
        if scheme == "file":
            try:
                content = Path(opaque).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"unable to read the file {opaque}: {exc.strerror}") from None
            return _from_yaml(content)
        if scheme == "yaml":
            return _from_yaml(opaque)
        if scheme in ("http", "https"):
            raise ConfigError(f"not supported: the {scheme} config provider (in {ref})")
        raise ConfigError(f'scheme "{scheme}" is not supported for uri "{scheme}:{opaque}"')


def _from_yaml(text: str) -> tuple[Any, str | None]:
    """NewRetrievedFromYAML: parse as YAML, else keep the text as a string."""
    try:
        value = yamlgo.load(text)
    except yamlgo.YAMLError:
        return text, text
    if isinstance(value, dict | list):
        return value, text
    return value, text


def _unescape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, Expanded):
        return Expanded(_unescape(value.value), value.original.replace("$$", "$"))
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    return value


def resolve_expanded(value: Any, want_string: bool) -> Any:
    """The value a field sees: the original text for string-typed targets, the parsed value otherwise."""
    if isinstance(value, Expanded):
        if want_string:
            return value.original
        return value.value
    return value


def strip_expanded(value: Any) -> Any:
    """Replace every Expanded by its parsed value (for code that reads the raw map)."""
    if isinstance(value, Expanded):
        return strip_expanded(value.value)
    if isinstance(value, list):
        return [strip_expanded(v) for v in value]
    if isinstance(value, dict):
        return {k: strip_expanded(v) for k, v in value.items()}
    return value
