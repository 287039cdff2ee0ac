"""kubectl-style commands against a running ``flightdeck up``: apply, delete, get, describe, logs,
and the Argo Rollouts actions (``flightdeck rollout promote NAME`` …)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from flightdeck.cli.errors import UserError
from flightdeck.kube.kinds import find_kind
from flightdeck.kube.manifest import ManifestError, load_paths
from flightdeck.server.client import ControlClient
from flightdeck.server.state import DEFAULT_STATE_DIR, StateDir
from flightdeck.util.timefmt import human_duration, parse_rfc3339

Obj = dict[str, Any]

ROLLOUT_ACTIONS = ("promote", "abort", "retry", "undo", "restart", "pause", "resume", "set-image")


def kind_of(name: str) -> str:
    """The kind for any name kubectl accepts (kind, plural, short name such as ``rs`` or ``svc``)."""
    spec = find_kind(name)
    if spec is None:
        raise UserError(f'error: the server doesn\'t have a resource type "{name}"', exit_code=1)
    return spec.kind


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"the running server's state directory (default {DEFAULT_STATE_DIR}, or $FLIGHTDECK_STATE_DIR)",
    )
    ns = argparse.ArgumentParser(add_help=False)
    ns.add_argument("-n", "--namespace", default=None)

    apply = subparsers.add_parser(
        "apply", parents=[state, ns], help="create or update objects from manifests"
    )
    apply.add_argument("-f", "--filename", action="append", required=True, help="file or directory")
    apply.set_defaults(func=_apply)

    delete = subparsers.add_parser("delete", parents=[state, ns], help="delete objects")
    delete.add_argument("-f", "--filename", action="append", help="file or directory")
    delete.add_argument("resource", nargs="?", help="kind, e.g. pod")
    delete.add_argument("name", nargs="?")
    delete.set_defaults(func=_delete)

    get = subparsers.add_parser("get", parents=[state, ns], help="list objects (kubectl get)")
    get.add_argument("resource", help="pods, rs, svc, deploy, ds, rollouts, analysisruns, apps, …")
    get.add_argument("name", nargs="?")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=("table", "yaml", "json", "wide"), default="table")
    get.add_argument("-l", "--selector", default=None)
    get.add_argument("-w", "--watch", action="store_true", help="for a rollout: redraw the tree live")
    get.set_defaults(func=_get)

    describe = subparsers.add_parser("describe", parents=[state, ns], help="an object with its events")
    describe.add_argument("resource")
    describe.add_argument("name")
    describe.set_defaults(func=_describe)

    logs = subparsers.add_parser("logs", parents=[state, ns], help="a pod's container logs")
    logs.add_argument("pod")
    logs.add_argument("-c", "--container", default=None)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-p", "--previous", action="store_true")
    logs.set_defaults(func=_logs)

    rollout = subparsers.add_parser(
        "rollout", parents=[state, ns], help="Argo Rollouts actions (kubectl argo rollouts …)"
    )
    rollout.add_argument("action", choices=ROLLOUT_ACTIONS)
    rollout.add_argument("name")
    rollout.add_argument("image", nargs="?", help="for set-image: CONTAINER=IMAGE")
    rollout.add_argument("--full", action="store_true", help="promote: skip the remaining steps")
    rollout.add_argument("--to-revision", type=int, default=None, help="undo: the revision to go back to")
    rollout.set_defaults(func=_rollout, late_positionals=[])


def _client(ns: argparse.Namespace) -> ControlClient:
    return ControlClient(StateDir(ns.state_dir))


def _load(paths: Sequence[str], namespace: str | None) -> list[Obj]:
    try:
        manifests = load_paths(paths)
    except ManifestError as exc:
        raise UserError(f"error: {exc}", exit_code=1) from None
    except OSError as exc:
        raise UserError(f"error: {exc}", exit_code=1) from None
    objects: list[Obj] = []
    for manifest in manifests:
        obj = manifest.obj
        if namespace and not (obj.get("metadata") or {}).get("namespace"):
            obj.setdefault("metadata", {})["namespace"] = namespace
        objects.append(obj)
    return objects


def _apply(ns: argparse.Namespace) -> int:
    objects = _load(ns.filename, ns.namespace)
    client = _client(ns)
    for line in client.json("POST", "/api/v1/apply", json={"objects": objects})["results"]:
        print(line)
    return 0


def _delete(ns: argparse.Namespace) -> int:
    client = _client(ns)
    targets: list[tuple[str, str, str]] = []
    if ns.filename:
        for obj in _load(ns.filename, ns.namespace):
            meta = obj.get("metadata") or {}
            targets.append(
                (str(obj.get("kind")), str(meta.get("namespace") or "default"), str(meta.get("name")))
            )
    elif ns.resource and ns.name:
        targets.append((kind_of(ns.resource), ns.namespace or "default", ns.name))
    else:
        raise UserError("error: give -f FILE or RESOURCE NAME", exit_code=1)
    for kind, namespace, name in targets:
        print(client.json("DELETE", f"/api/v1/objects/{kind}/{namespace}/{name}")["result"])
    return 0


def _get(ns: argparse.Namespace) -> int:
    kind = kind_of(ns.resource)
    client = _client(ns)
    namespace = None if ns.all_namespaces else (ns.namespace or "default")
    if kind == "Rollout" and ns.name and ns.output == "table":
        return _rollout_tree(client, namespace or "default", ns.name, ns.watch)
    if ns.name:
        objects = [client.json("GET", f"/api/v1/objects/{kind}/{namespace or 'default'}/{ns.name}")]
    else:
        params = {k: v for k, v in (("namespace", namespace), ("selector", ns.selector)) if v}
        objects = client.json("GET", f"/api/v1/objects/{kind}", params=params)["items"]
    if ns.output == "json":
        payload: object = objects[0] if ns.name else {"apiVersion": "v1", "kind": "List", "items": objects}
        print(json.dumps(payload, indent=4))
        return 0
    if ns.output == "yaml":
        payload = objects[0] if ns.name else {"apiVersion": "v1", "kind": "List", "items": objects}
        print(yaml.safe_dump(payload, sort_keys=False), end="")
        return 0
    if not objects:
        where = "" if namespace is None else f" in {namespace} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return 0
    print(render_table(kind, objects, time.time(), all_namespaces=namespace is None))
    return 0


def _rollout_tree(client: ControlClient, namespace: str, name: str, watch: bool) -> int:
    path = f"/api/v1/rollouts/{namespace}/{name}/tree"
    if not watch:
        print(client.text(path), end="")
        return 0
    try:
        while True:
            text = client.text(path)
            sys.stdout.write("\x1b[H\x1b[2J" + text)
            sys.stdout.flush()
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0


def _describe(ns: argparse.Namespace) -> int:
    kind = kind_of(ns.resource)
    client = _client(ns)
    namespace = ns.namespace or "default"
    obj = client.json("GET", f"/api/v1/objects/{kind}/{namespace}/{ns.name}")
    events = client.json("GET", "/api/v1/objects/Event", params={"namespace": namespace})["items"]
    print(render_describe(obj, events, time.time()), end="")
    return 0


def _logs(ns: argparse.Namespace) -> int:
    client = _client(ns)
    params = {"follow": "1" if ns.follow else "0", "previous": "1" if ns.previous else "0"}
    if ns.container:
        params["container"] = ns.container
    out = sys.stdout.buffer
    try:
        for chunk in client.stream(f"/api/v1/logs/{ns.namespace or 'default'}/{ns.pod}", params):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return 0
    return 0


def _rollout(ns: argparse.Namespace) -> int:
    client = _client(ns)
    params: Obj = {"full": ns.full}
    if ns.to_revision is not None:
        params["revision"] = ns.to_revision
    if ns.late_positionals and ns.image is None:
        ns.image = ns.late_positionals.pop(0)
    if ns.late_positionals:
        raise UserError(f"error: unexpected arguments: {' '.join(ns.late_positionals)}", exit_code=1)
    if ns.action == "set-image":
        if not ns.image or "=" not in ns.image:
            raise UserError("error: set-image needs CONTAINER=IMAGE", exit_code=1)
        params["image"] = ns.image
    result = client.json(
        "POST", f"/api/v1/rollouts/{ns.namespace or 'default'}/{ns.name}/{ns.action}", json=params
    )
    print(result["result"])
    return 0


# --- rendering -------------------------------------------------------------------------------


def _age(obj: Obj, now: float) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    try:
        return human_duration(now - parse_rfc3339(str(created)))
    except ValueError:
        return "<unknown>"


def pod_status_reason(pod: Obj) -> str:
    """kubectl's STATUS column for a pod (printPod)."""
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Pending")
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = str(state["waiting"]["reason"])
        elif state.get("terminated", {}).get("reason"):
            reason = str(state["terminated"]["reason"])
        elif "terminated" in state:
            term = state["terminated"]
            reason = (
                f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            )
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_row(pod: Obj, now: float) -> list[str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    return [f"{ready}/{len(containers)}", pod_status_reason(pod), str(restarts), _age(pod, now)]


def _service_ports(svc: Obj) -> str:
    ports = (svc.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _n(value: object) -> str:
    return str(value if value is not None else 0)


_COLUMNS: dict[str, tuple[list[str], Callable[[Obj, float], list[str]]]] = {
    "Pod": (["READY", "STATUS", "RESTARTS", "AGE"], _pod_row),
    "ReplicaSet": (
        ["DESIRED", "CURRENT", "READY", "AGE"],
        lambda o, now: [
            _n((o.get("spec") or {}).get("replicas")),
            _n((o.get("status") or {}).get("replicas")),
            _n((o.get("status") or {}).get("readyReplicas")),
            _age(o, now),
        ],
    ),
    "Service": (
        ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        lambda o, now: [
            str((o.get("spec") or {}).get("type") or "ClusterIP"),
            str((o.get("spec") or {}).get("clusterIP") or "<none>"),
            "<none>",
            _service_ports(o),
            _age(o, now),
        ],
    ),
    "Deployment": (
        ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        lambda o, now: [
            f"{_n((o.get('status') or {}).get('readyReplicas'))}/{_n((o.get('spec') or {}).get('replicas', 1))}",
            _n((o.get("status") or {}).get("updatedReplicas")),
            _n((o.get("status") or {}).get("availableReplicas")),
            _age(o, now),
        ],
    ),
    "DaemonSet": (
        ["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
        lambda o, now: [
            _n((o.get("status") or {}).get("desiredNumberScheduled")),
            _n((o.get("status") or {}).get("currentNumberScheduled")),
            _n((o.get("status") or {}).get("numberReady")),
            _n((o.get("status") or {}).get("updatedNumberScheduled")),
            _n((o.get("status") or {}).get("numberAvailable")),
            "<none>",
            _age(o, now),
        ],
    ),
    "Rollout": (
        ["DESIRED", "CURRENT", "UP-TO-DATE", "AVAILABLE", "AGE"],
        lambda o, now: [
            _n((o.get("spec") or {}).get("replicas", 1)),
            _n((o.get("status") or {}).get("replicas")),
            _n((o.get("status") or {}).get("updatedReplicas")),
            _n((o.get("status") or {}).get("availableReplicas")),
            _age(o, now),
        ],
    ),
    "AnalysisRun": (
        ["STATUS", "AGE"],
        lambda o, now: [str((o.get("status") or {}).get("phase") or ""), _age(o, now)],
    ),
    "Application": (
        ["SYNC STATUS", "HEALTH STATUS"],
        lambda o, now: [
            str(((o.get("status") or {}).get("sync") or {}).get("status") or ""),
            str(((o.get("status") or {}).get("health") or {}).get("status") or ""),
        ],
    ),
    "Event": (
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        lambda o, now: [
            _age(o, now),
            str(o.get("type") or ""),
            str(o.get("reason") or ""),
            f"{str((o.get('involvedObject') or {}).get('kind') or '').lower()}/"
            f"{(o.get('involvedObject') or {}).get('name') or ''}",
            str(o.get("message") or ""),
        ],
    ),
}


def render_table(kind: str, objects: Sequence[Obj], now: float, *, all_namespaces: bool = False) -> str:
    headers, row = _COLUMNS.get(kind, (["AGE"], lambda o, n: [_age(o, n)]))
    if kind == "Event":
        rows = [row(o, now) for o in objects]
        head = headers
    else:
        rows = [[str((o.get("metadata") or {}).get("name") or ""), *row(o, now)] for o in objects]
        head = ["NAME", *headers]
    if all_namespaces:
        head = ["NAMESPACE", *head]
        rows = [
            [str((o.get("metadata") or {}).get("namespace") or ""), *r]
            for o, r in zip(objects, rows, strict=True)
        ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = []
    for cells in [head, *rows]:
        # kubectl pads every column but the last by three spaces.
        padded = [c.ljust(widths[i] + 3) if i < len(cells) - 1 else c for i, c in enumerate(cells)]
        lines.append("".join(padded).rstrip())
    return "\n".join(lines)


def render_describe(obj: Obj, events: Sequence[Obj], now: float) -> str:
    meta = obj.get("metadata") or {}
    lines = [f"Name:         {meta.get('name', '')}", f"Namespace:    {meta.get('namespace', '')}"]
    labels = meta.get("labels") or {}
    lines.append(
        "Labels:       " + ("\n              ".join(f"{k}={v}" for k, v in labels.items()) or "<none>")
    )
    annotations = meta.get("annotations") or {}
    lines.append(
        "Annotations:  " + ("\n              ".join(f"{k}: {v}" for k, v in annotations.items()) or "<none>")
    )
    lines.append(f"API Version:  {obj.get('apiVersion', '')}")
    lines.append(f"Kind:         {obj.get('kind', '')}")
    body = {k: v for k, v in obj.items() if k in ("spec", "status", "data")}
    lines.append(yaml.safe_dump(body, sort_keys=False, default_flow_style=False).rstrip())
    mine = [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("kind") == obj.get("kind")
        and (e.get("involvedObject") or {}).get("name") == meta.get("name")
    ]
    if not mine:
        lines.append("Events:       <none>")
    else:
        lines.append("Events:")
        rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
        for e in mine:
            source = (e.get("source") or {}).get("component") or ""
            rows.append(
                [
                    str(e.get("type", "")),
                    str(e.get("reason", "")),
                    _age(e, now),
                    source,
                    str(e.get("message", "")),
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return "\n".join(lines) + "\n"
