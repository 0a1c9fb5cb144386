"""SYNC1: the host waits for the device (synchronize, .item(), nonzero, device-to-host copies)."""
from __future__ import annotations

import numpy as np

from ..categories import Kind
from ..findings import Finding, severity_for
from .context import ModelFacts, pct
from .registry import rule

MAX_PER_STEP = 2.0
THRESHOLD_PCT = 5.0
_SYNC_OPS = ("aten::item", "aten::_local_scalar_dense", "aten::nonzero", "aten::is_nonzero")


@rule("SYNC1", "Host-device synchronisation in the step", gpu=True)
def host_sync(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu:
        return None
    calls = np.flatnonzero(f.sync_call_mask)
    ops = f.outermost((m.kind == int(Kind.CPU_OP)) & f.in_window
                      & f.name_mask("sync_ops", lambda s: s.startswith(_SYNC_OPS)))
    dtoh = np.flatnonzero(f.gpu_work_mask & (m.kind == int(Kind.MEMCPY))
                          & f.name_mask("dtoh", lambda s: "DtoH" in s))
    if not len(calls) and not len(ops):
        return None
    n_per_step = len(calls) / f.n_steps
    blocked = f.series(calls)
    blocked_ms, share = blocked.median_ms, blocked.median_share_pct
    if n_per_step <= MAX_PER_STEP and not blocked.holds_in_most(THRESHOLD_PCT):
        return None
    # GPU idle right after each sync, until new work arrives.  Without the sync the host would have
    # prepared that work while it was blocked, so each sync costs at most min(blocked, idle after).
    g = np.flatnonzero(f.gpu_work_mask)
    gs = np.sort(m.start_ns[g])
    ends = m.end_ns[calls]
    nxt = np.searchsorted(gs, ends, side="left")
    lo, hi = f.window
    gap = np.where(nxt < len(gs), gs[np.minimum(nxt, max(len(gs) - 1, 0))] - ends, hi - ends) if len(gs) \
        else np.zeros(len(calls), np.int64)
    gap = np.clip(gap, 0, np.clip(hi - ends, 0, None))
    refill_ms = f.series(calls, gap).median_ms
    saved_ns = np.minimum(gap, m.dur_ns[calls])
    gain = f.series(calls, saved_ns).median_ms
    bottleneck = blocked_ms + refill_ms
    if f.negligible(gain):
        return None  # the host waited, but the GPU never ran dry because of it
    names = sorted(set(m.names[calls])) + sorted(set(m.names[ops]))
    rows = np.concatenate([calls, ops]).astype(np.int64)
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"{n_per_step:.1f} synchronising calls per step block the host for {blocked_ms:.2f} ms "
                 f"({share:.1f} % of the step); the GPU then idles {refill_ms:.2f} ms per step until new work arrives."),
        evidence={"sync_calls_per_step": n_per_step, "blocked_ms_per_step": blocked_ms, "blocked_pct_of_step": share,
                  "gpu_idle_after_sync_ms_per_step": refill_ms, "item_or_nonzero_ops_per_step": len(ops) / f.n_steps,
                  "dtoh_copies_per_step": len(dtoh) / f.n_steps, "names": names[:20]},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=bottleneck, step_ms=f.step_ms,
        fix=("Avoid per-step synchronisation: log loss.item() every N steps, keep metrics on the device, "
             "avoid tensor-valued if/nonzero and explicit torch.cuda.synchronize() in the loop."),
        fix_snippet=("if step % 50 == 0:\n    print(loss.item())\n"
                     "# find hidden syncs:\ntorch.cuda.set_sync_debug_mode('warn')"),
        caveats=["some syncs are needed (e.g. data-dependent shapes)", "the gain assumes the host can run ahead"],
    )
