"""The AnalysisRun controller on the local cluster: stored objects, status writes, events, off-thread
measurements — on a virtual clock, with a scripted provider registered through the real registry."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flightdeck.analysis.controller import (
    IN_FLIGHT_POLL,
    reconcile_analysis_run,
    status_from_dict,
    status_to_dict,
)
from flightdeck.analysis.providers import gohttp
from flightdeck.analysis.types import Measurement, Metric, Phase
from flightdeck.kube.actions import Delete, UpdateStatus
from tests.analysis.cluster import T0, Cluster, Scripted, ScriptedProvider, registered, scripted_metric


@pytest.fixture
def script() -> Iterator[Scripted]:
    s = Scripted()
    with registered("plugin", s.factory):
        yield s


@pytest.fixture
def cluster(script: Scripted) -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.controller.close()


def test_run_to_success_with_argo_status_and_events(cluster: Cluster, script: Scripted) -> None:
    script.outcomes["m"] = ["S", "S", "S"]
    cluster.create_run([scripted_metric("m", interval="10s", count=3, successCondition="result == '1'")])
    took = cluster.advance_until_idle()
    assert took == 20.0
    assert [t - T0 for _, t, _ in script.calls] == [0.0, 10.0, 20.0]
    status = cluster.status()
    assert status["phase"] == "Successful"
    assert status["startedAt"] == "2023-11-14T22:13:20Z"
    assert status["completedAt"] == "2023-11-14T22:13:40Z"
    assert status["runSummary"] == {"count": 1, "successful": 1}
    (result,) = status["metricResults"]
    assert {k: v for k, v in result.items() if k != "measurements"} == {
        "name": "m",
        "phase": "Successful",
        "count": 3,
        "successful": 3,
        "consecutiveSuccess": 3,
    }
    assert result["measurements"][0] == {
        "phase": "Successful",
        "startedAt": "2023-11-14T22:13:20Z",
        "finishedAt": "2023-11-14T22:13:20Z",
        "value": "1",
    }
    assert sorted(cluster.events()) == [
        ("Normal", "AnalysisRunSuccessful", "Analysis Completed. Result: Successful"),
        ("Normal", "MetricSuccessful", "Metric 'm' Completed. Result: Successful"),
    ]


def test_failed_metric_terminates_its_sibling(cluster: Cluster, script: Scripted) -> None:
    script.outcomes.update(bad=["F"], slow=["S"])
    cluster.create_run([scripted_metric("slow", interval="1m"), scripted_metric("bad")])
    cluster.advance_until_idle()
    status = cluster.status()
    assert status["phase"] == "Failed"
    assert status["message"] == 'Metric "bad" assessed Failed due to failed (1) > failureLimit (0)'
    phases = {r["name"]: r["phase"] for r in status["metricResults"]}
    assert phases == {"slow": "Successful", "bad": "Failed"}
    assert status["runSummary"] == {"count": 2, "successful": 1, "failed": 1}
    assert ("Warning", "AnalysisRunFailed", "Analysis Completed. Result: Failed") in cluster.events()
    assert ("Warning", "MetricFailed", "Metric 'bad' Completed. Result: Failed") in cluster.events()


def test_terminate_from_the_rollout(cluster: Cluster, script: Scripted) -> None:
    script.outcomes["m"] = ["S", "S"]
    cluster.create_run([scripted_metric("m", interval="30s")])
    cluster.manager.settle()
    cluster.clock.advance(30)
    cluster.manager.settle()
    run = cluster.run()
    run["spec"]["terminate"] = True
    cluster.store.update(run)
    cluster.advance_until_idle()
    status = cluster.status()
    assert (status["phase"], status["message"]) == ("Successful", "Run Terminated")
    assert len(script.calls) == 2


def test_invalid_spec_is_an_error(cluster: Cluster) -> None:
    cluster.create_run([scripted_metric("m", count=2)])
    cluster.advance_until_idle()
    status = cluster.status()
    assert status["phase"] == "Error"
    assert status["message"] == "Analysis spec invalid: metrics[0]: interval must be specified when count > 1"
    assert ("Warning", "AnalysisRunError", "Analysis Completed. Result: Error") in cluster.events()


def test_secret_args_come_from_the_store(cluster: Cluster, script: Scripted) -> None:
    cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default"},
            "data": {"token": base64.b64encode(b"s3cr3t").decode()},
        }
    )
    script.outcomes["m"] = [("E", "denied for s3cr3t")]
    metric = scripted_metric("m", consecutiveErrorLimit=0)
    metric["provider"]["plugin"]["flightdeck.test/scripted"] = {"header": "{{args.token}}"}
    args = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]
    cluster.create_run([metric], args=args)
    cluster.advance_until_idle()
    assert script.seen_metrics[0].provider["plugin"]["flightdeck.test/scripted"] == {"header": "s3cr3t"}
    status = cluster.status()
    assert status["metricResults"][0]["measurements"][0]["message"] == "denied for *****"
    assert "s3cr3t" not in json.dumps(status)


def test_missing_secret_is_argos_error(cluster: Cluster) -> None:
    args = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "token"}}}]
    cluster.create_run([scripted_metric("m")], args=args)
    cluster.advance_until_idle()
    status = cluster.status()
    assert (status["phase"], status["message"]) == (
        "Error",
        'Unable to resolve metric arguments: secrets "nope" not found',
    )


def test_ttl_deletes_completed_run(cluster: Cluster, script: Scripted) -> None:
    script.outcomes["m"] = ["S"]
    cluster.create_run([scripted_metric("m")], ttlStrategy={"secondsAfterCompletion": 30})
    cluster.manager.settle()
    assert cluster.status()["phase"] == "Successful"
    cluster.clock.advance(30)
    cluster.manager.settle()
    assert cluster.store.get("AnalysisRun", "default", "run") is not None
    took = cluster.advance_until_idle()
    assert took == 31.0
    assert cluster.store.get("AnalysisRun", "default", "run") is None


def test_no_status_write_when_nothing_changes(cluster: Cluster, script: Scripted) -> None:
    script.outcomes["m"] = ["S"]
    cluster.create_run([scripted_metric("m", initialDelay="1m")])
    cluster.manager.settle()
    rv = cluster.run()["metadata"]["resourceVersion"]
    cluster.manager.enqueue("AnalysisRun", "default", "run")
    cluster.manager.settle()
    assert cluster.run()["metadata"]["resourceVersion"] == rv
    cluster.advance_until_idle()
    assert cluster.status()["phase"] == "Successful"
    assert [t - T0 for _, t, _ in script.calls] == [60.0]


def test_measurements_run_off_the_reconcile_path(script: Scripted) -> None:
    gate = threading.Event()
    entered = threading.Event()
    original = ScriptedProvider.run

    def blocking(self: ScriptedProvider, ctx: Any, metric: Metric) -> Measurement:
        entered.set()
        assert gate.wait(10)
        return original(self, ctx, metric)

    script.outcomes["m"] = ["S"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        cluster = Cluster(executor=pool)
        woken = threading.Event()
        wake = cluster.controller.wake
        assert wake is not None

        def wake_and_note(namespace: str, name: str) -> None:
            wake(namespace, name)
            woken.set()

        cluster.controller.wake = wake_and_note
        ScriptedProvider.run = blocking  # type: ignore[method-assign]
        try:
            cluster.create_run([scripted_metric("m")])
            cluster.manager.settle()  # returns although the measurement is still running
            assert entered.wait(10)
            assert cluster.controller.pending() == 1
            assert cluster.status()["phase"] == "Running"
            # more passes while it runs do not start it again
            cluster.manager.enqueue("AnalysisRun", "default", "run")
            cluster.manager.settle()
            gate.set()
            assert woken.wait(10)
            cluster.manager.settle()
        finally:
            ScriptedProvider.run = original  # type: ignore[method-assign]
    assert cluster.status()["phase"] == "Successful"
    assert len(script.calls) == 1
    assert cluster.controller.pending() == 0


def test_pure_pass_shapes() -> None:
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "r", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
        "spec": {"metrics": [scripted_metric("m")]},
    }
    step = reconcile_analysis_run(obj, T0)
    (update,) = [a for a in step.reconciled.actions if isinstance(a, UpdateStatus)]
    assert update.obj["metadata"]["resourceVersion"] == ""  # a status patch: no precondition
    assert update.obj["status"]["phase"] == "Running"
    assert [t.metric.name for t in step.tasks] == ["m"]
    assert step.run is not None and step.run.uid == "u1"
    # marked for deletion: Argo does not reconcile
    deleting = {**obj, "metadata": {**obj["metadata"], "deletionTimestamp": "2023-11-14T22:13:20Z"}}
    assert reconcile_analysis_run(deleting, T0).reconciled.actions == []
    # completed past its TTL: deleted
    done = {
        **obj,
        "spec": {**obj["spec"], "ttlStrategy": {"secondsAfterSuccess": 5}},
        "status": {"phase": "Successful", "completedAt": "2023-11-14T22:13:20Z"},
    }
    assert reconcile_analysis_run(done, T0 + 3).reconciled.requeue_at == T0 + 6
    assert reconcile_analysis_run(done, T0 + 6).reconciled.actions == [Delete("AnalysisRun", "ns", "r")]


def test_in_flight_measurements_are_looked_at_regularly() -> None:
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "r", "namespace": "ns", "uid": "u1"},
        "spec": {"metrics": [scripted_metric("m")]},
        "status": {
            "phase": "Running",
            "startedAt": "2023-11-14T22:13:20Z",
            "metricResults": [
                {
                    "name": "m",
                    "phase": "Running",
                    "measurements": [{"phase": "Running", "startedAt": "2023-11-14T22:13:20Z"}],
                }
            ],
        },
    }
    step = reconcile_analysis_run(obj, T0 + 1)
    assert step.reconciled.requeue_at == T0 + 1 + IN_FLIGHT_POLL
    (task,) = step.tasks
    assert task.incomplete is not None and task.incomplete.phase is Phase.RUNNING


def test_status_round_trip() -> None:
    raw = {
        "phase": "Failed",
        "message": 'Metric "m" assessed Failed due to failed (2) > failureLimit (1)',
        "metricResults": [
            {
                "name": "m",
                "phase": "Failed",
                "message": "boom",
                "measurements": [
                    {
                        "phase": "Failed",
                        "startedAt": "2023-11-14T22:13:20Z",
                        "finishedAt": "2023-11-14T22:13:21Z",
                        "value": "[0.5]",
                        "metadata": {"job-name": "x"},
                    }
                ],
                "count": 2,
                "failed": 2,
                "consecutiveError": 1,
                "error": 1,
                "dryRun": True,
                "metadata": {"ResolvedPrometheusQuery": "up"},
            }
        ],
        "startedAt": "2023-11-14T22:13:20Z",
        "completedAt": "2023-11-14T22:14:20Z",
        "runSummary": {"count": 1, "failed": 1},
        "dryRunSummary": {},
    }
    assert status_to_dict(status_from_dict(raw)) == raw


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"rate": 0.01, "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_providers_reach_cluster_names_through_the_resolver() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    name = "metrics.monitoring.svc.cluster.local"
    cluster = Cluster(resolver=lambda host: "127.0.0.1" if host == name else None)
    try:
        metric = {
            "name": "web",
            "successCondition": "result.rate < 0.05",
            "provider": {"web": {"url": f"http://{name}:{port}/rate", "jsonPath": "{$}"}},
        }
        cluster.create_run([metric])
        cluster.advance_until_idle()
        status = cluster.status()
        assert status["phase"] == "Successful", status
        assert json.loads(status["metricResults"][0]["measurements"][0]["value"])["host"] == f"{name}:{port}"
    finally:
        gohttp.set_resolver(None)
        server.shutdown()
        server.server_close()
