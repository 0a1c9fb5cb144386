"""torch.compile regions, their kernels, graph breaks and recompiles, on traces recorded here and the Triton trace."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from analyzers.session import AnalysisSession
from tests.recorded_models import ACTIVE_STEPS, record_compiled, record_gpt2

pytest.importorskip("torch")


def _raw(path: Path) -> list[dict]:
    data = path.read_bytes()
    data = gzip.decompress(data) if path.suffix == ".gz" else data
    return sorted((e for e in json.loads(data)["traceEvents"] if e.get("ph") == "X"), key=lambda e: e["ts"])


def _steps(raw: list[dict]) -> list[dict]:
    return [e for e in raw if e["name"].startswith("ProfilerStep#")]


def _within(e: dict, outer: dict) -> bool:
    return outer["ts"] <= e["ts"] and e["ts"] + e["dur"] <= outer["ts"] + outer["dur"] + 1e-3


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    return record_compiled(tmp_path_factory.mktemp("compiled") / "breaks.json", graph_break=True)


def test_graph_break_and_recompile_are_measured(broken: Path) -> None:
    raw = _raw(broken)
    ra = AnalysisSession.load(broken).rank(0)
    cr = ra.compiled_regions
    regions = [e for e in raw if e["name"].startswith("Torch-Compiled Region: ")]
    assert set(cr.regions["region"]) == {e["name"].split(": ")[1] for e in regions} == {"0/0", "1/0", "0/1", "1/1"}
    for _, r in cr.regions.iterrows():  # host time of each region id = its raw durations
        durs = [e["dur"] for e in regions if e["name"].endswith(r["region"])]
        assert r["calls"] == len(durs) and r["host_total_ns"] / 1e3 == pytest.approx(sum(durs), abs=0.01 * len(durs))
    # every step enters two frames: one graph break; both frames recompiled when the batch grew
    steps = _steps(raw)
    per_step_frames = [len({e["name"].split(": ")[1].split("/")[0] for e in regions if _within(e, s)}) for s in steps]
    assert cr.per_step["frames"].tolist() == per_step_frames == [2, 2, 2, 2]
    assert cr.graph_breaks_per_step == 1 and cr.recompiled_frames == [0, 1]
    compiles = [e for e in raw if e["name"] == "entire_frame_compile"]
    assert len(compiles) == 2 and cr.compile_ns / 1e3 == pytest.approx(sum(e["dur"] for e in compiles), abs=0.1)
    compiling = [i for i, s in enumerate(steps) if any(_within(c, s) for c in compiles)]
    assert cr.per_step.loc[cr.per_step["compile_ns"] > 0].index.tolist() == compiling == [2]
    # the kernels of region 1/0 (second layer, eager backend): the outermost aten ops it ran
    k = cr.kernels[cr.kernels["region"] == "1/0"].set_index("kernel")
    assert "aten::linear" in k.index and "aten::addmm" not in k.index  # addmm is inside linear


def test_graph_break_and_recompile_rules(broken: Path) -> None:
    ra = AnalysisSession.load(broken).rank(0)
    got = {f.rule: f for f in ra.findings}
    brk = got["GRAPHBRK1"]
    assert brk.evidence["frames_per_step"] == 2 and brk.evidence["frames"] == [0, 1]
    assert "torch._dynamo.explain" in brk.fix and "fullgraph=True" in brk.fix_snippet
    rec = got["RECOMP1"]
    raw = _raw(broken)
    compiles = [e for e in raw if e["name"] == "entire_frame_compile"]
    numbers = [int(s["name"].split("#")[1]) for s in _steps(raw) if any(_within(c, s) for c in compiles)]
    assert rec.evidence["recompiled_frames"] == [0, 1] and rec.evidence["steps_compiling"] == numbers == [3]
    assert rec.evidence["compile_ms"] == pytest.approx(ra.compiled_regions.compile_ns / 1e6)
    assert "mark_dynamic" in rec.fix and "dynamic=True" in rec.fix_snippet
    report = AnalysisSession.load(broken).report()
    assert report["compiled"]["graph_breaks_per_step"] == 1


def test_one_graph_raises_no_graph_break_rule(tmp_path: Path) -> None:
    path = tmp_path / "whole.json"
    record_compiled(path, graph_break=False)
    ra = AnalysisSession.load(path).rank(0)
    assert ra.compiled_regions.graph_breaks_per_step == 0
    got = {f.rule for f in ra.findings}
    assert "GRAPHBRK1" not in got
    assert "RECOMP1" in got  # the batch still grows at step 2 ...
    steady = ra.compiled_regions.per_step.iloc[3]
    assert steady["compile_ns"] == 0 and steady["frames"] == 1  # ... and the step after it is clean


def test_triton_kernel_belongs_to_its_region(reference) -> None:
    path = reference("hta_triton_a100.json.gz")
    raw = _raw(path)
    cr = AnalysisSession.load(path).rank(0).compiled_regions
    triton = [e for e in raw if e.get("cat") == "kernel" and e["name"].startswith("triton_")]
    assert len(triton) == 1
    k = cr.kernels.iloc[0]
    assert (k["region"], k["kernel"], k["calls"]) == ("0/0", triton[0]["name"], 1)
    assert k["total_ns"] / 1e3 == pytest.approx(triton[0]["dur"], abs=0.01)
    assert cr.regions.iloc[0]["device_ns"] == k["total_ns"]


@pytest.mark.slow
def test_compiled_gpt2_shows_its_region_and_inductor_kernels(tmp_path: Path) -> None:
    """GPT-2 from a config under torch.compile (mode 'default', inductor): one region per step, and the C++
    kernels inductor generated (CPU: ``<built-in function kernel>`` frames) plus its extern matmuls."""
    pytest.importorskip("transformers")
    path = record_gpt2(tmp_path / "gpt2c.json", compile_mode="default")
    raw = _raw(path)
    ra = AnalysisSession.load(path).rank(0)
    cr = ra.compiled_regions
    assert cr.regions["region"].tolist() == ["0/0"] and cr.regions.iloc[0]["calls"] == ACTIVE_STEPS
    assert cr.graph_breaks_per_step == 0 and not cr.recompiled_frames
    assert cr.regions.iloc[0]["called_from"].startswith("torch/nn/modules/module.py(") \
        and cr.regions.iloc[0]["called_from"].endswith("): _call_impl")
    regions = [e for e in raw if e["name"].startswith("Torch-Compiled Region")]
    cpp = [e for e in raw if e["name"] == "<built-in function kernel>" and any(_within(e, r) for r in regions)]
    k = cr.kernels.set_index("kernel")
    assert cpp and k.loc["<built-in function kernel>", "calls"] == len(cpp)
    assert k.loc["aten::addmm", "calls"] == 4 * 2 * ACTIVE_STEPS  # 4 projections x 2 layers per forward
    assert {"GRAPHBRK1", "RECOMP1"}.isdisjoint(f.rule for f in ra.findings)


def test_graph_break_names_where_compiled_code_resumes(tmp_path: Path) -> None:
    """With Python stacks, each region knows the frame it runs in: after a break, the user's function."""
    from trace_builder import TraceBuilder

    b = TraceBuilder.bare()
    for t in b.steps(2, 1000.0):
        b.host_event("python_function", "model.py(5): forward", t + 10, 900)
        b.cpu_op("Torch-Compiled Region: 0/0", t + 20, 380)
        b.host_event("python_function", "model.py(9): tail", t + 450, 440)
        b.cpu_op("Torch-Compiled Region: 1/0", t + 460, 420)
    ra = AnalysisSession([b.load(tmp_path)], str(tmp_path)).rank(0)
    regions = ra.compiled_regions.regions.set_index("region")
    assert regions.loc["0/0", "called_from"] == "model.py(5): forward"
    assert regions.loc["1/0", "called_from"] == "model.py(9): tail"
    brk = next(f for f in ra.findings if f.rule == "GRAPHBRK1")
    assert brk.evidence["resumes_in"] == {"1/0": "model.py(9): tail"} and "model.py(9): tail" in brk.summary
