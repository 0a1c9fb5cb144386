"""Rules and comparison on real traces recorded by others (../shared/reference_traces)."""
from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.compare import compare, format_compare_text
from analyzers.loader import load_traces
from analyzers.rules import RULES
from analyzers.session import AnalysisSession
from analyzers.rules.distributed import comm_figures

from test_rules_synthetic import strict_findings

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference_traces"
pytestmark = [pytest.mark.reference,
              pytest.mark.skipif(not REF.is_dir(), reason=f"reference traces not found at {REF} "
                                 "(they live in ../shared/, outside the repo)")]

NVIDIA_ONLY = {rid for rid, spec in RULES.items() if spec.vendor_specific}
GPU_RULES = {rid for rid, spec in RULES.items() if spec.gpu}

_cache: dict[str, list] = {}


def models(name: str) -> list:
    if not (REF / name).exists():
        pytest.skip(f"reference trace {name} missing from {REF}")
    if name not in _cache:
        _cache[name] = load_traces(REF / name)
    return _cache[name]


def findings(name: str) -> dict:
    found = strict_findings(models(name))
    return {f.rule: f for f in found}


def test_resnet_num_workers_0_dataloader_stall_and_amp():
    got = findings("tb_resnet50_num_workers_0.pt.trace.json.gz")
    assert "DL1" in got
    dl = got["DL1"]
    assert dl.knob == "num_workers" and dl.knob_value >= 2
    assert 25 <= dl.evidence["dataloader_pct_of_step"] <= 45  # the plugin: about a third of the step
    assert "PREC1" in got or "TC1" in got
    amp = got.get("PREC1") or got["TC1"]
    assert amp.knob == "amp" and amp.knob_value == "fp16"  # Volta: fp16, not bf16


def test_resnet_num_workers_4_no_stall_but_amp():
    got = findings("tb_resnet50_num_workers_4.pt.trace.json.gz")
    assert "DL1" not in got
    assert "PREC1" in got or "TC1" in got


def test_resnet_compare_shows_the_fix():
    a = models("tb_resnet50_num_workers_0.pt.trace.json.gz")
    b = models("tb_resnet50_num_workers_4.pt.trace.json.gz")
    d = compare(a, b)
    assert d["speedup"] > 1.1
    assert "DL1" in d["resolved"]
    assert d["breakdown_delta_ms"]["dataloader"] < -30
    assert any(c["name"].startswith("enumerate(DataLoader)") and c["delta_ms"] < -30 for c in d["top_changes"])
    text = format_compare_text(d)
    assert "Speedup" in text and "DL1" in text


def test_amd_trace_no_nvidia_claims():
    got = findings("hta_amd_mi250_rocm.json.gz")
    assert models("hta_amd_mi250_rocm.json.gz")[0].vendor == "amd"
    assert not NVIDIA_ONLY & set(got)
    for f in got.values():
        assert not f.vendor_specific
        text = f.summary + f.fix + f.fix_snippet
        assert "TF32" not in text and "Tensor Core" not in text and "cudnn" not in text.lower()


def test_cpu_only_trace_no_gpu_rules():
    got = findings("hta_cpu_only.pt.trace.json.gz")
    assert "CPU1" in got
    assert not GPU_RULES & set(got)
    assert not NVIDIA_ONLY & set(got)


def test_two_ranks_distributed_considered():
    ms = models("hta_two_ranks")
    assert len(ms) == 2
    got = findings("hta_two_ranks")
    assert "DIST1" in got
    assert got["DIST1"].evidence["ranks"] == [0, 1]
    assert "CPU1" not in got and "DL1" not in got


def test_nccl_trace_distributed_considered():
    m = models("hta_nccl_a100.json.gz")[0]
    fig = comm_figures(AnalysisSession([m]).rank().facts)
    assert fig["source"] == "collective kernels" and fig["comm_ms"] > 0
    got = findings("hta_nccl_a100.json.gz")
    # communication is ~7 % of the step (< 10 %): DIST1 is considered and correctly stays quiet
    assert ("DIST1" in got) is (fig["comm_pct_of_step"] > 10 and fig["overlap_pct"] < 50)
    assert "CPU1" not in got and "DL1" not in got


@pytest.mark.parametrize("name", ["hta_alexnet_a100.json.gz", "hta_simple_add_a100.json.gz",
                                  "hta_v100_68k_events.pt.trace.json.gz", "hta_triton_a100.json.gz",
                                  "hta_compare/base.json.gz", "hta_compare/test.json.gz"])
def test_other_traces_run_cleanly(name):
    got = findings(name)
    assert "CPU1" not in got  # all of these ran on a GPU
