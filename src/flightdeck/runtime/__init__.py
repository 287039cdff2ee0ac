"""The local node: Pod objects become OS processes, Services loopback load balancers, cluster names resolve.

Modules (one job each):

* :mod:`.node` — ``Node(state_dir, catalog, names, on_status).sync(pods)``: processes, probes, restarts with
  back-off, logs, memory limits, pod status; :mod:`.local` bundles it with the networking (``LocalNode``).
* :mod:`.catalog` — images to local programs (built-ins + the user's ``images.yaml``).
* :mod:`.env`, :mod:`.expand` — the container environment and ``$(VAR)`` expansion; :mod:`.volumes` —
  ConfigMap/Secret/emptyDir volumes as files and mount-path mapping.
* :mod:`.backoff`, :mod:`.probes`, :mod:`.podstatus` — the kubelet's decisions as pure functions.
* :mod:`.service_proxy`, :mod:`.endpoints` — Service load balancers; :mod:`.names`, :mod:`.resolver`,
  :mod:`.http_proxy` — cluster DNS for pods, for flightdeck's own programs and for ``curl``.

This package's ``__init__`` imports nothing: HotROD and the collector import :mod:`.resolver` at start-up.
"""
