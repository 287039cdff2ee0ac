"""Prometheus-compatible time-series store (Prometheus 2.42 semantics).

- :mod:`~flightdeck.tsdb.storage` — ``Storage``: postings index, a 2-D head and immutable CSR blocks
  (numpy), batch appends by series ref, out-of-order window, staleness markers, retention.
- :mod:`~flightdeck.tsdb.persist` / :mod:`~flightdeck.tsdb.wal` — ``DurableStorage(path)``: WAL plus
  snapshots under a data directory; nothing acknowledged is lost to ``kill -9``.
- :mod:`~flightdeck.tsdb.promql` — ``Engine``: PromQL evaluation vectorised across series and steps.
- :mod:`~flightdeck.tsdb.scrape` — ``prometheus.yml``, discovery (static, file, HTTP, and pods fed by
  flightdeck's runtime for ``kubernetes_sd_configs``), relabeling, the text/OpenMetrics parsers and
  the scrape manager.
- :mod:`~flightdeck.tsdb.remotewrite` — the remote-write receiver (snappy protobuf).
- :mod:`~flightdeck.tsdb.api` / :mod:`~flightdeck.tsdb.server` — the HTTP API and the in-process
  server (``start_server``, ``TSDBServer``).
"""
