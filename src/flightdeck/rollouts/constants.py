"""Names, reasons and message formats of Argo Rollouts v1.9 that users see (labels, conditions, events).

Kept in one place so that every user-visible string can be checked against Argo's
``utils/conditions``, ``pkg/apis/rollouts/v1alpha1`` and ``utils/annotations``.
"""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "argoproj.io/v1alpha1"

# Labels and annotations
POD_TEMPLATE_HASH_LABEL: Final = "rollouts-pod-template-hash"
REVISION_ANNOTATION: Final = "rollout.argoproj.io/revision"
REVISION_HISTORY_ANNOTATION: Final = "rollout.argoproj.io/revision-history"
DESIRED_REPLICAS_ANNOTATION: Final = "rollout.argoproj.io/desired-replicas"
SCALE_DOWN_DEADLINE_ANNOTATION: Final = "scale-down-deadline"
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
NOTIFIED_ANNOTATION: Final = "notified.notifications.argoproj.io"
CONTROLLER_INSTANCE_ID_LABEL: Final = "argo-rollouts.argoproj.io/controller-instance-id"
ROLLOUT_TYPE_LABEL: Final = "rollout-type"
ROLLOUT_TYPE_STEP: Final = "Step"
ROLLOUT_TYPE_BACKGROUND: Final = "Background"
STEP_INDEX_LABEL: Final = "step-index"
# Measurement metadata the job provider writes (metricproviders/job); the tree shows those jobs.
JOB_NAME_KEY: Final = "job-name"
JOB_NAMESPACE_KEY: Final = "job-namespace"

# Annotations the controller never copies from the Rollout to its ReplicaSets.
ANNOTATIONS_NOT_COPIED: Final = frozenset(
    {
        LAST_APPLIED_ANNOTATION,
        REVISION_ANNOTATION,
        REVISION_HISTORY_ANNOTATION,
        DESIRED_REPLICAS_ANNOTATION,
        NOTIFIED_ANNOTATION,
    }
)

# Defaults (utils/defaults)
DEFAULT_REPLICAS: Final = 1
DEFAULT_REVISION_HISTORY_LIMIT: Final = 10
DEFAULT_SUCCESSFUL_RUN_HISTORY_LIMIT: Final = 5
DEFAULT_UNSUCCESSFUL_RUN_HISTORY_LIMIT: Final = 5
DEFAULT_MAX_SURGE: Final = "25"
DEFAULT_MAX_UNAVAILABLE: Final = "25"
DEFAULT_PROGRESS_DEADLINE_SECONDS: Final = 600
MAX_TRAFFIC_WEIGHT: Final = 100

# Pause reasons
PAUSE_CANARY_STEP: Final = "CanaryPauseStep"
PAUSE_INCONCLUSIVE_ANALYSIS: Final = "InconclusiveAnalysisRun"
PAUSE_BLUE_GREEN: Final = "BlueGreenPause"

# Condition types
COND_PROGRESSING: Final = "Progressing"
COND_AVAILABLE: Final = "Available"
COND_HEALTHY: Final = "Healthy"
COND_COMPLETED: Final = "Completed"
COND_PAUSED: Final = "Paused"
COND_INVALID_SPEC: Final = "InvalidSpec"
COND_REPLICA_FAILURE: Final = "ReplicaFailure"

# Condition reasons and messages (utils/conditions/conditions.go)
INVALID_SPEC_REASON: Final = "InvalidSpec"
AVAILABLE_REASON: Final = "AvailableReason"
NOT_AVAILABLE_MESSAGE: Final = "Rollout does not have minimum availability"
AVAILABLE_MESSAGE: Final = "Rollout has minimum availability"
REPLICA_SET_UPDATED_REASON: Final = "ReplicaSetUpdated"
ROLLOUT_PROGRESSING_MESSAGE: Final = 'Rollout "{}" is progressing.'
REPLICA_SET_PROGRESSING_MESSAGE: Final = 'ReplicaSet "{}" is progressing.'
NEW_REPLICA_SET_REASON: Final = "NewReplicaSetCreated"
NEW_REPLICA_SET_MESSAGE: Final = 'Created new replica set "{}"'
NEW_REPLICA_SET_DETAILED_MESSAGE: Final = "Created ReplicaSet {} (revision {})"
FOUND_NEW_RS_REASON: Final = "FoundNewReplicaSet"
FOUND_NEW_RS_MESSAGE: Final = 'Found new replica set "{}"'
ROLLOUT_UPDATED_REASON: Final = "RolloutUpdated"
ROLLOUT_UPDATED_MESSAGE: Final = "Rollout updated to revision {}"
ROLLOUT_COMPLETED_REASON: Final = "RolloutCompleted"
ROLLOUT_COMPLETED_MESSAGE: Final = "Rollout completed update to revision {} ({}): {}"
ROLLOUT_NOT_COMPLETED_REASON: Final = "RolloutNotCompleted"
ROLLOUT_NOT_COMPLETED_MESSAGE: Final = "Rollout not completed, started update to revision {} ({})"
ROLLOUT_HEALTHY_REASON: Final = "RolloutHealthy"
ROLLOUT_HEALTHY_MESSAGE: Final = "Rollout is healthy"
ROLLOUT_NOT_HEALTHY_MESSAGE: Final = "Rollout is not healthy"
ROLLOUT_ABORTED_REASON: Final = "RolloutAborted"
ROLLOUT_ABORTED_MESSAGE: Final = "Rollout aborted update to revision {}"
ROLLOUT_RETRY_REASON: Final = "RolloutRetry"
ROLLOUT_RETRY_MESSAGE: Final = "Retrying Rollout after abort"
ROLLOUT_PAUSED_REASON: Final = "RolloutPaused"
ROLLOUT_PAUSED_MESSAGE: Final = "Rollout is paused"
REPLICA_SET_NOT_AVAILABLE_REASON: Final = "ReplicaSetNotAvailable"
ROLLOUT_RESUMED_REASON: Final = "RolloutResumed"
ROLLOUT_RESUMED_MESSAGE: Final = "Rollout is resumed"
ROLLOUT_STEP_COMPLETED_REASON: Final = "RolloutStepCompleted"
ROLLOUT_STEP_COMPLETED_MESSAGE: Final = "Rollout step {}/{} completed ({})"
NEW_RS_AVAILABLE_REASON: Final = "NewReplicaSetAvailable"
TIMED_OUT_REASON: Final = "ProgressDeadlineExceeded"
ROLLOUT_TIMEOUT_MESSAGE: Final = 'Rollout "{}" has timed out progressing.'
REPLICA_SET_TIMEOUT_MESSAGE: Final = 'ReplicaSet "{}" has timed out progressing.'
REPLICA_SET_COMPLETED_MESSAGE: Final = 'ReplicaSet "{}" has successfully progressed.'
SCALING_REPLICA_SET_REASON: Final = "ScalingReplicaSet"
SCALING_REPLICA_SET_MESSAGE: Final = "Scaled {} ReplicaSet {} (revision {}) from {} to {}"
RECONCILIATION_ERROR_REASON: Final = "ReconciliationError"
RECONCILIATION_ERROR_MESSAGE: Final = "Reconciliation failed with error: {}"
SKIP_STEPS_REASON: Final = "SkipSteps"
ROLLBACK_TO_STABLE_MESSAGE: Final = "Rollback to stable ReplicaSets"
ROLLBACK_WITHIN_WINDOW_MESSAGE: Final = "Rollback to active ReplicaSets within RollbackWindow"

# Abort messages written by the analysis reconciler (rollout/analysis.go)
STEP_ANALYSIS_FAILED: Final = "Step-based analysis phase error/failed"
BACKGROUND_ANALYSIS_FAILED: Final = "Background analysis phase error/failed"

# Rollout phases
PHASE_HEALTHY: Final = "Healthy"
PHASE_PROGRESSING: Final = "Progressing"
PHASE_PAUSED: Final = "Paused"
PHASE_DEGRADED: Final = "Degraded"
