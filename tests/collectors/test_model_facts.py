"""Model facts written to run.json: parameters by dtype, module types, optimizer flags, CPU ISA flags."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from collectors.model_facts import collect_model_facts, cpu_isa_flags, module_facts, optimizer_facts  # noqa: E402


def test_module_facts_count_leaf_layers_and_shares() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 3, bias=False))
    facts = module_facts(model)
    linear, conv = 10 * 20 + 20, 3 * 4 * 3 * 3
    assert facts["parameters"] == linear + conv
    assert facts["parameter_bytes_by_dtype"] == {"float32": 4 * (linear + conv)}
    by_type = {t["type"]: t for t in facts["module_types"]}
    assert by_type["Linear"]["params"] == linear and by_type["Conv2d"]["count"] == 1
    assert by_type["ReLU"]["params"] == 0
    assert facts["dynamic_quant_param_share_pct"] == pytest.approx(100.0 * linear / (linear + conv))


def test_optimizer_and_settings() -> None:
    model = torch.nn.Linear(4, 4)
    opt = torch.optim.AdamW(model.parameters(), fused=True)
    assert optimizer_facts(opt) == {"class": "AdamW", "foreach": None, "fused": True}
    assert optimizer_facts(None) is None
    facts = collect_model_facts(model, opt, {"amp": "bf16"})
    assert facts["autocast"] == "bf16" and facts["compile"] == "off" and facts["torch_threads"] >= 1


def test_cpu_isa_flags_from_cpuinfo(tmp_path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_isa_flags(str(info)) == ["avx2", "avx512f", "avx512_bf16", "avx512_vnni"]
    assert cpu_isa_flags(str(tmp_path / "missing")) == []
