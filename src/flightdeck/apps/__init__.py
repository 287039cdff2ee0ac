"""Workloads flightdeck runs itself: ``hotrod`` (Jaeger's demo app, re-written) and ``loadgen`` (its traffic)."""
