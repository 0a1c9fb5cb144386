"""OPT1: the optimizer step is a wide span of many small kernels (for-loop implementation)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .context import ModelFacts, pct
from .registry import rule

THRESHOLD_PCT = 10.0
MIN_GPU_OPS = 50  # per step: the for-loop implementation launches several kernels per parameter
#: optimizers with a fused implementation (torch.optim, CUDA and CPU)
FUSED_OPTIMIZERS = ("Adam", "AdamW", "SGD", "Adagrad")
#: share of a CPU for-loop optimizer step a fused one saves (measured: AdamW 13 ms -> 3.5 ms on GPT-2, 2 cores)
CPU_FUSED_SAVING = 0.5


def _ops_inside(f: ModelFacts, ranges: np.ndarray) -> int:
    """Number of CPU ops that start inside the given host ranges (same track)."""
    m = f.model
    ops = np.flatnonzero(f.host_op_mask)
    total = 0
    for r in ranges:
        on_track = ops[m.track_id[ops] == m.track_id[r]]
        s = m.start_ns[on_track]
        total += int(np.searchsorted(s, m.end_ns[r], side="left") - np.searchsorted(s, m.start_ns[r], side="left"))
    return total


@rule("OPT1", "Unfused optimizer step")
def unfused_optimizer(f: ModelFacts) -> Finding | None:
    m = f.model
    if f.settings.get("optimizer_impl") == "fused" or f.step_ns <= 0:
        return None
    rows = f.outermost(f.in_window & f.name_mask("opt_step", lambda s: s.startswith("Optimizer.step#")))
    if not len(rows):
        return None
    series = f.series(rows)
    if not series.holds_in_most(THRESHOLD_PCT):
        return None  # one slow optimizer step (a loaded machine) is not the for-loop's cost
    opt_ms, share = series.median_ms, series.median_share_pct
    gpu, _ = f.gpu_rows_under(rows)
    kernels = len(gpu) / f.n_steps
    foreach = bool((f.name_mask("foreach", lambda s: s.startswith("aten::_foreach_")) & f.in_window).any())
    fused = bool((f.name_mask("fused_opt", lambda s: s.startswith("aten::_fused_")) & f.in_window).any())
    if fused:
        return None
    if m.has_gpu and kernels < MIN_GPU_OPS:
        return None  # few launches: the time is not per-parameter kernel overhead
    opt_name = sorted(set(m.names[rows]))[0].split("#", 1)[-1].split(".")[0]
    can_fuse = opt_name in FUSED_OPTIMIZERS
    if not can_fuse and not m.has_gpu:
        return None  # on a CPU foreach measured no faster than the for-loop (0.96x, AdamW on GPT-2)
    value = "fused" if can_fuse else "foreach"
    if f.settings.get("optimizer_impl") == value:
        return None
    if m.has_gpu:
        # the host span is mostly launch overhead: fusing turns hundreds of launches into a few
        gain = (0.6 if not foreach else 0.3) * opt_ms
    else:
        # on the CPU the fused kernel makes one vectorised pass instead of several ops per parameter
        gain = CPU_FUSED_SAVING * opt_ms
    if f.negligible(gain):
        return None
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"{opt_name}.step takes {opt_ms:.2f} ms per step ({share:.1f} % of the step)"
                 + (f" and launches {kernels:.0f} GPU ops" if m.has_gpu else "")
                 + ("; it already uses the foreach implementation" if foreach else
                    "; it runs the per-parameter for-loop implementation") + "."),
        evidence={"optimizer_ms_per_step": opt_ms, "optimizer_pct_of_step": share, "gpu_ops_per_step": kernels,
                  "foreach": foreach, "optimizer": opt_name, "host_ops_per_step": _ops_inside(f, rows) / f.n_steps,
                  "per_step": series.spread()},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=opt_ms, step_ms=f.step_ms,
        fix=f"Use the {value} optimizer implementation ({opt_name}(..., {value}=True)).",
        fix_snippet=f"opt = torch.optim.{opt_name}(model.parameters(), lr=..., {value}=True)",
        knob="optimizer_impl", knob_value=value,
        caveats=["fused implementations are beta for some optimizers and on CPU"],
    )


ZERO_GRAD_MIN_PCT = 1.0  # (ours)


@rule("OPT2", "zero_grad fills gradients with zeros")
def zero_grad_fill(f: ModelFacts) -> Finding | None:
    """PyTorch's profiler pattern matcher: zero_grad writing zeros instead of setting grads to None."""
    m = f.model
    if f.settings.get("zero_grad_to_none") is True:
        return None
    rows = f.outermost(f.in_window & f.name_mask("zero_grad", lambda s: s.startswith("Optimizer.zero_grad#")))
    if not len(rows) or f.step_ns <= 0:
        return None
    fills = f.host_op_mask & f.name_mask("zero_fill", lambda s: s in ("aten::zero_", "aten::fill_"))
    fill_rows = np.flatnonzero(fills)
    inside = np.zeros(len(fill_rows), bool)
    for r in rows:
        inside |= (m.track_id[fill_rows] == m.track_id[r]) & (m.start_ns[fill_rows] >= m.start_ns[r]) \
            & (m.start_ns[fill_rows] < m.end_ns[r])
    fill_rows = fill_rows[inside]
    if not len(fill_rows):
        return None  # already set_to_none (no fills inside zero_grad)
    series = f.series(rows)
    if not series.holds_in_most(ZERO_GRAD_MIN_PCT):
        return None
    zg_ms, share = series.median_ms, series.median_share_pct
    gpu, _ = f.gpu_rows_under(rows)
    gain = zg_ms  # the host span issuing the fills; set_to_none makes zero_grad nearly free
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"optimizer.zero_grad() writes zeros into every gradient ({len(fill_rows) / f.n_steps:.0f} fill ops, "
                 f"{zg_ms:.2f} ms per step, {share:.1f} % of the step) instead of setting them to None."),
        evidence={"zero_grad_ms_per_step": zg_ms, "zero_grad_pct_of_step": share,
                  "fill_ops_per_step": len(fill_rows) / f.n_steps, "gpu_ops_per_step": len(gpu) / f.n_steps},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(np.concatenate([rows, fill_rows])),
        gain_ms=gain, bottleneck_ms=zg_ms, step_ms=f.step_ms,
        fix="Call optimizer.zero_grad(set_to_none=True) (the default since PyTorch 2.0).",
        fix_snippet="optimizer.zero_grad(set_to_none=True)", knob="zero_grad_to_none", knob_value=True,
        caveats=["code that reads .grad before backward must handle None"],
    )
