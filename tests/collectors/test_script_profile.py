"""Plain scripts without glue: profiler stepped on optimizer steps, sys.argv passed, knobs limited."""
from __future__ import annotations

import pytest
from collector_helpers import load_run, load_trace

from collectors.errors import KnobRefused
from collectors.runner import run_workload

SCRIPT = """
    import sys
    import torch
    from torch import nn

    steps = int(sys.argv[1])
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        x, y = torch.randn(16, 32), torch.randint(0, 2, (16,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("script finished", steps)
"""


def test_script_is_profiled_on_optimizer_steps_and_stopped(runs_dir, write_workload):
    path = write_workload("train_loop", SCRIPT)
    result = run_workload(str(path), {"threads": 1}, str(runs_dir), timeout_s=60, workload_args=["100000"],
                          warmup_steps=2, profile_steps=2, timed_steps=5)
    assert result.status == "ok", result.error
    run = load_run(result.bundle_path)
    assert run["workload_kind"] == "script" and run["workload_args"] == ["100000"]
    assert run["timed_steps"]["count"] == 5 and run["env"]["torch_threads"] == 1
    names = [e.get("name", "") for e in load_trace(result.bundle_path)["traceEvents"]]
    steps = sorted({n for n in names if n.startswith("ProfilerStep#")})
    assert len(steps) == 2
    assert any("Optimizer.step#SGD.step" in n for n in names)
    log = open(f"{result.bundle_path}/log.txt").read()
    assert "script finished" not in log  # stopped after the timed steps, not run to 100000
    assert result.wall_s < 30


def test_short_script_runs_to_its_end(runs_dir, write_workload):
    path = write_workload("short_loop", SCRIPT)
    result = run_workload(str(path), {}, str(runs_dir), timeout_s=60, workload_args=["8"],
                          warmup_steps=2, profile_steps=2, timed_steps=20)
    run = load_run(result.bundle_path)
    assert result.status == "ok" and "script finished 8" in open(f"{result.bundle_path}/log.txt").read()
    assert 0 < run["timed_steps"]["count"] < 20 and "ended after 8 optimizer steps" in run["note"]


def test_script_refuses_harness_knobs(runs_dir, write_workload):
    path = write_workload("loop", SCRIPT)
    with pytest.raises(KnobRefused, match="num_workers cannot be applied to a plain script"):
        run_workload(str(path), {"num_workers": 2}, str(runs_dir))


def test_script_without_optimizer_fails_clearly(runs_dir, write_workload):
    path = write_workload("no_opt", "print('hello')\n")
    result = run_workload(str(path), {}, str(runs_dir), timeout_s=60)
    assert result.status == "failed" and "never called optimizer.step()" in result.error
