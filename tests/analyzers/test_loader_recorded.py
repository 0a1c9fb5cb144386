"""Traces recorded here with torch.profiler open with the right steps, ops, shapes and memory events."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from analyzers.categories import Kind
from analyzers.loader import load_trace

torch = pytest.importorskip("torch")


def _record(path: Path, steps: int = 4, memory: bool = True) -> None:
    from torch.profiler import ProfilerActivity, profile, schedule

    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, profile_memory=memory,
                 schedule=schedule(wait=0, warmup=1, active=steps),
                 on_trace_ready=lambda p: p.export_chrome_trace(str(path))) as prof:
        for _ in range(steps + 1):
            opt.zero_grad()
            model(torch.randn(16, 32)).sum().backward()
            opt.step()
            prof.step()
    assert path.is_file()


def test_recorded_cpu_trace(tmp_path: Path) -> None:
    path = tmp_path / "cpu.pt.trace.json"
    _record(path, steps=4)
    model = load_trace(path)
    assert not model.has_gpu and model.vendor == "cpu"
    steps = model.rows_named("ProfilerStep#")
    assert len(steps) == 4
    assert model.origin_abs_ns is not None and model.origin_abs_ns > 1.6e18  # epoch ns of time 0
    mm = [r for r in model.rows_of_kind(Kind.CPU_OP) if model.name(r) == "aten::addmm"]
    assert len(mm) >= 8  # two Linear layers x 4 steps
    args = model.args(mm[0])
    assert args["Input Dims"][1] == [16, 32] or [16, 32] in args["Input Dims"] or [16, 64] in args["Input Dims"]
    # every addmm lies inside a step, nested deeper than it
    for r in mm:
        inside = (model.start_ns[steps] <= model.start_ns[r]) & (model.end_ns[steps] >= model.end_ns[r])
        assert inside.any() and model.depth[r] > model.depth[steps[inside][0]]
    assert len(model.memory) > 0 and set(np.unique(model.memory.device_type)) == {0}


def test_recorded_gzip_and_bare_list_agree(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    _record(path, steps=2, memory=False)
    doc = json.loads(path.read_text())
    gz = tmp_path / "t.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(doc["traceEvents"]))
    a, b, c = load_trace(path), load_trace(gz), load_trace(bare)
    assert len(a) == len(b) == len(c) > 0
    assert np.array_equal(a.start_ns, b.start_ns) and np.array_equal(a.dur_ns, c.dur_ns)
