"""The bundled samples: found through importlib.resources, shipped in the wheel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from profiler_gui.samples import default_sample, find_samples, samples_root

REPO = Path(__file__).resolve().parent.parent


def test_samples_found_through_the_package():
    root = samples_root()
    assert root is not None and root.resolve() == (REPO / "sample_traces").resolve()
    found = find_samples()
    assert found and all((Path(p) / "run.json").is_file() for p in found)
    assert os.path.basename(default_sample() or "") == "slow_loader_workers0"


def test_default_sample_falls_back_to_the_first_bundle(tmp_path):
    for name in ("b_run", "a_run"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text("{}")
    assert default_sample(tmp_path) == str(tmp_path / "a_run")
    assert default_sample(tmp_path / "missing") is None and find_samples(tmp_path / "missing") == []


def test_samples_found_from_another_working_directory(tmp_path):
    code = "from profiler_gui.samples import default_sample; print(default_sample())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip(), "trace.json.gz").is_file()


@pytest.mark.slow
def test_wheel_contains_the_sample_bundles(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pkg in ("analyzers", "collectors", "profiler_gui", "sample_traces"):
        shutil.copytree(REPO / pkg, src / pkg, ignore=ignore)
    out = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = next(out.glob("torchscope-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    bundles = sorted(p.parent.name for p in (REPO / "sample_traces").glob("*/run.json"))
    assert bundles
    for bundle in bundles:
        for f in ("run.json", "trace.json.gz", "samples.csv.gz", "log.txt"):
            assert f"sample_traces/{bundle}/{f}" in names, f"{bundle}/{f} missing from {wheel.name}"
    assert "sample_traces/__init__.py" in names and "profiler_gui/samples.py" in names


@pytest.mark.parametrize("bundle", sorted(p.parent.name for p in (REPO / "sample_traces").glob("*/run.json")))
def test_samples_have_at_least_five_profiled_steps_and_stay_small(bundle):
    from analyzers.loader import load_traces
    from analyzers.steps import step_table

    path = REPO / "sample_traces" / bundle
    (model,) = load_traces(str(path))
    assert len(model.rows_named("ProfilerStep#")) >= 5
    assert step_table(model).count >= 5  # per-step statistics have something to work on
    size_kib = sum(f.stat().st_size for f in path.iterdir()) / 1024
    assert size_kib < 400, f"{bundle}: {size_kib:.0f} KiB (samples are package data: keep them small)"
