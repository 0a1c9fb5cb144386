"""THR1: GPU clocks throttled during the run (NVML clock event reasons of run bundles)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding
from .context import ModelFacts, pct
from .registry import rule

REASONS = {0x4: "SW power cap", 0x8: "HW slowdown", 0x20: "SW thermal slowdown", 0x40: "HW thermal slowdown",
           0x80: "HW power brake"}
MASK = sum(REASONS)


@rule("THR1", "GPU clocks throttled", vendor_specific=True)
def throttled(f: ModelFacts) -> Finding | None:
    m = f.model
    tracks = [c for c in m.counters if "clock event reasons" in c.name.lower()]
    if not tracks:
        return None
    lo, hi = f.window
    total = hit = 0
    seen: dict[str, int] = {}
    ranges = []
    for c in tracks:
        ts = np.asarray(c.ts_ns)
        vals = np.asarray(c.values)
        sel = (ts >= lo) & (ts <= hi) if hi > lo else np.ones(len(ts), bool)
        if not sel.any():
            sel = np.ones(len(ts), bool)
        v = np.nan_to_num(vals[sel], nan=0).astype(np.int64)
        t = ts[sel]
        bad = (v & MASK) != 0
        total += len(v)
        hit += int(bad.sum())
        for bit, name in REASONS.items():
            n = int(((v & bit) != 0).sum())
            if n:
                seen[name] = seen.get(name, 0) + n
        for i in np.flatnonzero(bad)[:100]:
            ranges.append((int(t[i]), int(t[i + 1]) if i + 1 < len(t) else int(t[i]), None))
    if not hit:
        return None
    share = pct(hit, total)
    return Finding(
        severity="medium" if share >= 10 else "low",
        summary=(f"NVML reported throttling in {share:.0f} % of samples during the steps ("
                 + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items(), key=lambda kv: -kv[1])) + ")."),
        evidence={"throttled_samples": hit, "samples": total, "throttled_pct": share, "reasons": seen},
        evidence_ranges=ranges, gain_ms=0.0, bottleneck_ms=0.0, step_ms=f.step_ms,
        fix="Nothing to change in the code: check cooling, power limits and other jobs on the GPU; "
            "repeat A/B measurements, throttling makes them noisy.",
        caveats=["report only: the estimated gain is not computed"], vendor_specific=True,
    )
