"""PREC1 (FP32 matmul/conv hotspot), TC1 (Tensor Cores unused), ALIGN1 (Tensor Core shapes misaligned)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..categories import Kind
from ..findings import Finding, severity_for
from ..op_names import is_conv_name, is_tc_eligible_op, is_tc_kernel_name
from .context import ModelFacts, pct
from .gpu_steps import gpu_share_series
from .registry import rule

PREC_THRESHOLD_PCT = 20.0
ALIGN_THRESHOLD_PCT = 10.0
MAX_ARGS = 4000
_HALF = ("c10::Half", "c10::BFloat16", "Half", "BFloat16", "c10::Float8", "Float8")
_FP32 = ("float", "double", "Float", "Double")
_KERNEL_GEMM_WORDS = ("gemm", "conv", "cudnn", "cutlass", "wgrad", "dgrad", "fprop", "implicit", "matmul")


@dataclass
class Eligible:
    ops: np.ndarray  # outermost eligible host ops
    op_kernel_ns: np.ndarray  # kernel time launched under each op
    kernel_rows: np.ndarray
    eligible_ns: int
    fp32_ns: float
    fp32_conv_ns: float  # part of fp32_ns in convolutions (cuDNN uses TF32 for them on Ampere+ by default)
    half_ns: float
    unknown_ns: float
    dtype_known: bool
    tc_ns: int
    signal: str
    op_dtype: list[str] = field(default_factory=list)
    op_args: list[dict[str, Any]] = field(default_factory=list)
    op_order: np.ndarray | None = None  # indices into ops that were decoded
    kernel_op: np.ndarray | None = None  # per kernel row: index into ops (-1 when found by kernel name)


def _dtype_of(args: dict[str, Any]) -> str:
    types = args.get("Input type") or []
    for t in types:
        if not isinstance(t, str) or not t:
            continue
        if t.startswith(_HALF):
            return "half"
        if t in _FP32:
            return "fp32"
    return "unknown"


def eligible(f: ModelFacts) -> Eligible:
    """Tensor-Core-eligible ops of the step window, their kernel time and dtypes (shared by PREC1, TC1, ALIGN1)."""
    return f.memo.get("eligible", lambda: _eligible(f))


def _eligible(f: ModelFacts) -> Eligible:
    m = f.model
    host = (m.kind == int(Kind.CPU_OP)) & f.in_window & f.name_mask("eligible", is_tc_eligible_op)
    ops = f.outermost(host)
    gpu_rows, op_idx = f.gpu_rows_under(ops)
    is_k = (m.kind[gpu_rows] == int(Kind.KERNEL)) & ~f.comm_kernel_mask[gpu_rows] if len(gpu_rows) else np.zeros(0, bool)
    gpu_rows, op_idx = gpu_rows[is_k], op_idx[is_k]
    op_kernel_ns = np.bincount(op_idx, weights=m.dur_ns[gpu_rows], minlength=len(ops)).astype(np.int64) \
        if len(ops) else np.zeros(0, np.int64)
    signal = "op Input type"
    if not len(gpu_rows):
        # no launch links: fall back to GEMM/conv kernel names
        kmask = f.kernel_mask & ~f.comm_kernel_mask & f.name_mask(
            "gemm_kernel", lambda s: any(w in s.lower() for w in _KERNEL_GEMM_WORDS))
        gpu_rows = np.flatnonzero(kmask)
        op_idx = np.full(len(gpu_rows), -1, np.int64)
        signal = "kernel names"
    eligible_ns = int(m.dur_ns[gpu_rows].sum())
    tc_mask = f.kernel_mask & f.name_mask("tc_kernel", is_tc_kernel_name)
    tc_ns = int(m.dur_ns[tc_mask].sum())
    # dtypes of the ops with the most GPU time (bounded decode)
    order = np.argsort(-op_kernel_ns, kind="stable")[:MAX_ARGS] if len(ops) else np.zeros(0, np.int64)
    args = m.args_many(ops[order]) if len(order) else []
    dtypes = [_dtype_of(a) for a in args]
    fp32 = half = fp32_conv = 0.0
    conv = f.name_mask("conv", is_conv_name)[ops] if len(ops) else np.zeros(0, bool)
    for i, d in zip(order, dtypes):
        if d == "fp32":
            fp32 += op_kernel_ns[i]
            if conv[i]:
                fp32_conv += op_kernel_ns[i]
        elif d == "half":
            half += op_kernel_ns[i]
    known = fp32 + half
    unknown = eligible_ns - known
    if known > 0:
        fp32_total = fp32 + unknown * (fp32 / known)
        fp32_conv_total = fp32_conv * (fp32_total / fp32) if fp32 else 0.0
        half_total = half + unknown * (half / known)
        dtype_known = True
    else:
        fp32_total = half_total = fp32_conv_total = 0.0
        dtype_known = False
        signal = signal + " (no dtypes recorded)"
    return Eligible(ops, op_kernel_ns, gpu_rows, eligible_ns, fp32_total, fp32_conv_total, half_total, float(unknown),
                    dtype_known, tc_ns, signal, dtypes, args, order, op_idx)


def _gpu_family(f: ModelFacts) -> str | None:
    """'nvidia' / 'amd' for GPUs where half-precision matrix units exist, else None."""
    if f.vendor == "amd":
        return "amd"
    if f.vendor == "nvidia":
        cc = f.compute_capability
        if cc is not None and cc[0] < 7:
            return None  # no Tensor Cores before Volta
        return "nvidia"
    return None


@rule("PREC1", "FP32 matmul/conv hotspot", gpu=True)
def fp32_hotspot(f: ModelFacts) -> Finding | None:
    m = f.model
    fam = _gpu_family(f)
    if not m.has_gpu or fam is None or not f.gpu_time_ns:
        return None
    if f.settings.get("amp") in ("bf16", "fp16"):
        return None  # already on
    e = eligible(f)
    if not e.dtype_known or not e.eligible_ns or not e.fp32_ns:
        return None
    # per step: the FP32 part of the eligible kernels' time (the dtype mix is the model's, not the step's)
    fp32 = gpu_share_series(f, e.kernel_rows, f.model.dur_ns[e.kernel_rows] * (e.fp32_ns / e.eligible_ns))
    if not fp32.holds_in_most(PREC_THRESHOLD_PCT):
        return None
    share = fp32.median_share_pct
    cc = f.compute_capability
    if fam == "amd":
        value = "bf16"
        why = "AMD Instinct GPUs run bf16/fp16 matrix math much faster than FP32"
    elif cc is not None and cc[0] >= 8:
        value = "bf16"
        why = "bf16 and TF32 run on Tensor Cores on this GPU"
    else:
        value = "fp16"
        why = "fp16 runs on Tensor Cores from Volta on (bf16 needs Ampere or newer)"
    fp32_ms = fp32.median_ms
    conv_ms = fp32_ms * e.fp32_conv_ns / e.fp32_ns
    ampere = fam == "nvidia" and cc is not None and cc[0] >= 8
    if ampere:
        # cuDNN runs FP32 convolutions in TF32 on Tensor Cores by default: bf16 still helps, less
        gain = 0.5 * (fp32_ms - conv_ms) + 0.25 * conv_ms
    else:
        gain = 0.5 * fp32_ms
    tf32 = ""
    if ampere and f.settings.get("tf32") is not True and fp32_ms - conv_ms > 0:
        tf32 = " Without AMP, TF32 for matmuls (torch.backends.cuda.matmul.allow_tf32 = True) also uses Tensor Cores."
    if ampere and conv_ms > 0:
        tf32 += " FP32 convolutions already use TF32 by default (cudnn.allow_tf32)."
    rows = e.ops[np.argsort(-e.op_kernel_ns)[:200]] if len(e.ops) else np.zeros(0, np.int64)
    caveats = ["check the loss curve after the change"]
    if value == "fp16":
        caveats.append("fp16 training needs a GradScaler")
    if tf32:
        caveats.append("TF32 keeps about 3 decimal digits of the mantissa")
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Matmul/conv kernels run in FP32 for {fp32_ms:.2f} ms per step ({share:.0f} % of GPU time); "
                 f"{why}." + tf32),
        evidence={"fp32_eligible_ms_per_step": fp32_ms, "fp32_eligible_pct_of_gpu": share,
                  "eligible_ms_per_step": f.per_step_ms(e.eligible_ns), "half_ms_per_step": f.per_step_ms(e.half_ns),
                  "tensor_core_kernel_ms_per_step": f.per_step_ms(e.tc_ns), "signal": e.signal,
                  "fp32_conv_ms_per_step": conv_ms, "per_step": fp32.spread(),
                  "compute_capability": list(cc) if cc else None},
        evidence_ranges=f.evidence_ranges_of(np.sort(rows)), evidence_rows=[int(r) for r in np.sort(rows)],
        gain_ms=gain, bottleneck_ms=fp32_ms, step_ms=f.step_ms,
        fix=f"Run the forward pass and loss under autocast ({value}).",
        fix_snippet=(f"with torch.autocast(device_type='cuda', dtype=torch.{'bfloat16' if value == 'bf16' else 'float16'}):\n"
                     "    loss = loss_fn(model(x), y)"
                     + ("\nscaler = torch.amp.GradScaler()  # fp16: scaler.scale(loss).backward(); scaler.step(opt)"
                        if value == "fp16" else "")),
        knob="amp", knob_value=value, caveats=caveats, vendor_specific=(fam == "nvidia"),
    )


@rule("TC1", "Tensor Cores unused", gpu=True, vendor_specific=True)
def tensor_cores_unused(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or _gpu_family(f) != "nvidia" or not f.gpu_time_ns:
        return None
    e = eligible(f)
    if e.tc_ns > 0 or not e.eligible_ns:
        return None
    elig = gpu_share_series(f, e.kernel_rows)
    if not elig.holds_in_most(PREC_THRESHOLD_PCT):
        return None
    if e.dtype_known and e.fp32_ns >= e.half_ns:
        return None  # PREC1 says it with dtype evidence
    share, elig_ms = elig.median_share_pct, elig.median_ms
    if e.dtype_known:  # half ops but no Tensor Core kernels: shapes or layouts
        knob, value = None, None
        fix = ("Half/bf16 matmuls/convs run without Tensor Core kernels: pad sizes to multiples of 8 "
               "(see ALIGN1) and use channels_last for convolutions.")
        gain = 0.3 * elig_ms
    else:
        if f.settings.get("amp") in ("bf16", "fp16"):
            return None
        cc = f.compute_capability
        knob, value = "amp", ("bf16" if cc is not None and cc[0] >= 8 else "fp16")
        fix = f"No kernel ran on Tensor Cores; autocast to {value} to use them."
        gain = 0.5 * elig_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Tensor-Core-eligible kernels take {elig_ms:.2f} ms per step ({share:.0f} % of GPU time) "
                 "but no kernel ran on Tensor Cores (by kernel name)."),
        evidence={"eligible_ms_per_step": elig_ms, "eligible_pct_of_gpu": share, "tensor_core_ms_per_step": 0.0,
                  "signal": "kernel names", "dtype_signal": e.signal, "per_step": elig.spread()},
        evidence_rows=[int(r) for r in np.sort(e.kernel_rows[np.argsort(-m.dur_ns[e.kernel_rows])[:200]])],
        gain_ms=gain, bottleneck_ms=elig_ms, step_ms=f.step_ms, fix=fix,
        fix_snippet="with torch.autocast(device_type='cuda', dtype=torch.bfloat16):\n    out = model(x)",
        knob=knob, knob_value=value, vendor_specific=True,
        caveats=["kernel-name lists go stale with new cuBLAS/cuDNN versions; dtypes are the better signal"],
    )


def _misaligned(name: str, dims: Any) -> list[int]:
    """The GEMM/conv sizes of one op that are not multiples of 8."""
    if not isinstance(dims, list):
        return []
    mats = [d for d in dims if isinstance(d, list) and len(d) >= 2 and all(isinstance(x, (int, float)) for x in d)]
    low = name.lower()
    sizes: list[int] = []
    if "conv" in low:
        if len(mats) >= 2 and len(mats[0]) >= 3:
            sizes = [int(mats[0][1]), int(mats[1][0])]
    elif "linear" in low:
        if len(mats) >= 2:
            sizes = [int(mats[0][-1]), int(mats[1][0])]
    else:
        for d in mats[:2]:
            sizes.extend(int(x) for x in d[-2:])
    return [s for s in sizes if s % 8]


@rule("ALIGN1", "Tensor Core shapes misaligned", gpu=True)
def misaligned_shapes(f: ModelFacts) -> Finding | None:
    m = f.model
    if not m.has_gpu or _gpu_family(f) is None:
        return None
    e = eligible(f)
    if not e.dtype_known or not e.half_ns or e.op_order is None:
        return None
    bad_ns = 0
    bad_rows = []
    bad_sizes: set[int] = set()
    half_ns = 0
    for i, d, a in zip(e.op_order, e.op_dtype, e.op_args):
        if d != "half":
            continue
        half_ns += int(e.op_kernel_ns[i])
        mis = _misaligned(m.name(int(e.ops[i])), a.get("Input Dims"))
        if mis:
            bad_ns += int(e.op_kernel_ns[i])
            bad_rows.append(int(e.ops[i]))
            bad_sizes.update(mis)
    share = pct(bad_ns, max(half_ns, 1))
    if not bad_ns or share < ALIGN_THRESHOLD_PCT:
        return None
    bad_ms = f.per_step_ms(bad_ns)
    gain = 0.3 * bad_ms
    sizes = sorted(bad_sizes)[:10]
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Half/bf16 matmuls/convs with sizes not divisible by 8 ({', '.join(map(str, sizes))}) take "
                 f"{share:.0f} % of half-precision GEMM time ({bad_ms:.2f} ms per step)."),
        evidence={"misaligned_ms_per_step": bad_ms, "misaligned_pct_of_half_gemm": share, "sizes": sizes,
                  "ops": len(bad_rows)},
        evidence_ranges=f.evidence_ranges_of(np.asarray(bad_rows)), evidence_rows=bad_rows[:200],
        gain_ms=gain, bottleneck_ms=bad_ms, step_ms=f.step_ms,
        fix="Pad hidden, vocabulary and channel sizes (and the batch) to multiples of 8.",
        fix_snippet="vocab_size = (vocab_size + 7) // 8 * 8  # pad embedding/output sizes",
        caveats=["padding changes the model (extra parameters)"], vendor_specific=False,
    )
