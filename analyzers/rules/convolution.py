"""CUDNN1 (cuDNN autotuning off, runs we collected) and CL1 (NCHW convolutions under half precision)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from ..op_names import is_conv_name
from ..step_stats import StepSeries
from .context import ModelFacts, pct
from .gpu_steps import gpu_share_series
from .precision import eligible
from .registry import rule

THRESHOLD_PCT = 20.0


def _conv(f: ModelFacts) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """(op indices into eligible().ops, their kernel ns, conv ns, half conv ns, fp32 conv ns)."""
    e = eligible(f)
    if not len(e.ops):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0, 0.0, 0.0
    conv_mask = f.name_mask("conv", is_conv_name)[e.ops]
    idx = np.flatnonzero(conv_mask)
    conv_ns = float(e.op_kernel_ns[idx].sum())
    half = fp32 = 0.0
    if e.op_order is not None:
        for i, d in zip(e.op_order, e.op_dtype):
            if conv_mask[i]:
                if d == "half":
                    half += e.op_kernel_ns[i]
                elif d == "fp32":
                    fp32 += e.op_kernel_ns[i]
    return idx, e.op_kernel_ns[idx], conv_ns, half, fp32


def _conv_series(f: ModelFacts, idx: np.ndarray) -> StepSeries:
    """Per step: kernel time of the convolution ops ``idx`` (indices into eligible().ops) vs the step's GPU time."""
    e = eligible(f)
    op_of = e.kernel_op if e.kernel_op is not None else np.full(len(e.kernel_rows), -1)
    return gpu_share_series(f, e.kernel_rows[np.isin(op_of, idx)])


@rule("CUDNN1", "cuDNN autotuning is off", gpu=True, vendor_specific=True)
def cudnn_benchmark(f: ModelFacts) -> Finding | None:
    m = f.model
    if not f.is_bundle or f.vendor != "nvidia" or not m.has_gpu or not f.gpu_time_ns:
        return None
    if f.settings.get("cudnn_benchmark", False) is not False:
        return None
    idx, _, conv_ns, _, _ = _conv(f)
    series = _conv_series(f, idx)
    if not conv_ns or not series.holds_in_most(THRESHOLD_PCT):
        return None
    share = series.median_share_pct
    e = eligible(f)
    ops = e.ops[idx]
    shapes = {repr(a.get("Input Dims")) for a in m.args_many(ops[:2000])}
    per_step = len(ops) / f.n_steps
    static = len(shapes) <= max(1.0, per_step)
    conv_ms = series.median_ms
    gain = (0.1 if static else 0.03) * conv_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Convolutions take {share:.0f} % of GPU time ({conv_ms:.2f} ms per step) and the run had "
                 "torch.backends.cudnn.benchmark off" + ("; their shapes repeat every step." if static else ".")),
        evidence={"conv_ms_per_step": conv_ms, "conv_pct_of_gpu": share, "distinct_conv_shapes": len(shapes),
                  "conv_ops_per_step": per_step, "static_shapes": static, "per_step": series.spread()},
        evidence_rows=[int(r) for r in ops[:200]], evidence_ranges=f.evidence_ranges_of(ops),
        gain_ms=gain, bottleneck_ms=conv_ms, step_ms=f.step_ms,
        fix="Let cuDNN benchmark convolution algorithms once per shape.",
        fix_snippet="torch.backends.cudnn.benchmark = True", knob="cudnn_benchmark", knob_value=True,
        vendor_specific=True,
        caveats=["the first steps get slower (autotuning)", "bad for input shapes that change every step",
                 "algorithm choice may be non-deterministic"],
    )


def _is_nchw(strides: object) -> bool | None:
    if not isinstance(strides, list) or len(strides) != 4 or not all(isinstance(s, (int, float)) for s in strides):
        return None
    return not (strides[1] == 1 and strides[3] != 1)


@rule("CL1", "Convolutions in NCHW layout under half precision", gpu=True, vendor_specific=True)
def channels_last(f: ModelFacts) -> Finding | None:
    m = f.model
    cc = f.compute_capability
    if not m.has_gpu or f.vendor != "nvidia" or (cc is not None and cc[0] < 7) or not f.gpu_time_ns:
        return None
    if f.settings.get("channels_last") is True:
        return None
    idx, kns, conv_ns, half, fp32 = _conv(f)
    series = _conv_series(f, idx)
    if not conv_ns or half <= fp32 or not series.holds_in_most(THRESHOLD_PCT):
        return None
    share = series.median_share_pct
    e = eligible(f)
    ops = e.ops[idx[np.argsort(-kns)[:500]]]
    votes = [_is_nchw((a.get("Input Strides") or [None])[0]) for a in m.args_many(ops)]
    nchw = sum(1 for v in votes if v is True)
    nhwc = sum(1 for v in votes if v is False)
    transform = np.flatnonzero(f.kernel_mask & f.name_mask(
        "layout_kernel", lambda s: "nchwtonhwc" in s.lower() or "nhwctonchw" in s.lower()))
    transform_ms = f.per_step_ms(int(m.dur_ns[transform].sum()))
    if nchw <= nhwc and not len(transform):
        return None
    conv_ms = series.median_ms
    gain = 0.15 * conv_ms + transform_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Half-precision convolutions ({conv_ms:.2f} ms per step, {share:.0f} % of GPU time) get NCHW inputs"
                 + (f"; layout-transform kernels add {transform_ms:.2f} ms per step" if len(transform) else "") + "."),
        evidence={"conv_ms_per_step": conv_ms, "conv_pct_of_gpu": share, "nchw_ops": nchw, "nhwc_ops": nhwc,
                  "layout_transform_ms_per_step": transform_ms, "per_step": series.spread()},
        evidence_rows=[int(r) for r in np.sort(np.concatenate([ops[:100], transform[:100]]))],
        evidence_ranges=f.evidence_ranges_of(ops),
        gain_ms=gain, bottleneck_ms=conv_ms + transform_ms, step_ms=f.step_ms,
        fix="Convert the model and 4-D inputs to channels_last (NHWC).",
        fix_snippet="model = model.to(memory_format=torch.channels_last)\nx = x.to(memory_format=torch.channels_last)",
        knob="channels_last", knob_value=True, vendor_specific=True,
        caveats=["4-D tensors only", "ops without NHWC kernels permute back and forth"],
    )
