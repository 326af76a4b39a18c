"""Runners: Hydra pipelines, the in-process grid, results and logging."""
