"""House rule: no function over 80 lines and no class over 300 lines in the project's code."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("analyzers", "collectors", "profiler_gui", "benchmarks", "scripts", "sample_traces")
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 300


def _too_long(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        lines = (node.end_lineno or node.lineno) - node.lineno + 1 if hasattr(node, "lineno") else 0
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and lines > MAX_FUNCTION_LINES:
            out.append(f"{path.relative_to(REPO)}:{node.lineno} def {node.name}: {lines} lines")
        elif isinstance(node, ast.ClassDef) and lines > MAX_CLASS_LINES:
            out.append(f"{path.relative_to(REPO)}:{node.lineno} class {node.name}: {lines} lines")
    return out


def test_no_long_functions_or_classes() -> None:
    offenders = [o for folder in FOLDERS for p in sorted((REPO / folder).rglob("*.py")) for o in _too_long(p)]
    assert not offenders, "\n".join(offenders)
