"""Per-GPU metrics with the TensorBoard plugin's definitions (METRICS.md).

Window = [first step start, last step end].  GPU Utilization (kernel union /
window), Est. SM Efficiency (sum of min(blocks per SM, 1) capped at 1,
integrated / window), Est. Achieved Occupancy (clipped-duration-weighted mean),
Tensor Core share (by op dtype when shapes were recorded, plus Tensor Core
kernel names; by kernel name alone otherwise)
and the share of kernel time launched by Tensor-Core-eligible ops.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import intervals as iv
from .categories import NON_CUDA_VENDORS, Kind
from .launches import LaunchPairs, launch_of
from .op_names import is_conv_name, is_tc_eligible_op, is_tc_kernel_name
from .steps import StepTable, step_table
from .trace_model import TraceModel

_LOW_PRECISION = ("half", "bfloat16", "float16", "bf16", "fp16", "float8", "int8", "qint8", "c10::half")
TensorCoreFlags = tuple[np.ndarray, np.ndarray, str]


@dataclass
class GpuMetrics:
    """One device's figures; None where the trace lacks the needed data."""

    device: int
    window_ms: float
    kernel_time_ms: float
    utilization_pct: float | None
    sm_efficiency_pct: float | None
    achieved_occupancy_pct: float | None
    tensor_core_pct: float | None
    tensor_core_signal: str  # 'dtype' (op Input type) or 'kernel-name'
    tc_eligible_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _per_track_key(model: TraceModel, rows: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Times shifted by track so that one interval set can hold every host track."""
    stride = int(model.end_ns.max()) + 2 if len(model) else 1
    return model.track_id[rows].astype(np.int64) * stride + times


def _under_ops(model: TraceModel, op_mask: np.ndarray, launch_rows: np.ndarray) -> np.ndarray:
    """Whether each launch (host row, -1 = none) happened inside an op of ``op_mask`` on its thread."""
    ops = np.flatnonzero(op_mask)
    out = np.zeros(len(launch_rows), dtype=bool)
    linked = launch_rows >= 0
    if not len(ops) or not linked.any():
        return out
    s, e = iv.union(_per_track_key(model, ops, model.start_ns[ops]), _per_track_key(model, ops, model.end_ns[ops]))
    lr = launch_rows[linked]
    out[linked] = iv.point_in(s, e, _per_track_key(model, lr, model.start_ns[lr]))
    return out


def tensor_core_flags(model: TraceModel, launches: LaunchPairs | None = None) -> TensorCoreFlags:
    """Per kernel row (all kernels, model order): (ran on Tensor Cores, launched by an eligible op, signal)."""
    kernels = model.rows_of_kind(Kind.KERNEL)
    host_op = np.isin(model.kind, [int(Kind.CPU_OP), int(Kind.USER_ANNOTATION)])
    eligible_op = host_op & model.name_mask(is_tc_eligible_op)
    launch = launch_of(model, launches)[kernels]
    eligible = _under_ops(model, eligible_op, launch)
    by_name = model.name_mask(is_tc_kernel_name)[kernels]
    # dtype signal: 'Input type' of the eligible ops (present with record_shapes=True)
    erows = np.flatnonzero(eligible_op)
    types = _input_types(model, erows)
    if not any(types):
        return by_name, eligible, "kernel-name"
    low = np.zeros(len(model), dtype=bool)
    tf32 = bool(model.settings.get("tf32"))
    cc = _compute_major(model)
    codes, uniq = _factorize_text(types)
    low_u = np.array([any(p in t for p in _LOW_PRECISION) for t in uniq], dtype=bool)
    fp32_u = np.array(["float" in t and "double" not in t for t in uniq], dtype=bool)
    is_conv = model.name_mask(is_conv_name)[erows]
    fp32_tc = fp32_u[codes] & (cc >= 8) & (tf32 | is_conv)  # cuDNN allows TF32 convolutions by default
    low[erows] = low_u[codes] | fp32_tc
    by_dtype = _under_ops(model, eligible_op & low, launch)
    # a Tensor Core kernel name is direct evidence too (e.g. TF32 'tensorop' kernels under float ops)
    return by_dtype | by_name, eligible, "dtype"


def _compute_major(model: TraceModel) -> int:
    majors = [int(p.get("computeMajor", 0) or 0) for p in model.device_properties]
    return max(majors) if majors else 0


_INPUT_TYPE_KEY = b'"Input type"'


def _input_types(model: TraceModel, rows: np.ndarray) -> list[str]:
    """Lower-cased text of each row's 'Input type' list ('' when absent).

    Scans the raw JSON bytes for the key instead of decoding whole args (shapes
    can be large); the list holds only type names, so its closing bracket ends it.
    """
    out = []
    key, n = _INPUT_TYPE_KEY, len(_INPUT_TYPE_KEY)
    for r in rows:
        raw = model.args_raw[r]
        if raw is None:
            out.append("")
            continue
        raw = bytes(raw)
        i = raw.find(key)
        if i < 0:
            out.append("")
            continue
        j = raw.find(b"]", i + n)
        out.append(raw[i + n:j].decode("utf-8", "replace").lower().strip(' :[]"') if j > 0 else "")
    return out


def _factorize_text(values: list[str]) -> tuple[np.ndarray, list[str]]:
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(index)


def gpu_metrics(model: TraceModel, steps: StepTable | None = None,
                tc_flags: TensorCoreFlags | None = None) -> list[GpuMetrics]:
    """One :class:`GpuMetrics` per device that ran kernels (empty for CPU-only traces).

    ``steps`` and ``tc_flags`` (:func:`tensor_core_flags`) are taken when already computed."""
    steps = step_table(model) if steps is None else steps
    kernels = model.rows_of_kind(Kind.KERNEL)
    if not len(kernels) or not len(steps.start_ns):
        return []
    lo, hi = int(np.min(steps.start_ns)), int(np.max(steps.end_ns))
    window = hi - lo
    tc_flag, eligible, signal = tensor_core_flags(model) if tc_flags is None else tc_flags
    cuda_like = model.vendor not in NON_CUDA_VENDORS  # SMs, occupancy and Tensor Cores: NVIDIA (and AMD) terms
    out = []
    devs = model.device[kernels]
    for dev in np.unique(devs[devs >= 0]):
        sel = devs == dev
        rows = kernels[sel]
        s, e = iv.clip(model.start_ns[rows], model.end_ns[rows], lo, hi)
        busy = iv.union_ns(s, e)
        cs = np.clip(model.start_ns[rows], lo, hi)
        ce = np.clip(model.end_ns[rows], lo, hi)
        clipped = (ce - cs).astype(np.float64)
        ktime = float(clipped.sum())
        bps = model.blocks_per_sm[rows].astype(np.float64)
        ok = np.isfinite(bps) & (bps > 0)
        sm = (iv.weighted_integral(model.start_ns[rows][ok], model.end_ns[rows][ok], np.minimum(bps[ok], 1.0),
                                   lo, hi, cap=1.0) / window * 100.0) if ok.any() and window > 0 else None
        occ = model.occupancy_pct[rows].astype(np.float64)
        ok = np.isfinite(occ) & (occ >= 0) & (clipped > 0)
        occ_pct = float(np.sum(occ[ok] * clipped[ok]) / clipped[ok].sum()) if ok.any() else None
        tc = float(clipped[tc_flag[sel]].sum() / ktime * 100.0) if ktime > 0 else None
        el = float(clipped[eligible[sel]].sum() / ktime * 100.0) if ktime > 0 else None
        out.append(GpuMetrics(
            device=int(dev), window_ms=window / 1e6, kernel_time_ms=ktime / 1e6,
            utilization_pct=busy / window * 100.0 if window > 0 else None,
            sm_efficiency_pct=sm if cuda_like else None, achieved_occupancy_pct=occ_pct if cuda_like else None,
            tensor_core_pct=tc if cuda_like else None, tensor_core_signal=signal if cuda_like else "n/a",
            tc_eligible_pct=el if cuda_like else None,
        ))
    return out
