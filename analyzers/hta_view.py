"""The trace as HTA 0.5 sees it: its event selection, its microsecond clock and its kernel classes.

HTA's figures (temporal breakdown, idle time, launch statistics, comm/compute
overlap, critical path) are computed on this view so that they match HTA on the
same trace (docs/HTA_PARITY.md).  What HTA does on load, reproduced here:

* times are whole microseconds: a start is rounded up, an end down (HTA's
  ``round_down_time_stamps``), so every op shrinks by up to 2 us;
* with two or more ``ProfilerStep`` names, the last profiler step is dropped:
  host events are kept when they start before the last ``ProfilerStep``
  starts, GPU events when their correlation id is one of a kept host event's;
* GPU events are those with a stream and a correlation id, plus the device
  syncs ``Event Sync`` / ``Context Sync``; everything else is host.  A
  ``Context Sync`` written with stream 2**32 - 1 is "on a stream" to HTA
  (its ``stream != -1``), so it counts as busy GPU time in the breakdown.

Kernel classes follow HTA's name regexes: communication ``^nccl.*Kernel``,
memory ``^Memcpy|^Memset|^dma``, computation whatever matches neither nor
``.*Memcpy|^Memset|.*Sync``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .categories import Kind
from .trace_model import TraceModel

COMM_RE = re.compile(r"^nccl.*Kernel")
MEMORY_RE = re.compile(r"(^Memcpy)|(^Memset)|(^dma)")
NOT_COMPUTE_RE = re.compile(r"(^nccl.*Kernel)|(.*(Memcpy)|(Memset))|(.*Sync)")
DEVICE_SYNC_NAMES = ("Event Sync", "Context Sync")
#: runtime calls whose GPU work HTA's launch statistics count
LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cudaMemcpyAsync", "cudaMemsetAsync",
                "runFunction - job_prep_and_submit_for_execution")
GPU_WORK = (int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET))


def raw_origin_ns(model: TraceModel) -> int:
    """The trace's own ``ts`` of relative time 0, in ns (``origin_abs_ns`` less ``baseTimeNanoseconds``);
    0 when unknown (relative traces without an epoch: HTA's rounding grid is then approximated)."""
    if model.origin_abs_ns is None:
        return 0
    base = (model.metadata or {}).get("baseTimeNanoseconds")
    if isinstance(base, (int, float)) and not isinstance(base, bool) and base > 0:
        return int(model.origin_abs_ns) - int(base)
    return int(model.origin_abs_ns)


def hta_clock_us(model: TraceModel) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) per slice in whole microseconds relative to the model's origin, as HTA rounds them.

    HTA reads the trace's ``ts`` and ``dur`` as float64 microseconds, takes ``end = ts + dur`` in float64
    (at today's epoch a float64 microsecond has a 0.25 us grid), then ``ceil(ts)`` and ``floor(end)``."""
    origin = raw_origin_ns(model)
    q, r = np.divmod(origin + model.start_ns.astype(np.int64), 1000)
    ts_f = q.astype(np.float64) + r / 1000.0
    end_f = ts_f + model.dur_ns.astype(np.float64) / 1000.0
    base_us = origin // 1000
    return np.ceil(ts_f).astype(np.int64) - base_us, np.floor(end_f).astype(np.int64) - base_us


@dataclass
class HtaView:
    """Rows of ``model`` HTA keeps, with HTA's whole-microsecond times (relative to the model's origin)."""

    model: TraceModel
    keep: np.ndarray  # bool per slice
    is_gpu: np.ndarray  # bool per slice: HTA's GPU events (kernels, copies, syncs)
    start_us: np.ndarray  # int64 per slice
    end_us: np.ndarray  # int64 per slice
    dropped_last_step: bool
    on_stream: np.ndarray  # bool per slice: HTA's ``stream != -1``

    @property
    def dur_us(self) -> np.ndarray:
        return self.end_us - self.start_us

    @cached_property
    def gpu_rows(self) -> np.ndarray:
        """Kept GPU events on a stream (what HTA's temporal breakdown and overlap read)."""
        return np.flatnonzero(self.keep & self.is_gpu & self.on_stream)

    @cached_property
    def work_rows(self) -> np.ndarray:
        """Kept kernels, copies and memsets on a stream (what HTA's idle time reads)."""
        r = self.gpu_rows
        return r[np.isin(self.model.kind[r], GPU_WORK)]

    def name_mask(self, rows: np.ndarray, pattern: re.Pattern[str]) -> np.ndarray:
        """Per row: ``pattern.match(name)``."""
        hit = np.array([pattern.match(s) is not None for s in self.model.strings], dtype=bool)
        return hit[self.model.name_id[rows]] if len(hit) else np.zeros(len(rows), dtype=bool)

    def kernel_class(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(computation, communication) masks over ``rows`` with HTA's name rules."""
        comm = self.name_mask(rows, COMM_RE)
        memory = self.name_mask(rows, MEMORY_RE)
        compute = ~comm & ~memory & ~self.name_mask(rows, NOT_COMPUTE_RE)
        return compute, comm


def hta_view(model: TraceModel) -> HtaView:
    """HTA's selection and clock for ``model`` (see the module docstring)."""
    start_us, end_us = hta_clock_us(model)
    sync_ids = [i for i, name in enumerate(model.strings) if name in DEVICE_SYNC_NAMES]
    device_sync = np.isin(model.name_id, sync_ids)
    on_stream = (model.stream >= 0) & (model.correlation >= 0) & (model.kind != int(Kind.GPU_USER_ANNOTATION))
    is_gpu = on_stream | device_sync
    keep = np.ones(len(model), dtype=bool)
    step_ids = [i for i, s in enumerate(model.strings) if "ProfilerStep" in s]
    dropped = False
    if len(step_ids) >= 2:
        host = ~is_gpu
        steps = host & np.isin(model.name_id, step_ids)
        last_start = int(start_us[steps].max()) if steps.any() else None
        if last_start is not None:
            host_keep = host & (start_us < last_start)
            keep = host_keep | (is_gpu & _has_match(model.correlation, host_keep & (model.correlation >= 0)))
            dropped = True
    on_stream = model.stream >= 0
    for r, args in zip(np.flatnonzero(device_sync).tolist(), model.args_many(np.flatnonzero(device_sync).tolist())):
        on_stream[r] = _stream_arg(args.get("stream")) != -1  # 'Context Sync' is written with stream 2**32 - 1
    return HtaView(model, keep, is_gpu, start_us, end_us, dropped, on_stream)


def _has_match(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Per element: whether its value occurs in ``values[among]`` (sorted search; faster than np.isin here)."""
    pool = np.sort(values[among])
    if not len(pool):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(pool, values), len(pool) - 1)
    return pool[pos] == values


def _stream_arg(value: object) -> int:
    """HTA's stream number: the ``stream`` arg as an int, -1 when absent or not a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1
