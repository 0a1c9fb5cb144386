"""Launch links: which host runtime call launched each GPU op (kernel, copy, memset).

The one definition of launch -> GPU work links; everything that needs them
(steps, op table, idle time, launch statistics, Tensor Core flags, rules)
takes the pairs from here.
"""
from __future__ import annotations

import numpy as np

from .categories import GPU_WORK_KINDS
from .trace_model import Flows, TraceModel

LaunchPairs = tuple[np.ndarray, np.ndarray]


def launch_pairs(model: TraceModel) -> LaunchPairs:
    """(launching host row, GPU op row) for every LAUNCH flow into kernels, copies and memsets."""
    f = model.flows
    sel = f.kind == Flows.LAUNCH
    src, dst = f.src_row[sel], f.dst_row[sel]
    work = np.isin(model.kind[dst], [int(k) for k in GPU_WORK_KINDS])
    return src[work], dst[work]


def launch_of(model: TraceModel, pairs: LaunchPairs | None = None) -> np.ndarray:
    """Per slice: the row of the runtime call that launched it (-1 when none)."""
    src, dst = launch_pairs(model) if pairs is None else pairs
    out = np.full(len(model), -1, dtype=np.int64)
    out[dst] = src
    return out
