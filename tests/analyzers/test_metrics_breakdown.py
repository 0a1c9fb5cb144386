"""Step-time breakdown: priority, overlap, sums, a slow reference, the TensorBoard plugin, a real CPU trace."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from analyzers.breakdown import CATEGORIES, mean_breakdown_ms, step_breakdown
from analyzers.loader import load_trace
from analyzers.steps import step_table
from tests.conftest import reference_path
from trace_builder import BWD_TID, MAIN_TID, TraceBuilder


def test_priority_each_instant_to_the_highest_category(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.cpu_op("enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", 0, 40)  # 0-32 left after higher ones
    b.cpu_op("aten::add", 30, 20)  # 30-50: fully covered by DataLoader, runtime, kernel, memcpy -> 0
    b.cpu_op("aten::mul", 52, 4)  # 52-56: CPU Exec 4
    b.kernel("kern", 35, 10, launch_ts=32, launch_dur=3)  # kernel 35-45 (10); its launch 32-35 is runtime (3)
    b.memcpy("Memcpy HtoD (Pageable -> Device)", 42, 10, launch_ts=60)  # 45-52 (7); launch 60-61 (1)
    b.cpu_op("nccl:all_reduce", 70, 10)  # 70-80 communication
    b.kernel("ncclKernel_AllReduce_RING_LL_Sum_float", 75, 10, launch_ts=71)  # 80-85 communication; launch hidden
    b.memset(90, 2, launch=False)  # 2
    df = step_breakdown(b.load(tmp_path))
    row = df.iloc[0]
    got = {c: round(float(row[f"{c}_ms"]) * 1e3, 6) for c in CATEGORIES}
    assert got == {"kernel": 10, "memcpy": 7, "memset": 2, "device_other": 0, "device_wait": 0, "communication": 15,
                   "runtime": 4, "dataloader": 32, "cpu_exec": 4, "other": 26}
    assert abs(row[[f"{c}_ms" for c in CATEGORIES]].sum() - row["step_ms"]) < 1e-9


# ------------------------------------------------------------ slow reference (independent, per elementary segment)
PRIORITY = ["kernel", "memcpy", "memset", "communication", "runtime", "dataloader", "cpu_exec"]


def _category(ev: dict) -> str | None:
    name, cat = ev["name"], ev["cat"]
    if cat == "kernel":
        return "communication" if name.startswith(("ncclKernel", "ncclDevKernel")) else "kernel"
    if cat == "gpu_memcpy":
        return "memcpy"
    if cat == "gpu_memset":
        return "memset"
    if cat == "cuda_runtime":
        return "runtime"
    if cat in ("cpu_op", "user_annotation"):
        if name.startswith("ProfilerStep#"):
            return None
        if name.startswith(("nccl:", "gloo:")):
            return "communication"
        if name.startswith("enumerate(DataLoader)#"):
            return "dataloader"
        return "cpu_exec"
    return None


def _slow_breakdown(events: list[dict], lo: int, hi: int) -> dict[str, int]:
    spans = [(round(e["ts"] * 1000), round((e["ts"] + e["dur"]) * 1000), _category(e)) for e in events
             if e["ph"] == "X" and _category(e)]
    cuts = sorted({lo, hi, *[s for s, _, _ in spans if lo < s < hi], *[e for _, e, _ in spans if lo < e < hi]})
    out = {c: 0 for c in PRIORITY + ["other"]}
    for a, b in zip(cuts[:-1], cuts[1:]):
        active = {c for s, e, c in spans if s <= a and e >= b}
        best = next((c for c in PRIORITY if c in active), "other")
        out[best] += b - a
    return out


@pytest.mark.parametrize("seed", range(8))
def test_breakdown_matches_slow_reference_on_random_traces(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    b = TraceBuilder.bare()
    names = ["aten::mm", "aten::add", "enumerate(DataLoader)#_MultiProcessingDataLoaderIter.__next__",
             "nccl:all_reduce", "Optimizer.step#SGD.step"]
    for i in range(4):
        base = i * 1000
        b.step(i, base, 900)
        for _ in range(12):
            s = base + rnd.randint(0, 880)
            b.cpu_op(rnd.choice(names), s, rnd.randint(1, 200), tid=rnd.choice([MAIN_TID, BWD_TID]))
        for _ in range(10):
            launch = base + rnd.randint(0, 880)
            cat = rnd.choice(["kernel", "kernel", "gpu_memcpy", "gpu_memset"])
            name = rnd.choice(["gemm", "ncclKernel_AllReduce"]) if cat == "kernel" else "Memcpy HtoD"
            ts, dur = launch + rnd.randint(1, 300), rnd.randint(1, 150)
            kw = {"launch_ts": launch, "launch_dur": rnd.randint(1, 10), "stream": rnd.choice([7, 13])}
            if cat == "kernel":
                b.kernel(name, ts, dur, **kw)
            elif cat == "gpu_memcpy":
                b.memcpy(name, ts, dur, **kw)
            else:
                b.memset(ts, dur, **kw)
    model = b.load(tmp_path)
    st = step_table(model)
    df = step_breakdown(model)
    assert len(df) == st.count >= 1
    for k in range(st.count):
        ref = _slow_breakdown(b.events, int(st.start_ns[k]), int(st.end_ns[k]))
        got = {c: round(float(df.iloc[k][f"{c}_ms"]) * 1e6) for c in PRIORITY + ["other"]}
        assert got == ref
        assert abs(sum(got.values()) - (st.end_ns[k] - st.start_ns[k])) <= 1


# torch-tb-profiler 0.4.3 (the TensorBoard plugin) run on the same files in a dev check: mean per step, us
TB_PLUGIN_AVG_US = {
    "tb_resnet50_num_workers_0.pt.trace.json.gz": {
        "kernel": 98588.667, "memcpy": 1915.333, "memset": 89.0, "communication": 0.0, "runtime": 2907.5,
        "dataloader": 59261.833, "cpu_exec": 13674.167, "other": 1155.667, "total": 177592.167},
    "tb_resnet50_num_workers_4.pt.trace.json.gz": {
        "kernel": 99144.667, "memcpy": 3159.833, "memset": 97.667, "communication": 0.0, "runtime": 10564.0,
        "dataloader": 1186.167, "cpu_exec": 22664.833, "other": 4250.833, "total": 141068.0},
}


@pytest.mark.parametrize("name", sorted(TB_PLUGIN_AVG_US))
def test_reference_breakdown_matches_tensorboard_plugin(name: str) -> None:
    model = load_trace(reference_path(name))
    df = step_breakdown(model)
    mean = mean_breakdown_ms(df)
    exp = TB_PLUGIN_AVG_US[name]
    assert mean["device_other"] == 0.0 and mean["device_wait"] == 0.0  # no such device work on CUDA
    for c in CATEGORIES:
        if c in exp:
            assert abs(mean[c] * 1e3 - exp[c]) <= max(0.01 * exp["total"] * 0.01, 1.0), c  # within 1 us (or 0.01 %)
    assert abs(df["step_ms"].mean() * 1e3 - exp["total"]) / exp["total"] < 0.02


def test_reference_dataloader_share_before_and_after() -> None:
    share = {}
    for name in ("tb_resnet50_num_workers_0.pt.trace.json.gz", "tb_resnet50_num_workers_4.pt.trace.json.gz"):
        mean = mean_breakdown_ms(step_breakdown(load_trace(reference_path(name))))
        share[name] = mean["dataloader"] / sum(mean.values())
    assert 0.28 < share["tb_resnet50_num_workers_0.pt.trace.json.gz"] < 0.40  # about a third
    assert share["tb_resnet50_num_workers_4.pt.trace.json.gz"] < 0.02  # near zero


def test_recorded_cpu_trace_steps_and_sum(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity, profile, schedule

    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(256, 64)), batch_size=32)
    batches = iter(data)
    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=1, warmup=1, active=3)) as prof:
        for _ in range(5):
            (x,) = next(batches)
            opt.zero_grad()
            net(x).sum().backward()
            opt.step()
            prof.step()
    path = tmp_path / "cpu.pt.trace.json"
    prof.export_chrome_trace(str(path))
    model = load_trace(path)
    st = step_table(model)
    assert st.count == 3 and st.from_profiler_steps
    df = step_breakdown(model)
    parts = df[[f"{c}_ms" for c in CATEGORIES]].sum(axis=1)
    np.testing.assert_allclose(parts, df["step_ms"], rtol=0, atol=1e-9)
    assert (df["kernel_ms"] == 0).all() and (df["cpu_exec_ms"] > 0).all()
    assert (df["dataloader_ms"] > 0).all()


def test_python_frames_and_step_ranges_are_not_cpu_exec(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.host_event("python_function", "train.py(42): main", 0, 100)  # with_stack frame over the whole step
    b.cpu_op("aten::add", 10, 10)
    df = step_breakdown(b.load(tmp_path))
    assert df.iloc[0]["cpu_exec_ms"] == pytest.approx(0.01)
    assert df.iloc[0]["other_ms"] == pytest.approx(0.09)


def test_breakdown_without_steps_covers_the_trace(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.cpu_op("aten::mm", 0, 40)
    b.kernel("gemm", 50, 50, launch_ts=10)
    df = step_breakdown(b.load(tmp_path))
    assert len(df) == 1 and df.iloc[0]["step_ms"] == pytest.approx(0.1)
    assert df.iloc[0]["kernel_ms"] == pytest.approx(0.05) and df.iloc[0]["other_ms"] == pytest.approx(0.01)
    assert mean_breakdown_ms(df.iloc[0:0]) == {c: 0.0 for c in CATEGORIES}
