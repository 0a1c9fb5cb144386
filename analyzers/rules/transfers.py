"""H2D1 (pageable host-to-device copies) and COPY1 (copies take a large share of GPU time)."""
from __future__ import annotations

import numpy as np

from ..categories import Kind
from ..findings import Finding, severity_for
from .context import ModelFacts, pct
from .registry import rule

H2D_THRESHOLD_PCT = 2.0
COPY_THRESHOLD_PCT = 10.0


@rule("H2D1", "Pageable host-to-device copies", gpu=True)
def pageable_h2d(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or f.settings.get("pin_memory") is True:
        return None
    rows = np.flatnonzero(f.gpu_work_mask & (m.kind == int(Kind.MEMCPY))
                          & f.name_mask("pageable_h2d", lambda s: "HtoD" in s and "Pageable" in s))
    if not len(rows):
        return None
    copy_ns = int(m.dur_ns[rows].sum())
    # host time blocked in the launching runtime call (pageable copies are staged synchronously)
    launch = f.launch_of[rows]
    launch = launch[launch >= 0]
    host_ns = int(m.dur_ns[launch].sum()) if len(launch) else 0
    # per step: the larger of the copy time and the host time blocked launching it
    cost = f.series(rows, np.maximum(m.dur_ns[rows], np.where(f.launch_of[rows] >= 0,
                                                               m.dur_ns[np.maximum(f.launch_of[rows], 0)], 0)))
    if not cost.holds_in_most(H2D_THRESHOLD_PCT):
        return None
    cost_ms, share = cost.median_ms, cost.median_share_pct
    nbytes = m.bytes[rows]
    nbytes = int(nbytes[nbytes > 0].sum())
    gain = 0.5 * cost_ms
    knob, value = ("pin_memory", True)
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"{len(rows) / f.n_steps:.1f} host-to-device copies per step come from pageable memory "
                 f"and cost {cost_ms:.2f} ms per step ({share:.1f} % of the step)."),
        evidence={"copies_per_step": len(rows) / f.n_steps, "copy_ms_per_step": f.per_step_ms(copy_ns),
                  "host_blocked_ms_per_step": f.per_step_ms(host_ns), "bytes_per_step": nbytes / f.n_steps},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=cost_ms, step_ms=f.step_ms,
        fix="Pin the batches (DataLoader(pin_memory=True)) and copy with .to(device, non_blocking=True).",
        fix_snippet=("loader = DataLoader(dataset, ..., pin_memory=True)\n"
                     "x = x.to(device, non_blocking=True)"),
        knob=knob, knob_value=value,
        caveats=["non-blocking device-to-host copies need an explicit sync before use",
                 "pinned memory is a limited host resource"],
    )


@rule("COPY1", "Copies take a large share of GPU time", gpu=True)
def excessive_copies(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or not f.gpu_time_ns:
        return None
    cmask = f.gpu_work_mask & np.isin(m.kind, [int(Kind.MEMCPY), int(Kind.MEMSET)])
    rows = np.flatnonzero(cmask)
    copy_ns = int(m.dur_ns[rows].sum())
    share = pct(copy_ns, f.gpu_time_ns)
    gpu = np.flatnonzero(f.gpu_work_mask)
    per_step_share = 100.0 * f.series(rows).ms / np.maximum(f.series(gpu).ms, 1e-9)
    if share <= COPY_THRESHOLD_PCT or (per_step_share > COPY_THRESHOLD_PCT).sum() <= 0.5 * len(per_step_share):
        return None  # copies must take their share of GPU time in most steps, not in one
    names = m.names[rows]
    kinds = {"HtoD": 0, "DtoH": 0, "DtoD": 0, "Memset": 0}
    for k in kinds:
        kinds[k] = int(m.dur_ns[rows[np.char.find(names.astype(str), k) >= 0]].sum()) if len(rows) else 0
    small = int((m.bytes[rows] >= 0).sum() and ((m.bytes[rows] >= 0) & (m.bytes[rows] < 64 * 1024)).sum())
    copy_ms = f.series(rows).median_ms
    gain = 0.5 * copy_ms
    # copies named without a direction (MTIA 'dma_request', other accelerators): say so, do not guess HtoD
    dominant = max(kinds, key=kinds.get) if any(kinds.values()) else "unlabelled"
    advice = {
        "DtoD": "device-to-device copies often come from .contiguous(), .clone() or dtype/layout changes: remove them",
        "HtoD": "create tensors directly on the device (torch.zeros(..., device='cuda')) instead of moving them",
        "DtoH": "remove .cpu() / .item() / .numpy() round trips inside the step",
        "Memset": "avoid zero-filling buffers that are overwritten anyway (torch.empty, zero_grad(set_to_none=True))",
        "unlabelled": "find which tensors move between host and device each step and keep them on the device",
    }[dominant]
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Memcpy/memset take {share:.1f} % of GPU time ({copy_ms:.2f} ms per step), "
                 + (f"mostly {dominant}." if dominant != "unlabelled" else "direction not recorded.")),
        evidence={"copy_ms_per_step": copy_ms, "copy_pct_of_gpu": share, "copies_per_step": len(rows) / f.n_steps,
                  "small_copies": small,
                  **{f"{k.lower()}_ms_per_step": f.per_step_ms(v) for k, v in kinds.items()}},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=copy_ms, step_ms=f.step_ms,
        fix=advice[0].upper() + advice[1:] + ".",
        fix_snippet=("x = torch.zeros(shape, device='cuda')  # not torch.zeros(shape).cuda()"
                     if dominant != "unlabelled" else ""),
        caveats=["some copies are inherent (inputs, checkpoints, collectives' buffers)"],
    )
