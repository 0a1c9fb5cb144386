"""analyzers imports neither torch nor Qt; collectors never Qt; only profiler_gui imports Qt."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QT = {"PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6"}
FORBIDDEN = {"analyzers": QT | {"torch", "pynvml", "collectors", "profiler_gui"},
             "collectors": QT | {"profiler_gui"}}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_modules(package: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_only_profiler_gui_imports_qt() -> None:
    """Qt only in profiler_gui: the packages and the sample recorder never import it (build/, .venv are not ours)."""
    for package in ("analyzers", "collectors", "sample_traces"):
        for path in sorted((REPO / package).rglob("*.py")):
            assert not (_imported_roots(path) & QT), f"{path.relative_to(REPO)} imports Qt"


def test_analysis_and_cli_start_without_torch_or_qt() -> None:
    """Loading analyzers and building the CLI parser must not pull in torch or Qt (fast start)."""
    code = (
        "import sys; import analyzers.loader, analyzers.knobs, profiler_gui.cli as c; c.build_parser(); "
        "bad = sorted(m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules); print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
