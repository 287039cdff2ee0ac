"""API errors with the Kubernetes API server's reasons, codes and texts.

The CLI prints them as kubectl does: ``Error from server (<reason>): <message>``.
"""

from __future__ import annotations


class ApiError(Exception):
    reason = "InternalError"
    code = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def kubectl_text(self) -> str:
        return f"Error from server ({self.reason}): {self.message}"


class NotFound(ApiError):
    reason = "NotFound"
    code = 404


class AlreadyExists(ApiError):
    reason = "AlreadyExists"
    code = 409


class Conflict(ApiError):
    reason = "Conflict"
    code = 409


class Invalid(ApiError):
    reason = "Invalid"
    code = 422


class BadRequest(ApiError):
    reason = "BadRequest"
    code = 400


class Forbidden(ApiError):
    reason = "Forbidden"
    code = 403


def not_found(resource: str, name: str) -> NotFound:
    return NotFound(f'{resource} "{name}" not found')


def already_exists(resource: str, name: str) -> AlreadyExists:
    return AlreadyExists(f'{resource} "{name}" already exists')


def conflict(resource: str, name: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def invalid(qualified_kind: str, name: str, causes: list[str]) -> Invalid:
    """``<Kind>[.<group>] "<name>" is invalid: <cause>`` (several causes in brackets, as the server joins them)."""
    detail = causes[0] if len(causes) == 1 else "[" + ", ".join(causes) + "]"
    return Invalid(f'{qualified_kind} "{name}" is invalid: {detail}')
