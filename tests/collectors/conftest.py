"""Fixtures for the collectors tests: a runs folder and workload files."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # collector_helpers
import collector_helpers  # noqa: E402,F401  (puts the repo on sys.path)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """An empty folder for bundles."""
    d = tmp_path / "runs"
    d.mkdir()
    return d


@pytest.fixture
def write_workload(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a workload file ``NAME.py`` with the given (dedented) source; return its path."""
    def write(name: str, source: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return path
    return write
