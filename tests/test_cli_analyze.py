"""`torchscope analyze` on every reference trace: human report and --json with the documented keys."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import reference_path

REPO = Path(__file__).resolve().parent.parent
TRACES = [
    "hta_alexnet_a100.json.gz", "hta_amd_mi250_rocm.json.gz", "hta_cpu_only.pt.trace.json.gz",
    "hta_nccl_a100.json.gz", "hta_simple_add_a100.json.gz", "hta_triton_a100.json.gz",
    "hta_v100_68k_events.pt.trace.json.gz", "tb_resnet50_num_workers_0.pt.trace.json.gz",
    "tb_resnet50_num_workers_4.pt.trace.json.gz", "hta_two_ranks", "hta_compare/base.json.gz",
]
BREAKDOWN_KEYS = {"kernel", "memcpy", "memset", "communication", "runtime", "dataloader", "cpu_exec", "other"}
GPU_KEYS = {"device", "utilization_pct", "sm_efficiency_pct", "achieved_occupancy_pct", "tensor_core_pct"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "profiler_gui.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("name", TRACES)
def test_analyze_json_has_documented_keys(name: str) -> None:
    path = reference_path(name)
    proc = _cli("analyze", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["source"]["path"] == str(path)
    assert report["source"]["events"] > 0 and report["source"]["ranks"] >= 1
    steps = report["steps"]
    assert steps["count"] >= 1 and steps["min_ms"] <= steps["median_ms"] <= steps["max_ms"]
    assert set(report["breakdown_ms"]) >= BREAKDOWN_KEYS
    # the breakdown covers the whole mean step
    assert sum(report["breakdown_ms"][k] for k in BREAKDOWN_KEYS) == pytest.approx(steps["mean_ms"], rel=1e-3)
    for gpu in report["gpus"]:
        assert set(gpu) >= GPU_KEYS
        assert 0 <= gpu["utilization_pct"] <= 100.0001
        if gpu["sm_efficiency_pct"] is not None:  # null where kernels carry no 'blocks per SM' (AMD)
            assert 0 <= gpu["sm_efficiency_pct"] <= gpu["utilization_pct"] + 1e-6
    for f in report["findings"]:
        assert {"rule", "title", "severity", "gain_ms", "evidence", "fix"} <= set(f)
        assert 0 <= f["gain_ms"] <= steps["mean_ms"]


def test_analyze_text_report_two_ranks() -> None:
    proc = _cli("analyze", str(reference_path("hta_two_ranks")))
    assert proc.returncode == 0, proc.stderr
    assert "2 rank" in proc.stdout


def test_cpu_only_report_says_so() -> None:
    proc = _cli("analyze", str(reference_path("hta_cpu_only.pt.trace.json.gz")), "--json")
    report = json.loads(proc.stdout)
    assert report["gpus"] == [] and report["devices"] == []
    text = _cli("analyze", str(reference_path("hta_cpu_only.pt.trace.json.gz"))).stdout
    assert "cpu-only" in text.lower() or "no gpu" in text.lower()


def test_main_job_without_display_prints_the_sample_report() -> None:
    """`torchscope` with no display (the README's main job on a server) falls back to the text report."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "profiler_gui.cli"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no display" in proc.stderr
    assert "[DL1]" in proc.stdout and "torchscope ab slow_loader --fix num_workers=2" in proc.stdout


def test_unknown_knob_is_a_one_line_error() -> None:
    proc = _cli("ab", "slow_loader", "--fix", "warp_speed=9")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "warp_speed" in proc.stderr
