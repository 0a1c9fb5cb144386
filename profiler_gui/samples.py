"""The bundled sample run bundles: where they are and which one to open first.

The bundles ship as package data of ``sample_traces`` (see pyproject.toml), so
they are found through ``importlib.resources`` both in a checkout (editable
install) and after a plain ``pip install .``.  No Qt here: the CLI uses it too.
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

PACKAGE = "sample_traces"
PREFERRED = "slow_loader_workers0"  # shows a real bottleneck and its fix


def samples_root() -> Path | None:
    """The folder that holds the sample bundles, or None when the package is missing."""
    try:
        root = importlib.resources.files(PACKAGE)
    except (ImportError, TypeError):  # not installed, or not a regular package
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def find_samples(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Sample run bundles (folders holding a run.json) under ``root`` (default: the bundled ones)."""
    base = Path(root) if root is not None else samples_root()
    if base is None or not base.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        if "run.json" in filenames:
            out.append(dirpath)
            dirnames[:] = []
        dirnames.sort()
    return sorted(out)


def default_sample(root: str | os.PathLike[str] | None = None) -> str | None:
    """The sample to open first: slow_loader_workers0 when present, else the first bundle."""
    found = find_samples(root)
    preferred = [p for p in found if os.path.basename(p) == PREFERRED]
    return (preferred or found or [None])[0]
