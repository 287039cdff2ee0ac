"""JSON rendering of query results exactly as Prometheus writes them (byte for byte)."""

from __future__ import annotations

from flightdeck.tsdb.labels import go_json_string, labels_json
from flightdeck.tsdb.promql import QueryResult
from flightdeck.util.gofmt import format_float


def format_timestamp(ms: int) -> str:
    """``jsonutil.MarshalTimestamp``: seconds with exactly the millisecond digits needed."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    whole, frac = divmod(ms, 1000)
    return f"{sign}{whole}" + (f".{frac:03d}" if frac else "")


def fast_float(value: float) -> str:
    """``format_float`` for the common case in a fraction of the time: ``repr`` already gives the
    shortest round-trip digits; only exponent forms, infinities and NaN take the slow path."""
    r = repr(value)
    if "e" in r or "n" in r:
        return format_float(value)
    return r[:-2] if r.endswith(".0") else r


def format_values(values: list[float]) -> list[str]:
    """Many values at once: one join of their reprs, fixed up as a whole when it can be."""
    if not values:
        return []
    joined = '","'.join(map(repr, values))
    if "e" in joined or "n" in joined:
        return [fast_float(v) for v in values]
    return (joined + '","').replace('.0","', '","')[:-3].split('","')


def _point(ms: int, value: float) -> str:
    return f'[{format_timestamp(ms)},"{fast_float(value)}"]'


def render_result(result: QueryResult) -> str:
    kind = result.result_type
    if kind == "vector":
        values = format_values([v for _, _, v in result.value])
        stamps: dict[int, str] = {}
        parts = []
        for (lset, t, _), v in zip(result.value, values, strict=True):
            stamp = stamps.get(t)
            if stamp is None:
                stamp = stamps[t] = format_timestamp(t)
            parts.append(f'{{"metric":{labels_json(lset)},"value":[{stamp},"{v}"]}}')
        inner = "[" + ",".join(parts) + "]"
    elif kind == "matrix":
        stamp_cache: dict[int, str] = {}
        parts = []
        for lset, ts, vs in result.value:
            stamps_list = []
            for t in ts:
                stamp = stamp_cache.get(t)
                if stamp is None:
                    stamp = stamp_cache[t] = format_timestamp(t)
                stamps_list.append(stamp)
            points = ",".join([f'[{a},"{b}"]' for a, b in zip(stamps_list, format_values(vs), strict=True)])
            parts.append(f'{{"metric":{labels_json(lset)},"values":[{points}]}}')
        inner = "[" + ",".join(parts) + "]"
    elif kind == "scalar":
        t, v = result.value
        inner = _point(t, v)
    else:
        t, text = result.value
        inner = f"[{format_timestamp(t)},{go_json_string(text)}]"
    return f'{{"status":"success","data":{{"resultType":"{kind}","result":{inner}}}}}'


def go_json(value: object) -> str:
    """Go's ``encoding/json`` for plain data (maps written with sorted keys, as Go does)."""
    if isinstance(value, str):
        return go_json_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{go_json_string(str(k))}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def go_json_float(value: float) -> str:
    """``encoding/json`` of a float64: shortest digits, exponent form only below 1e-6 or from 1e21."""
    if value == 0:
        return "0"
    a = abs(value)
    if 1e-6 <= a < 1e21:
        return format_float(value)
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{int(exp.lstrip('+-'))}"


def go_time(seconds: float) -> str:
    """``time.Time`` in JSON (RFC 3339 with nanoseconds, trailing zeros cut); 0 = Go's zero time."""
    if seconds <= 0:
        return "0001-01-01T00:00:00Z"
    import datetime as _dt

    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole += 1
        nanos -= 1_000_000_000
    stamp = _dt.datetime.fromtimestamp(whole, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{stamp}{frac}Z"
