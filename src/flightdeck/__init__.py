"""flightdeck: observability-driven progressive delivery."""

__version__ = "0.1.0"
