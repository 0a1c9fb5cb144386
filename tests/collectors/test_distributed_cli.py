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


def _summary(root: tuple[int, int], others: list[tuple[int, int]]) -> str:
    """torchrun's failure summary (the format of torch.distributed.elastic's ChildFailedError)."""
    def entry(i: int, rank: int, code: int) -> str:
        return (f"[{i}]:\n  time      : 2026-11-30_17:33:42\n  host      : localhost\n"
                f"  rank      : {rank} (local_rank: {rank})\n  exitcode  : {code} (pid: 1{rank})\n"
                "  error_file: <N/A>\n  traceback : ...")
    body = "\n".join(entry(i + 1, r, c) for i, (r, c) in enumerate(others))
    return (f"collectors.child FAILED\n----\nFailures:\n{body}\n----\nRoot Cause (first observed failure):\n"
            f"{entry(0, *root)}\n====")


def test_first_failure_is_torchruns_root_cause() -> None:
    from collectors.dist_finish import exit_codes, pick_cause
    log = _summary((1, -9), [(0, -15)])
    assert exit_codes(log) == {0: -15, 1: -9}
    assert pick_cause({0: {}, 1: {}}, log) == (1, -9)


def test_a_rank_that_only_lost_its_peer_is_not_the_cause() -> None:
    """Rank 0's gloo error and rank 1's SIGKILL seen in one monitor tick: the killed rank is the cause."""
    from collectors.dist_finish import pick_cause
    recs = {0: {"status": "failed", "error": "RuntimeError: [gloo/pair.cc:553] Connection closed by peer"},
            1: {"status": "running"}}
    assert pick_cause(recs, _summary((0, 1), [(1, -9)])) == (1, -9)
    # a rank that raised its own error stays the cause
    recs[0]["error"] = "RuntimeError: injected failure on rank 0"
    assert pick_cause(recs, _summary((0, 1), [(1, -15)])) == (0, 1)
