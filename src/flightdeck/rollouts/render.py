"""``kubectl argo rollouts get rollout NAME``: the header table and the NAME/KIND/STATUS/AGE/INFO tree, laid out
as the plugin does (``%-17s%v`` header lines; Go's text/tabwriter with padding 2, ANSI colours not counted)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flightdeck.rollouts.info import (
    ICON_BAD,
    ICON_OK,
    ICON_PROGRESSING,
    ICON_UNKNOWN,
    ICON_WAITING,
    ICON_WARNING,
    AnalysisRunInfo,
    ReplicaSetInfo,
    RolloutInfo,
    age,
    images,
    rollout_info,
)
from flightdeck.rollouts.objutil import timestamp
from flightdeck.util.timefmt import human_duration

ICON_ROLLOUT = "⟳"
ICON_REVISION = "#"
ICON_REPLICA_SET = "⧉"
ICON_POD = "□"
ICON_JOB = "⊞"
ICON_ANALYSIS = "α"

_FG_RED, _FG_GREEN, _FG_YELLOW, _FG_HI_BLUE = 31, 32, 33, 94
_COLORS = {
    ICON_WAITING: _FG_YELLOW,
    ICON_PROGRESSING: _FG_HI_BLUE,
    ICON_WARNING: _FG_RED,
    ICON_UNKNOWN: _FG_YELLOW,
    ICON_OK: _FG_GREEN,
    ICON_BAD: _FG_RED,
    "canary": _FG_YELLOW,
    "stable": _FG_GREEN,
    "active": _FG_GREEN,
    "preview": _FG_HI_BLUE,
    "ping": _FG_HI_BLUE,
    "pong": _FG_HI_BLUE,
    "Pending": _FG_HI_BLUE,
    "Running": _FG_HI_BLUE,
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _width(text: str) -> int:
    # tabwriter counts runes; the plugin's ansiterm writer skips colour escapes.
    return len(_ANSI.sub("", text))


def tabwrite(text: str, padding: int = 2) -> str:
    """Go's ``text/tabwriter`` (minwidth 0, padchar ' ', no flags): tab-terminated cells in column blocks."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts: list[str] = []
            for j, cell in enumerate(cells):
                parts.append(cell)
                if j < len(widths) and j < len(cells) - 1:
                    parts.append(" " * (widths[j] - _width(cell)))
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = 0
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, _width(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _ansi(self, text: str, code: int) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def colorize(self, text: str) -> str:
        return self._ansi(text, _COLORS.get(text, 0))

    def by_status(self, text: str, status: str) -> str:
        return self._ansi(text, _COLORS.get(status, 0))


def _prefixes(last: bool, sub: str) -> tuple[str, str]:
    return (sub + "└──", sub + "   ") if last else (sub + "├──", sub + "│  ")


def _row(*cells: str) -> str:
    return "\t".join(cells) + "\n"


def _replica_set_rows(info: ReplicaSetInfo, prefix: str, sub: str, paint: _Painter, now: float) -> str:
    cols: list[str] = []
    name = info.name
    if info.stable:
        cols.append(paint.colorize("stable"))
        name = paint.by_status(name, "stable")
    if info.canary:
        cols.append(paint.colorize("canary"))
        name = paint.by_status(name, "canary")
    if info.scale_down_deadline:
        deadline = timestamp(info.scale_down_deadline)
        if deadline is not None:
            cols.append("delay:" + ("passed" if deadline < now else human_duration(deadline - now)))
        else:
            cols.append("delay:")
    out = _row(
        f"{prefix}{ICON_REPLICA_SET} {name}",
        "ReplicaSet",
        f"{paint.colorize(info.icon)} {info.status}",
        age(info.obj, now),
        ",".join(cols),
    )
    for i, pod in enumerate(info.pods):
        pod_prefix, _ = _prefixes(i == len(info.pods) - 1, sub)
        pod_cols = [f"ready:{pod.ready}"] + ([f"restarts:{pod.restarts}"] if pod.restarts > 0 else [])
        out += _row(
            f"{pod_prefix}{ICON_POD} {pod.name}",
            "Pod",
            f"{paint.colorize(pod.icon)} {pod.status}",
            age(pod.obj, now),
            ",".join(pod_cols),
        )
    return out


def _analysis_run_rows(info: AnalysisRunInfo, prefix: str, sub: str, paint: _Painter, now: float) -> str:
    cols = [
        f"{paint.colorize(icon)} {count}"
        for icon, count in (
            (ICON_OK, info.successful),
            (ICON_BAD, info.failed),
            (ICON_UNKNOWN, info.inconclusive),
            (ICON_WARNING, info.error),
        )
        if count > 0
    ]
    out = _row(
        f"{prefix}{ICON_ANALYSIS} {paint.by_status(info.name, info.status)}",
        "AnalysisRun",
        f"{paint.colorize(info.icon)} {info.status}",
        age(info.obj, now),
        ",".join(cols),
    )
    for i, job in enumerate(info.jobs):
        job_prefix, _ = _prefixes(i == len(info.jobs) - 1, sub)
        job_age = age({}, now) if job.started is None else human_duration(now - job.started)
        out += _row(
            f"{job_prefix}{ICON_JOB} {paint.by_status(job.name, job.status)}",
            "Job",
            f"{paint.colorize(job.icon)} {job.status}",
            job_age,
            "",
        )
    return out


def _tree(info: RolloutInfo, paint: _Painter, now: float) -> str:
    text = "NAME\tKIND\tSTATUS\tAGE\tINFO\n"
    text += _row(
        f"{ICON_ROLLOUT} {info.name}",
        "Rollout",
        f"{paint.colorize(info.icon)} {info.status}",
        age(info.obj, now),
        "",
    )
    revisions = sorted(
        {rs.revision for rs in info.replica_sets} | {ar.revision for ar in info.analysis_runs}, reverse=True
    )
    for i, revision in enumerate(revisions):
        prefix, sub = _prefixes(i == len(revisions) - 1, "")
        text += _row(f"{prefix}{ICON_REVISION} revision:{revision}", "", " ", "", "")
        children: list[ReplicaSetInfo | AnalysisRunInfo] = [
            rs for rs in info.replica_sets if rs.revision == revision
        ]
        children += [ar for ar in info.analysis_runs if ar.revision == revision]
        for j, child in enumerate(children):
            child_prefix, child_sub = _prefixes(j == len(children) - 1, sub)
            if isinstance(child, ReplicaSetInfo):
                text += _replica_set_rows(child, child_prefix, child_sub, paint, now)
            else:
                text += _analysis_run_rows(child, child_prefix, child_sub, paint, now)
    return tabwrite(text)


def _header(label: str, value: object) -> str:
    return f"{label:<17}{value}\n"


def render_info(info: RolloutInfo, now: float, *, color: bool = False) -> str:
    paint = _Painter(color)
    out = _header("Name:", info.name) + _header("Namespace:", info.namespace)
    out += _header("Status:", f"{paint.colorize(info.icon)} {info.status}")
    if info.message:
        out += _header("Message:", info.message)
    out += _header("Strategy:", info.strategy)
    if info.strategy == "Canary":
        out += _header("  Step:", info.step) + _header("  SetWeight:", info.set_weight)
        out += _header("  ActualWeight:", info.actual_weight)
    for i, (image, tags) in enumerate(images(info)):
        shown = f"{image} ({', '.join(paint.colorize(t) for t in tags)})" if tags else image
        out += _header("Images:" if i == 0 else "", shown)
    out += "Replicas:\n"
    for label, value in (
        ("Desired", info.desired),
        ("Current", info.current),
        ("Updated", info.updated),
        ("Ready", info.ready),
        ("Available", info.available),
    ):
        out += _header(f"  {label}:", value)
    return out + "\n" + _tree(info, paint, now)


def render_rollout_tree(
    rollout: Mapping[str, Any],
    replicasets: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
    analysis_runs: Sequence[Mapping[str, Any]],
    now: float,
    *,
    color: bool = False,
) -> str:
    """The output of ``kubectl argo rollouts get rollout NAME`` (``--no-color`` unless ``color``)."""
    return render_info(rollout_info(rollout, replicasets, pods, analysis_runs), now, color=color)
