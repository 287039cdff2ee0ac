"""The kubelet's container restart back-off (``client-go/util/flowcontrol.Backoff``), as pure functions.

The kubelet keys one entry per container. When a container has exited, ``doBackOff`` asks whether it is still
"in back-off since" its ``finishedAt``; if so the container waits with ``CrashLoopBackOff`` and the message
``back-off 20s restarting failed container=<c> pod=<name>_<ns>(<uid>)``; if not, ``Next`` grows the entry
(10 s, doubling, capped at 5 min; reset when the container had run more than twice the cap since the last
restart) and the container starts again. So the first restart is immediate and the second waits 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.kube.durations import format_go_duration

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """One container's entry: the current delay and when it was last grown (a restart happened)."""

    delay: float
    last_update: float


def _expired(event_time: float, entry: Backoff, maximum: float) -> bool:
    # "consider stable if it's ok for twice the maxDuration"
    return event_time - entry.last_update > 2 * maximum


def next_backoff(
    entry: Backoff | None, finished_at: float, now: float, initial: float = INITIAL, maximum: float = MAXIMUM
) -> Backoff:
    """``Backoff.Next``: the entry after deciding to restart a container that finished at ``finished_at``."""
    if entry is None or _expired(finished_at, entry, maximum):
        return Backoff(initial, now)
    return Backoff(min(entry.delay * 2, maximum), now)


def backoff_until(entry: Backoff | None, finished_at: float, maximum: float = MAXIMUM) -> float | None:
    """When the back-off of a container that finished at ``finished_at`` ends (``None``: not in back-off).

    ``IsInBackOffSince`` is ``now - finished_at < delay``, so the container may start at ``finished_at + delay``.
    """
    if entry is None or _expired(finished_at, entry, maximum):
        return None
    return finished_at + entry.delay


def crash_loop_message(entry: Backoff, container: str, pod_name: str, namespace: str, uid: str) -> str:
    return (
        f"back-off {format_go_duration(entry.delay)} restarting failed container={container} "
        f"pod={pod_name}_{namespace}({uid})"
    )


def should_restart(policy: str, exit_code: int) -> bool:
    """``ShouldContainerBeRestarted`` for an exited container under the pod's ``restartPolicy``."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True
