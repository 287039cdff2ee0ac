"""``flightdeck up`` / ``down`` / ``status`` / ``apps`` / ``refresh``: run the platform and look at it."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flightdeck.cli.errors import UserError
from flightdeck.server.client import ControlClient
from flightdeck.server.state import DEFAULT_STATE_DIR, StateDir, process_running


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where objects, logs and data live (default {DEFAULT_STATE_DIR}, or $FLIGHTDECK_STATE_DIR)",
    )

    up = subparsers.add_parser(
        "up",
        parents=[state],
        help="run a GitOps repository on this machine",
        description="Start the platform (object store, controllers, local node, embedded Prometheus-"
        "compatible store and trace store, HTTP API) and sync the ApplicationSet of REPO.",
    )
    up.add_argument("repo", nargs="?", help="git URL or local path of the GitOps repository")
    up.add_argument("--appset", default=None, help="the ApplicationSet manifest (path in the repo or a file)")
    up.add_argument("--repo-url", default=None, help="fills __REPO_URL__ placeholders in the ApplicationSet")
    up.add_argument("--poll", type=float, default=10.0, help="seconds between git polls (default 10)")
    up.add_argument("--detach", "-d", action="store_true", help="run in the background")
    up.add_argument(
        "--api-listen", default="127.0.0.1:0", help="control API address (default loopback, any port)"
    )
    up.add_argument(
        "--prometheus-listen", default="127.30.0.1:9090", help="embedded Prometheus-compatible API"
    )
    up.add_argument("--jaeger-listen", default="127.30.0.2:16686", help="embedded Jaeger query API")
    up.add_argument(
        "--prometheus-url", default=None, help="use this external Prometheus instead of the embedded one"
    )
    up.add_argument("--quiet", "-q", action="store_true", help="no live summary")
    up.add_argument("--scrape-interval", default=None, help=argparse.SUPPRESS)
    up.set_defaults(func=_up)

    down = subparsers.add_parser("down", parents=[state], help="stop the platform started by `flightdeck up`")
    down.add_argument("--timeout", type=float, default=30.0)
    down.set_defaults(func=_down)

    status = subparsers.add_parser("status", parents=[state], help="apps, rollouts and endpoints")
    status.set_defaults(func=_status)

    apps = subparsers.add_parser("apps", parents=[state], help="Applications with sync and health status")
    apps.set_defaults(func=_apps)

    refresh = subparsers.add_parser(
        "refresh", parents=[state], help="re-read an Application's repository now"
    )
    refresh.add_argument("app")
    refresh.set_defaults(func=_refresh)


def _up(ns: argparse.Namespace) -> int:
    state = StateDir(ns.state_dir)
    pid = state.server_pid()
    if pid is not None:
        raise UserError(
            f"flightdeck is already running for {state.path} (pid {pid}); `flightdeck down` stops it",
            exit_code=1,
        )
    if ns.detach:
        return _detach(ns, state)
    try:
        from flightdeck.server.platform import UpOptions, run_platform
    except ModuleNotFoundError as exc:
        raise UserError(f"flightdeck up is not available in this build: {exc}", exit_code=1) from None
    options = UpOptions(
        state_dir=state.path,
        repo=ns.repo,
        appset=ns.appset,
        repo_url=ns.repo_url,
        poll=ns.poll,
        api_listen=ns.api_listen,
        prometheus_listen=ns.prometheus_listen,
        jaeger_listen=ns.jaeger_listen,
        prometheus_url=ns.prometheus_url,
        live=not ns.quiet and sys.stdout.isatty(),
        scrape_interval=ns.scrape_interval,
    )
    return run_platform(options)


def _detach(ns: argparse.Namespace, state: StateDir) -> int:
    state.ensure()
    argv = [sys.executable, "-m", "flightdeck.cli.main", "up", "--state-dir", str(state.path), "--quiet"]
    for flag in (
        "appset",
        "repo_url",
        "api_listen",
        "prometheus_listen",
        "jaeger_listen",
        "prometheus_url",
        "scrape_interval",
    ):
        value = getattr(ns, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    argv += ["--poll", str(ns.poll)]
    if ns.repo:
        argv.append(ns.repo)
    with open(state.log_file, "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = state.log_file.read_text(errors="replace").splitlines()[-20:]
            raise UserError("flightdeck up exited during start-up:\n" + "\n".join(tail), exit_code=1)
        if state.server_pid() == proc.pid and state.endpoints().get("api"):
            print(f"flightdeck is running in the background (pid {proc.pid}); logs: {state.log_file}")
            for name, url in state.endpoints().items():
                print(f"  {name:<12} {url}")
            return 0
        time.sleep(0.2)
    raise UserError(f"flightdeck up did not become ready within 60 s; see {state.log_file}", exit_code=1)


def _down(ns: argparse.Namespace) -> int:
    state = StateDir(ns.state_dir)
    pid = state.server_pid()
    if pid is None:
        print(f"flightdeck is not running for {state.path}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + ns.timeout
    while time.monotonic() < deadline:
        # The server removes its pid file when its stop is complete; wait for the process itself too, so
        # that an `up` right after `down` never meets the old process still holding its ports.
        if state.server_pid() is None and not process_running(pid):
            print(f"flightdeck stopped (pid {pid})")
            return 0
        time.sleep(0.2)
    raise UserError(f"flightdeck (pid {pid}) did not stop within {ns.timeout:g} s", exit_code=1)


def _status(ns: argparse.Namespace) -> int:
    client = ControlClient(StateDir(ns.state_dir))
    print(render_summary(client.json("GET", "/api/v1/summary")), end="")
    return 0


def _apps(ns: argparse.Namespace) -> int:
    from flightdeck.cli.cluster import render_table

    client = ControlClient(StateDir(ns.state_dir))
    items = client.json("GET", "/api/v1/objects/Application")["items"]
    if not items:
        print("No applications.")
        return 0
    print(render_table("Application", items, time.time(), all_namespaces=False))
    return 0


def _refresh(ns: argparse.Namespace) -> int:
    client = ControlClient(StateDir(ns.state_dir))
    print(client.json("POST", f"/api/v1/applications/{ns.app}/refresh")["result"])
    return 0


def render_summary(summary: dict[str, Any]) -> str:
    """The live summary: applications, rollouts with their step and analysis, and endpoints."""
    lines: list[str] = []
    apps = summary.get("applications") or []
    if apps:
        lines.append("APPLICATIONS")
        for app in apps:
            lines.append(
                f"  {app.get('name', ''):<20} {app.get('sync', ''):<10} {app.get('health', ''):<12} "
                f"{app.get('revision', '')[:8]}  {app.get('message', '')}".rstrip()
            )
    rollouts = summary.get("rollouts") or []
    if rollouts:
        lines.append("ROLLOUTS")
        for ro in rollouts:
            lines.append(
                f"  {ro.get('namespace', '')}/{ro.get('name', ''):<16} {ro.get('phase', ''):<12} "
                f"step {ro.get('step', '-')}  weight {ro.get('weight', '-')}  {ro.get('images', '')}  "
                f"{ro.get('message', '')}".rstrip()
            )
            for run in ro.get("analysis") or []:
                lines.append(f"    analysis {run.get('name', '')}: {run.get('phase', '')}")
                for metric in run.get("metrics") or []:
                    lines.append(
                        f"      {metric.get('name', ''):<26} {metric.get('phase', ''):<12} "
                        f"{metric.get('value', '')}".rstrip()
                    )
    endpoints = summary.get("endpoints") or {}
    if endpoints:
        lines.append("ENDPOINTS")
        for name, url in endpoints.items():
            lines.append(f"  {name:<12} {url}")
    return "\n".join(lines) + "\n"
