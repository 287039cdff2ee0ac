"""Prometheus-compatible time-series store."""
