"""The programmable exporter lives in flightdeck.sim; tests import it from here."""

from flightdeck.sim.exporter import MetricsExporter

__all__ = ["MetricsExporter"]
