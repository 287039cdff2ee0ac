"""The embedded trace store: OTLP in, Jaeger's query API out (``flightdeck.traces.server.TraceServer``)."""
