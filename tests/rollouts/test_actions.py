"""The kubectl plugin's actions as patches, with the plugin's messages and errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flightdeck.rollouts import ActionError, abort, pause, promote, restart, resume, retry, set_image, undo
from flightdeck.rollouts.actions import parse_image_arg
from tests.rollouts import manifests as m


def rollout(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    ro = m.rollout()
    ro["metadata"]["uid"] = "ro-uid"
    ro["spec"].update(spec)
    ro["status"] = copy.deepcopy(status or {})
    return ro


PAUSED = {
    "currentStepIndex": 1,
    "controllerPause": True,
    "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2024-01-01T00:00:00Z"}],
    "stableRS": "aaa",
    "currentPodHash": "bbb",
}


def test_promote_a_paused_step_clears_the_pause() -> None:
    result = promote(rollout(PAUSED))
    assert result.message == "rollout 'demo' promoted"
    assert "pauseConditions" not in result.rollout["status"]
    assert result.rollout["status"]["currentStepIndex"] == 1  # the controller completes the pause step
    assert result.status_changed and not result.spec_changed


def test_promote_clears_spec_paused() -> None:
    result = promote(rollout(PAUSED, paused=True))
    assert result.rollout["spec"]["paused"] is False and result.spec_changed


def test_promote_outside_a_pause_skips_the_current_step() -> None:
    result = promote(rollout({"currentStepIndex": 0, "stableRS": "aaa", "currentPodHash": "bbb"}))
    assert result.rollout["status"]["currentStepIndex"] == 1
    at_end = promote(rollout({"currentStepIndex": 3}))
    assert at_end.rollout["status"]["currentStepIndex"] == 3


def test_promote_an_inconclusive_analysis_moves_on() -> None:
    status = {
        **PAUSED,
        "currentStepIndex": 2,
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2024-01-01T00:00:00Z"}],
        "canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}},
    }
    result = promote(rollout(status))
    assert result.rollout["status"]["currentStepIndex"] == 3
    assert result.rollout["status"]["controllerPause"] is False
    assert "pauseConditions" not in result.rollout["status"]


def test_promote_full() -> None:
    result = promote(rollout(PAUSED, paused=True), full=True)
    assert result.message == "rollout 'demo' fully promoted"
    assert result.rollout["status"]["promoteFull"] is True
    assert result.rollout["spec"]["paused"] is False
    # already fully promoted: nothing to request
    done = promote(rollout({"stableRS": "aaa", "currentPodHash": "aaa"}), full=True)
    assert not done.status_changed and not done.spec_changed


def test_deprecated_skip_flags() -> None:
    with pytest.raises(ActionError) as error:
        promote(rollout(), skip_current_step=True, skip_all_steps=True)
    assert str(error.value) == "Cannot use skip-current-step and skip-all-steps flags at the same time"
    with pytest.raises(ActionError) as error:
        promote(m.rollout(steps=[]), skip_all_steps=True)
    assert str(error.value) == "Cannot skip steps of a rollout without steps"
    assert (
        promote(rollout({"currentStepIndex": 0}), skip_all_steps=True).rollout["status"]["currentStepIndex"]
        == 3
    )
    assert (
        promote(rollout({"currentStepIndex": 0}), skip_current_step=True).rollout["status"][
            "currentStepIndex"
        ]
        == 1
    )


def test_abort_retry_pause_resume() -> None:
    aborted = abort(rollout(PAUSED))
    assert (aborted.message, aborted.rollout["status"]["abort"]) == ("rollout 'demo' aborted", True)
    retried = retry(aborted.rollout)
    assert (retried.message, retried.rollout["status"]["abort"]) == ("rollout 'demo' retried", False)
    paused = pause(rollout())
    assert (paused.message, paused.rollout["spec"]["paused"]) == ("rollout 'demo' paused", True)
    resumed = resume(paused.rollout)
    assert (resumed.message, resumed.rollout["spec"]["paused"]) == ("rollout 'demo' resumed", False)


def test_restart() -> None:
    now = 1_700_000_000.7
    result = restart(rollout(), now)
    assert result.rollout["spec"]["restartAt"] == "2023-11-14T22:13:20Z"
    assert result.message == "rollout 'demo' restarts in 0s"
    later = restart(rollout(), now, "10s")
    assert later.rollout["spec"]["restartAt"] == "2023-11-14T22:13:30Z"
    assert later.message == "rollout 'demo' restarts in 10s"
    with pytest.raises(ActionError) as error:
        restart(rollout(), now, "soon")
    assert str(error.value) == 'time: invalid duration "soon"'


def test_set_image() -> None:
    ro = rollout()
    ro["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    result = set_image(ro, "app", "example/app:v9")
    assert result.message == 'rollout "demo" image updated'
    assert result.rollout["spec"]["template"]["spec"]["containers"][0]["image"] == "example/app:v9"
    assert result.rollout["spec"]["template"]["spec"]["initContainers"][0]["image"] == "busybox"
    everything = set_image(ro, "*", "x:1")
    assert {c["image"] for c in everything.rollout["spec"]["template"]["spec"]["initContainers"]} == {"x:1"}
    with pytest.raises(ActionError) as error:
        set_image(ro, "nope", "x:1")
    assert str(error.value) == 'unable to find container named "nope"'
    assert parse_image_arg("app=example/app:v2") == ("app", "example/app:v2")
    with pytest.raises(ActionError):
        parse_image_arg("app")


def _rs(revision: int, image: str, owner: str = "ro-uid") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"demo-{revision}",
            "namespace": "default",
            "labels": {"app": "demo", "rollouts-pod-template-hash": f"h{revision}"},
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [{"uid": owner, "controller": True}],
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "demo", "rollouts-pod-template-hash": f"h{revision}"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            }
        },
    }


def test_undo() -> None:
    ro = m.with_image(rollout(), "example/app:v3")
    rss = [
        _rs(1, "example/app:v1"),
        _rs(2, "example/app:v2"),
        _rs(3, "example/app:v3"),
        _rs(4, "other", owner="x"),
    ]
    previous = undo(ro, rss)
    assert previous.message == "rollout 'demo' undo"
    assert previous.rollout["spec"]["template"] == {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "app", "image": "example/app:v2"}]},
    }
    assert (
        undo(ro, rss, to_revision=1).rollout["spec"]["template"]["spec"]["containers"][0]["image"]
        == "example/app:v1"
    )
    same = undo(ro, rss, to_revision=3)
    assert same.message == "skipped rollback (current template already matches revision 3)"
    assert not same.spec_changed
    with pytest.raises(ActionError) as error:
        undo(ro, rss, to_revision=4)
    assert str(error.value) == "unable to find specified revision 4 in history"
    with pytest.raises(ActionError) as error:
        undo(ro, rss[2:3])
    assert str(error.value) == 'no revision found for rollout "demo"'
