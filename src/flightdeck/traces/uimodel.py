"""Jaeger's UI JSON (``internal/uimodel``, ``converter/v1/json/from_domain.go``), as Go writes it.

The text is assembled directly (field order of the Go structs, ``encoding/json`` formatting)
rather than through dicts, because trace search answers can hold many thousands of spans.
"""

from __future__ import annotations

from collections.abc import Iterable

from flightdeck.traces import gojson
from flightdeck.traces.model import (
    BINARY,
    BOOL,
    FLOAT64,
    INT64,
    STRING,
    VALUE_TYPE_NAMES,
    KeyValue,
    Log,
    Process,
    Span,
    span_id_string,
    trace_id_string,
)

JS_MAX_SAFE_INTEGER = (1 << 53) - 1
_UINT64 = 1 << 64
_REF_TYPES = ('"CHILD_OF"', '"FOLLOWS_FROM"')
_TYPE_JSON = tuple(f'"{name}"' for name in VALUE_TYPE_NAMES)
_string = gojson.string


def _kv(kv: KeyValue) -> str:
    vtype = kv.vtype
    value = kv.value
    if vtype == STRING:
        text = _string(str(value))
    elif vtype == BOOL:
        text = "true" if value else "false"
    elif vtype == INT64:
        number = int(value)
        # JavaScript cannot hold larger integers exactly, so Jaeger sends them as strings.
        text = f'"{number}"' if abs(number) > JS_MAX_SAFE_INTEGER else str(number)
    elif vtype == FLOAT64:
        text = gojson.number(float(value))
    elif vtype == BINARY:
        text = gojson.binary(value if isinstance(value, bytes) else b"")
    else:
        text = _string(kv.as_string())
    type_name = _TYPE_JSON[vtype] if 0 <= vtype < len(_TYPE_JSON) else '""'
    return '{"key":' + _string(kv.key) + ',"type":' + type_name + ',"value":' + text + "}"


def key_values(kvs: Iterable[KeyValue]) -> str:
    return "[" + ",".join(_kv(kv) for kv in kvs) + "]"


def _micros(nanos: int) -> int:
    """``model.TimeAsEpochMicroseconds`` / ``DurationAsMicroseconds``: truncate, then uint64."""
    micros = abs(nanos) // 1000
    return (-micros if nanos < 0 else micros) % _UINT64


def _logs(logs: list[Log]) -> str:
    return (
        "["
        + ",".join(
            '{"timestamp":' + str(_micros(log.timestamp)) + ',"fields":' + key_values(log.fields) + "}"
            for log in logs
        )
        + "]"
    )


def _warnings(warnings: list[str] | None) -> str:
    if warnings is None:
        return "null"
    return "[" + ",".join(_string(w) for w in warnings) + "]"


def span_json(span: Span, process_id: str) -> str:
    trace_id = '"' + trace_id_string(span.trace_id) + '"'
    refs = ",".join(
        '{"refType":'
        + _REF_TYPES[ref.ref_type]
        + ',"traceID":"'
        + trace_id_string(ref.trace_id)
        + '","spanID":"'
        + span_id_string(ref.span_id)
        + '"}'
        for ref in span.references
    )
    parts = ['{"traceID":', trace_id, ',"spanID":"', span_id_string(span.span_id), '"']
    if span.flags:
        parts.append(f',"flags":{span.flags & 0xFFFFFFFF}')
    parts += [
        ',"operationName":',
        _string(span.operation_name),
        ',"references":[',
        refs,
        '],"startTime":',
        str(_micros(span.start_time)),
        ',"duration":',
        str(_micros(span.duration)),
        ',"tags":',
        key_values(span.tags),
        ',"logs":',
        _logs(span.logs),
    ]
    if process_id:
        parts += [',"processID":"', process_id, '"']
    parts += [',"warnings":', _warnings(span.warnings), "}"]
    return "".join(parts)


def _process_json(process: Process) -> str:
    return '{"serviceName":' + _string(process.service_name) + ',"tags":' + key_values(process.tags) + "}"


def trace_json(spans: list[Span], warnings: list[str] | None = None) -> str:
    """One ``uimodel.Trace``: processes numbered ``p1``, ``p2``… in order of first appearance."""
    ids: dict[tuple[str, tuple[KeyValue, ...]], str] = {}
    processes: dict[str, Process] = {}
    span_texts: list[str] = []
    for span in spans:
        key = span.process.key()
        pid = ids.get(key)
        if pid is None:
            pid = f"p{len(ids) + 1}"
            ids[key] = pid
            processes[pid] = span.process
        span_texts.append(span_json(span, pid))
    trace_id = trace_id_string(spans[0].trace_id) if spans else ""
    # Go writes map keys sorted as strings: p1, p10, p2, ...
    process_text = ",".join(f'"{pid}":' + _process_json(processes[pid]) for pid in sorted(processes))
    return (
        '{"traceID":"'
        + trace_id
        + '","spans":['
        + ",".join(span_texts)
        + '],"processes":{'
        + process_text
        + '},"warnings":'
        + _warnings(warnings)
        + "}"
    )
