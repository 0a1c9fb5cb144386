"""Collectors: run a workload in a child process and record a run bundle.

Imports torch only inside the child (harness, knob_apply, builtin workloads);
the parent side (runner, ab, bundle, cli, samplers) stays torch-free and Qt-free.
"""
