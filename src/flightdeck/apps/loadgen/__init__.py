"""The scenario's traffic generator (``python -m flightdeck.apps.loadgen``)."""

from flightdeck.apps.loadgen.core import ENDPOINTS, LoadGenerator, Options, Result, Summary

__all__ = ["ENDPOINTS", "LoadGenerator", "Options", "Result", "Summary"]
