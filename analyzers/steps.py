"""Training steps with the TensorBoard profiler plugin's semantics (docs: METRICS.md).

Host ranges come from ``ProfilerStep#N``; each step is stretched to cover the
GPU work launched by runtime calls inside it; trailing steps without GPU work
and an incomplete last step are dropped.  With no steps, the whole trace is one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .categories import GPU_WORK_KINDS, STEP_PREFIX
from .launches import LaunchPairs, launch_pairs
from .trace_model import TraceModel

#: the last step is dropped when it has fewer than this share of the GPU ops of the step before it
INCOMPLETE_STEP_RATIO = 0.8


@dataclass
class StepTable:
    """Kept steps, in time order; times are int64 ns relative to the trace start."""

    number: np.ndarray  # int64 step number (N of ProfilerStep#N; 0 for the whole-trace step)
    host_start_ns: np.ndarray
    host_end_ns: np.ndarray
    start_ns: np.ndarray  # stretched to the GPU work (TensorBoard semantics)
    end_ns: np.ndarray
    gpu_ops: np.ndarray  # GPU ops (kernels, copies, memsets) launched inside each host step
    from_profiler_steps: bool = True  # False: no ProfilerStep#, one step covers the trace
    dropped: int = 0  # steps dropped at the end (no GPU work, or incomplete)

    @property
    def count(self) -> int:
        return int(len(self.start_ns))

    @property
    def dur_ns(self) -> np.ndarray:
        return self.end_ns - self.start_ns

    @property
    def window_ns(self) -> tuple[int, int]:
        """(first step start, last step end); (0, 0) without steps."""
        if not self.count:
            return 0, 0
        return int(self.start_ns[0]), int(self.end_ns[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number.tolist(), "start_ns": self.start_ns.tolist(), "end_ns": self.end_ns.tolist(),
            "host_start_ns": self.host_start_ns.tolist(), "host_end_ns": self.host_end_ns.tolist(),
            "gpu_ops": self.gpu_ops.tolist(), "from_profiler_steps": self.from_profiler_steps,
            "dropped": self.dropped,
        }


def step_rows(model: TraceModel) -> np.ndarray:
    """Rows of ``ProfilerStep#N`` ranges on host tracks, by start time."""
    rows = model.rows_named(STEP_PREFIX)
    if len(rows):
        rows = rows[~model.tracks.is_device[model.track_id[rows]]]
        rows = rows[model.dur_ns[rows] > 0]
    return rows


def _step_number(name: str, default: int) -> int:
    try:
        return int(name[len(STEP_PREFIX):])
    except ValueError:
        return default


def step_table(model: TraceModel, launches: LaunchPairs | None = None) -> StepTable:
    """The model's kept steps; ``launches`` are :func:`launch_pairs` when already computed."""
    rows = step_rows(model)
    empty = np.empty(0, dtype=np.int64)
    if not len(model):
        return StepTable(empty, empty, empty, empty, empty, empty, from_profiler_steps=False)
    if len(rows):
        # one range per step number (a step may repeat on several threads: keep the first)
        names = [model.name(r) for r in rows]
        numbers = np.array([_step_number(n, i) for i, n in enumerate(names)], dtype=np.int64)
        _, first = np.unique(numbers, return_index=True)
        rows = rows[np.sort(first)]
        numbers = np.array([_step_number(model.name(r), i) for i, r in enumerate(rows)], dtype=np.int64)
        host_s = model.start_ns[rows].astype(np.int64)
        host_e = model.end_ns[rows].astype(np.int64)
        from_steps = True
    else:
        host_s = np.array([int(model.start_ns.min())], dtype=np.int64)
        host_e = np.array([int(model.end_ns.max())], dtype=np.int64)
        numbers = np.zeros(1, dtype=np.int64)
        from_steps = False
    n = len(host_s)

    # GPU ops launched by runtime calls that lie fully inside a host step
    src, dst = launch_pairs(model) if launches is None else launches
    rt_start, rt_end = model.start_ns[src], model.end_ns[src]
    j = np.searchsorted(host_s, rt_start, side="right") - 1
    jc = np.maximum(j, 0)
    inside = (j >= 0) & (rt_end <= host_e[jc])
    step_of = jc[inside]
    g_start, g_end = model.start_ns[dst[inside]], model.end_ns[dst[inside]]
    gpu_ops = np.bincount(step_of, minlength=n).astype(np.int64)
    dev_min = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    dev_max = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(dev_min, step_of, g_start)
    np.maximum.at(dev_max, step_of, g_end)

    start, end = host_s.copy(), host_e.copy()
    dropped = 0
    if gpu_ops.sum() > 0:
        # previous "step end" before step 0: GPU work launched outside any step that ends before step 0's GPU work
        prev_end = int(host_s[0])
        if gpu_ops[0] > 0:
            gpu_all = np.flatnonzero(np.isin(model.kind, [int(k) for k in GPU_WORK_KINDS]))
            matched = np.zeros(len(model), dtype=bool)
            matched[dst[inside]] = True
            other = gpu_all[~matched[gpu_all]]
            other_end = model.end_ns[other]
            other_end = other_end[other_end < dev_min[0]]
            if len(other_end):
                prev_end = max(prev_end, int(other_end.max()))
        has_dev = gpu_ops > 0
        stretched_end = np.where(has_dev, np.maximum(host_e, dev_max), host_e)
        # sequential rule, vectorised: start_i = max(end_{i-1}, host_start_i), end_i = max(stretched_end_i, start_i)
        # end_i = max(stretched_end_i, host_start_i, end_{i-1}) = running max of max(stretched_end, host_start)
        base = np.maximum(stretched_end, host_s)
        base[0] = max(int(base[0]), prev_end)
        end = np.maximum.accumulate(base)
        prev = np.concatenate(([prev_end], end[:-1]))
        start = np.maximum(prev, host_s)
        if n > 1:
            last = int(np.flatnonzero(has_dev)[-1])
            keep = last + 1
            if last > 0 and gpu_ops[last - 1] * INCOMPLETE_STEP_RATIO > gpu_ops[last]:
                keep = last
            dropped = n - keep
            numbers, host_s, host_e = numbers[:keep], host_s[:keep], host_e[:keep]
            start, end, gpu_ops = start[:keep], end[:keep], gpu_ops[:keep]
    return StepTable(numbers, host_s, host_e, start.astype(np.int64), end.astype(np.int64), gpu_ops,
                     from_profiler_steps=from_steps, dropped=dropped)
