"""Secrets, provider construction errors and TTL through the reconciler and driver."""

from __future__ import annotations

from flightdeck.analysis.driver import AnalysisDriver
from flightdeck.analysis.reconcile import FinishedMeasurement, MeasurementTask, ttl_deadline
from flightdeck.analysis.secrets import SecretStore
from flightdeck.analysis.types import AnalysisRun, AnalysisRunSpec, Measurement, Phase


def run_with(
    metric: dict[str, object], args: list[dict[str, object]] | None = None, **spec: object
) -> AnalysisRun:
    raw = {"metrics": [{"name": "m", **metric}], "args": args or [], **spec}
    return AnalysisRun("r", "default", AnalysisRunSpec.from_dict(raw))


def test_unknown_provider_is_an_error_measurement_listing_known_ones() -> None:
    run = run_with({"provider": {"datadog": {"query": "x"}}, "consecutiveErrorLimit": 0})
    AnalysisDriver().settle(run, 0.0)
    result = run.status.result("m")
    assert result is not None
    message = result.measurements[0].message
    assert message.startswith("unknown metric provider 'datadog': flightdeck knows ")
    assert "prometheus" in message and "web" in message
    assert run.status.phase is Phase.ERROR


def test_provider_construction_error_text() -> None:
    run = run_with(
        {"provider": {"prometheus": {"query": "up", "address": "not a url"}}, "consecutiveErrorLimit": 0}
    )
    AnalysisDriver().settle(run, 0.0)
    assert run.status.message == (
        'Metric "m" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): '
        '"Error Message: prometheus address is not is url format"'
    )


SECRET_ARGS = [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]


def test_secret_args_are_substituted_and_redacted() -> None:
    seen: list[str] = []

    def measure(task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        seen.append(task.metric.provider["web"]["url"])
        return FinishedMeasurement(
            task.metric.name,
            Measurement(Phase.ERROR, now, now, message=f"GET {task.metric.provider['web']['url']} failed"),
        )

    store = SecretStore()
    store.add("default", "creds", {"token": "s3cr3t"})
    run = run_with(
        {"provider": {"web": {"url": "http://x/?t={{args.token}}"}}, "consecutiveErrorLimit": 0}, SECRET_ARGS
    )
    from flightdeck.analysis import driver as driver_module

    def redacting(task: MeasurementTask, run: AnalysisRun, now: float) -> FinishedMeasurement:
        item = measure(task, run, now)
        message = item.measurement.message
        for secret in task.secrets:
            message = message.replace(secret, "*****")
        return FinishedMeasurement(item.metric_name, Measurement(Phase.ERROR, now, now, message=message))

    assert driver_module.take_measurement is not None
    AnalysisDriver(redacting, secrets=store).settle(run, 0.0)
    assert seen == ["http://x/?t=s3cr3t"]
    result = run.status.result("m")
    assert result is not None
    assert result.measurements[0].message == "GET http://x/?t=***** failed"


def test_missing_secret_ends_run_with_argo_message() -> None:
    run = run_with({"provider": {"web": {"url": "http://x/{{args.token}}"}}}, SECRET_ARGS)
    AnalysisDriver(secrets=SecretStore()).settle(run, 0.0)
    assert (run.status.phase, run.status.message) == (
        Phase.ERROR,
        'Unable to resolve metric arguments: secrets "creds" not found',
    )


def test_ttl_deadline() -> None:
    run = run_with({"provider": {"prometheus": {"query": "up"}}}, ttlStrategy={"secondsAfterCompletion": 60})
    assert ttl_deadline(run) is None
    run.status.phase = Phase.SUCCESSFUL
    run.status.completed_at = 100.0
    assert ttl_deadline(run) == 161.0
