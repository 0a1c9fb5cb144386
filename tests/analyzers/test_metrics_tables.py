"""Operator and kernel tables."""
from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.kernel_table import kernel_table
from analyzers.loader import load_trace
from analyzers.op_table import op_table
from tests.conftest import reference_path
from trace_builder import TraceBuilder


def _trace() -> TraceBuilder:
    b = TraceBuilder.bare()
    b.step(1, 0, 200)
    for base, shape in ((0, [[4, 8], [8, 8]]), (100, [[16, 8], [8, 8]])):
        outer = b.cpu_op("aten::linear", base + 10, 50, args={"Input Dims": shape, "Input type": ["float", "float"]})
        inner = b.cpu_op("aten::addmm", base + 15, 30, args={"Input Dims": shape, "Input type": ["float", "float"]})
        ext = inner["args"]["External id"]
        b.kernel("gemm", base + 30, 40, launch_ts=base + 20, launch_dur=5, ext=ext, grid=(4, 2, 1),
                 block=(128, 1, 1), blocks_per_sm=0.1, occupancy=25,
                 args={"registers per thread": 64, "shared memory": 1024})
        b.kernel("bias", base + 75, 10, launch_ts=base + 50, launch_dur=2, ext=outer["args"]["External id"])
    return b


def test_op_table_self_and_total_times(tmp_path: Path) -> None:
    df = op_table(_trace().load(tmp_path)).set_index("name")
    assert "ProfilerStep#1" not in df.index
    lin, mm = df.loc["aten::linear"], df.loc["aten::addmm"]
    assert lin["calls"] == 2 and mm["calls"] == 2
    assert lin["host_total_us"] == 100 and lin["host_self_us"] == 100 - 60
    assert mm["host_total_us"] == 60 and mm["host_self_us"] == 60
    assert mm["device_self_us"] == 80 and mm["device_total_us"] == 80
    assert lin["device_self_us"] == 20 and lin["device_total_us"] == 100


def test_op_table_by_shapes(tmp_path: Path) -> None:
    df = op_table(_trace().load(tmp_path), group_by="name+shapes")
    mm = df[df["name"] == "aten::addmm"]
    assert len(mm) == 2 and set(mm["calls"]) == {1}
    assert "[[4, 8], [8, 8]]" in set(mm["input_shapes"])


def test_kernel_table(tmp_path: Path) -> None:
    df = kernel_table(_trace().load(tmp_path))
    assert df["name"].tolist() == ["gemm", "bias"]
    g = df.iloc[0]
    assert g["calls"] == 2 and g["total_us"] == 80 and g["mean_us"] == 40 and g["min_us"] == 40
    assert g["grid"] == "[4, 2, 1]" and g["block"] == "[128, 1, 1]"
    assert g["registers_per_thread"] == 64 and g["shared_mem_bytes"] == 1024
    assert g["blocks_per_sm"] == pytest.approx(0.1) and g["occupancy_pct"] == 25
    assert not g["tensor_cores"]
    assert df["share_pct"].sum() == pytest.approx(100.0)


def test_empty_tables(tmp_path: Path) -> None:
    p = tmp_path / "e.json"
    p.write_text('{"traceEvents": []}')
    m = load_trace(p)
    assert len(op_table(m)) == 0 and len(kernel_table(m)) == 0


def test_reference_tables() -> None:
    m = load_trace(reference_path("tb_resnet50_num_workers_0.pt.trace.json.gz"))
    ops = op_table(m)
    kern = kernel_table(m)
    assert kern["calls"].sum() == 8772
    assert kern["total_us"].sum() == pytest.approx(m.dur_ns[m.kind == 7].sum() / 1e3)
    top = ops.iloc[0]
    assert "Convolution" in top["name"] or "conv" in top["name"]
    # device time of top-level ops can never exceed all GPU time
    assert (ops["device_self_us"] <= ops["device_total_us"] + 1e-9).all()
    assert (ops["host_self_us"] <= ops["host_total_us"] + 1e-9).all()


@pytest.mark.parametrize("where", ["sample_traces/tiny_gpt_baseline", "sample_traces/convnet_baseline",
                                   "reference:hta_cpu_only.pt.trace.json.gz", "reference:hta_alexnet_a100.json.gz"])
def test_input_signatures_equal_each_rows_args_dumped(where: str) -> None:
    import json

    from analyzers.op_table import input_signatures, op_times

    if where.startswith("reference:"):
        path = reference_path(where.split(":", 1)[1])
    else:
        path = Path(__file__).resolve().parents[2] / where
    model = load_trace(path)
    rows = op_times(model).index.to_numpy()
    shapes, types = input_signatures(model, rows)
    expected = [model.args(int(r)) for r in rows]  # one row at a time, the plain way
    assert shapes == [json.dumps(a.get("Input Dims", [])) for a in expected]
    assert types == [json.dumps(a.get("Input type", [])) for a in expected]
    assert len(set(shapes)) > 1 or where.startswith("reference:")  # the samples record shapes
