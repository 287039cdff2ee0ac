"""Simulation: traffic and fault models, scenarios, the demo."""
