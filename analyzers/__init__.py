"""TorchScope analyzers: pure data (no torch, no Qt).

Load traces into the columnar model, compute metrics and findings, compare runs.
"""
