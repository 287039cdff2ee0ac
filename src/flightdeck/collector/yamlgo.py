"""YAML the way the collector's go-yaml (v3) reads it, so values and errors match.

Differences from PyYAML's defaults that matter for collector configs: only ``true``/``false`` (any case
variant go-yaml knows) are booleans (``on``/``yes`` stay strings); no sexagesimal ints (``1:30`` is a
string); duplicate mapping keys are an error listing every duplicate with go-yaml's text
(``yaml: unmarshal errors:\\n  line 5: mapping key "otlp" already defined at line 3``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:  # libyaml's parser is much faster; resolution and construction stay in Python either way
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class YAMLError(ValueError):
    """``str()`` is go-yaml's message (``yaml: …``)."""


_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^[-+]?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _GoLoader(_BaseLoader):
    duplicate_errors: list[tuple[int, str]]


# YAML 1.2 core-schema resolution (what go-yaml v3 applies to untagged plain scalars).
_GoLoader.yaml_implicit_resolvers = {}
_GoLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_GoLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
_GoLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_GoLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_GoLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_bool(loader: _GoLoader, node: yaml.ScalarNode) -> bool:
    return str(node.value).lower() == "true"


def _construct_int(loader: _GoLoader, node: yaml.ScalarNode) -> int | float:
    text = str(node.value).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body.startswith("0x"):
        value = int(body[2:], 16)
    elif body.startswith("0o"):
        value = int(body[2:], 8)
    elif body.startswith("0b"):
        value = int(body[2:], 2)
    elif len(body) > 1 and body.startswith("0"):
        # strconv.ParseInt(s, 0, 64): a leading 0 means octal; invalid octal falls back to float
        try:
            value = int(body[1:], 8)
        except ValueError:
            return sign * float(body)
    else:
        value = int(body, 10)
    value *= sign
    # go-yaml falls back to float64 when the value does not fit int64
    if not -(2**63) <= value < 2**63:
        return float(value)
    return value


def _construct_float(loader: _GoLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value).replace("_", "").lower()
    if text in (".inf", "+.inf"):
        return float("inf")
    if text == "-.inf":
        return float("-inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _construct_mapping(loader: _GoLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in first_line:
            loader.duplicate_errors.append(
                (line, f'line {line}: mapping key "{key}" already defined at line {first_line[key]}')
            )
            continue
        first_line[key] = line
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_GoLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_GoLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_GoLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_GoLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
# Timestamps stay strings when decoded into interface{} values, as in go-yaml v3.
_GoLoader.add_constructor("tag:yaml.org,2002:timestamp", _GoLoader.construct_yaml_str)  # type: ignore[type-var]

# PyYAML's wording → go-yaml's wording for the common syntax errors.
_PROBLEMS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "could not find expected ':'": "could not find expected ':'",
    "did not find expected key": "did not find expected key",
    "did not find expected node content": "did not find expected node content",
    "did not find expected '-' indicator": "did not find expected '-' indicator",
    "found unexpected end of stream": "found unexpected end of stream",
}


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or str(exc)
    if problem.startswith("found character") and "that cannot start any token" in problem:
        problem = "found character that cannot start any token"
    problem = _PROBLEMS.get(problem, problem)
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return f"yaml: {problem}"
    return f"yaml: line {mark.line + 1}: {problem}"


def load(text: str) -> Any:
    """Parse one YAML document like go-yaml v3 into plain Python values; :class:`YAMLError` on failure."""
    loader = _GoLoader(text)
    loader.duplicate_errors = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise YAMLError(_syntax_message(exc)) from None
    except yaml.YAMLError as exc:
        raise YAMLError(f"yaml: {exc}") from None
    finally:
        loader.dispose()
    if loader.duplicate_errors:
        lines = "\n  ".join(msg for _, msg in sorted(loader.duplicate_errors))
        raise YAMLError(f"yaml: unmarshal errors:\n  {lines}")
    return data
