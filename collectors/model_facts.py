"""Model facts for run.json: what the rules cannot read from a trace (child side: imports torch).

Parameters by dtype, module types with their parameter share (``nn.Linear`` vs
``transformers`` ``Conv1D`` vs convolutions ...), the optimizer and its
implementation flags, and the CPU's instruction-set flags.  Rules use them when
present and fall back to trace-only evidence when absent (old bundles, foreign traces).
"""
from __future__ import annotations

import os
from collections import Counter
from typing import Any

import torch
from torch import nn

#: CPU flags that decide whether bf16 / int8 math is fast (from /proc/cpuinfo)
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile", "avx_vnni")
#: module types quantize_dynamic converts (analyzers.rules.cpu counts only these)
DYNAMIC_QUANT_TYPES = ("Linear", "LSTM", "GRU")
MAX_MODULE_TYPES = 30


def cpu_isa_flags(cpuinfo: str = "/proc/cpuinfo") -> list[str]:
    """The flags of :data:`ISA_FLAGS` this CPU has ([] where /proc/cpuinfo is not readable)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [f for f in ISA_FLAGS if f in have]
    except OSError:  # no /proc/cpuinfo (not Linux): no flags known, the rules fall back to the trace
        pass
    return []


def _type_name(mod: nn.Module) -> str:
    cls = type(mod)
    return cls.__name__ if cls.__module__.startswith("torch.nn") else f"{cls.__module__}.{cls.__name__}"


def _own_tensors(mod: nn.Module) -> list[torch.Tensor]:
    """A leaf module's own weights: its parameters, or the packed weights of a quantized layer."""
    own = list(mod.parameters(recurse=False))
    if not own and callable(getattr(mod, "weight", None)):  # torch.ao quantized Linear: weight() unpacks
        try:
            w = mod.weight()
            own = [w] if isinstance(w, torch.Tensor) else []
        except (RuntimeError, TypeError):
            own = []
    return own


def module_facts(model: Any) -> dict[str, Any]:
    """Parameter count and bytes by dtype; leaf module types with counts and parameter share."""
    if not isinstance(model, nn.Module):
        return {}
    by_dtype: Counter[str] = Counter()
    seen: set[int] = set()
    types: dict[str, dict[str, Any]] = {}
    for mod in model.modules():
        quantized = hasattr(mod, "_packed_params")  # a quantized layer keeps its weights in a child
        if (any(True for _ in mod.children()) and not quantized) or type(mod).__name__.endswith("PackedParams"):
            continue  # leaves only: containers would count their children twice
        t = types.setdefault(_type_name(mod), {"count": 0, "params": 0})
        t["count"] += 1
        for w in _own_tensors(mod):
            t["params"] += w.numel()
            if id(w) not in seen:  # tied weights (lm_head = embedding) count once in the totals
                seen.add(id(w))
                by_dtype[str(w.dtype).replace("torch.", "")] += w.numel() * w.element_size()
    total = sum(t["params"] for t in types.values())
    ranked = sorted(types.items(), key=lambda kv: -kv[1]["params"])[:MAX_MODULE_TYPES]
    return {"parameters": total, "parameter_bytes_by_dtype": dict(by_dtype),
            "module_types": [{"type": k, "count": v["count"], "params": v["params"],
                              "param_share_pct": 100.0 * v["params"] / total if total else 0.0} for k, v in ranked],
            "dynamic_quant_param_share_pct": _quantizable_share(ranked, total)}


def _quantizable_share(ranked: list[tuple[str, dict[str, Any]]], total: int) -> float:
    params = sum(v["params"] for k, v in ranked if k in DYNAMIC_QUANT_TYPES)
    return 100.0 * params / total if total else 0.0


def optimizer_facts(optimizer: Any) -> dict[str, Any] | None:
    """The optimizer class and its foreach / fused flags (None without an optimizer)."""
    if optimizer is None:
        return None
    d = getattr(optimizer, "defaults", {}) or {}
    return {"class": type(optimizer).__name__, "foreach": d.get("foreach"), "fused": d.get("fused")}


def collect_model_facts(model: Any, optimizer: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Everything above plus the precision/compile state and the CPU's threads and flags."""
    return {
        **module_facts(getattr(model, "_orig_mod", model)),
        "optimizer": optimizer_facts(optimizer),
        "autocast": settings.get("amp", "off"),
        "compile": settings.get("compile", "off"),
        "cpu_isa": cpu_isa_flags(),
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
