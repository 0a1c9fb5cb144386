"""LAUNCH1 (launch-bound tiny kernels) and CPUOH1 (CPU-bound Python overhead)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .. import intervals as iv
from .context import ModelFacts, overlap_with_union, pct
from .registry import rule

BUSY_MAX_PCT = 50.0
SHORT_MIN_SHARE = 0.5
HOST_WAIT_MIN_PCT = 50.0
IDLE_MIN_PCT = 10.0


def _short_kernels(f: ModelFacts) -> tuple[np.ndarray, np.ndarray, float]:
    m = f.model
    k = np.flatnonzero(f.kernel_mask)
    launch = f.launch_of[k]
    has = launch >= 0
    short = np.zeros(len(k), bool)
    short[has] = m.dur_ns[k[has]] < m.dur_ns[launch[has]]
    median_us = float(np.median(m.dur_ns[k])) / 1e3 if len(k) else 0.0
    return k, short, median_us


@rule("LAUNCH1", "Launch-bound: many tiny kernels, GPU mostly idle", gpu=True)
def launch_bound(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or not f.from_profiler_steps:
        return None  # without ProfilerStep ranges the 'step' is the whole trace, idle gaps included
    idle = f.gpu_idle
    if not idle["window_ns"] or pct(idle["host_wait_ns"], idle["idle_ns"]) <= HOST_WAIT_MIN_PCT:
        return None
    busy_pct = pct(idle["busy_ns"], idle["window_ns"])
    k, short, median_us = _short_kernels(f)
    if not len(k):
        return None
    short_share = float(short.mean())
    if busy_pct >= BUSY_MAX_PCT or (short_share <= SHORT_MIN_SHARE and median_us >= 10.0):
        return None
    idle_ms = f.per_step_ms(idle["idle_ns"])
    host_wait_ms = f.per_step_ms(idle["host_wait_ns"])
    # compile / CUDA graphs remove launch overhead: the host-wait idle of short-kernel stretches
    gain = host_wait_ms * max(short_share, 0.5 if median_us < 10.0 else 0.0)
    comp = f.settings.get("compile", "off")
    if f.vendor == "nvidia" and comp in ("off", "default"):
        knob, value = "compile", "reduce-overhead"
    elif comp == "off":
        knob, value = "compile", "default"
    else:
        knob, value = None, None
    if f.negligible(gain):
        return None
    rows = k[short]
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"The GPU is busy only {busy_pct:.0f} % of the step; {short_share * 100:.0f} % of kernels are shorter "
                 f"than their launch call (median kernel {median_us:.1f} us); idle {idle_ms:.2f} ms per step, "
                 f"{host_wait_ms:.2f} ms of it waiting for the host."),
        evidence={"gpu_busy_pct": busy_pct, "short_kernel_share": short_share, "median_kernel_us": median_us,
                  "idle_ms_per_step": idle_ms, "host_wait_ms_per_step": host_wait_ms,
                  "kernels_per_step": len(k) / f.n_steps},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=idle_ms, step_ms=f.step_ms,
        fix=("Fuse kernels and cut launch overhead with torch.compile; CUDA graphs (mode='reduce-overhead') "
             "replay a whole step with one launch; a bigger batch gives each kernel more work."),
        fix_snippet="model = torch.compile(model, mode='reduce-overhead')",
        knob=knob, knob_value=value, vendor_specific=(value == "reduce-overhead"),
        caveats=["recompiles on new shapes; compile time on the first steps",
                 "CUDA graphs need static shapes and no syncs inside the step"],
    )


def _critical_path_delays(f: ModelFacts, top: int = 3) -> list[dict[str, object]]:
    """The host ops that held up the GPU on the step's critical path (longest GPU-idle gaps first); [] without."""
    from ..critical_path import CriticalPath
    from ..errors import AnalysisError

    try:
        cp = f.analysis.critical_path()
    except AnalysisError:
        return []
    if not isinstance(cp, CriticalPath):
        return []
    return [{"op": d["delayed_by"], "gpu_idle_ms": d["gap_ms"], "before": d["next_gpu_op"]}
            for d in cp.idle_delays[:top]]


@rule("CPUOH1", "CPU-bound: the GPU waits for Python", gpu=True)
def cpu_overhead(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or not f.from_profiler_steps:
        return None
    idle = f.gpu_idle
    if not idle["window_ns"] or not idle["idle_ns"]:
        return None
    k, short, median_us = _short_kernels(f)
    if len(k) and (short.mean() > SHORT_MIN_SHARE or median_us < 10.0):
        return None  # LAUNCH1 covers it
    # host wait not explained by the DataLoader (DL1 covers that)
    dl = f.outermost(f.dataloader_mask)
    dl_ns = 0
    if len(dl):
        g = np.flatnonzero(f.gpu_work_mask)
        ms, me = iv.union(m.start_ns[g], m.end_ns[g])
        dl_ns = int((m.dur_ns[dl] - overlap_with_union(m.start_ns[dl], m.end_ns[dl], ms, me)).sum())
    hw_ns = max(0.0, idle["host_wait_ns"] - dl_ns)
    idle_ns = max(1.0, idle["idle_ns"] - dl_ns)
    share = pct(hw_ns, idle_ns)
    idle_pct = pct(idle_ns, idle["window_ns"])
    if share <= HOST_WAIT_MIN_PCT or idle_pct <= IDLE_MIN_PCT:
        return None
    hw_ms = f.per_step_ms(hw_ns)
    gain = 0.5 * hw_ms
    knob, value = (("compile", "default") if f.settings.get("compile", "off") == "off" else (None, None))
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"The GPU idles {f.per_step_ms(idle_ns):.2f} ms per step ({idle_pct:.0f} % of the step) and "
                 f"{share:.0f} % of that is waiting for the host to launch work (not counting data loading)."),
        evidence={"host_wait_ms_per_step": hw_ms, "host_wait_pct_of_idle": share, "idle_pct_of_step": idle_pct,
                  "dataloader_exposed_ms_per_step": f.per_step_ms(dl_ns),
                  "critical_path_gpu_idle_delayed_by": _critical_path_delays(f)},
        gain_ms=gain, bottleneck_ms=hw_ms, step_ms=f.step_ms,
        fix=("Cut per-step Python work: torch.compile the model, move preprocessing into DataLoader workers, "
             "run evaluation under torch.inference_mode()."),
        fix_snippet="model = torch.compile(model)", knob=knob, knob_value=value,
        caveats=["NVML GPU utilisation can still read high while the GPU waits",
                 "compile time on the first steps"],
    )
