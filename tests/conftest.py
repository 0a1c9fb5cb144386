"""Shared fixtures: where the reference traces and samples live."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO.parent / "shared" / "reference_traces"
SAMPLES_DIR = REPO / "sample_traces"


def reference_path(name: str) -> Path:
    """Path of a reference trace; skips the test with a reason when the folder is absent."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference traces not found at {REFERENCE_DIR} (they live in ../shared/, outside the repo)")
    path = REFERENCE_DIR / name
    if not path.exists():
        pytest.skip(f"reference trace {name} missing from {REFERENCE_DIR}")
    return path


@pytest.fixture
def reference():
    """reference('tb_resnet50_num_workers_0.pt.trace.json.gz') -> Path (skips when absent)."""
    return reference_path
