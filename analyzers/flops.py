"""FLOPs per op from the recorded input shapes, and peak throughput of known GPUs.

Formulas follow PyTorch's own (``torch/csrc/profiler/util.cpp``, ``computeFlops``):
a matmul of (M, K) by (K, N) is ``2*M*K*N`` FLOPs (one multiply and one add per
term); ``addmm`` / ``baddbmm`` count the same (the bias add is ignored), ``bmm``
multiplies by the batch; a 2-D convolution is ``2 * N * out_h * out_w * C_out *
C_in/groups * kh * kw``; scaled-dot-product attention is its two matmuls
(``Q @ K^T`` and ``P @ V``: ``2*B*H*L*S*(E + Ev)``, the causal mask not
subtracted).  A ``flops`` arg written by the profiler (older Kineto traces) wins.
Only the outermost op with a count is counted, so ``aten::linear -> aten::addmm``
or ``aten::conv2d -> aten::convolution`` are not counted twice.  A convolution needs its stride,
padding and dilation (``Concrete Inputs``, recorded by recent PyTorch); older traces leave it uncounted.
Backward convolutions are not counted; backward matmuls are (they are ``aten::mm``).  Element-wise ops
are not counted (they are memory-bound; MFU is about matmuls).
"""
from __future__ import annotations

import ast
from typing import Any, Callable

import numpy as np
import pandas as pd

from .trace_model import TraceModel

Dims = list[list[int]]


def _mm(d: Dims, _c: list) -> float:
    (m, k), (_, n) = d[0][-2:], d[1][-2:]
    return 2.0 * m * k * n


def _addmm(d: Dims, c: list) -> float:
    return _mm(d[1:], c)


def _bmm(d: Dims, _c: list) -> float:
    b, m, k = d[0][-3:]
    return 2.0 * b * m * k * d[1][-1]


def _baddbmm(d: Dims, c: list) -> float:
    return _bmm(d[1:], c)


def _pair(text: Any, default: int) -> tuple[int, int]:
    try:
        v = ast.literal_eval(text) if isinstance(text, str) and text else text
    except (ValueError, SyntaxError):
        return default, default
    if isinstance(v, (list, tuple)) and len(v) >= 2:
        return int(v[0]), int(v[1])
    if isinstance(v, (list, tuple)) and len(v) == 1:
        return int(v[0]), int(v[0])
    return (int(v), int(v)) if isinstance(v, (int, float)) else (default, default)


def _conv2d(d: Dims, c: list) -> float:
    (n, _, h, w), (c_out, c_in_g, kh, kw) = d[0], d[1]
    if len(c) < 6 or not all(c[3:6]):  # stride / padding / dilation not recorded: the output size is unknown
        raise ValueError("convolution without concrete stride, padding and dilation")
    sh, sw = _pair(c[3] if len(c) > 3 else None, 1)
    ph, pw = _pair(c[4] if len(c) > 4 else None, 0)
    dh, dw = _pair(c[5] if len(c) > 5 else None, 1)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // max(sh, 1) + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // max(sw, 1) + 1
    return 2.0 * n * out_h * out_w * c_out * c_in_g * kh * kw


def _sdpa(d: Dims, _c: list) -> float:
    q, k, v = d[0], d[1], d[2]
    batch = float(np.prod(q[:-2])) if len(q) > 2 else 1.0
    return 2.0 * batch * q[-2] * k[-2] * (q[-1] + v[-1])


#: op name -> FLOPs from (Input Dims, Concrete Inputs)
FORMULAS: dict[str, Callable[[Dims, list], float]] = {
    "aten::mm": _mm, "aten::addmm": _addmm, "aten::bmm": _bmm, "aten::baddbmm": _baddbmm,
    "aten::conv2d": _conv2d, "aten::convolution": _conv2d, "aten::_convolution": _conv2d,
    "aten::cudnn_convolution": _conv2d, "aten::mkldnn_convolution": _conv2d,
    "aten::scaled_dot_product_attention": _sdpa,
    "aten::_scaled_dot_product_flash_attention": _sdpa,
    "aten::_scaled_dot_product_efficient_attention": _sdpa,
    "aten::_scaled_dot_product_cudnn_attention": _sdpa,
    "aten::_scaled_dot_product_flash_attention_for_cpu": _sdpa,
}


def flops_of(name: str, args: dict[str, Any]) -> float:
    """FLOPs of one op call (NaN when the op has no formula or its shapes are missing)."""
    if "flops" in args:
        try:
            return float(args["flops"])
        except (TypeError, ValueError):
            return float("nan")
    fn = FORMULAS.get(name)
    dims = args.get("Input Dims")
    if fn is None or not isinstance(dims, list):
        return float("nan")
    try:
        return float(fn(dims, list(args.get("Concrete Inputs") or [])))
    except (ValueError, TypeError, IndexError):
        return float("nan")


def _matmul_dtype(name: str, args: dict[str, Any]) -> str:
    """Input dtype of the multiplied operands ('float', 'c10::BFloat16' ...; the bias of addmm skipped)."""
    types = args.get("Input type") or []
    i = 1 if name in ("aten::addmm", "aten::baddbmm") else 0
    return str(types[i]) if isinstance(types, list) and len(types) > i else ""


def op_flops(model: TraceModel, times: pd.DataFrame) -> pd.DataFrame:
    """Per op slice of ``times`` (:func:`op_times`): ``flop`` counted (outermost op with a count, else 0),
    ``dtype`` (input type of counted ops) and ``uncounted`` (an op with a formula whose shapes or
    arguments are missing, not under a counted op: its FLOPs are unknown)."""
    rows = times.index.to_numpy()
    flop = np.zeros(len(rows))
    dtype = np.full(len(rows), "", dtype=object)
    if not len(rows):
        return pd.DataFrame({"flop": flop, "dtype": dtype, "uncounted": np.zeros(0, dtype=bool)}, index=times.index)
    names = model.names[rows]
    named = np.array([n in FORMULAS for n in names], dtype=bool)
    packed = getattr(model.args_raw, "contains", None)
    with_arg = packed(b'"flops"', rows) if packed is not None else np.array(
        [r is not None and b'"flops"' in bytes(r) for r in (model.args_raw[int(i)] for i in rows)], dtype=bool)
    cand = np.flatnonzero(named | with_arg)
    args = model.args_many(rows[cand])
    values = np.array([flops_of(str(names[i]), a) for i, a in zip(cand, args)], dtype=float)
    counted = np.zeros(len(rows), dtype=bool)
    counted[cand] = np.isfinite(values) & (values > 0)
    flop[cand] = np.nan_to_num(values)
    dtype[cand] = [_matmul_dtype(str(names[i]), a) for i, a in zip(cand, args)]
    # keep only the outermost counted op: drop those with a counted ancestor (uncounted: outermost only)
    parent = times["parent"].to_numpy()
    is_cand = np.zeros(len(rows), dtype=bool)
    is_cand[cand] = True
    covered = np.zeros(len(rows), dtype=bool)
    under_cand = np.zeros(len(rows), dtype=bool)
    cur = parent.copy()
    while (cur >= 0).any():
        live = cur >= 0
        covered[live] |= counted[np.maximum(cur, 0)][live]
        under_cand[live] |= is_cand[np.maximum(cur, 0)][live]
        cur[live] = parent[cur[live]]
    keep = counted & ~covered
    flop[~keep] = 0.0
    dtype[~keep] = ""
    unknown = np.zeros(len(rows), dtype=bool)
    unknown[cand] = ~np.isfinite(values)
    return pd.DataFrame({"flop": flop, "dtype": dtype, "uncounted": unknown & ~under_cand}, index=times.index)
