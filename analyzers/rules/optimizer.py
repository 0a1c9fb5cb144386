"""OPT1: the optimizer step is a wide span of many small kernels (for-loop implementation)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding
from .context import ModelFacts, pct, severity_for
from .registry import rule

THRESHOLD_PCT = 10.0
MIN_GPU_OPS = 50  # per step: the for-loop implementation launches several kernels per parameter


@rule("OPT1", "Unfused optimizer step")
def unfused_optimizer(f: ModelFacts) -> Finding | None:
    m = f.model
    if f.settings.get("optimizer_impl") == "fused" or f.step_ns <= 0:
        return None
    rows = f.outermost(f.in_window & f.name_mask("opt_step", lambda s: s.startswith("Optimizer.step#")))
    if not len(rows):
        return None
    opt_ns = int(m.dur_ns[rows].sum())
    opt_ms = f.per_step_ms(opt_ns)
    share = pct(opt_ms, f.step_ms)
    if share <= THRESHOLD_PCT:
        return None
    gpu, _ = f.gpu_rows_under(rows)
    kernels = len(gpu) / f.n_steps
    foreach = bool((f.name_mask("foreach", lambda s: s.startswith("aten::_foreach_")) & f.in_window).any())
    fused = bool((f.name_mask("fused_opt", lambda s: s.startswith("aten::_fused_")) & f.in_window).any())
    if fused:
        return None
    if m.has_gpu and kernels < MIN_GPU_OPS:
        return None  # few launches: the time is not per-parameter kernel overhead
    value = "fused" if (m.has_gpu or foreach) else "foreach"
    if f.settings.get("optimizer_impl") == value:
        return None
    gain = (0.6 if not foreach else 0.3) * opt_ms
    opt_name = sorted(set(m.names[rows]))[0].split("#", 1)[-1].split(".")[0]
    return Finding(
        rule="OPT1", title="Unfused optimizer step", severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"{opt_name}.step takes {opt_ms:.2f} ms per step ({share:.1f} % of the step)"
                 + (f" and launches {kernels:.0f} GPU ops" if m.has_gpu else "")
                 + ("; it already uses the foreach implementation" if foreach else
                    "; it runs the per-parameter for-loop implementation") + "."),
        evidence={"optimizer_ms_per_step": opt_ms, "optimizer_pct_of_step": share, "gpu_ops_per_step": kernels,
                  "foreach": foreach, "optimizer": opt_name},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=opt_ms, step_ms=f.step_ms,
        fix=(f"Use the {value} optimizer implementation ({opt_name}(..., {value}=True)) and "
             "optimizer.zero_grad(set_to_none=True)."),
        fix_snippet=f"opt = torch.optim.{opt_name}(model.parameters(), lr=..., {value}=True)",
        knob="optimizer_impl", knob_value=value,
        caveats=["fused implementations are beta for some optimizers and on CPU"],
    )
