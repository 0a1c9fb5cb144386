"""Built-in workloads, one module each, every one defining ``build(config) -> Workload``.

Their names and one-line descriptions live in ``collectors.workload_ref.BUILTINS``
so that listing them imports no torch.
"""
