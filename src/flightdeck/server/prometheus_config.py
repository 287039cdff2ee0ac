"""The embedded store's scrape configuration: what the challenge's Prometheus scrapes.

The challenge installs the prometheus-community chart with ``prometheus-standalone-values.yaml``:
the chart's ``kubernetes-pods`` job (annotation-driven scraping, ``namespace``/``pod`` labels, pod
labels mapped with ``labelmap``) plus the values' extra relabeling (``kubernetes_namespace``,
``kubernetes_pod_name``, ``rollouts_pod_template_hash``), at a 10 s interval. One job carries both
sets of rules, so every series has the labels both produce. A second job scrapes flightdeck's
kube-state-metrics-compatible endpoint.
"""

from __future__ import annotations

from flightdeck.tsdb.scrape.config import ScrapeConfigFile, parse_config

_TEMPLATE = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {timeout}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: kubernetes-pods
    honor_labels: true
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: true
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
        action: replace
        regex: (https?)
        target_label: __scheme__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: ([^:]+)(?::\\d+)?;(\\d+)
        replacement: $1:$2
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_annotation_prometheus_io_param_(.+)
        replacement: __param_$1
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_phase]
        regex: Pending|Succeeded|Failed|Completed
        action: drop
      - source_labels: [__meta_kubernetes_pod_node_name]
        action: replace
        target_label: node
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: kubernetes_namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: kubernetes_pod_name
      - source_labels: [__meta_kubernetes_pod_label_rollouts_pod_template_hash]
        action: replace
        target_label: rollouts_pod_template_hash
  - job_name: kube-state-metrics
    honor_labels: true
    static_configs:
      - targets: ["{kube_state_target}"]
"""


def platform_scrape_config(*, kube_state_target: str, scrape_interval: str | None = None) -> ScrapeConfigFile:
    interval = scrape_interval or "10s"
    timeout = "9s" if interval == "10s" else interval
    return parse_config(
        _TEMPLATE.format(interval=interval, timeout=timeout, kube_state_target=kube_state_target)
    )
