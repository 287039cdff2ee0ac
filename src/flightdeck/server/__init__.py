"""The ``flightdeck up`` process: wires the object store, controllers, local node and embedded backends."""
