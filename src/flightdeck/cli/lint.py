"""``flightdeck lint``: compiler-style diagnostics for AnalysisTemplates and Rollouts."""

from __future__ import annotations

import argparse
import json

from flightdeck.lint import count_errors, format_report, lint_paths


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check AnalysisTemplates and Rollouts without running anything",
        description="Report schema errors, Argo validation errors, conditions and PromQL that do not "
        "parse, missing arguments and templates, and the traps that make canary analyses misbehave. "
        "Exit status 1 when there are errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="manifest files or directories")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    parser.set_defaults(func=run_command)


def run_command(ns: argparse.Namespace) -> int:
    diagnostics = lint_paths(ns.paths)
    errors = count_errors(diagnostics)
    if ns.output == "json":
        print(
            json.dumps(
                [
                    {
                        "file": d.file,
                        "line": d.line,
                        "severity": d.severity.value,
                        "path": d.path,
                        "message": d.message,
                    }
                    for d in diagnostics
                ],
                indent=2,
            )
        )
    else:
        print(format_report(diagnostics), end="")
    return 1 if errors else 0
