"""The ApplicationSet reconciler: Applications created, updated and deleted per policy, Argo CD's conditions,
events and status.resources; generation failures keep the existing Applications."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flightdeck.gitops import appset as A
from flightdeck.gitops.appset_reconcile import GeneratorFailure, reconcile_applicationset
from flightdeck.kube.actions import Create, Delete, Event, Reconciled, Update, UpdateStatus

NOW = 1_700_000_000.0

APPSET: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "seed", "namespace": "argocd", "uid": "appset-uid"},
    "spec": {
        "generators": [
            {
                "git": {
                    "repoURL": "/srv/repo",
                    "revision": "HEAD",
                    "directories": [{"path": "*"}, {"path": "appset.yaml", "exclude": True}],
                }
            }
        ],
        "template": {
            "metadata": {"name": "{{ path.basename }}", "labels": {"app.kubernetes.io/managed-by": "argocd"}},
            "spec": {
                "project": "default",
                "source": {"repoURL": "/srv/repo", "targetRevision": "HEAD", "path": "{{ path }}"},
                "destination": {
                    "server": "https://kubernetes.default.svc",
                    "namespace": "{{ path.basename }}",
                },
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true"],
                },
            },
        },
    },
}


def _generated(appset: dict[str, Any], *paths: str) -> list[A.GeneratedParams]:
    spec = A.parse_object(appset)
    generated, _ = A.generate(spec, lambda url, rev: list(paths))
    return generated


def _kinds(result: Reconciled) -> list[str]:
    return [type(a).__name__ for a in result.actions]


def _status(result: Reconciled) -> dict[str, Any]:
    (update,) = [a for a in result.actions if isinstance(a, UpdateStatus)]
    return update.obj["status"]


def test_creates_one_application_per_directory_with_argo_cds_events_and_conditions() -> None:
    result = reconcile_applicationset(APPSET, _generated(APPSET, "hotrod", "otel"), [], NOW)
    creates = [a.obj for a in result.actions if isinstance(a, Create)]
    assert [c["metadata"]["name"] for c in creates] == ["hotrod", "otel"]
    hotrod = creates[0]
    assert hotrod["metadata"]["namespace"] == "argocd"
    assert hotrod["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert hotrod["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "argocd"}
    assert hotrod["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": "seed",
            "uid": "appset-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert hotrod["spec"]["source"]["path"] == "hotrod"
    assert hotrod["spec"]["destination"]["namespace"] == "hotrod"
    events = [(a.reason, a.message) for a in result.actions if isinstance(a, Event)]
    assert events == [("created", 'created Application "hotrod"'), ("created", 'created Application "otel"')]
    status = _status(result)
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]] == [
        (
            "ErrorOccurred",
            "False",
            "ApplicationSetUpToDate",
            "All applications have been generated successfully",
        ),
        (
            "ParametersGenerated",
            "True",
            "ParametersGenerated",
            "Successfully generated parameters for all Applications",
        ),
        (
            "ResourcesUpToDate",
            "True",
            "ApplicationSetUpToDate",
            "All applications have been generated successfully",
        ),
    ]
    assert [r["name"] for r in status["resources"]] == ["hotrod", "otel"]
    assert result.requeue_at == NOW + 180


def _owned(result: Reconciled) -> list[dict[str, Any]]:
    apps = []
    for action in result.actions:
        if isinstance(action, Create):
            app = copy.deepcopy(action.obj)
            app["metadata"]["uid"] = "uid-" + app["metadata"]["name"]
            app["metadata"]["resourceVersion"] = "1"
            apps.append(app)
    return apps


def test_steady_state_writes_nothing_new() -> None:
    first = reconcile_applicationset(APPSET, _generated(APPSET, "hotrod"), [], NOW)
    appset = {**APPSET, "status": _status(first)}
    again = reconcile_applicationset(appset, _generated(APPSET, "hotrod"), _owned(first), NOW + 60)
    assert _kinds(again) == []


def test_removed_directory_deletes_its_application_and_template_change_updates() -> None:
    first = reconcile_applicationset(APPSET, _generated(APPSET, "hotrod", "otel"), [], NOW)
    apps = _owned(first)
    apps[0]["metadata"]["annotations"] = {"argocd.argoproj.io/refresh": "hard"}  # preserved by Argo CD
    changed = copy.deepcopy(APPSET)
    changed["spec"]["template"]["spec"]["source"]["targetRevision"] = "main"
    result = reconcile_applicationset(changed, _generated(changed, "hotrod"), apps, NOW)
    updates = [a.obj for a in result.actions if isinstance(a, Update)]
    assert [u["spec"]["source"]["targetRevision"] for u in updates] == ["main"]
    assert updates[0]["metadata"]["annotations"] == {"argocd.argoproj.io/refresh": "hard"}
    assert updates[0]["metadata"]["resourceVersion"] == "1"
    assert [a for a in result.actions if isinstance(a, Delete)] == [Delete("Application", "argocd", "otel")]
    assert ("Deleted", 'Deleted Application "otel"') in [
        (a.reason, a.message) for a in result.actions if isinstance(a, Event)
    ]


@pytest.mark.parametrize(
    ("policy", "updates", "deletes"),
    [("sync", 1, 1), ("create-only", 0, 0), ("create-update", 1, 0), ("create-delete", 0, 1)],
)
def test_applications_sync_policies(policy: str, updates: int, deletes: int) -> None:
    apps = _owned(reconcile_applicationset(APPSET, _generated(APPSET, "hotrod", "otel"), [], NOW))
    changed = copy.deepcopy(APPSET)
    changed["spec"]["syncPolicy"] = {"applicationsSync": policy}
    changed["spec"]["template"]["spec"]["source"]["targetRevision"] = "main"
    result = reconcile_applicationset(changed, _generated(changed, "hotrod"), apps, NOW)
    assert sum(isinstance(a, Update) for a in result.actions) == updates
    assert sum(isinstance(a, Delete) for a in result.actions) == deletes


def test_generation_failure_keeps_applications_and_reports_the_error() -> None:
    apps = _owned(reconcile_applicationset(APPSET, _generated(APPSET, "hotrod"), [], NOW))
    message = (
        "error generating params from git: error getting directories from repo: failed to list refs: gone"
    )
    result = reconcile_applicationset(APPSET, GeneratorFailure(message), apps, NOW)
    assert _kinds(result) == ["UpdateStatus"]
    conditions = {c["type"]: c for c in _status(result)["conditions"]}
    assert conditions["ErrorOccurred"]["status"] == "True"
    assert conditions["ErrorOccurred"]["reason"] == "ApplicationGenerationFromParamsError"
    assert conditions["ErrorOccurred"]["message"] == message
    assert conditions["ParametersGenerated"]["status"] == "False"
    assert conditions["ResourcesUpToDate"]["status"] == "False"
    assert result.requeue_at == NOW + 180


def test_duplicate_names_and_bad_destination_are_validation_errors() -> None:
    dup = copy.deepcopy(APPSET)
    dup["spec"]["template"]["metadata"]["name"] = "same"
    dup["spec"]["template"]["spec"]["destination"]["server"] = "https://elsewhere"
    result = reconcile_applicationset(dup, _generated(dup, "hotrod", "otel"), [], NOW)
    assert not any(isinstance(a, Create) for a in result.actions)
    error = {c["type"]: c for c in _status(result)["conditions"]}["ErrorOccurred"]
    assert error["reason"] == "ApplicationValidationError"
    # Errors are keyed by application name, as in Argo CD: the duplicate's error replaces the first one's.
    assert error["message"] == "ApplicationSet seed contains applications with duplicate name: same"
    bad = copy.deepcopy(APPSET)
    bad["spec"]["template"]["spec"]["destination"]["server"] = "https://elsewhere"
    result = reconcile_applicationset(bad, _generated(bad, "hotrod", "otel"), [], NOW)
    error = {c["type"]: c for c in _status(result)["conditions"]}["ErrorOccurred"]
    assert error["message"] == (
        'application destination spec is invalid: error getting cluster by server "https://elsewhere": '
        'cluster "https://elsewhere" not found (and 1 more)'
    )


def test_unchanged_conditions_keep_their_transition_time() -> None:
    first = _status(reconcile_applicationset(APPSET, _generated(APPSET), [], NOW))
    later = reconcile_applicationset({**APPSET, "status": first}, GeneratorFailure("boom"), [], NOW + 300)
    conditions = {c["type"]: c for c in _status(later)["conditions"]}
    assert conditions["ErrorOccurred"]["lastTransitionTime"] == "2023-11-14T22:18:20Z"
