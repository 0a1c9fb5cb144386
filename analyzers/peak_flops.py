"""Peak dense FLOP/s of known GPUs, and achieved throughput / model FLOPs utilization (MFU).

The GPU is identified by what the trace's ``deviceProperties`` say: compute
capability and SM count.  Figures are NVIDIA's datasheet peaks without
sparsity, in TFLOP/s, for FP32 (CUDA cores) and BF16/FP16 (Tensor Cores):

- V100 SXM2 (7.0, 80 SMs): 15.7 / 125 -- Tesla V100 datasheet (volta-v100-datasheet-update-us-1165301-r5)
- T4 (7.5, 40 SMs): 8.1 / 65 -- NVIDIA T4 datasheet
- A100 SXM/PCIe (8.0, 108 SMs): 19.5 / 312 -- A100 datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4)
- A10 (8.6, 72 SMs): 31.2 / 125 -- NVIDIA A10 datasheet
- L4 (8.9, 58 SMs): 30.3 / 121 -- NVIDIA L4 datasheet (242 with sparsity)
- L40S (8.9, 142 SMs): 91.6 / 362 -- NVIDIA L40S datasheet (733 with sparsity)
- H100 SXM / H200 SXM (9.0, 132 SMs): 67 / 989 -- H100 / H200 datasheets (1979 with sparsity)
- H100 PCIe (9.0, 114 SMs): 51 / 756 -- H100 datasheet

FP32 matmuls are rated at the FP32 peak (TF32 Tensor Cores may run them faster
when allowed: MFU can then exceed what the FP32 figure suggests).  GPUs not in
the table (and CPUs) get achieved TFLOP/s only.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .steps import StepTable
from .trace_model import TraceModel

#: (compute major, compute minor, SMs) -> (name, FP32 TFLOP/s, BF16/FP16 Tensor Core dense TFLOP/s)
PEAK_TFLOPS: dict[tuple[int, int, int], tuple[str, float, float]] = {
    (7, 0, 80): ("V100 SXM2", 15.7, 125.0),
    (7, 5, 40): ("T4", 8.1, 65.0),
    (8, 0, 108): ("A100", 19.5, 312.0),
    (8, 6, 72): ("A10", 31.2, 125.0),
    (8, 9, 58): ("L4", 30.3, 121.0),
    (8, 9, 142): ("L40S", 91.6, 362.0),
    (9, 0, 132): ("H100/H200 SXM", 67.0, 989.0),
    (9, 0, 114): ("H100 PCIe", 51.0, 756.0),
}
HALF_DTYPES = ("c10::BFloat16", "c10::Half", "BFloat16", "Half")


def peak_for(props: dict[str, Any], dtype: str) -> tuple[str, float] | None:
    """(GPU name, peak TFLOP/s for ``dtype``) from one deviceProperties entry; None when unknown."""
    try:
        key = (int(props.get("computeMajor")), int(props.get("computeMinor")), int(props.get("numSms")))
    except (TypeError, ValueError):
        return None
    hit = PEAK_TFLOPS.get(key)
    if hit is None:
        return None
    name, fp32, half = hit
    return name, (half if dtype in HALF_DTYPES else fp32)


def achieved_tflops(flop: np.ndarray, time_ns: np.ndarray) -> np.ndarray:
    """TFLOP/s of ``flop`` done in ``time_ns`` (NaN where either is 0)."""
    flop, time_ns = np.asarray(flop, dtype=float), np.asarray(time_ns, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((flop > 0) & (time_ns > 0), flop / np.where(time_ns > 0, time_ns, 1) / 1e3, np.nan)


def throughput(model: TraceModel, flops: pd.DataFrame, steps: StepTable) -> dict[str, Any]:
    """Counted GFLOP per step, achieved TFLOP/s over the step, and MFU where the GPU's peak is known.

    ``flops`` is :func:`analyzers.flops.op_flops`; ops starting outside the kept steps are left out."""
    n_steps, step_ns = 1, float(model.span_ns)
    if steps.count:
        n_steps = steps.count
        step_ns = float(np.mean(steps.dur_ns))
        s = model.start_ns[flops.index.to_numpy(dtype=np.int64)]
        flops = flops[(s >= steps.start_ns[0]) & (s < steps.end_ns[-1])]
    counted = flops[flops["flop"] > 0]
    uncounted = int(flops["uncounted"].sum())
    device_props, has_gpu = model.device_properties, model.has_gpu
    total = float(counted["flop"].sum())
    per_step = total / max(n_steps, 1)
    out: dict[str, Any] = {"gflop_per_step": per_step / 1e9, "counted_ops": int(len(counted)),
                           "achieved_tflops": (per_step / step_ns / 1e3) if step_ns > 0 else None,
                           "dtype": None, "peak_tflops": None, "gpu": None, "mfu_pct": None,
                           "uncounted_ops": uncounted, "note": None}
    if uncounted:
        out["note"] = (f"{uncounted} matmul/convolution/attention call(s) lack the shapes or arguments needed to "
                       "count their FLOPs (older traces record no stride or padding): the figures cover only the "
                       "counted ops, and MFU is not given")
    if not len(counted):
        return out
    by_dtype = counted.groupby("dtype")["flop"].sum()
    out["dtype"] = str(by_dtype.idxmax())
    if has_gpu and device_props and out["achieved_tflops"] is not None and not uncounted:
        peak = peak_for(device_props[0], out["dtype"])
        if peak is not None:
            out["gpu"], out["peak_tflops"] = peak
            out["mfu_pct"] = float(np.round(100.0 * out["achieved_tflops"] / peak[1], 3))
    return out
