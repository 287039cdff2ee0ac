"""The ``job`` provider: a metric's Job runs as a pod in the object store; its phase decides (Argo job.go).

The node is played by the test: it sets pod phases through the store's status subresource, as the
runtime does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flightdeck.analysis.driver import take_measurement
from flightdeck.analysis.providers import MeasureContext, build_provider
from flightdeck.analysis.providers.job import JobProvider, job_name
from flightdeck.analysis.reconcile import MeasurementTask
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Measurement, Metric, Phase
from flightdeck.kube.store import ObjectStore
from flightdeck.util.timefmt import rfc3339
from tests.analysis.cluster import T0, Cluster

CONTAINER = {"name": "check", "image": "busybox", "command": ["sh", "-c", "exit 0"]}


def job_metric(
    name: str = "smoke", *, restart: str | None = "Never", metric: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [CONTAINER]}
    if restart is not None:
        pod_spec["restartPolicy"] = restart
    return {
        "name": name,
        **(metric or {}),
        "provider": {
            "job": {
                "metadata": {"labels": {"team": "qa"}, "annotations": {"note": "x"}},
                "spec": {"template": {"metadata": {"labels": {"app": "check"}}, "spec": pod_spec}, **spec},
            }
        },
    }


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.controller.close()


def pods(cluster: Cluster) -> list[dict[str, Any]]:
    return cluster.store.list("Pod", "default")


def set_phase(cluster: Cluster, name: str, phase: str, **status: Any) -> None:
    pod = cluster.store.get("Pod", "default", name)
    assert pod is not None
    pod["status"] = {"phase": phase, **status}
    cluster.store.update_status(pod)


def test_job_name_like_argo() -> None:
    assert job_name("uid-1", "smoke", 3) == "uid-1.smoke.3"
    uid = "8f2c1e0a-1b2c-4d5e-9f00-123456789abc"
    long = job_name(uid, "a-very-long-metric-name-that-overflows", 12)
    assert len(long) == 63 and long.startswith(uid + ".a-very-long") and long.endswith(".12")


def test_pod_stands_for_the_job(cluster: Cluster) -> None:
    run = cluster.create_run([job_metric()])
    uid = run["metadata"]["uid"]
    cluster.manager.settle()
    (pod,) = pods(cluster)
    meta = pod["metadata"]
    assert meta["name"] == f"{uid}.smoke.1"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "name": "run",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["analysisrun.argoproj.io/uid"] == uid
    assert meta["labels"]["job-name"] == meta["name"] and meta["labels"]["app"] == "check"
    assert meta["annotations"]["analysisrun.argoproj.io/name"] == "run"
    assert meta["annotations"]["analysisrun.argoproj.io/namespace"] == "default"
    assert meta["annotations"]["analysisrun.argoproj.io/metric-name"] == "smoke"
    assert pod["spec"]["containers"][0]["command"] == CONTAINER["command"]
    (measurement,) = cluster.status()["metricResults"][0]["measurements"]
    assert measurement == {
        "phase": "Running",
        "startedAt": rfc3339(T0),
        "metadata": {"job-name": meta["name"], "job-namespace": "default"},
    }


@pytest.mark.parametrize(("phase", "outcome"), [("Succeeded", "Successful"), ("Failed", "Failed")])
def test_pod_phase_decides(cluster: Cluster, phase: str, outcome: str) -> None:
    cluster.create_run([job_metric(backoffLimit=0)])
    cluster.manager.settle()
    (pod,) = pods(cluster)
    cluster.clock.advance(7)
    set_phase(cluster, pod["metadata"]["name"], phase)
    cluster.manager.settle()  # the pod change wakes its run
    status = cluster.status()
    assert status["phase"] == outcome
    (measurement,) = status["metricResults"][0]["measurements"]
    assert measurement["phase"] == outcome and measurement["finishedAt"] == rfc3339(T0 + 7)
    assert "message" not in measurement


def test_backoff_limit_retries_failed_pods(cluster: Cluster) -> None:
    cluster.create_run([job_metric(backoffLimit=1)])
    cluster.manager.settle()
    first = pods(cluster)[0]["metadata"]["name"]
    set_phase(cluster, first, "Failed")
    cluster.manager.settle()
    assert len(pods(cluster)) == 1
    measurement = cluster.status()["metricResults"][0]["measurements"][-1]
    assert measurement["phase"] == "Running" and measurement["resumeAt"] == rfc3339(T0 + 10)
    cluster.clock.advance(10)
    cluster.manager.settle()
    assert sorted(p["metadata"]["name"] for p in pods(cluster)) == [first, f"{first}-1"]
    set_phase(cluster, f"{first}-1", "Failed")
    cluster.manager.settle()
    assert cluster.status()["phase"] == "Failed"


def test_on_failure_counts_restarts(cluster: Cluster) -> None:
    cluster.create_run([job_metric(restart="OnFailure", backoffLimit=2)])
    cluster.manager.settle()
    name = pods(cluster)[0]["metadata"]["name"]
    set_phase(cluster, name, "Running", containerStatuses=[{"name": "check", "restartCount": 1}])
    cluster.manager.settle()
    assert cluster.status()["phase"] == "Running"
    set_phase(cluster, name, "Running", containerStatuses=[{"name": "check", "restartCount": 2}])
    cluster.manager.settle()
    assert cluster.status()["phase"] == "Failed"
    assert pods(cluster) == []  # the Job controller removes the active pod of a failed Job


def test_active_deadline(cluster: Cluster) -> None:
    cluster.create_run([job_metric(activeDeadlineSeconds=12)])
    took = cluster.advance_until_idle(limit=60)
    assert cluster.status()["phase"] == "Failed"
    assert took == 12  # the provider's wake_at brings the pass to the deadline, not the in-flight poll
    assert pods(cluster) == []


def test_restart_policy_always_is_refused_like_the_api_server(cluster: Cluster) -> None:
    run = cluster.create_run([job_metric(restart=None, backoffLimit=0)])
    cluster.advance_until_idle(limit=30)
    measurement = cluster.status()["metricResults"][0]["measurements"][0]
    name = f"{run['metadata']['uid']}.smoke.1"
    assert measurement["phase"] == "Error"
    assert measurement["message"] == (
        f'Job.batch "{name}" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"'
    )
    assert pods(cluster) == []


def test_terminate_deletes_the_pod(cluster: Cluster) -> None:
    cluster.create_run([job_metric()])
    cluster.manager.settle()
    assert len(pods(cluster)) == 1
    run = cluster.run()
    run["spec"]["terminate"] = True
    cluster.store.update(run)
    cluster.manager.settle()
    status = cluster.status()
    assert (status["phase"], status["message"]) == ("Successful", "Run Terminated")
    measurement = status["metricResults"][0]["measurements"][0]
    assert (measurement["phase"], measurement["message"]) == ("Successful", "Metric Terminated")
    assert pods(cluster) == []


def test_deleting_the_run_deletes_its_pods(cluster: Cluster) -> None:
    cluster.create_run([job_metric()])
    cluster.manager.settle()
    cluster.store.delete("AnalysisRun", "default", "run")
    assert pods(cluster) == []


def test_each_measurement_gets_its_own_job(cluster: Cluster) -> None:
    run = cluster.create_run([job_metric(metric={"interval": "30s", "count": 2}, backoffLimit=0)])
    uid = run["metadata"]["uid"]
    cluster.manager.settle()
    set_phase(cluster, f"{uid}.smoke.1", "Succeeded")
    cluster.manager.settle()
    cluster.clock.advance(30)
    cluster.manager.settle()
    assert f"{uid}.smoke.2" in {p["metadata"]["name"] for p in pods(cluster)}
    set_phase(cluster, f"{uid}.smoke.2", "Succeeded")
    cluster.manager.settle()
    assert cluster.status()["phase"] == "Successful"


def _ctx(store: ObjectStore, **kw: Any) -> MeasureContext:
    return MeasureContext("run", "default", T0, run_uid="u1", cluster=store, **kw)


def test_existing_pod_of_the_same_run_is_adopted() -> None:
    store = ObjectStore(None)
    metric = Metric.from_dict(job_metric())
    provider = JobProvider(metric)
    first = provider.run(_ctx(store), metric)
    again = provider.run(_ctx(store), metric)  # a status write was lost: Argo finds its Job again
    assert again.phase is Phase.RUNNING and again.metadata == first.metadata
    # a pod of that name owned by another run: the create error is the measurement's
    squatter = provider.pod(
        MeasureContext("other", "default", T0, run_uid="u9"), metric, "u1.smoke.2", "u1.smoke.2"
    )
    store.create(squatter)
    other = provider.run(_ctx(store, ordinal=2), metric)
    assert (other.phase, other.message, other.metadata) == (
        Phase.ERROR,
        'jobs.batch "u1.smoke.2" already exists',
        None,
    )


def test_missing_pod_and_metadata_are_errors() -> None:
    store = ObjectStore(None)
    metric = Metric.from_dict(job_metric())
    provider = JobProvider(metric)
    running = Measurement(
        Phase.RUNNING, started_at=T0, metadata={"job-name": "gone", "job-namespace": "default"}
    )
    gone = provider.resume(_ctx(store), metric, running)
    assert (gone.phase, gone.message, gone.finished_at) == (Phase.ERROR, 'job.batch "gone" not found', T0)
    bare = provider.resume(_ctx(store), metric, Measurement(Phase.RUNNING, started_at=T0))
    assert bare.message == "job metadata reference missing"


def test_without_a_cluster_the_measurement_is_a_plain_error() -> None:
    metric = Metric.from_dict(job_metric())
    run = AnalysisRun("run", "default", AnalysisRunSpec([metric]))
    item = take_measurement(MeasurementTask(metric), run, T0)
    assert item.measurement.phase is Phase.ERROR
    assert item.measurement.message.startswith(
        "not supported: the job provider runs Jobs on the local cluster"
    )


def test_registered_under_argos_name() -> None:
    assert isinstance(build_provider(Metric.from_dict(job_metric())), JobProvider)


def test_old_jobs_are_garbage_collected() -> None:
    store = ObjectStore(None)
    metric = Metric.from_dict(job_metric())
    provider = JobProvider(metric)
    for ordinal in range(1, 13):
        provider.run(_ctx(store, ordinal=ordinal), metric)
    names = {p["metadata"]["name"] for p in store.list("Pod", "default")}
    assert len(names) == 10
    assert "u1.smoke.1" not in names and "u1.smoke.12" in names
