"""Knob applicability, torch-free so the parent can refuse before spawning a run.

``refuse_for_device``: the device; ``refuse_for_facts``: the workload's facts
(kind, data source, model module types) as a probe child reports them
(``knob_apply.workload_facts``), so a knob with nothing to act on is refused
before side A runs, not after.
"""
from __future__ import annotations

from typing import Any, Mapping

from analyzers.knobs import KNOBS, format_assignment
from collectors.errors import KnobRefused


def non_default(settings: Mapping[str, Any], name: str) -> bool:
    """Whether ``name`` is set to something other than its knob default."""
    return name in settings and settings[name] != KNOBS[name].default


def refuse_for_device(settings: Mapping[str, Any], device: str) -> None:
    """Raise KnobRefused for a knob that cannot apply on ``device`` ("cpu" or "cuda")."""
    if device != "cuda":
        for name in settings:
            if KNOBS[name].needs_cuda and non_default(settings, name):
                raise KnobRefused(f"knob {format_assignment(name, settings[name])} needs an NVIDIA GPU; "
                                  "this run is on CPU")
        if settings.get("amp") == "fp16":
            raise KnobRefused("knob amp=fp16 needs a CUDA GPU (fp16 autocast + GradScaler); "
                              "on CPU try amp=bf16")
        for name in ("pin_memory", "non_blocking"):
            if settings.get(name):
                raise KnobRefused(f"knob {name}=true only matters for copies to a CUDA GPU; this run is on CPU")
    elif settings.get("dynamic_quant"):
        raise KnobRefused("knob dynamic_quant=true is CPU-only (int8 dynamic quantized Linear runs on CPU)")


SCRIPT_KNOBS = ("threads", "tf32", "cudnn_benchmark")


def refuse_for_script(settings: Mapping[str, Any]) -> None:
    """Refuse knobs that need the harness to own the loop (plain-script mode)."""
    bad = sorted(set(settings) - set(SCRIPT_KNOBS))
    if bad:
        raise KnobRefused(f"knob(s) {', '.join(bad)} cannot be applied to a plain script; only "
                          f"{', '.join(SCRIPT_KNOBS)} can be set from outside (write a build(config) "
                          "workload for the others)")


LOADER_KNOBS = ("num_workers", "pin_memory", "persistent_workers", "prefetch_factor")
TRAIN_ONLY = ("optimizer_impl", "zero_grad_to_none")
INFER_ONLY = ("dynamic_quant", "inference_mode")
#: module types with 4-D weights or activations: what channels_last reformats
CHANNELS_LAST_TYPES = ("Conv2d", "ConvTranspose2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d",
                       "AdaptiveAvgPool2d", "GroupNorm", "InstanceNorm2d")


def refuse_for_facts(settings: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    """Raise KnobRefused for a knob that does not apply to this workload (its kind, data, model)."""
    has_data = bool(facts.get("has_data"))
    for name in LOADER_KNOBS:
        if name in settings and not has_data:
            raise KnobRefused(f"knob {name} needs a Dataset/DataLoader; this workload feeds fixed inputs")
        if name in settings and facts.get("loader_rebuildable") is False:
            raise KnobRefused(f"knob {name} needs a Dataset or a DataLoader; this workload's loader is a plain "
                              "iterable of batches (nothing to rebuild with workers)")
    workers = settings.get("num_workers", facts.get("loader_num_workers", 0))
    for name in ("persistent_workers", "prefetch_factor"):
        if non_default(settings, name) and workers == 0:
            raise KnobRefused(f"knob {name} needs num_workers > 0 (set num_workers too)")
    kind = facts.get("kind")
    if kind == "infer":
        for name in TRAIN_ONLY:
            if non_default(settings, name):
                raise KnobRefused(f"knob {name} applies to training; this is an inference workload")
    elif kind == "train":
        for name in INFER_ONLY:
            if non_default(settings, name):
                raise KnobRefused(f"knob {name} applies to inference; this is a training workload")
    if "batch_size" in settings and not has_data and "fixed_batch" in facts:
        lead = facts["fixed_batch"]
        if lead != settings["batch_size"]:
            raise KnobRefused(f"knob batch_size={settings['batch_size']}: the workload's inputs have "
                              f"batch {lead}; its build() must read config.batch_size()")
    _refuse_for_model(settings, facts)


def _refuse_for_model(settings: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    """Knobs whose target the model lacks (only when the model's module types are known)."""
    model = facts.get("model_facts") or {}
    types = {t["type"].rsplit(".", 1)[-1] for t in model.get("module_types") or []}
    if not types:
        return
    if settings.get("channels_last") and not types & set(CHANNELS_LAST_TYPES) and not facts.get("inputs_4d"):
        raise KnobRefused("knob channels_last=true has nothing to act on: the model has no 2-D convolution, "
                          "pooling or norm layer and no 4-D input")
    if settings.get("dynamic_quant") and not model.get("dynamic_quant_param_share_pct"):
        raise KnobRefused("knob dynamic_quant=true has nothing to act on: the model has no Linear/LSTM/GRU layer")
    if non_default(settings, "optimizer_impl") and facts.get("has_optimizer") is False:
        raise KnobRefused(f"knob optimizer_impl={settings['optimizer_impl']}: the workload has no optimizer")
