"""The canary-analysis engine: AnalysisRun reconciler, providers and argument resolution."""
