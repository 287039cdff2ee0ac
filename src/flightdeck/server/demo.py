"""The main job: the seed's GitOps repository rolled from HotROD 1.75.0 to 1.76.0 on this machine.

The demo copies ``examples/hotrod-gitops`` into a fresh git repository, runs the platform on it (the same
:class:`~flightdeck.server.platform.Platform` as ``flightdeck up``), waits for every app to be Healthy,
commits the image bump exactly as the challenge does, and narrates the canary until Argo's decision.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml

from flightdeck.cli.errors import UserError
from flightdeck.kube.durations import parse_duration_seconds
from flightdeck.lint import format_report, lint_paths
from flightdeck.server.api import ApiError
from flightdeck.server.platform import Platform, UpOptions

BAD_CANARY_ERROR_RATE = 0.8
IDLE_TRAFFIC_QUERY = (
    "sum(rate(hotrod_requests_total{\n"
    '  namespace="{{args.namespace}}",\n'
    '  rollouts_pod_template_hash="{{args.canary-hash}}",\n'
    '  endpoint="/dispatch"\n'
    "}[2m])) or vector(0)\n"
)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
Obj = dict[str, Any]


@dataclasses.dataclass(slots=True)
class DemoVariant:
    example: str = "hotrod-gitops"
    bad_canary: bool = False
    idle_canary: bool = False
    broken: bool = False
    fast: bool = False
    """Compress time (tests): short analysis delays and intervals, spanmetrics flush and scrape every 2 s."""
    keep: bool = False
    state_dir: Path | None = None
    prometheus_listen: str = "127.30.0.1:9090"
    jaeger_listen: str = "127.30.0.2:16686"


class Narrator:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.start = time.monotonic()

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.start:6.1f}s] {text}\n")
        self.out.flush()


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed: {proc.stderr.strip()}", exit_code=1)
    return proc.stdout.strip()


def compress_time(repo: Path) -> None:
    """Shorten the analysis delays and the spanmetrics flush interval of a seed-shaped repository (tests)."""
    template = repo / "hotrod" / "analysis-template.yaml"
    doc = yaml.safe_load(template.read_text())
    for metric in doc["spec"]["metrics"]:
        # A third of the seed's delays (90 s → 30 s, 60 s → 20 s), keeping their order; 3 s intervals.
        delay = parse_duration_seconds(str(metric.get("initialDelay") or "0s"))
        metric["initialDelay"] = f"{max(delay / 3, 20):.0f}s"
        metric["interval"] = "3s"
    template.write_text(yaml.safe_dump(doc, sort_keys=False))
    config = repo / "otel" / "config.yaml"
    cm = yaml.safe_load(config.read_text())
    key = next(iter(cm["data"]))
    collector = yaml.safe_load(cm["data"][key])
    for name, connector in (collector.get("connectors") or {}).items():
        if name.split("/")[0] == "spanmetrics":
            connector = connector or {}
            connector["metrics_flush_interval"] = "2s"
            collector["connectors"][name] = connector
    cm["data"][key] = yaml.safe_dump(collector, sort_keys=False)
    config.write_text(yaml.safe_dump(cm, sort_keys=False))


def prepare_repository(variant: DemoVariant, root: Path) -> Path:
    source = EXAMPLES / (variant.example + ("-broken" if variant.broken else ""))
    if not source.is_dir():
        raise UserError(f"{source}: the example repository is missing", exit_code=4)
    repo = root / "repo"
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("README.md"))
    if variant.fast:
        compress_time(repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=flightdeck demo", "-c", "user.email=demo@flightdeck.invalid", "add", "-A")
    _git(
        repo,
        "-c",
        "user.name=flightdeck demo",
        "-c",
        "user.email=demo@flightdeck.invalid",
        "commit",
        "-q",
        "-m",
        "HotROD 1.75.0",
    )
    return repo


def bump_image(repo: Path, variant: DemoVariant) -> str:
    """The challenge's commit: the Rollout's image to 1.76.0 (plus the variant's twist)."""
    rollout = repo / "hotrod" / "rollout.yaml"
    text = rollout.read_text()
    if "jaegertracing/example-hotrod:1.75.0" not in text:
        raise UserError(f"{rollout}: no jaegertracing/example-hotrod:1.75.0 image to bump", exit_code=4)
    text = text.replace("jaegertracing/example-hotrod:1.75.0", "jaegertracing/example-hotrod:1.76.0")
    message = "Bump HotROD to 1.76.0"
    if variant.bad_canary:
        doc = yaml.safe_load(text)
        env = doc["spec"]["template"]["spec"]["containers"][0].setdefault("env", [])
        # The seed's error-rate query divides by every server span of the pod (about 13 per dispatch), so a
        # build failing 20 % of dispatches shows ~2 % there and passes; at 80 % it shows ~20 % and is caught.
        env.append({"name": "HOTROD_FAULT_ERROR_RATE", "value": str(BAD_CANARY_ERROR_RATE)})
        text = yaml.safe_dump(doc, sort_keys=False)
        message += f" (a build that fails {BAD_CANARY_ERROR_RATE:.0%} of dispatches)"
    rollout.write_text(text)
    if variant.idle_canary:
        # HotROD counts every server span, Prometheus' own scrapes of /metrics included (0.1 req/s at the
        # seed's 10 s interval), so the seed's traffic-detection query sees an idle canary as busy enough
        # (>= 0.05) and promotes it. Counting dispatches only makes the protection real.
        template = repo / "hotrod" / "analysis-template.yaml"
        doc = yaml.safe_load(template.read_text())
        for metric in doc["spec"]["metrics"]:
            if metric["name"] == "traffic-detection":
                metric["provider"]["prometheus"]["query"] = IDLE_TRAFFIC_QUERY
        template.write_text(yaml.safe_dump(doc, sort_keys=False))
        message += "; count only /dispatch as traffic"
        traffic = repo / "traffic-generator" / "deployment.yaml"
        doc = yaml.safe_load(traffic.read_text())
        doc["spec"]["replicas"] = 0
        traffic.write_text(yaml.safe_dump(doc, sort_keys=False))
        message += "; stop the traffic generator"
    ident = ("-c", "user.name=flightdeck demo", "-c", "user.email=demo@flightdeck.invalid")
    _git(repo, *ident, "commit", "-q", "-am", message)
    return _git(repo, "rev-parse", "--short", "HEAD") + f' "{message}"'


def _wait(what: str, check: Callable[[], Any], timeout: float, stop: threading.Event) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        value = check()
        if value:
            return value
        stop.wait(1.0)
    if stop.is_set():
        raise UserError("interrupted", exit_code=130)
    raise UserError(f"timed out after {timeout:g} s waiting for {what}", exit_code=1)


def _app_state(app: Obj) -> tuple[str, str, str]:
    status = app.get("status") or {}
    health = status.get("health") or {}
    return (
        str((status.get("sync") or {}).get("status", "")),
        str(health.get("status", "")),
        str(health.get("message", "")),
    )


def _apps_healthy(platform: Platform) -> list[Obj] | None:
    apps = platform.store.list("Application")
    if len(apps) < 3:
        return None
    if any(_app_state(app)[:2] != ("Synced", "Healthy") for app in apps):
        return None
    return apps


def _crash_looping(platform: Platform, namespace: str) -> tuple[Obj, Obj] | None:
    """A pod of ``namespace`` whose container waits in ``CrashLoopBackOff``, with that container's status."""
    for pod in platform.store.list("Pod", namespace):
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            if ((container.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                return pod, container
    return None


def _apps_as_broken(platform: Platform) -> tuple[list[Obj], Obj, Obj] | None:
    """The broken repository's steady state: every app Synced, HotROD and the traffic generator Healthy, and
    the collector crash-looping (Argo CD reports a DaemonSet whose pods never become available as
    Progressing, which is what the challenge's player saw)."""
    apps = platform.store.list("Application")
    if len(apps) < 3 or any(_app_state(app)[0] != "Synced" for app in apps):
        return None
    by_name = {app["metadata"]["name"]: app for app in apps}
    if any(_app_state(by_name.get(name, {}))[1] != "Healthy" for name in ("hotrod", "traffic-generator")):
        return None
    crash = _crash_looping(platform, "otel")
    return (apps, *crash) if crash else None


def _last_log_lines(platform: Platform, pod: Obj, container: str, count: int = 3) -> list[str]:
    meta = pod["metadata"]
    try:
        chunks = platform.read_logs(meta["namespace"], meta["name"], container, previous=False, follow=False)
        text = b"".join(chunks).decode("utf-8", "replace")
    except ApiError as exc:
        return [f"(no logs: {exc})"]
    return [line for line in text.splitlines() if line.strip()][-count:]


def _rollout(platform: Platform) -> Obj | None:
    return platform.store.get("Rollout", "hotrod", "hotrod")


def _image(rollout: Obj) -> str:
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


class CanaryWatcher:
    """Prints the rollout's steps and each measurement as it lands."""

    def __init__(self, platform: Platform, say: Callable[[str], None]) -> None:
        self.platform = platform
        self.say = say
        self.seen: set[tuple[str, str, str, str]] = set()
        self.last_step: tuple[Any, ...] = ()
        self.values: dict[str, list[str]] = {}

    def poll(self) -> Obj | None:
        rollout = _rollout(self.platform)
        if rollout is None:
            return None
        status = rollout.get("status") or {}
        steps = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary", {}).get("steps") or []
        index = status.get("currentStepIndex")
        key = (index, status.get("phase"), status.get("message"))
        if key != self.last_step:
            self.last_step = key
            step = steps[index] if isinstance(index, int) and index < len(steps) else None
            what = f"step {index}/{len(steps)} {_describe_step(step)}" if step else ""
            self.say(f"rollout {status.get('phase', '')}: {what} {status.get('message', '')}".rstrip())
        for run in self.platform.store.list("AnalysisRun", "hotrod"):
            for result in (run.get("status") or {}).get("metricResults") or []:
                for m in result.get("measurements") or []:
                    mark = (
                        run["metadata"]["name"],
                        result["name"],
                        str(m.get("startedAt")),
                        str(m.get("finishedAt")),
                    )
                    if m.get("finishedAt") and mark not in self.seen:
                        self.seen.add(mark)
                        shown = m.get("value") or m.get("message") or ""
                        self.values.setdefault(result["name"], []).append(f"{m.get('phase')} {shown}")
                        self.say(f"  measurement {result['name']}: {m.get('phase')} {shown}")
        return rollout


def _describe_step(step: Obj) -> str:
    if "setWeight" in step:
        return f"setWeight {step['setWeight']}"
    if "analysis" in step:
        names = [t.get("templateName", "") for t in (step["analysis"] or {}).get("templates") or []]
        return "analysis " + ", ".join(names)
    if "pause" in step:
        duration = (step["pause"] or {}).get("duration")
        return f"pause {duration}" if duration else "pause (until promoted)"
    return ", ".join(step)


def run_demo(variant: DemoVariant, out: TextIO, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    narrator = Narrator(out)
    say = narrator.say
    root = Path(tempfile.mkdtemp(prefix="flightdeck-demo-"))
    repo = prepare_repository(variant, root)
    say(f"repository: {repo} (git, 1 commit: HotROD 1.75.0)")
    options = UpOptions(
        state_dir=variant.state_dir or root / "state",
        repo=str(repo),
        poll=2.0 if variant.fast else 10.0,
        prometheus_listen=variant.prometheus_listen,
        jaeger_listen=variant.jaeger_listen,
        scrape_interval="2s" if variant.fast else None,
    )
    platform = Platform(options)
    platform.start()
    try:
        for name, url in platform.endpoints.items():
            say(f"  {name:<20} {url}")
        if variant.broken:
            _show_broken_start(platform, say, stop)
        else:
            apps = _wait("every app Synced and Healthy on 1.75.0", lambda: _apps_healthy(platform), 180, stop)
            say("apps: " + ", ".join(f"{a['metadata']['name']} Synced/Healthy" for a in apps))
        healthy_at = time.monotonic() - narrator.start
        say(f"HotROD 1.75.0 is Healthy ({healthy_at:.0f} s after start)")
        commit = bump_image(repo, variant)
        say(f"commit {commit}")
        platform.gitops.refresh("hotrod")
        if variant.idle_canary:
            platform.gitops.refresh("traffic-generator")
        watcher = CanaryWatcher(platform, say)
        canary_start = time.monotonic()
        _wait(
            "the rollout to start",
            lambda: (r := watcher.poll()) is not None and _image(r).endswith(":1.76.0") and r,
            120,
            stop,
        )

        def decided() -> Obj | None:
            r = watcher.poll()
            if r is None:
                return None
            status = r.get("status") or {}
            if status.get("phase") == "Degraded":
                return r
            if status.get("phase") == "Healthy" and status.get("stableRS") == status.get("currentPodHash"):
                return r
            return None

        rollout = _wait("the canary decision", decided, 900, stop)
        status = rollout["status"]
        say(
            f"decision after {time.monotonic() - canary_start:.0f} s: {status.get('phase')} {status.get('message', '')}".rstrip()
        )
        _summary(say, platform, rollout, watcher)
        if variant.broken:
            _show_lint(repo, out)
        expected = "Degraded" if (variant.bad_canary or variant.idle_canary or variant.broken) else "Healthy"
        outcome = 0 if status.get("phase") == expected else 1
        if variant.keep and outcome == 0:
            say("--keep: the platform keeps running; Ctrl-C stops it")
            stop.wait()
        return outcome
    finally:
        platform.stop()


def _show_broken_start(platform: Platform, say: Callable[[str], None], stop: threading.Event) -> None:
    found = _wait(
        "HotROD and the traffic generator Healthy, the collector crash-looping",
        lambda: _apps_as_broken(platform),
        180,
        stop,
    )
    apps, pod, container = found
    for app in apps:
        sync, health, message = _app_state(app)
        say(f"app {app['metadata']['name']}: {sync}/{health} {message}".rstrip())
    waiting = container["state"]["waiting"]
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    say(
        f"pod otel/{pod['metadata']['name']}: {waiting['reason']}, restarts {container.get('restartCount', 0)}, "
        f"last exit code {terminated.get('exitCode', '?')}: {waiting.get('message', '')}".rstrip()
    )
    say(f"  flightdeck logs -n otel {pod['metadata']['name']}:")
    for line in _last_log_lines(platform, pod, container["name"]):
        say(f"    {line}")


def _show_lint(repo: Path, out: TextIO) -> None:
    """What would have caught both faults before the commit: ``flightdeck lint`` on the repository."""
    out.write(f"\n$ flightdeck lint {repo}\n{format_report(lint_paths([str(repo)]))}")
    out.flush()


def _summary(say: Callable[[str], None], platform: Platform, rollout: Obj, watcher: CanaryWatcher) -> None:
    status = rollout["status"]
    stable = status.get("stableRS")
    images = {
        rs["metadata"]["labels"].get("rollouts-pod-template-hash"): _image({"spec": rs["spec"]})
        for rs in platform.store.list("ReplicaSet", "hotrod")
    }
    say("summary:")
    say(f"  stable: {images.get(stable, '?')} (pod hash {stable})")
    for name, values in watcher.values.items():
        say(f"  {name}: " + "; ".join(values))
    for name, url in platform.endpoints.items():
        say(f"  {name:<20} {url}")
