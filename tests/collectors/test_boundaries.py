"""Import contracts: collectors never import Qt; the parent-side modules never import torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from collector_helpers import REPO

COLLECTORS = REPO / "collectors"
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "profiler_gui")
PARENT_SIDE = ("collectors.cli", "collectors.runner", "collectors.ab", "collectors.bundle",
               "collectors.sampler", "collectors.host_sampler", "collectors.nvml_sampler",
               "collectors.workload_ref", "collectors.workload_api", "collectors.knob_checks",
               "collectors.errors", "collectors.progress")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_collectors_never_import_qt():
    files = list(COLLECTORS.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        bad = [m for m in imported_modules(path) if m.split(".")[0] in QT]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_parent_side_modules_do_not_import_torch():
    code = ("import sys\n"
            f"for m in {PARENT_SIDE!r}: __import__(m)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph'))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
