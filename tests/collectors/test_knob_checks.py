"""Knobs are checked against the workload's facts before anything runs (a probe child only builds it)."""
from __future__ import annotations

import time

import pytest

from collectors.ab import run_ab
from collectors.errors import KnobRefused
from collectors.knob_checks import refuse_for_facts
from collectors.runner import probe_workload

LINEAR_ONLY = {"kind": "train", "has_data": True, "loader_num_workers": 0, "has_optimizer": True,
               "inputs_4d": False,
               "model_facts": {"module_types": [{"type": "Linear", "count": 2, "params": 10}, {"type": "ReLU"}],
                               "dynamic_quant_param_share_pct": 100.0}}
CONVNET = {**LINEAR_ONLY, "model_facts": {"module_types": [{"type": "Conv2d", "count": 2, "params": 10}],
                                          "dynamic_quant_param_share_pct": 0.0}}
FIXED_INFER = {"kind": "infer", "has_data": False, "has_optimizer": False, "inputs_4d": False, "fixed_batch": 8,
               "model_facts": LINEAR_ONLY["model_facts"]}


@pytest.mark.parametrize("settings,facts,needle", [
    ({"channels_last": True}, LINEAR_ONLY, "channels_last=true has nothing to act on"),
    ({"dynamic_quant": True}, {**FIXED_INFER, "model_facts": CONVNET["model_facts"]}, "no Linear/LSTM/GRU"),
    ({"inference_mode": True}, LINEAR_ONLY, "applies to inference; this is a training workload"),
    ({"optimizer_impl": "fused"}, FIXED_INFER, "applies to training; this is an inference workload"),
    ({"num_workers": 2}, FIXED_INFER, "needs a Dataset/DataLoader"),
    ({"persistent_workers": True}, LINEAR_ONLY, "needs num_workers > 0"),
    ({"batch_size": 32}, FIXED_INFER, "inputs have batch 8"),
    ({"num_workers": 2}, {**LINEAR_ONLY, "loader_rebuildable": False}, "plain iterable of batches"),
])
def test_refused_with_the_reason(settings, facts, needle):
    with pytest.raises(KnobRefused, match=needle):
        refuse_for_facts(settings, facts)


@pytest.mark.parametrize("settings,facts", [
    ({"channels_last": True}, CONVNET),
    ({"channels_last": True}, {**LINEAR_ONLY, "inputs_4d": True}),
    ({"dynamic_quant": True}, FIXED_INFER),
    ({"num_workers": 2, "persistent_workers": True}, LINEAR_ONLY),
    ({"batch_size": 8}, FIXED_INFER),
    ({"channels_last": True}, {**LINEAR_ONLY, "model_facts": {}}),  # unknown model: not refused on a guess
])
def test_accepted_when_there_is_something_to_act_on(settings, facts):
    refuse_for_facts(settings, facts)


def test_probe_reports_kind_data_and_module_types():
    facts = probe_workload("slow_loader", {})
    assert facts["kind"] == "train" and facts["has_data"] and facts["has_optimizer"]
    types = {t["type"]: t for t in facts["model_facts"]["module_types"]}
    assert types["Linear"]["count"] == 3  # nn.Linear(64, 2048), (2048, 2048), (2048, 10)
    assert types["Linear"]["params"] == 64 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 10 + 10
    assert not {"Conv2d", "BatchNorm2d"} & set(types)


@pytest.mark.parametrize("workload,fix,needle", [
    ("slow_loader", {"channels_last": True}, "nothing to act on"),
    ("mlp_infer", {"optimizer_impl": "fused"}, "applies to training"),
])
def test_ab_refuses_before_side_a_runs(runs_dir, workload, fix, needle):
    started = time.monotonic()
    with pytest.raises(KnobRefused, match=needle):
        run_ab(workload, {}, fix, rounds=3, out_dir=str(runs_dir))
    assert not list(runs_dir.iterdir())  # no stray bundle of side A
    assert time.monotonic() - started < 60  # one probe child, not a full side A


def test_a_list_of_batches_refuses_loader_knobs_before_side_a(runs_dir, write_workload):
    path = write_workload("listloader", """
        import torch
        from torch import nn
        from collectors.workload_api import Workload

        def build(config):
            model = nn.Linear(4, 2)
            x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
            return Workload(model=model, loader=[(x, y)] * 2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                            loss_fn=nn.CrossEntropyLoss())
    """)
    with pytest.raises(KnobRefused, match="plain iterable of batches"):
        run_ab(str(path), {}, {"num_workers": 2}, out_dir=str(runs_dir))
    assert not list(runs_dir.iterdir())
