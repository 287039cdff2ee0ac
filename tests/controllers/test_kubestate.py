"""kube-state-metrics and Argo Rollouts series, checked with the real promtool."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from flightdeck.controllers.kubestate import (
    current_set_weight,
    exposition,
    kube_state_metrics,
    rollouts_metrics,
)
from tests.controllers.conftest import Cluster
from tests.controllers.test_deployment import deployment

Obj = dict[str, Any]


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


ROLLOUT: Obj = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "hotrod", "namespace": "hotrod"},
    "spec": {
        "replicas": 2,
        "strategy": {
            "canary": {
                "steps": [
                    {"setWeight": 50},
                    {"analysis": {"templates": [{"templateName": "t"}]}},
                    {"setWeight": 100},
                ]
            }
        },
    },
    "status": {
        "currentStepIndex": 1,
        "replicas": 3,
        "updatedReplicas": 1,
        "availableReplicas": 2,
        "phase": "Progressing",
        "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}],
    },
}
RUN: Obj = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisRun",
    "metadata": {"name": "hotrod-6d4f-2-1", "namespace": "hotrod"},
    "spec": {
        "metrics": [
            {"name": "error-rate", "provider": {"prometheus": {"query": "x"}}},
            {"name": "traffic", "provider": {"web": {"url": "http://x"}}},
        ],
        "dryRun": [{"metricName": "traffic"}],
    },
    "status": {
        "phase": "Running",
        "metricResults": [
            {
                "name": "error-rate",
                "phase": "Running",
                "measurements": [
                    {"phase": "Successful", "value": "[0.013]"},
                    {"phase": "Error", "value": ""},
                ],
            },
        ],
    },
}


def test_cluster_exposition_is_valid_and_has_kube_state_metrics_series(cluster: Cluster) -> None:
    cluster.store.create(deployment(replicas=2))
    cluster.settle()
    cluster.tick()
    text = exposition(cluster.store)
    promtool_check(text)
    pod = cluster.store.list("Pod")[0]
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    rs = pod["metadata"]["ownerReferences"][0]["name"]
    assert (
        "# HELP kube_pod_status_ready [STABLE] Describes whether the pod is ready to serve requests.\n"
        in text
    )
    assert (
        f'kube_pod_status_ready{{namespace="default",pod="{name}",uid="{uid}",condition="true"}} 1\n' in text
    )
    assert (
        f'kube_pod_status_phase{{namespace="default",pod="{name}",uid="{uid}",phase="Running"}} 1\n' in text
    )
    assert (
        f'kube_pod_container_status_restarts_total{{namespace="default",pod="{name}",uid="{uid}",'
        'container="web"} 0\n'
    ) in text
    assert (
        f'kube_pod_container_status_ready{{namespace="default",pod="{name}",uid="{uid}",container="web"}} 1\n'
        in text
    )
    assert (
        f'kube_pod_owner{{namespace="default",pod="{name}",uid="{uid}",owner_kind="ReplicaSet",'
        f'owner_name="{rs}",owner_is_controller="true"}} 1\n'
    ) in text
    assert f'kube_replicaset_status_ready_replicas{{namespace="default",replicaset="{rs}"}} 2\n' in text
    assert 'kube_deployment_status_replicas_available{namespace="default",deployment="web"} 2\n' in text
    assert (
        'kube_deployment_status_condition{namespace="default",deployment="web",reason="NewReplicaSetAvailable",'
        'condition="Progressing",status="true"} 1\n'
    ) in text
    assert (
        'kube_deployment_spec_strategy_rollingupdate_max_surge{namespace="default",deployment="web"} 1\n'
        in text
    )
    assert f'kube_pod_labels{{namespace="default",pod="{name}",uid="{uid}",label_app="web",' in text
    assert "# TYPE kube_pod_container_status_restarts_total counter\n" in text


def test_pod_resources_and_waiting_reason() -> None:
    pod: Obj = {
        "metadata": {"name": "p", "namespace": "n", "uid": "u", "labels": {"app.kubernetes.io/Name": "x"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "resources": {
                        "limits": {"cpu": "100m", "memory": "128Mi"},
                        "requests": {"cpu": "1500m", "memory": "100M"},
                    },
                }
            ]
        },
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": False,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {
                        "terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2023-11-14T22:13:20Z"}
                    },
                }
            ],
        },
    }
    text = kube_state_metrics({"Pod": [pod]})
    promtool_check(text)
    base = 'namespace="n",pod="p",uid="u"'
    assert (
        f'kube_pod_container_resource_limits{{{base},container="c",node="",resource="cpu",unit="core"}} 0.1\n'
        in text
    )
    assert (
        f'kube_pod_container_resource_limits{{{base},container="c",node="",resource="memory",unit="byte"}} '
        "1.34217728e+08\n"
    ) in text
    assert (
        f'kube_pod_container_resource_requests{{{base},container="c",node="",resource="cpu",unit="core"}} 1.5\n'
        in text
    )
    assert (
        f'kube_pod_container_status_waiting_reason{{{base},container="c",reason="CrashLoopBackOff"}} 1\n'
        in text
    )
    assert f'kube_pod_container_status_last_terminated_exitcode{{{base},container="c"}} 1\n' in text
    assert f'kube_pod_container_status_restarts_total{{{base},container="c"}} 4\n' in text
    assert f'kube_pod_labels{{{base},label_app_kubernetes_io_name="x"}} 1\n' in text


def test_rollout_and_analysis_series() -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ClusterAnalysisTemplate",
        "metadata": {"name": "shared"},
        "spec": {"metrics": RUN["spec"]["metrics"]},
    }
    text = rollouts_metrics(
        {"Rollout": [ROLLOUT], "AnalysisRun": [RUN], "ClusterAnalysisTemplate": [template]}
    )
    promtool_check(text)
    assert (
        'rollout_info{name="hotrod",namespace="hotrod",phase="Progressing",strategy="canary",'
        'traffic_router=""} 1\n'
    ) in text
    assert 'rollout_info_replicas_unavailable{name="hotrod",namespace="hotrod"} 1\n' in text
    assert 'rollout_phase{name="hotrod",namespace="hotrod",phase="Progressing",strategy="canary"} 1\n' in text
    assert 'analysis_run_info{name="hotrod-6d4f-2-1",namespace="hotrod",phase="Running"} 1\n' in text
    assert (
        'analysis_run_metric_phase{dry_run="true",metric="traffic",name="hotrod-6d4f-2-1",namespace="hotrod",'
        'phase="Pending",type="Web"} 1\n'
    ) in text
    assert (
        'analysis_run_metric_phase{dry_run="false",metric="error-rate",name="hotrod-6d4f-2-1",'
        'namespace="hotrod",phase="Running",type="Prometheus"} 1\n'
    ) in text
    assert 'analysis_template_metric_info{metric="traffic",name="shared",namespace="",type="Web"} 1\n' in text
    assert 'flightdeck_rollout_weight{name="hotrod",namespace="hotrod"} 50\n' in text
    assert 'flightdeck_rollout_step{name="hotrod",namespace="hotrod"} 1\n' in text
    assert (
        'flightdeck_analysis_run_metric_value{metric="error-rate",name="hotrod-6d4f-2-1",namespace="hotrod"} 0.013\n'
        in text
    )
    assert 'flightdeck_analysis_run_metric_value{metric="traffic"' not in text


def test_current_set_weight_follows_argo() -> None:
    assert current_set_weight(ROLLOUT) == 50
    assert current_set_weight({**ROLLOUT, "status": {"currentStepIndex": 3}}) == 100
    assert current_set_weight({**ROLLOUT, "status": {"currentStepIndex": 1, "abort": True}}) == 0
    assert current_set_weight({**ROLLOUT, "status": {}}) == 50
