"""Kubernetes' built-in controllers for the local cluster, and the manager that runs them."""

from __future__ import annotations

from flightdeck.controllers import daemonset, deployment, gc, namespace, replicaset
from flightdeck.controllers.manager import ControllerManager


def register_builtin(manager: ControllerManager) -> None:
    """Register the workload controllers (Deployment, ReplicaSet, DaemonSet), the namespace controller and
    the owner-reference garbage collector."""
    manager.register(
        "ReplicaSet",
        replicaset.observe,
        owns=("Pod",),
        maps={"Pod": replicaset.map_orphan_pods},
        name="replicaset-controller",
    )
    manager.register("Deployment", deployment.observe, owns=("ReplicaSet",), name="deployment-controller")
    manager.register("DaemonSet", daemonset.observe, owns=("Pod",), name="daemonset-controller")
    manager.register("Namespace", namespace.observe, name="namespace-controller")
    for kind in gc.DEPENDENT_KINDS:
        manager.register(
            kind, gc.observe, name=f"garbage-collector-{kind.lower()}", events=("ADDED", "MODIFIED")
        )


__all__ = ["ControllerManager", "register_builtin"]
