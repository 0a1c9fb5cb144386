"""OCC1: kernels with too few blocks for the SMs or low estimated occupancy."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .context import ModelFacts, pct
from .gpu_steps import gpu_ms_per_step, gpu_share_series
from .registry import rule

THRESHOLD_PCT = 10.0
LOW_OCCUPANCY_PCT = 25.0


@rule("OCC1", "Kernels leave SMs idle (few blocks, low occupancy)", gpu=True, vendor_specific=True)
def low_occupancy(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or f.vendor != "nvidia" or not f.kernel_time_ns:
        return None
    k = np.flatnonzero(f.kernel_mask & ~f.comm_kernel_mask)
    if not len(k):
        return None
    bps = m.blocks_per_sm[k].astype(np.float64)
    occ = m.occupancy_pct[k].astype(np.float64)
    known = (np.isfinite(bps) & (bps > 0)) | (np.isfinite(occ) & (occ >= 0))
    if not known.any():
        return None
    few_blocks = np.isfinite(bps) & (bps > 0) & (bps < 1.0)
    low_occ = np.isfinite(occ) & (occ >= 0) & (occ < LOW_OCCUPANCY_PCT)
    bad = few_blocks | low_occ
    dur = m.dur_ns[k].astype(np.float64)
    # per step: time in badly shaped kernels against the time of kernels with a known shape
    series = gpu_share_series(f, k[bad], of_ms=gpu_ms_per_step(f, k[known]))
    if not series.holds_in_most(THRESHOLD_PCT):
        return None
    share = series.median_share_pct
    # SM-time left unused: (1 - used fraction) of each bad kernel's time, used = min(blocks/SM, 1) (or occupancy/100)
    used = np.where(few_blocks, np.clip(bps, 0, 1), 1.0)
    used = np.where(low_occ, np.minimum(used, np.clip(occ / 100.0 / (LOW_OCCUPANCY_PCT / 100.0), 0, 1)), used)
    wasted_ms = float(np.median(gpu_ms_per_step(f, k[bad], (dur * (1.0 - used))[bad])))
    bad_ms = series.median_ms
    # per step, only a fraction is recoverable by fusing / bigger batches; stay conservative
    gain = 0.5 * wasted_ms
    if f.negligible(gain):
        return None
    rows = k[bad]
    knob, value = (None, None)
    if f.settings.get("compile", "off") == "off":
        knob, value = "compile", "default"
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"{share:.0f} % of kernel time ({bad_ms:.2f} ms per step) is in kernels with fewer blocks than SMs "
                 f"or estimated occupancy under {LOW_OCCUPANCY_PCT:.0f} %."),
        evidence={"low_occupancy_ms_per_step": bad_ms, "low_occupancy_pct_of_kernels": share,
                  "few_blocks_kernels": int(few_blocks.sum()), "low_occupancy_kernels": int(low_occ.sum()),
                  "per_step": series.spread(),
                  "time_weighted_blocks_per_sm": float(np.average(np.clip(bps[few_blocks], 0, 1), weights=dur[few_blocks]))
                  if few_blocks.any() else None},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=bad_ms, step_ms=f.step_ms,
        fix=("Give each kernel more parallel work: fuse small elementwise kernels (torch.compile) or use a "
             "larger batch."),
        fix_snippet="model = torch.compile(model)",
        knob=knob, knob_value=value, vendor_specific=True,
        caveats=["a bigger batch changes training dynamics (learning rate)",
                 "blocks per SM and occupancy are Kineto estimates, not measurements"],
    )
