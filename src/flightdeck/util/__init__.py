"""Small helpers shared across flightdeck: Go-compatible formatting and time."""
