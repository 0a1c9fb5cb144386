"""Knob application (in-process, on the built workloads) and refusal of knobs that do not apply."""
from __future__ import annotations

import os

import pytest
import torch
from collector_helpers import FAST, leftovers, run_cli
from torch import nn

from analyzers.knobs import KnobError
from collectors import harness, knob_apply
from collectors.builtin_workloads import convnet, mlp_infer, slow_loader, tiny_gpt
from collectors.errors import KnobRefused
from collectors.knob_checks import refuse_for_device
from collectors.runner import run_workload
from collectors.workload_api import RunConfig


def prepared(module, settings, device="cpu"):
    wl = module.build(RunConfig(device, settings))
    return wl, knob_apply.prepare(wl, settings, device)


def test_dataloader_knobs_rebuild_the_loader():
    _, prep = prepared(slow_loader, {"num_workers": 2, "persistent_workers": True, "prefetch_factor": 3,
                                     "batch_size": 4})
    assert prep.loader.num_workers == 2 and prep.loader.persistent_workers
    assert prep.loader.prefetch_factor == 3 and prep.loader.batch_size == 4
    _, plain = prepared(slow_loader, {})
    assert plain.loader.num_workers == 0 and plain.loader.batch_size == 8


def test_channels_last_applies_to_model_and_inputs():
    _, prep = prepared(convnet, {"channels_last": True})
    conv = next(m for m in prep.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    batch = prep.move(next(iter(prep.loader)))
    assert batch[0].is_contiguous(memory_format=torch.channels_last)
    harness.make_step(prep, "cpu")()  # one real training step in NHWC


@pytest.mark.parametrize("impl", ["foreach", "fused"])
def test_optimizer_impl_rebuilds_optimizer(impl):
    wl, prep = prepared(tiny_gpt, {"optimizer_impl": impl})
    assert isinstance(prep.optimizer, torch.optim.AdamW)
    assert all(g[impl] for g in prep.optimizer.param_groups)
    assert prep.optimizer.param_groups[0]["lr"] == 3e-4
    params = {id(p) for g in prep.optimizer.param_groups for p in g["params"]}
    assert params == {id(p) for p in prep.model.parameters()}
    harness.make_step(prep, "cpu")()


def test_dynamic_quant_replaces_linear_layers():
    _, prep = prepared(mlp_infer, {"dynamic_quant": True})
    kinds = {type(m).__module__ for m in prep.model.modules() if "Linear" in type(m).__name__}
    assert kinds and all("quantized" in k for k in kinds)
    harness.make_step(prep, "cpu")()


def test_inference_mode_and_default_no_grad():
    _, prep = prepared(mlp_infer, {"inference_mode": True})
    with prep.grad_mode():
        assert torch.is_inference_mode_enabled()
    _, plain = prepared(mlp_infer, {})
    with plain.grad_mode():
        assert not torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def test_zero_grad_to_none_false_keeps_zeroed_grads():
    _, prep = prepared(slow_loader, {"zero_grad_to_none": False})
    prep.loader.dataset.wait_s = 0.0
    harness.make_step(prep, "cpu")()
    grads = [p.grad for p in prep.model.parameters()]
    assert all(g is not None and not g.any() for g in grads)


def test_amp_bf16_on_cpu_autocasts():
    _, prep = prepared(mlp_infer, {"amp": "bf16"})
    with prep.autocast():
        out = prep.model(prep.inputs)
    assert out.dtype == torch.bfloat16


@pytest.mark.parametrize("settings,needle", [
    ({"amp": "fp16"}, "amp=fp16 needs a CUDA GPU"),
    ({"tf32": True}, "tf32=true needs an NVIDIA GPU"),
    ({"cudnn_benchmark": True}, "cudnn_benchmark=true needs an NVIDIA GPU"),
    ({"pin_memory": True}, "pin_memory"),
    ({"non_blocking": True}, "non_blocking"),
])
def test_device_refusals_on_cpu(settings, needle):
    with pytest.raises(KnobRefused, match=needle.replace("(", r"\(")):
        refuse_for_device(settings, "cpu")
    refuse_for_device({"tf32": False}, "cpu")  # the default value is harmless


@pytest.mark.parametrize("module,settings,needle", [
    (slow_loader, {"dynamic_quant": True}, "applies to inference"),
    (slow_loader, {"prefetch_factor": 4}, "needs num_workers > 0"),
    (mlp_infer, {"num_workers": 2}, "needs a Dataset"),
    (mlp_infer, {"optimizer_impl": "fused"}, "applies to training"),
])
def test_workload_refusals(module, settings, needle):
    wl = module.build(RunConfig("cpu", settings))
    with pytest.raises(KnobRefused, match=needle):
        knob_apply.prepare(wl, settings, "cpu")


def test_batch_size_refused_when_inputs_ignore_it(write_workload):
    from collectors.workload_api import Workload

    wl = Workload(model=nn.Linear(4, 2), kind="infer", inputs=torch.randn(3, 4))
    with pytest.raises(KnobRefused, match="batch_size"):
        knob_apply.prepare(wl, {"batch_size": 16}, "cpu")


def test_runner_refuses_in_parent_without_leaving_a_bundle(runs_dir):
    with pytest.raises(KnobRefused, match="amp=fp16"):
        run_workload("mlp_infer", {"amp": "fp16"}, str(runs_dir), device="cpu")
    with pytest.raises(KnobError, match="unknown knob"):
        run_workload("mlp_infer", {"turbo": True}, str(runs_dir))
    assert os.listdir(runs_dir) == []


def test_runner_refusal_from_the_child_leaves_no_bundle(runs_dir):
    with pytest.raises(KnobRefused, match="dynamic_quant.*applies to inference"):
        run_workload("slow_loader", {"dynamic_quant": True}, str(runs_dir), timeout_s=60, **FAST)
    assert os.listdir(runs_dir) == [] and not leftovers(runs_dir)


@pytest.mark.parametrize("args,needle", [
    (["profile", "mlp_infer", "--set", "amp=fp16"], "amp=fp16 needs a CUDA GPU"),
    (["profile", "mlp_infer", "--set", "tf32=true"], "tf32=true needs an NVIDIA GPU"),
    (["profile", "mlp_infer", "--set", "warp=9"], "unknown knob 'warp'"),
    (["profile", "mlp_infer", "--set", "threads=zero"], "takes an integer"),
    (["ab", "slow_loader", "--fix", "tf32=true"], "tf32=true needs an NVIDIA GPU"),
])
def test_cli_knob_errors_exit_2_with_one_line(runs_dir, args, needle):
    proc = run_cli(*args, "--out", str(runs_dir), "--device", "cpu")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchscope: error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr and os.listdir(runs_dir) == []
