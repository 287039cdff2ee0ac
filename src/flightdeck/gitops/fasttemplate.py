"""ApplicationSet template rendering without ``goTemplate``: Argo CD's fasttemplate substitution.

Rules (Argo CD ``applicationset/utils.Render.Replace``): a string is only processed when it contains ``{{…}}`` on
one line; every ``{{tag}}`` whose trimmed tag names a string parameter is replaced; unknown tags stay verbatim
(``{{ nope }}`` stays ``{{ nope }}``); an opening ``{{`` without a closing ``}}`` after it is an error. Map keys are
templated as well as values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flightdeck.util.gofmt import go_quote

_TEMPLATED = re.compile(r"\{\{.*\}\}")  # Go's ".*{{.*}}.*": '.' stops at newlines


class TemplateError(ValueError):
    """A ``{{…}}`` tag fasttemplate cannot parse (an unterminated tag)."""


def replace(template: str, params: Mapping[str, Any]) -> str:
    if not _TEMPLATED.search(template):
        return template
    out: list[str] = []
    rest = template
    while True:
        start = rest.find("{{")
        if start < 0:
            out.append(rest)
            break
        out.append(rest[:start])
        rest = rest[start + 2 :]
        end = rest.find("}}")
        if end < 0:
            raise TemplateError(
                f"invalid template: Cannot find end tag={go_quote('}}')} in the template="
                f"{go_quote(template)} starting from {go_quote(rest)}"
            )
        tag = rest[:end]
        rest = rest[end + 2 :]
        trimmed = tag.strip(" \t\n\r\v\f\x85\xa0")
        value = params.get(trimmed) if trimmed else None
        out.append(value if isinstance(value, str) else "{{" + tag + "}}")
    return "".join(out)


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """A deep copy of ``value`` with every string (and map key) templated; null map values are dropped."""
    if isinstance(value, str):
        return replace(value, params)
    if isinstance(value, dict):
        return {
            (replace(k, params) if isinstance(k, str) else k): render(v, params)
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [render(item, params) for item in value]
    return value
