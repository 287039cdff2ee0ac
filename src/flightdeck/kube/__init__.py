"""Kubernetes object model: manifests, durations, typed specs."""
