"""Where TorchScope's packages live, for the child processes it starts (workload runs, big-trace loads)."""
from __future__ import annotations

import os

#: the folder holding the analyzers, collectors and profiler_gui packages
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment whose PYTHONPATH starts with :data:`PROJECT_ROOT` (unbuffered output)."""
    env = dict(os.environ if base is None else base)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = PROJECT_ROOT + (os.pathsep + path if path else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
