"""PromQL evaluation with Prometheus 2.x semantics (parsing by ``promql-parser``)."""

from flightdeck.tsdb.promql.engine import Engine, QueryResult
from flightdeck.tsdb.promql.errors import (
    ExecutionError,
    PromQLError,
    QueryParseError,
    QueryTimeoutError,
    UnsupportedError,
)

__all__ = [
    "Engine",
    "ExecutionError",
    "PromQLError",
    "QueryParseError",
    "QueryResult",
    "QueryTimeoutError",
    "UnsupportedError",
]
