"""Compiler-style diagnostics: ``file:line: error|warning: message``."""

from __future__ import annotations

import dataclasses
import enum

from flightdeck.kube.manifest import Manifest, PathKey, format_path


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True, slots=True)
class Diagnostic:
    file: str
    line: int
    severity: Severity
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        field = f"{self.path}: " if self.path else ""
        return f"{where}: {self.severity.value}: {field}{self.message}"


def count_errors(diagnostics: list[Diagnostic]) -> int:
    return sum(1 for d in diagnostics if d.severity is Severity.ERROR)


def format_report(diagnostics: list[Diagnostic]) -> str:
    """The text ``flightdeck lint`` prints: one line per diagnostic, then the tally."""
    errors = count_errors(diagnostics)
    lines = [str(d) for d in diagnostics]
    lines.append(f"{errors} error(s), {len(diagnostics) - errors} warning(s)")
    return "\n".join(lines) + "\n"


def at(
    manifest: Manifest, path: PathKey, severity: Severity, message: str, *, show_path: bool = True
) -> Diagnostic:
    return Diagnostic(
        manifest.source.file,
        manifest.source.line_of(path),
        severity,
        message,
        format_path(path) if show_path else "",
    )
