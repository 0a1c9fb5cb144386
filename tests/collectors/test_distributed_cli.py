"""Distributed options that are refused before anything starts, and reruns of a rank keep the job's size."""
from __future__ import annotations

from pathlib import Path

from analyzers.bundle_reader import rerun_spec
from collector_helpers import leftovers, run_cli


def test_nproc_below_one_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("profile", "slow_loader", "--nproc-per-node", "0", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "torchscope: error: --nproc-per-node must be at least 1, not 0"
    assert not list(tmp_path.iterdir())


def test_ddp_knob_without_several_processes_is_refused(tmp_path: Path) -> None:
    proc = run_cli("profile", "slow_loader", "--set", "ddp=true", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "ddp=true needs several processes: add --nproc-per-node N" in proc.stderr
    assert "Traceback" not in proc.stderr and not leftovers(tmp_path) and not list(tmp_path.iterdir())


def test_rerun_of_a_rank_reruns_the_whole_job() -> None:
    info = {"workload": "w.py", "device": "cpu", "loop": {"warmup_steps": 2},
            "job": {"distributed": {"world_size": 4, "backend": "gloo"}}}
    assert rerun_spec(info)[3] == {"warmup_steps": 2, "device": "cpu", "nproc_per_node": 4}
    assert "nproc_per_node" not in rerun_spec({"workload": "w.py"})[3]
