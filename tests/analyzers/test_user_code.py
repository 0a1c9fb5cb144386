"""Module tree, flame graph / folded export and FLOPs on a GPT-2 recorded here, and on hand-built GPU traces."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analyzers.flame import frame_name
from analyzers.session import AnalysisSession
from tests.recorded_models import ACTIVE_STEPS, BATCH, GPT2, SEQ, expected_gpt2_gflop_per_step, record_gpt2
from trace_builder import TraceBuilder

REPO = Path(__file__).resolve().parents[2]
#: speedscope's parser of the collapsed-stack format (src/import/bg-flamegraph.ts): a stack, a space, an integer
SPEEDSCOPE_LINE = re.compile(r"^(.*) (\d+)$")


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = record_gpt2(tmp_path_factory.mktemp("gpt2") / "gpt2.pt.trace.json")
    raw = [e for e in json.loads(path.read_text())["traceEvents"] if e.get("ph") == "X"]
    return path, raw


def _raw_steps(raw: list[dict]) -> list[dict]:
    return sorted((e for e in raw if e["name"].startswith("ProfilerStep#")), key=lambda e: e["ts"])


def _inside(e: dict, steps: list[dict]) -> bool:
    return steps[0]["ts"] <= e["ts"] < steps[-1]["ts"] + steps[-1]["dur"]


def test_module_tree_blocks_add_up_to_the_step(gpt2) -> None:
    path, raw = gpt2
    ra = AnalysisSession.load(path).rank(0)
    tree = ra.module_tree
    t = tree.table.set_index("name")
    steps = _raw_steps(raw)
    assert tree.steps == len(steps) == ACTIVE_STEPS
    for name in ("GPT2Block_0", "GPT2Block_1", "GPT2Attention_0", "GPT2MLP_1", "Linear_0"):
        calls = [e for e in raw if e["name"] == f"nn.Module: {name}" and _inside(e, steps)]
        assert t.loc[name, "calls"] == len(calls) == ACTIVE_STEPS
        assert t.loc[name, "host_total_ns"] / 1e3 == pytest.approx(sum(e["dur"] for e in calls), abs=0.01 * len(calls))
    assert t.loc["GPT2Block_1", "path"] == "GPT2LMHeadModel_0/GPT2Model_0/GPT2Block_1"
    # every node: self + children = total
    tab = tree.table
    for i in range(len(tab)):
        kids = tab[tab["parent"] == i]
        assert tab["host_self_ns"][i] + kids["host_total_ns"].sum() == tab["host_total_ns"][i]
    # the model's own module covers the step (ProfilerStep# durations from the raw JSON) within 5 %
    mean_step_us = np.mean([e["dur"] for e in steps])
    top_us = tab[tab["depth"] == 0]["host_total_ns"].sum() / 1e3 / ACTIVE_STEPS
    assert top_us == pytest.approx(mean_step_us, rel=0.05)
    assert tree.roots_cover_pct() == pytest.approx(100 * top_us / mean_step_us, rel=1e-6)
    # the blocks, embeddings, final norm and GPT2Model's own time add up to GPT2Model
    model_row = t.loc["GPT2Model_0"]
    children = tab[tab["parent"] == int(np.flatnonzero(tab["name"] == "GPT2Model_0")[0])]
    assert children["host_total_ns"].sum() + model_row["host_self_ns"] == model_row["host_total_ns"]


def test_gpt2_flops_match_the_hand_count(gpt2) -> None:
    path, raw = gpt2
    ra = AnalysisSession.load(path).rank(0)
    tp = ra.throughput
    assert tp["gflop_per_step"] == pytest.approx(expected_gpt2_gflop_per_step(), rel=1e-12)
    assert tp["dtype"] == "float" and tp["mfu_pct"] is None  # CPU: achieved TFLOP/s only
    steps = _raw_steps(raw)
    step_ms = np.mean([e["dur"] for e in steps]) / 1e3
    assert tp["achieved_tflops"] == pytest.approx(tp["gflop_per_step"] / step_ms, rel=0.02)
    # op table: addmm FLOPs from the raw shapes, 2*M*K*N per call
    addmm = [e for e in raw if e["name"] == "aten::addmm"]
    by_hand = sum(2 * e["args"]["Input Dims"][1][0] * e["args"]["Input Dims"][1][1] * e["args"]["Input Dims"][2][1]
                  for e in addmm)
    ops = ra.op_table().set_index("name")
    assert ops.loc["aten::addmm", "gflop"] == pytest.approx(by_hand / 1e9, rel=1e-12)
    assert ops.loc["aten::linear", "gflop"] == 0  # counted once, in the mm inside it
    # module tree: the LM head does 2*T*d*V per call; a block its four projections and attention
    t = ra.module_tree.table.set_index("name")
    d, tokens = GPT2["n_embd"], BATCH * SEQ
    assert t.loc["Linear_0", "flop_total"] / ACTIVE_STEPS == 2 * tokens * d * GPT2["vocab_size"]
    assert t.loc["GPT2Block_0", "flop_total"] / ACTIVE_STEPS == 24 * tokens * d * d + 4 * BATCH * SEQ * SEQ * d
    assert t.loc["GPT2LMHeadModel_0", "flop_total"] / ACTIVE_STEPS == pytest.approx(expected_gpt2_gflop_per_step() * 1e9)


def test_flops_agree_with_torch_own_counts(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity, profile

    x, w = torch.randn(2, 3, 32, 32), torch.randn(8, 3, 3, 3)
    a, b = torch.randn(48, 40), torch.randn(40, 24)
    path = tmp_path / "ops.json"
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True) as prof:
        torch.nn.functional.conv2d(x, w, stride=2, padding=1)
        torch.mm(a, b)
        torch.addmm(torch.randn(24), a, b)
        torch.bmm(torch.randn(3, 5, 7), torch.randn(3, 7, 9))
    prof.export_chrome_trace(str(path))
    theirs: dict[str, float] = {}
    for e in prof.events():
        if e.flops:
            theirs[e.name] = theirs.get(e.name, 0) + e.flops
    ops = AnalysisSession.load(path).rank(0).op_table().set_index("name")
    assert set(theirs) == {"aten::conv2d", "aten::mm", "aten::addmm", "aten::bmm"}
    for name, flop in theirs.items():
        assert ops.loc[name, "gflop"] * 1e9 == pytest.approx(flop), name
    assert ops.loc["aten::convolution", "gflop"] == 0  # not counted twice under conv2d


def test_flame_graph_and_folded_export_read_as_speedscope_reads_them(gpt2, tmp_path: Path) -> None:
    path, raw = gpt2
    out = tmp_path / "gpt2.folded"
    proc = subprocess.run([sys.executable, "-m", "profiler_gui.cli", "analyze", str(path), "--folded", str(out),
                           "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["modules"]["available"] and report["throughput"]["counted_ops"] > 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and f"wrote {len(lines)} stacks" in proc.stderr
    weights: dict[str, int] = {}
    for line in lines:
        m = SPEEDSCOPE_LINE.match(line)
        assert m, line
        frames = m.group(1).split(";")
        assert all(f.strip() for f in frames) and " at 0x" not in m.group(1), line
        weights[m.group(1)] = weights.get(m.group(1), 0) + int(m.group(2))
    assert len(weights) == len(lines)  # one line per distinct stack
    # all weights = host time under the top-level frames (raw JSON: python frames without a parent)
    top_us = sum(e["dur"] for e in raw if e.get("cat") == "python_function" and e["args"].get("Python parent id") is None)
    assert sum(weights.values()) == pytest.approx(top_us, abs=0.5 * len(lines) + 1)
    # an addmm of the first block has the block and the op in its stack
    assert any("nn.Module: GPT2Block_0;" in s and s.endswith(";aten::addmm") for s in weights)
    # the flame node of a block has the module's host time
    ra = AnalysisSession.load(path).rank(0)
    g = ra.flame
    blocks = [i for i, n in enumerate(g.name) if n == "nn.Module: GPT2Block_0"]
    assert g.has_python and len(blocks) == 1
    calls = [e for e in raw if e["name"] == "nn.Module: GPT2Block_0"]
    assert g.total_ns[blocks[0]] / 1e3 == pytest.approx(sum(e["dur"] for e in calls), rel=0.01)
    assert int(g.calls[blocks[0]]) == len(calls)
    assert blocks[0] in set(g.find("gpt2block_0").tolist())


def test_folded_export_to_a_bad_path_is_one_line(gpt2, tmp_path: Path) -> None:
    path, _ = gpt2
    bad = tmp_path / "missing" / "out.folded"
    proc = subprocess.run([sys.executable, "-m", "profiler_gui.cli", "analyze", str(path), "--folded", str(bad)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"torchscope: error: {bad}: cannot write the folded stacks: "
                                                "No such file or directory"]


def test_frame_names_are_safe_for_the_folded_format() -> None:
    assert frame_name("<built-in method split of type object at 0x7efbf042a9d0>") == "<built-in method split of type>"
    assert frame_name("a;b\nc") == "a,b c"


def _gpu_module_trace(tmp_path: Path) -> AnalysisSession:
    """Two 1 ms steps on an A100: Net_0 holds Linear_0 (a bf16 addmm launching a 200 us GEMM) and a relu (30 us);
    after the forward, AddmmBackward0 (60 us, linked from the addmm) launches a 50 us kernel."""
    from trace_builder import HOST_PID, MAIN_TID

    b = TraceBuilder.bare(gpu=True)
    dims = [[1024], [512, 1024], [1024, 1024]]
    for i, t in enumerate(b.steps(2, 1000.0)):
        b.host_event("python_function", "nn.Module: Net_0", t + 10, 900)
        b.host_event("python_function", "nn.Module: Linear_0", t + 20, 380)
        b.op_with_kernel("aten::addmm", "ampere_bf16_gemm", t + 30, 100, 200, kernel_ts=t + 140,
                         args={"Input Dims": dims, "Input type": ["c10::BFloat16"] * 3})
        b.op_with_kernel("aten::relu", "relu_kernel", t + 500, 50, 30, kernel_ts=t + 560)
        b.op_with_kernel("AddmmBackward0", "gemm_bwd", t + 920, 60, 50, kernel_ts=t + 940)
        for ph, ts in (("s", t + 30), ("f", t + 920)):
            b.events.append({"ph": ph, "id": 9000 + i, "pid": HOST_PID, "tid": MAIN_TID, "ts": float(ts),
                             "cat": "fwdbwd", "name": "fwdbwd", **({"bp": "e"} if ph == "f" else {})})
    return AnalysisSession([b.load(tmp_path)], str(tmp_path))


def test_module_device_time_and_mfu_on_a_gpu(tmp_path: Path) -> None:
    ra = _gpu_module_trace(tmp_path).rank(0)
    t = ra.module_tree.table.set_index("name")
    assert t.loc["Linear_0", "path"] == "Net_0/Linear_0"
    assert t.loc["Linear_0", "device_self_ns"] == 2 * 200_000 and t.loc["Linear_0", "device_total_ns"] == 400_000
    assert t.loc["Net_0", "device_self_ns"] == 2 * 30_000 and t.loc["Net_0", "device_total_ns"] == 460_000
    # the backward op and its kernel count for Linear_0, the module of the addmm it differentiates
    assert t.loc["Linear_0", "bwd_host_self_ns"] == 2 * 60_000 and t.loc["Linear_0", "bwd_device_self_ns"] == 100_000
    assert t.loc["Net_0", "bwd_device_self_ns"] == 0 and t.loc["Net_0", "bwd_device_total_ns"] == 100_000
    flop = 2 * 512 * 1024 * 1024
    assert t.loc["Net_0", "flop_total"] == 2 * flop
    assert t.loc["Linear_0", "tflops"] == pytest.approx(2 * flop / 400e-6 / 1e12)  # over its device time
    tp = ra.throughput
    step_s = float(np.mean(ra.steps.dur_ns)) / 1e9
    assert tp["gpu"] == "A100" and tp["peak_tflops"] == 312.0 and tp["dtype"] == "c10::BFloat16"
    assert tp["mfu_pct"] == pytest.approx(100 * flop / step_s / 312e12, abs=1e-3)


def test_trace_without_stacks_says_how_to_get_modules(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    for t in b.steps(2, 1000.0):
        b.cpu_op("aten::addmm", t + 10, 500, args={"Input Dims": [[8], [4, 16], [16, 8]]})
    report = AnalysisSession([b.load(tmp_path)], str(tmp_path)).report()
    assert report["modules"]["available"] is False and "with_stack=True" in report["modules"]["note"]
    assert report["throughput"]["gflop_per_step"] == pytest.approx(2 * 4 * 16 * 8 / 1e9)
    assert report["top_ops"][0]["gflop"] == pytest.approx(2 * 2 * 4 * 16 * 8 / 1e9)


def test_reference_resnet50_convolutions_without_arguments_are_not_guessed(reference) -> None:
    """The V100 ResNet-50 trace records conv shapes but no stride/padding: no conv FLOPs, no MFU, a note;
    the classifier's addmm (forward) and its two backward mms are counted: 3 * 2*32*2048*1000 per step."""
    import gzip

    path = reference("tb_resnet50_num_workers_0.pt.trace.json.gz")
    ra = AnalysisSession.load(path).rank(0)
    raw = [e for e in json.loads(gzip.decompress(path.read_bytes()))["traceEvents"] if e.get("ph") == "X"]
    kept = {f"ProfilerStep#{n}" for n in ra.steps.number.tolist()}
    steps = sorted((e for e in raw if e["name"] in kept), key=lambda e: e["ts"])
    convs = [e for e in raw if e["name"] == "aten::conv2d" and _inside(e, steps)]
    tp = ra.throughput
    assert tp["uncounted_ops"] == len(convs) > 0 and tp["mfu_pct"] is None and "stride" in tp["note"]
    assert tp["gflop_per_step"] == pytest.approx(3 * 2 * 32 * 2048 * 1000 / 1e9)
    assert tp["gpu"] is None  # no MFU, so no peak either


@pytest.fixture(scope="module")
def gpt2_train(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.recorded_models import record_gpt2_training

    path = record_gpt2_training(tmp_path_factory.mktemp("gpt2train") / "train.pt.trace.json")
    return path, [e for e in json.loads(path.read_text())["traceEvents"] if e.get("ph") == "X"]


def test_backward_ops_count_for_the_module_of_their_forward_op(gpt2_train) -> None:
    path, raw = gpt2_train
    tree = AnalysisSession.load(path).rank(0).module_tree
    t = tree.table.set_index("name")
    steps = _raw_steps(raw)
    # every autograd node of the step (AddmmBackward0 ...; the model computes its loss itself) is under the model
    nodes = [e for e in raw if e.get("cat") == "cpu_op" and re.fullmatch(r"\w+Backward\d+", e["name"])
             and _inside(e, steps)]
    assert t.loc["GPT2LMHeadModel_0", "bwd_host_total_ns"] / 1e3 == pytest.approx(sum(e["dur"] for e in nodes),
                                                                                  abs=0.01 * len(nodes))
    # the backward of a matmul is two matmuls of its size: twice the forward FLOPs, block by block
    for i in range(GPT2["n_layer"]):
        block = t.loc[f"GPT2Block_{i}"]
        assert block["flop_total"] > 0 and block["bwd_flop_total"] == 2 * block["flop_total"]
    # forward + backward cover more of the step than the forward alone; the optimizer step is in neither
    assert tree.roots_cover_pct() < tree.roots_cover_pct(backward=True) <= 100.5
    assert t.loc["Linear_0", "bwd_host_self_ns"] == t.loc["Linear_0", "bwd_host_total_ns"] > 0
