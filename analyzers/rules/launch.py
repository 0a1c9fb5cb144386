"""LAUNCH1 (launch-bound tiny kernels) and CPUOH1 (CPU-bound Python overhead)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .. import intervals as iv
from ..step_stats import in_most_steps
from .context import ModelFacts, overlap_with_union, pct
from .gpu_steps import idle_per_step
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


def _idle_columns(f: ModelFacts) -> dict[str, np.ndarray]:
    """Per step (ns): the step window, GPU busy, idle and host-wait time (idle_time.device_idle per step)."""
    per_step = idle_per_step(f)
    return {key: np.array([d[key] for d in per_step], np.float64)
            for key in ("window_ns", "busy_ns", "idle_ns", "host_wait_ns")}


@rule("LAUNCH1", "Launch-bound: many tiny kernels, GPU mostly idle", gpu=True)
def launch_bound(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or not f.from_profiler_steps:
        return None  # without ProfilerStep ranges the 'step' is the whole trace, idle gaps included
    c = _idle_columns(f)
    # per step: the GPU mostly idle, and mostly waiting for the host to launch work
    hits = (c["host_wait_ns"] * 100 > HOST_WAIT_MIN_PCT * c["idle_ns"]) & (c["idle_ns"] > 0) \
        & (c["busy_ns"] * 100 < BUSY_MAX_PCT * c["window_ns"])
    if not in_most_steps(hits):
        return None
    busy_pct = float(np.median(100.0 * c["busy_ns"] / np.maximum(c["window_ns"], 1)))
    k, short, median_us = _short_kernels(f)
    if not len(k):
        return None
    short_share = float(short.mean())
    if short_share <= SHORT_MIN_SHARE and median_us >= 10.0:
        return None
    idle_ms = float(np.median(c["idle_ns"])) / 1e6
    host_wait_ms = float(np.median(c["host_wait_ns"])) / 1e6
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
                  "kernels_per_step": len(k) / f.n_steps, "steps_launch_bound": int(hits.sum()),
                  "steps": int(len(hits))},
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
    c = _idle_columns(f)
    if not len(c["idle_ns"]) or not c["idle_ns"].any():
        return None
    k, short, median_us = _short_kernels(f)
    if len(k) and (short.mean() > SHORT_MIN_SHARE or median_us < 10.0):
        return None  # LAUNCH1 covers it
    # per step: host wait not explained by the DataLoader (DL1 covers that)
    dl_ns = _exposed_dataloader_ms(f)[:len(c["idle_ns"])] * 1e6
    hw_ns = np.maximum(0.0, c["host_wait_ns"] - dl_ns)
    idle_ns = np.maximum(1.0, c["idle_ns"] - dl_ns)
    share_pct = 100.0 * hw_ns / idle_ns
    idle_pct = 100.0 * idle_ns / np.maximum(c["window_ns"], 1)
    if not in_most_steps((share_pct > HOST_WAIT_MIN_PCT) & (idle_pct > IDLE_MIN_PCT)):
        return None
    share, hw_ms = float(np.median(share_pct)), float(np.median(hw_ns)) / 1e6
    idle_pct_med, idle_ms = float(np.median(idle_pct)), float(np.median(idle_ns)) / 1e6
    gain = 0.5 * hw_ms
    knob, value = (("compile", "default") if f.settings.get("compile", "off") == "off" else (None, None))
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"The GPU idles {idle_ms:.2f} ms per step ({idle_pct_med:.0f} % of the step) and "
                 f"{share:.0f} % of that is waiting for the host to launch work (not counting data loading)."),
        evidence={"host_wait_ms_per_step": hw_ms, "host_wait_pct_of_idle": share, "idle_pct_of_step": idle_pct_med,
                  "dataloader_exposed_ms_per_step": float(np.median(dl_ns)) / 1e6,
                  "per_step_host_wait_ms": [round(float(v) / 1e6, 4) for v in hw_ns[:50]],
                  "critical_path_gpu_idle_delayed_by": _critical_path_delays(f)},
        gain_ms=gain, bottleneck_ms=hw_ms, step_ms=f.step_ms,
        fix=("Cut per-step Python work: torch.compile the model, move preprocessing into DataLoader workers, "
             "run evaluation under torch.inference_mode()."),
        fix_snippet="model = torch.compile(model)", knob=knob, knob_value=value,
        caveats=["NVML GPU utilisation can still read high while the GPU waits",
                 "compile time on the first steps"],
    )


def _exposed_dataloader_ms(f: ModelFacts) -> np.ndarray:
    """Per step: DataLoader time not covered by GPU work (ms)."""
    m = f.model
    dl = f.outermost(f.dataloader_mask)
    if not len(dl):
        return np.zeros(len(f.step_durations_ms))
    g = np.flatnonzero(f.gpu_work_mask)
    ms, me = iv.union(m.start_ns[g], m.end_ns[g])
    return f.series(dl, m.dur_ns[dl] - overlap_with_union(m.start_ns[dl], m.end_ns[dl], ms, me)).ms
