"""Query errors, classified like Prometheus' API error types."""

from __future__ import annotations


class PromQLError(Exception):
    """Base class; ``str()`` is the message Prometheus would give."""

    error_type = "execution"


class QueryParseError(PromQLError):
    """The query does not parse (API: bad_data, HTTP 400)."""

    error_type = "bad_data"


class UnsupportedError(PromQLError):
    """A construct flightdeck does not evaluate yet; never answered silently differently."""

    error_type = "bad_data"


class ExecutionError(PromQLError):
    """An error while evaluating (API: execution, HTTP 422)."""

    error_type = "execution"


class QueryTimeoutError(PromQLError):
    error_type = "timeout"

    def __init__(self, where: str = "expression evaluation") -> None:
        super().__init__(f"query timed out in {where}")
