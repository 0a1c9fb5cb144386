"""Distributed runs through torchrun: a 2-rank gloo job on this CPU, the straggler, and the failure paths.

Each job starts torchrun and two ranks (~10-25 s on a shared 2-core box), so
these tests are marked slow and share one straggler run.
"""
from __future__ import annotations

import gzip
import json
import os
import textwrap
import time
from pathlib import Path
from statistics import mean

import pytest

from collector_helpers import REPO, load_run, leftovers, run_cli
from collectors.runner import run_workload

pytestmark = pytest.mark.slow

SLEEP_MS = 40.0

# An ordinary DDP script: no TorchScope code.  Rank 1 sleeps before each forward pass.
DDP_SCRIPT = """
import os, sys, time
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

def main():
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = DDP(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
    for _ in range(100):
        if rank == 1:
            time.sleep(SLEEP_S)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dist.destroy_process_group()

if __name__ == "__main__":
    main()
"""

# Rank 1 fails at its 3rd iteration: raise, SIGKILL itself, or hang (argv[1]).
FAILING_SCRIPT = """
import os, signal, sys, time
import torch, torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
mode = sys.argv[1]
dist.init_process_group("gloo")
rank = dist.get_rank()
model = DDP(nn.Linear(16, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 16)
for step in range(100):
    if rank == 1 and step == 2:
        if mode == "raise":
            raise RuntimeError("injected failure on rank 1")
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "hang":
            time.sleep(3600)
    model(x).sum().backward()
    opt.step()
    opt.zero_grad()
"""


def _rank_trace(bundle: Path, rank: int) -> dict:
    with gzip.open(bundle / f"rank-{rank}" / "trace.json.gz", "rt") as fh:
        return json.load(fh)


def _allreduce_starts_ns(trace: dict) -> list[int]:
    """Epoch ns at which this rank's gloo all-reduces start (straight from the JSON)."""
    base = int(trace["baseTimeNanoseconds"])
    return sorted(base + int(round(e["ts"] * 1000)) for e in trace["traceEvents"]
                  if e.get("ph") == "X" and e.get("name") == "gloo:all_reduce")


@pytest.fixture(scope="module")
def straggler_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ddp")
    script = root / "train_ddp.py"
    script.write_text(DDP_SCRIPT.replace("SLEEP_S", repr(SLEEP_MS / 1000.0)))
    proc = run_cli("profile", str(script), "--script", "--nproc-per-node", "2", "--out", str(root / "runs"),
                   "--warmup", "2", "--profile-steps", "3", "--steps", "4", "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_bundle_has_every_rank_and_the_launch(straggler_bundle: Path) -> None:
    run = load_run(straggler_bundle)
    assert run["status"] == "ok" and run["failed_rank"] is None
    dist = run["distributed"]
    assert (dist["world_size"], dist["backend"], dist["launcher"]) == (2, "gloo", "torch.distributed.run")
    assert dist["launch_command"][1:3] == ["-m", "torch.distributed.run"]
    assert "--nproc-per-node" in dist["launch_command"]
    assert [r["rank"] for r in run["ranks"]] == [0, 1]
    for r in (0, 1):
        rank_dir = straggler_bundle / f"rank-{r}"
        rank_run = load_run(rank_dir)
        assert rank_run["status"] == "ok" and rank_run["rank"] == r and rank_run["world_size"] == 2
        assert _rank_trace(straggler_bundle, r)["distributedInfo"]["rank"] == r
        with gzip.open(rank_dir / "samples.csv.gz", "rt") as fh:
            assert len(fh.read().splitlines()) > 2  # header + this rank's host samples
        # the same schedule on every rank: the same profiled steps
        steps = sorted(e["name"] for e in _rank_trace(straggler_bundle, r)["traceEvents"]
                       if str(e.get("name", "")).startswith("ProfilerStep#"))
        assert steps == sorted(e["name"] for e in _rank_trace(straggler_bundle, 0)["traceEvents"]
                               if str(e.get("name", "")).startswith("ProfilerStep#"))
    assert not leftovers(straggler_bundle.parent)


def test_analyze_names_the_sleeping_rank_and_the_others_wait(straggler_bundle: Path) -> None:
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "profiler_gui.cli", "analyze", str(straggler_bundle), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [r["rank"] for r in report["ranks"]] == [0, 1]
    strag = [f for f in report["findings"] if f["rule"] == "STRAG1"]
    assert strag, [f["rule"] for f in report["findings"]]
    f = strag[0]
    assert f["rank"] == 1
    extra = f["evidence"]["extra_ms_per_step"]
    assert extra == pytest.approx(SLEEP_MS, rel=0.25)
    # independently: how much later rank 1's all-reduces start than rank 0's, from the raw JSON
    a0, a1 = (_allreduce_starts_ns(_rank_trace(straggler_bundle, r)) for r in (0, 1))
    assert len(a0) == len(a1) == 3
    assert extra == pytest.approx(mean(b - a for a, b in zip(a0, a1)) / 1e6, abs=2.0)
    waits = {w["rank"]: w for w in report["distributed"]["collectives"]["per_rank"]}
    assert waits[0]["wait_ms"] == pytest.approx(extra, rel=0.1)
    assert waits[1]["wait_ms"] < 0.2 * waits[0]["wait_ms"]
    assert f["evidence"]["cause"]["category"] == "other"  # a sleep: host time outside profiled ops


def _failing_run(tmp_path: Path, mode: str, timeout_s: float = 240.0) -> tuple:
    script = tmp_path / "fail_ddp.py"
    script.write_text(textwrap.dedent(FAILING_SCRIPT))
    t0 = time.monotonic()
    result = run_workload(str(script), {}, str(tmp_path / "runs"), timeout_s, script=True, nproc_per_node=2,
                          workload_args=[mode], warmup_steps=3, profile_steps=2, timed_steps=2, sample=False)
    return result, load_run(result.bundle_path), time.monotonic() - t0


def _no_rank_left(run: dict) -> None:
    for r in run["ranks"]:
        pid = r.get("pid")
        if pid:
            assert not os.path.exists(f"/proc/{pid}") or b"collectors.child" not in \
                Path(f"/proc/{pid}/cmdline").read_bytes(), f"rank {r['rank']} still runs"


def test_a_rank_that_raises_ends_the_job_and_is_named(tmp_path: Path) -> None:
    result, run, _ = _failing_run(tmp_path, "raise")
    assert result.status == "failed" and run["failed_rank"] == 1
    assert "rank 1 failed" in result.error and "injected failure on rank 1" in result.error
    assert load_run(Path(result.bundle_path) / "rank-1")["status"] == "failed"
    assert "after rank 1 failed" in (load_run(Path(result.bundle_path) / "rank-0")["error"] or "")
    _no_rank_left(run)


def test_a_killed_rank_ends_the_job_and_is_named(tmp_path: Path) -> None:
    result, run, _ = _failing_run(tmp_path, "kill")
    assert result.status == "failed" and run["failed_rank"] == 1
    assert "rank 1 died from SIGKILL" in result.error
    _no_rank_left(run)


def test_a_hang_is_killed_at_the_timeout_with_every_rank_stack(tmp_path: Path) -> None:
    result, run, wall_s = _failing_run(tmp_path, "hang", timeout_s=25.0)
    assert result.status == "timeout" and wall_s < 60
    assert "timed out after 25 s" in result.error
    assert "rank 1" in result.error and "fail_ddp.py" in result.error  # the hung rank's own frame
    for r in (0, 1):
        assert load_run(Path(result.bundle_path) / f"rank-{r}")["status"] == "timeout"
    _no_rank_left(run)


WORKLOAD = """
import torch
from torch import nn
from collectors.workload_api import Workload

def build(config):
    torch.manual_seed(config.rank)
    x = torch.randn(64, 32)
    y = torch.randint(0, 4, (64,))
    data = torch.utils.data.TensorDataset(x, y)
    return Workload(model=nn.Linear(32, 4), dataset=data, batch_size=16,
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.1), loss_fn=nn.functional.cross_entropy,
                    description=f"rank {config.rank} of {config.world_size}")
"""


def test_workload_learns_its_rank_and_ddp_knob_wraps_the_model(tmp_path: Path) -> None:
    path = tmp_path / "wl.py"
    path.write_text(textwrap.dedent(WORKLOAD))
    result = run_workload(str(path), {"ddp": "true"}, str(tmp_path / "runs"), 240, nproc_per_node=2,
                          warmup_steps=1, profile_steps=2, timed_steps=2, sample=False)
    assert result.status == "ok", result.error
    bundle = Path(result.bundle_path)
    for r in (0, 1):
        assert load_run(bundle / f"rank-{r}")["description"] == f"rank {r} of 2"
        names = {e.get("name") for e in _rank_trace(bundle, r)["traceEvents"]}
        assert "DistributedDataParallel.forward" in names and "gloo:all_reduce" in names
