"""The analysis ``job`` provider end to end: a metric's Job runs as a real pod (a /bin/sh process on the
local node) and its exit status decides the measurement, as in Argo Rollouts (metricproviders/job).

One detached ``flightdeck up`` serves every scenario; each scenario has its own namespace. Objects go in
through ``flightdeck apply`` and come out through ``flightdeck get``/``logs``, as a user would do it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flightdeck.server.state import process_running
from flightdeck.util.timefmt import parse_rfc3339
from tests.e2e.platform import Flightdeck, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

RUN_UID_LABEL = "analysisrun.argoproj.io/uid"


@pytest.fixture(scope="module")
def fd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flightdeck]:
    deck = Flightdeck(tmp_path_factory.mktemp("jobs") / "state")
    deck.up()
    try:
        yield deck
    finally:
        deck.down()


def apply(fd: Flightdeck, tmp: Path, namespace: str, *docs: dict[str, Any]) -> str:
    path = tmp / f"{namespace}-{len(list(tmp.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return fd.cli("apply", "-n", namespace, "-f", str(path)).stdout


def job_metric(name: str, script: str, *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A metric whose Job runs ``script`` under sh (``backoffLimit: 0``: one pod, no retries)."""
    container: dict[str, Any] = {
        "name": "check",
        "image": "busybox:1.36",
        "command": ["sh", "-c"],
        "args": [script],
    }
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {
        "name": name,
        "provider": {
            "job": {
                "metadata": {"labels": {"team": "qa"}, "annotations": {"owner": "e2e"}},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"labels": {"app": "smoke"}},
                        "spec": {"restartPolicy": "Never", "containers": [container]},
                    },
                },
            }
        },
    }


def analysis_run(name: str, metric: dict[str, Any], args: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name},
        "spec": {"args": [{"name": k, "value": v} for k, v in args.items()], "metrics": [metric]},
    }


def completed_run(fd: Flightdeck, name: str, namespace: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        run = fd.get("analysisrun", name, namespace)
        phase = (run.get("status") or {}).get("phase")
        return run if phase in ("Successful", "Failed", "Error", "Inconclusive") else None

    return dict(wait_for(f"analysisrun {namespace}/{name} to complete", check, 30, 0.3))


def logs(fd: Flightdeck, pod: str, namespace: str) -> str:
    return fd.cli("logs", pod, "-n", namespace).stdout


def test_job_exiting_0_is_a_successful_measurement(fd: Flightdeck, tmp_path: Path) -> None:
    metric = job_metric(
        "smoke",
        'echo "$GREETING from {{args.who}}"; echo "pid $$$$ done"',
        env={"GREETING": "hello {{args.who}}"},
    )
    out = apply(fd, tmp_path, "jobs-ok", analysis_run("smoke-ok", metric, {"who": "e2e-check"}))
    assert "analysisrun.argoproj.io/smoke-ok created" in out

    run = completed_run(fd, "smoke-ok", "jobs-ok")
    uid = run["metadata"]["uid"]
    status = run["status"]
    assert status["phase"] == "Successful"
    assert status.get("message", "") == ""
    (result,) = status["metricResults"]
    assert (result["name"], result["phase"], result["count"], result["successful"]) == (
        "smoke",
        "Successful",
        1,
        1,
    )
    (measurement,) = result["measurements"]
    job = f"{uid}.smoke.1"
    assert measurement["phase"] == "Successful"
    assert measurement["metadata"] == {"job-name": job, "job-namespace": "jobs-ok"}
    assert measurement["startedAt"] <= measurement["finishedAt"]

    # The pod that stood for Argo's Job: its name, owner, labels and annotations.
    pod = fd.get("pod", job, "jobs-ok")
    meta = pod["metadata"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "name": "smoke-ok",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    labels = meta["labels"]
    assert labels[RUN_UID_LABEL] == uid
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == job
    assert labels["team"] == "qa" and labels["app"] == "smoke"
    assert meta["annotations"] == {
        "owner": "e2e",
        "analysisrun.argoproj.io/name": "smoke-ok",
        "analysisrun.argoproj.io/namespace": "jobs-ok",
        "analysisrun.argoproj.io/metric-name": "smoke",
    }
    assert pod["status"]["phase"] == "Succeeded"
    (state,) = pod["status"]["containerStatuses"]
    assert state["state"]["terminated"]["exitCode"] == 0
    assert state["state"]["terminated"]["reason"] == "Completed"
    # `{{args.who}}` reached both the container's args and its env; the shell really ran them.
    text = logs(fd, job, "jobs-ok")
    lines = text.splitlines()
    assert lines[0] == "hello e2e-check from e2e-check"
    assert re.fullmatch(r"pid [0-9]+ done", lines[1])  # Kubernetes turns $$$$ into $$ for the shell
    # The run's events, with Argo's reasons.
    events = [e for e in fd.items("events", "jobs-ok") if e["involvedObject"]["name"] == "smoke-ok"]
    reasons = {e["reason"] for e in events}
    assert {"MetricSuccessful", "AnalysisRunSuccessful"} <= reasons
    # The Job belongs to the run: deleting the run collects it.
    deleted = fd.cli("delete", "analysisrun", "smoke-ok", "-n", "jobs-ok").stdout
    assert deleted == 'analysisrun.argoproj.io "smoke-ok" deleted\n'
    wait_for("the job's pod collected", lambda: not fd.items("pods", "jobs-ok"), 10, 0.3)


def test_job_exiting_1_fails_the_run_with_argos_message(fd: Flightdeck, tmp_path: Path) -> None:
    metric = job_metric("smoke", 'echo "checking {{args.target}}" >&2; exit 1')
    apply(fd, tmp_path, "jobs-fail", analysis_run("smoke-fail", metric, {"target": "payments"}))

    run = completed_run(fd, "smoke-fail", "jobs-fail")
    uid = run["metadata"]["uid"]
    status = run["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == 'Metric "smoke" assessed Failed due to failed (1) > failureLimit (0)'
    (result,) = status["metricResults"]
    assert (result["phase"], result["count"], result["failed"]) == ("Failed", 1, 1)
    assert result.get("message", "") == ""  # omitempty: the measurement had none
    (measurement,) = result["measurements"]
    assert measurement["phase"] == "Failed"
    assert "message" not in measurement
    assert status["runSummary"] == {"count": 1, "failed": 1}

    # backoffLimit 0: exactly one pod, which failed with the script's exit code; no retry.
    pods = json.loads(
        fd.cli("get", "pods", "-n", "jobs-fail", "-l", f"{RUN_UID_LABEL}={uid}", "-o", "json").stdout
    )["items"]
    assert [p["metadata"]["name"] for p in pods] == [f"{uid}.smoke.1"]
    assert pods[0]["status"]["phase"] == "Failed"
    (state,) = pods[0]["status"]["containerStatuses"]
    assert state["state"]["terminated"]["exitCode"] == 1
    assert state["state"]["terminated"]["reason"] == "Error"
    assert logs(fd, f"{uid}.smoke.1", "jobs-fail") == "checking payments\n"
    reasons = {
        e["reason"] for e in fd.items("events", "jobs-fail") if e["involvedObject"]["name"] == "smoke-fail"
    }
    assert {"MetricFailed", "AnalysisRunFailed"} <= reasons


def test_terminating_the_run_stops_the_job(fd: Flightdeck, tmp_path: Path) -> None:
    """``spec.terminate`` (what a Rollout sets when it cancels a run): the Job is deleted, its process
    stops, and the in-flight measurement ends as Argo v1.9 ends it (Successful, "Metric Terminated")."""
    run = analysis_run("smoke-stop", job_metric("smoke", 'echo "$$$$"; exec sleep 60'), {})
    apply(fd, tmp_path, "jobs-stop", run)
    uid = wait_for(
        "the run's uid", lambda: fd.get("analysisrun", "smoke-stop", "jobs-stop")["metadata"]["uid"], 10
    )
    job = f"{uid}.smoke.1"
    pid = int(wait_for("the job's pid in its log", lambda: _pod_log(fd, job, "jobs-stop").strip(), 20, 0.3))
    assert process_running(pid)
    assert fd.get("analysisrun", "smoke-stop", "jobs-stop")["status"]["phase"] == "Running"

    run["spec"]["terminate"] = True
    assert "analysisrun.argoproj.io/smoke-stop configured" in apply(fd, tmp_path, "jobs-stop", run)
    status = completed_run(fd, "smoke-stop", "jobs-stop")["status"]
    assert (status["phase"], status["message"]) == ("Successful", "Run Terminated")
    (result,) = status["metricResults"]
    assert result["phase"] == "Successful"
    (measurement,) = result["measurements"]
    assert (measurement["phase"], measurement["message"]) == ("Successful", "Metric Terminated")
    wait_for("the job's pod deleted", lambda: not fd.items("pods", "jobs-stop"), 10, 0.3)
    wait_for("the job's process gone", lambda: not process_running(pid), 10, 0.2)


def test_on_failure_job_is_restarted_in_place(fd: Flightdeck, tmp_path: Path) -> None:
    """``restartPolicy: OnFailure``: the node restarts the failed container (its emptyDir survives) and
    the Job counts restarts against ``backoffLimit`` (2 here), so a second try that passes succeeds."""
    metric = job_metric(
        "flaky",
        "if [ -e /scratch/tried ]; then echo second try; exit 0; fi; touch /scratch/tried; echo first try; exit 3",
    )
    spec = metric["provider"]["job"]["spec"]
    spec["backoffLimit"] = 2
    pod_spec = spec["template"]["spec"]
    pod_spec["restartPolicy"] = "OnFailure"
    pod_spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    pod_spec["containers"][0]["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    apply(fd, tmp_path, "jobs-flaky", analysis_run("flaky", metric, {}))

    run = completed_run(fd, "flaky", "jobs-flaky")
    assert run["status"]["phase"] == "Successful"
    job = f"{run['metadata']['uid']}.flaky.1"
    pod = fd.get("pod", job, "jobs-flaky")
    (state,) = pod["status"]["containerStatuses"]
    assert (pod["status"]["phase"], state["restartCount"]) == ("Succeeded", 1)
    assert state["lastState"]["terminated"]["exitCode"] == 3
    assert logs(fd, job, "jobs-flaky") == "second try\n"
    assert fd.cli("logs", job, "-n", "jobs-flaky", "--previous").stdout == "first try\n"


def test_active_deadline_fails_the_job(fd: Flightdeck, tmp_path: Path) -> None:
    """``activeDeadlineSeconds``: past it the Job controller kills the pod and the Job fails."""
    metric = job_metric("slow", "echo started; exec sleep 60")
    metric["provider"]["job"]["spec"]["activeDeadlineSeconds"] = 1
    apply(fd, tmp_path, "jobs-deadline", analysis_run("slow", metric, {}))
    status = completed_run(fd, "slow", "jobs-deadline")["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == 'Metric "slow" assessed Failed due to failed (1) > failureLimit (0)'
    (measurement,) = status["metricResults"][0]["measurements"]
    assert measurement["phase"] == "Failed"
    took = parse_rfc3339(measurement["finishedAt"]) - parse_rfc3339(measurement["startedAt"])
    assert 1 <= took <= 3  # at the deadline (timestamps have whole seconds), not at the next poll
    wait_for(
        "the job's pod stopped",
        lambda: not [p for p in fd.items("pods", "jobs-deadline") if p["status"].get("phase") == "Running"],
        10,
        0.3,
    )


def _pod_log(fd: Flightdeck, pod: str, namespace: str) -> str:
    proc = fd.cli("logs", pod, "-n", namespace, check=False)
    return proc.stdout if proc.returncode == 0 else ""


# --- a Rollout whose canary step is a job analysis ---------------------------------------------------------

NS = "jobs-rollout"
CHECK = (
    'echo "checking $TARGET canary {{args.hash}}"; '
    'case "{{args.image}}" in *:bad) echo "rejecting {{args.image}}"; exit 1;; esac'
)


def template() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "image-check"},
        "spec": {
            "args": [{"name": "image"}, {"name": "hash"}],
            "metrics": [job_metric("image-check", CHECK, env={"TARGET": "{{args.image}}"})],
        },
    }


def rollout(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {
                "metadata": {"labels": {"app": "shop"}},
                "spec": {
                    "containers": [
                        {"name": "shop", "image": image, "command": ["sh", "-c", "exec sleep 3600"]}
                    ]
                },
            },
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 50},
                        {
                            "analysis": {
                                "templates": [{"templateName": "image-check"}],
                                "args": [
                                    {
                                        "name": "image",
                                        "valueFrom": {
                                            "fieldRef": {
                                                "fieldPath": "spec.template.spec.containers[0].image"
                                            }
                                        },
                                    },
                                    {"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
                                ],
                            }
                        },
                    ]
                }
            },
        },
    }


def rollout_state(fd: Flightdeck) -> dict[str, Any]:
    ro = fd.get("rollout", "shop", NS)
    return {
        "status": ro.get("status") or {},
        "image": ro["spec"]["template"]["spec"]["containers"][0]["image"],
    }


def healthy_on(fd: Flightdeck, image: str) -> bool:
    state = rollout_state(fd)
    status = state["status"]
    return bool(
        status.get("phase") == "Healthy"
        and state["image"] == image
        and status.get("stableRS")
        and status.get("stableRS") == status.get("currentPodHash")
    )


def step_run(fd: Flightdeck, pod_hash: str) -> dict[str, Any]:
    """The step analysis run of the revision with ``pod_hash``, once completed."""

    def check() -> dict[str, Any] | None:
        for run in fd.items("analysisruns", NS):
            labels = run["metadata"].get("labels") or {}
            if labels.get("rollouts-pod-template-hash") != pod_hash:
                continue
            if (run.get("status") or {}).get("phase") in ("Successful", "Failed", "Error", "Inconclusive"):
                return run
        return None

    return dict(wait_for(f"the step analysis of {pod_hash}", check, 40, 0.5))


def job_logs(fd: Flightdeck, run: dict[str, Any]) -> str:
    (measurement,) = run["status"]["metricResults"][0]["measurements"]
    return logs(fd, measurement["metadata"]["job-name"], NS)


def test_rollout_step_analysis_runs_the_job(fd: Flightdeck, tmp_path: Path) -> None:
    apply(fd, tmp_path, NS, template(), rollout("busybox:1.36"))
    wait_for("the first revision healthy", lambda: healthy_on(fd, "busybox:1.36"), 40, 0.5)
    assert fd.items("analysisruns", NS) == []  # the first revision skips the steps

    # A new image: setWeight 50, then the job checks it and the rollout is promoted.
    apply(fd, tmp_path, NS, rollout("busybox:1.37"))
    wait_for("busybox:1.37 promoted", lambda: healthy_on(fd, "busybox:1.37"), 60, 0.5)
    good_hash = rollout_state(fd)["status"]["currentPodHash"]
    run = step_run(fd, good_hash)
    assert run["status"]["phase"] == "Successful"
    assert job_logs(fd, run) == f"checking busybox:1.37 canary {good_hash}\n"
    owners = run["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"]) for o in owners] == [("Rollout", "shop")]

    # A bad image: the job exits 1, the run fails and the rollout aborts back to the stable pods.
    apply(fd, tmp_path, NS, rollout("busybox:bad"))
    state = wait_for(
        "the abort",
        lambda: (s := rollout_state(fd))["status"].get("phase") == "Degraded" and s,
        60,
        0.5,
    )
    status = state["status"]
    assert status["message"] == (
        "RolloutAborted: Rollout aborted update to revision 3: Step-based analysis phase error/failed: "
        'Metric "image-check" assessed Failed due to failed (1) > failureLimit (0)'
    )
    assert status["stableRS"] == good_hash
    bad_run = step_run(fd, status["currentPodHash"])
    assert bad_run["status"]["phase"] == "Failed"
    assert job_logs(fd, bad_run) == (
        f"checking busybox:bad canary {status['currentPodHash']}\nrejecting busybox:bad\n"
    )
    wait_for(
        "the canary scaled away, the stable pod serving",
        lambda: (
            [
                p["metadata"]["labels"].get("rollouts-pod-template-hash")
                for p in fd.items("pods", NS)
                if p["metadata"]["labels"].get("app") == "shop" and p["status"].get("phase") == "Running"
            ]
            == [good_hash]
        ),
        30,
        0.5,
    )
