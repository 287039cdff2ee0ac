"""Counting items in OTLP request messages (what the self-metrics count): loops run per resource/scope,
never per span."""

from __future__ import annotations

from typing import Any

from flightdeck.collector.component import LogsData, MetricsData, Signal, TracesData


def count_spans(data: TracesData) -> int:
    return sum(len(ss.spans) for rs in data.resource_spans for ss in rs.scope_spans)


def count_data_points(data: MetricsData) -> int:
    total = 0
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                if which is not None:
                    total += len(getattr(metric, which).data_points)
    return total


def count_log_records(data: LogsData) -> int:
    return sum(len(sl.log_records) for rl in data.resource_logs for sl in rl.scope_logs)


def count_items(signal: Signal, data: Any) -> int:
    if signal is Signal.TRACES:
        return count_spans(data)
    if signal is Signal.METRICS:
        return count_data_points(data)
    return count_log_records(data)


# The item word upstream uses in self-metric names, per signal.
ITEM_NAMES = {Signal.TRACES: "spans", Signal.METRICS: "metric_points", Signal.LOGS: "log_records"}
