"""MEM1: GPU memory close to full."""
from __future__ import annotations

import numpy as np

from ..categories import Kind
from ..findings import Finding
from .context import ModelFacts, pct
from .registry import rule

THRESHOLD_PCT = 90.0


@rule("MEM1", "GPU memory nearly full", gpu=True)
def memory_pressure(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu:
        return None
    best = None  # (pct, device, peak bytes, total bytes, source)
    mem = m.memory
    for dev in m.gpu_devices:
        total = m.device_property(dev).get("totalGlobalMem") or (f.env.get("gpu_memory_bytes") if f.env else None)
        if not total:
            continue
        if len(mem):
            sel = (mem.device_type == 1) & (mem.device_id == dev)
            for col, src in ((mem.total_reserved_bytes, "Total Reserved"), (mem.total_allocated_bytes, "Total Allocated")):
                vals = col[sel]
                vals = vals[vals >= 0]
                if len(vals):
                    p = pct(int(vals.max()), total)
                    if best is None or p > best[0]:
                        best = (p, dev, int(vals.max()), int(total), src)
        for c in m.counters:
            if c.device == dev and "memory used" in c.name.lower() and len(c.values):
                p = pct(float(np.nanmax(c.values)), total)
                if best is None or p > best[0]:
                    best = (p, dev, int(np.nanmax(c.values)), int(total), c.name)
    if best is None or best[0] <= THRESHOLD_PCT:
        return None
    p, dev, peak, total, src = best
    # time lost to the allocator (cudaMalloc / cudaFree inside the steps) is what pressure costs directly
    alloc = np.flatnonzero((m.kind == int(Kind.RUNTIME)) & f.in_window & f.name_mask(
        "alloc", lambda s: s in ("cudaMalloc", "cudaFree", "hipMalloc", "hipFree", "cudaMallocAsync", "cudaFreeAsync")))
    alloc_ms = f.per_step_ms(int(m.dur_ns[alloc].sum()))
    knob, value = (None, None)
    if f.settings.get("amp", "off") == "off" and m.vendor in ("nvidia", "amd"):
        knob, value = "amp", ("bf16" if (f.compute_capability or (0, 0))[0] >= 8 or m.vendor == "amd" else "fp16")
    return Finding(
        severity="medium" if alloc_ms == 0 else "high",
        summary=(f"Peak {src} on GPU {dev} reaches {peak / 2**30:.1f} GiB of {total / 2**30:.1f} GiB ({p:.0f} %)"
                 + (f"; device malloc/free calls cost {alloc_ms:.2f} ms per step" if alloc_ms else "") + "."),
        evidence={"peak_bytes": peak, "total_bytes": total, "peak_pct": p, "source": src, "device": dev,
                  "allocator_ms_per_step": alloc_ms},
        evidence_rows=f.top_rows(alloc), evidence_ranges=f.evidence_ranges_of(alloc),
        gain_ms=alloc_ms, bottleneck_ms=alloc_ms, step_ms=f.step_ms,
        fix=("Reduce activation memory: activation checkpointing, mixed precision (AMP), or a smaller batch with "
             "gradient accumulation."),
        fix_snippet="from torch.utils.checkpoint import checkpoint\ny = checkpoint(block, x, use_reentrant=False)",
        knob=knob, knob_value=value,
        caveats=["recomputation costs time", "near-full memory risks out-of-memory on a larger batch"],
    )
