"""The single exception type of the expr package."""

from __future__ import annotations


class ExprError(Exception):
    """A condition failed to compile or evaluate.

    ``str(err)`` is expr v1.15.5's *bare* message (Argo strips the ``(line:col)`` decoration and
    the source snippet), so it can be shown to users verbatim.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Unsupported(ExprError):
    """A construct of expr that flightdeck deliberately does not implement."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not supported by flightdeck")
