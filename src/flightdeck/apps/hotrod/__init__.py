"""HotROD ("Rides On Demand"), Jaeger's tracing demo, re-written in Python from its documented behaviour.

``python -m flightdeck.apps.hotrod all|frontend|customer|driver|route`` runs it with the original's flags.
The services simulate their back-ends (a MySQL behind one connection, Redis with timeouts, a route
calculation behind a small worker pool), so latency emerges from the model, queueing included. Every
logical service has its own OpenTelemetry tracer provider and exports OTLP/HTTP like the original.
"""

from flightdeck.apps.hotrod.app import HotRod
from flightdeck.apps.hotrod.config import Config

__all__ = ["Config", "HotRod"]
