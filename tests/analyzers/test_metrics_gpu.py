"""GPU utilization, est. SM efficiency, est. achieved occupancy, Tensor Core share (METRICS.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.gpu_metrics import gpu_metrics, is_tc_eligible_op, is_tc_kernel_name
from analyzers.loader import load_trace
from tests.conftest import reference_path
from trace_builder import V100, TraceBuilder


def _one(tmp_path: Path, b: TraceBuilder):
    out = gpu_metrics(b.load(tmp_path))
    assert len(out) == 1
    return out[0]


def test_utilization_union_of_kernels_in_window_only(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **V100)
    b.step(1, 0, 100)
    b.kernel("a", 10, 20, launch_ts=1)  # 10-30
    b.kernel("b", 20, 20, launch_ts=2, stream=8)  # 20-40 overlaps a: union 10-40 = 30
    b.memcpy("Memcpy HtoD", 50, 30, launch_ts=3)  # copies do not count
    b.kernel("c", 95, 10, launch_ts=4)  # 95-105: the step stretches to 105
    g = _one(tmp_path, b)
    assert g.window_ms == pytest.approx(0.105)
    assert g.utilization_pct == pytest.approx(100 * 40 / 105)


def test_sm_efficiency_capped_and_never_above_utilization(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **V100)
    b.step(1, 0, 100)
    b.kernel("a", 0, 40, launch_ts=0, blocks_per_sm=0.5)  # 0-40: 0.5
    b.kernel("b", 20, 40, launch_ts=1, stream=8, blocks_per_sm=0.75)  # 20-40: 1.25 -> 1; 40-60: 0.75
    b.kernel("c", 70, 10, launch_ts=2, blocks_per_sm=4.0)  # 1
    b.kernel("d", 85, 10, launch_ts=3, blocks_per_sm=-1.0)  # skipped
    g = _one(tmp_path, b)
    expected = (20 * 0.5 + 20 * 1.0 + 20 * 0.75 + 10 * 1.0) / 100
    assert g.sm_efficiency_pct == pytest.approx(100 * expected)
    assert g.sm_efficiency_pct <= g.utilization_pct


def test_occupancy_weighted_by_duration_in_window(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **V100)
    b.step(1, 0, 100)
    b.kernel("a", 0, 30, launch_ts=0, occupancy=50)
    b.kernel("b", 40, 10, launch_ts=1, occupancy=100)
    b.kernel("c", 60, 10, launch_ts=2, occupancy=-1)  # skipped
    b.kernel("d", 75, 10, launch_ts=3)  # absent: skipped
    g = _one(tmp_path, b)
    assert g.achieved_occupancy_pct == pytest.approx((30 * 50 + 10 * 100) / 40)


def test_missing_kernel_args_give_none_not_nan(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.kernel("a", 0, 30, launch_ts=0)
    g = _one(tmp_path, b)
    assert g.sm_efficiency_pct is None and g.achieved_occupancy_pct is None
    assert g.to_dict()["utilization_pct"] == pytest.approx(100.0)


def test_two_devices_reported_separately(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.kernel("a", 0, 50, launch_ts=0, device=0)
    b.kernel("b", 0, 25, launch_ts=1, device=1)
    out = gpu_metrics(b.load(tmp_path))
    assert [g.device for g in out] == [0, 1]
    assert [round(g.utilization_pct) for g in out] == [50, 25]


def test_tensor_cores_by_kernel_name_without_shapes(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **V100)
    b.step(1, 0, 100)
    b.cpu_op("aten::mm", 0, 10)
    b.kernel("volta_h884gemm_64x64_nn", 10, 30, launch_ts=1)
    b.kernel("elementwise_kernel", 50, 10, launch_ts=20)
    g = _one(tmp_path, b)
    assert g.tensor_core_signal == "kernel-name"
    assert g.tensor_core_pct == pytest.approx(75.0)
    assert g.tc_eligible_pct == pytest.approx(75.0)  # the gemm was launched inside aten::mm


def test_tensor_cores_by_input_dtype(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **{**V100, "compute_major": 8})
    b.step(1, 0, 200)
    b.cpu_op("aten::mm", 0, 10, args={"Input Dims": [[8, 8], [8, 8]], "Input type": ["c10::Half", "c10::Half"]})
    b.kernel("gemm_kernel_new_name", 10, 30, launch_ts=1)  # name unknown to the plugin's list, but half inputs
    b.cpu_op("aten::linear", 50, 10, args={"Input Dims": [[8, 8]], "Input type": ["float"]})
    b.kernel("sgemm", 60, 30, launch_ts=51)  # fp32 matmul, tf32 off: no Tensor Cores
    b.cpu_op("aten::add", 100, 10, args={"Input Dims": [[8]], "Input type": ["c10::Half"]})
    b.kernel("add_kernel", 110, 40, launch_ts=101)  # not eligible
    g = _one(tmp_path, b)
    assert g.tensor_core_signal == "dtype"
    assert g.tensor_core_pct == pytest.approx(30.0)
    assert g.tc_eligible_pct == pytest.approx(60.0)


def test_cpu_only_has_no_gpu_metrics(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.cpu_op("aten::mm", 0, 10)
    assert gpu_metrics(b.load(tmp_path)) == []


def test_name_lists() -> None:
    assert is_tc_kernel_name("volta_fp16_s884gemm_fp16_128x128_ldg8_f2f_nn")
    assert is_tc_kernel_name("sm80_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x32")
    assert not is_tc_kernel_name("volta_sgemm_64x64_nt")
    for op in ("aten::conv2d", "aten::addmm", "aten::bmm", "aten::linear", "aten::mm", "MmBackward0",
               "aten::cudnn_convolution_backward_weight", "aten::lstm", "aten::baddbmm", "aten::matmul"):
        assert is_tc_eligible_op(op), op
    for op in ("aten::add", "aten::relu", "aten::mean", "aten::empty", "ProfilerStep#3"):
        assert not is_tc_eligible_op(op), op


# torch-tb-profiler 0.4.3 (the TensorBoard plugin), run on the same files in a dev check:
# gpu_utilization, avg_approximated_sm_efficiency, avg_occupancy, tc_ratio, tc_eligible_ops_kernel_ratio of GPU 0
TB_PLUGIN = {
    "tb_resnet50_num_workers_0.pt.trace.json.gz": (55.51408517, 54.67904107, 49.12800491, 0.0, 67.61950326),
    "tb_resnet50_num_workers_4.pt.trace.json.gz": (70.27034689, 69.22497791, 48.90989093, 0.0, 67.80798429),
}


@pytest.mark.parametrize("name", sorted(TB_PLUGIN))
def test_reference_gpu_metrics_match_tensorboard_plugin(name: str) -> None:
    util, sm, occ, tc, eligible = TB_PLUGIN[name]
    (g,) = gpu_metrics(load_trace(reference_path(name)))
    assert g.device == 0
    assert g.utilization_pct == pytest.approx(util, abs=1.0)
    assert g.sm_efficiency_pct == pytest.approx(sm, abs=1.0)
    assert g.achieved_occupancy_pct == pytest.approx(occ, abs=1.0)
    assert g.tensor_core_pct == pytest.approx(tc, abs=0.01)  # FP32 on a V100: no Tensor Cores
    assert g.tc_eligible_pct == pytest.approx(eligible, abs=1.0)


def test_reference_utilization_higher_after_the_dataloader_fix() -> None:
    (before,) = gpu_metrics(load_trace(reference_path("tb_resnet50_num_workers_0.pt.trace.json.gz")))
    (after,) = gpu_metrics(load_trace(reference_path("tb_resnet50_num_workers_4.pt.trace.json.gz")))
    assert after.utilization_pct > before.utilization_pct + 10
    assert before.tensor_core_pct == 0.0 and after.tensor_core_pct == 0.0
