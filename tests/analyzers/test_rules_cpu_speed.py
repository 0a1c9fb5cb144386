"""CPU speed rules (bf16 autocast, compile for element-wise chains, channels_last) and CPUQ1's layer count."""
from __future__ import annotations

from typing import Any

import pytest

from test_rules_synthetic import rules_of
from trace_builder import TraceBuilder

STEP_US = 1000.0
BF16_CPU = {"cpu_isa": ["avx2", "avx512f", "avx512_bf16"]}
AVX512_CPU = {"cpu_isa": ["avx2", "avx512f"]}
AVX2_CPU = {"cpu_isa": ["avx2"]}
FP32 = {"Input type": ["float", "float", "float"], "Input Dims": [[8, 256], [1024, 256], [1024]]}
CONV = {"Input type": ["float", "float"], "Input Dims": [[8, 16, 32, 32], [32, 16, 3, 3]]}


def _trace(tmp_path, ops: list[tuple[str, float, dict]], *, facts: dict | None = None,
           settings: dict | None = None, kind: str = "train", name: str = "t.json") -> Any:
    """Five CPU steps, each running ``ops`` (name, us, args) back to back; run.json with ``facts``."""
    b = TraceBuilder.bare()
    for t in b.steps(5, STEP_US):
        at = t + 5
        for op, us, args in ops:
            b.cpu_op(op, at, us, args=dict(args))
            at += us + 1
    m = b.load(tmp_path, name)
    m.run_info = {"settings": settings or {}, "workload_kind": kind, "env": {"cpu_count": 2},
                  **({"model_facts": facts} if facts is not None else {})}
    return m


def _elementwise(n: int, us: float) -> list[tuple[str, float, dict]]:
    return [("aten::mul" if i % 2 else "aten::add", us, {}) for i in range(n)]


def test_bf16_when_fp32_matmuls_dominate_and_cpu_has_bf16(tmp_path) -> None:
    got = rules_of(_trace(tmp_path, [("aten::linear", 500.0, FP32)] + _elementwise(10, 5.0), facts=BF16_CPU))
    f = got["CPUBF16"]
    assert (f.knob, f.knob_value) == ("amp", "bf16")
    assert f.evidence["fp32_gemm_ms_per_step"] == pytest.approx(0.500)
    assert f.gain_ms == pytest.approx(0.250)  # half of the measured GEMM time


@pytest.mark.parametrize("facts", [None, {"cpu_isa": ["avx2", "avx512f"]}])
def test_no_bf16_advice_without_bf16_instructions(tmp_path, facts) -> None:
    got = rules_of(_trace(tmp_path, [("aten::linear", 500.0, FP32)], facts=facts))
    assert "CPUBF16" not in got


def test_no_bf16_or_compile_for_conv_nets_but_channels_last(tmp_path) -> None:
    """Depthwise-conv nets measured slower under bf16 (0.74x) and compile (0.79x); channels_last won (1.31x)."""
    ops = [("aten::conv2d", 600.0, CONV), ("aten::linear", 100.0, FP32)] + _elementwise(30, 5.0)
    got = rules_of(_trace(tmp_path, ops, facts=BF16_CPU))
    assert "CPUBF16" not in got and "CPUFUSE1" not in got
    f = got["CPUCL1"]
    assert (f.knob, f.knob_value) == ("channels_last", True)
    assert f.gain_ms == pytest.approx(0.25 * 0.600)
    got = rules_of(_trace(tmp_path, ops, facts=BF16_CPU, settings={"channels_last": True}, name="cl.json"))
    assert "CPUCL1" not in got


def test_compile_for_elementwise_chains_between_matmuls(tmp_path) -> None:
    ops = [("aten::linear", 400.0, FP32)] + _elementwise(30, 8.0) + [("aten::bernoulli_", 30.0, {})]
    f = rules_of(_trace(tmp_path, ops, facts=AVX512_CPU))["CPUFUSE1"]
    assert (f.knob, f.knob_value) == ("compile", "default")
    assert f.evidence["elementwise_ops_per_step"] == 31
    assert f.evidence["elementwise_ms_per_step"] == pytest.approx(0.270)
    assert f.evidence["dropout_ms_per_step"] == pytest.approx(0.030)
    assert f.gain_ms == pytest.approx(0.135)
    assert "CPUFUSE1" not in rules_of(_trace(tmp_path, ops, facts=AVX512_CPU, settings={"compile": "default"},
                                             name="c.json"))
    # AVX2 only (compile measured 0.89x on BERT there) or a foreign trace that names no CPU: no advice
    assert "CPUFUSE1" not in rules_of(_trace(tmp_path, ops, facts=AVX2_CPU, name="avx2.json"))
    assert "CPUFUSE1" not in rules_of(_trace(tmp_path, ops, name="foreign.json"))


def test_few_elementwise_ops_are_no_chain(tmp_path) -> None:
    assert "CPUFUSE1" not in rules_of(_trace(tmp_path, [("aten::linear", 400.0, FP32)] + _elementwise(4, 60.0),
                                             facts=AVX512_CPU))


def test_cpuq1_counts_only_layers_quantize_dynamic_converts(tmp_path) -> None:
    """GPT-2's Conv1D is a bare addmm: quantize_dynamic leaves it alone, so no CPUQ1 for it."""
    conv1d = [("aten::addmm", 600.0, FP32)] + [("aten::relu", 5.0, {})] * 10
    assert "CPUQ1" not in rules_of(_trace(tmp_path, conv1d, kind="infer"))
    linear = [("aten::linear", 600.0, FP32)] + [("aten::relu", 5.0, {})] * 10
    assert "CPUQ1" in rules_of(_trace(tmp_path, linear, kind="infer", name="l.json"))
    no_linear_modules = {"module_types": [{"type": "transformers.pytorch_utils.Conv1D", "count": 8, "params": 1}]}
    assert "CPUQ1" not in rules_of(_trace(tmp_path, linear, kind="infer", facts=no_linear_modules, name="n.json"))


def test_optimizer_elementwise_ops_are_not_a_fusion_chain(tmp_path) -> None:
    """The for-loop optimizer's add_/mul_ are OPT1's business: torch.compile(model) does not fuse them."""
    b = TraceBuilder.bare()
    for t in b.steps(5, STEP_US):
        b.cpu_op("aten::linear", t + 5, 400.0, args=FP32)
        b.annotation("Optimizer.step#SGD.step", t + 410, 400.0)
        for i in range(30):
            b.cpu_op("aten::add_" if i % 2 else "aten::mul_", t + 411 + i * 13, 12.0)
    m = b.load(tmp_path)
    m.run_info = {"settings": {}, "workload_kind": "train", "env": {"cpu_count": 2}, "model_facts": AVX512_CPU}
    got = rules_of(m)
    assert "CPUFUSE1" not in got and "OPT1" in got
