"""Device-level knob applicability, torch-free so the parent can refuse before spawning."""
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
