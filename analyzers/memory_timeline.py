"""Allocated / reserved memory over time per device, its peak, and what was live at the peak.

From ``[memory]`` instants: ``Total Allocated`` / ``Total Reserved`` when the
trace has them, else the running sum of ``Bytes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .categories import Kind
from .trace_model import TraceModel

_MIB = 2**20


@dataclass
class MemorySeries:
    """One device's memory over time (bytes; reserved is None when the trace lacks it)."""

    device_type: int  # 0 CPU, 1 CUDA (others as given)
    device_id: int
    ts_ns: np.ndarray
    allocated_bytes: np.ndarray
    reserved_bytes: np.ndarray | None

    @property
    def label(self) -> str:
        kind = {0: "CPU", 1: "GPU"}.get(self.device_type, f"device type {self.device_type}")
        return kind if self.device_type == 0 and self.device_id < 0 else f"{kind} {self.device_id}"


@dataclass
class LiveAllocation:
    addr: int
    bytes: int
    alloc_ns: int
    op: str | None  # innermost host op enclosing the allocation time


@dataclass
class MemoryPeak:
    """Peak of allocated memory on one device."""

    device_type: int
    device_id: int
    device_label: str
    peak_allocated_bytes: int
    peak_time_ns: int
    peak_reserved_bytes: int | None
    live: list[LiveAllocation] = field(default_factory=list)
    live_count: int = 0
    addresses_known: bool = True  # False: frees cannot be paired, 'live' = largest allocations before the peak

    def to_dict(self, max_live: int = 20) -> dict[str, Any]:
        return {
            "device_type": self.device_type, "device_id": self.device_id, "device_label": self.device_label,
            "peak_allocated_mib": self.peak_allocated_bytes / _MIB, "peak_time_ms": self.peak_time_ns / 1e6,
            "peak_reserved_mib": None if self.peak_reserved_bytes is None else self.peak_reserved_bytes / _MIB,
            "live_count": self.live_count,
            "addresses_known": self.addresses_known,
            "live": [{"addr": a.addr, "mib": a.bytes / _MIB, "alloc_ms": a.alloc_ns / 1e6, "op": a.op}
                     for a in self.live[:max_live]],
        }


def memory_series(model: TraceModel) -> list[MemorySeries]:
    """One series per (device type, device id) with memory events."""
    mem = model.memory
    if not len(mem):
        return []
    out = []
    key = mem.device_type.astype(np.int64) * 100000 + mem.device_id.astype(np.int64)
    for k in np.unique(key):
        sel = np.flatnonzero(key == k)
        ta = mem.total_allocated_bytes[sel]
        tr = mem.total_reserved_bytes[sel]
        alloc = ta if (ta >= 0).all() else np.cumsum(mem.bytes[sel])
        reserved = tr if (tr >= 0).all() else None
        out.append(MemorySeries(int(mem.device_type[sel[0]]), int(mem.device_id[sel[0]]), mem.ts_ns[sel],
                                alloc.astype(np.int64), None if reserved is None else reserved.astype(np.int64)))
    return out


def _enclosing_op(model: TraceModel, t: int) -> str | None:
    ops = (model.kind == int(Kind.CPU_OP)) & (model.start_ns <= t) & (model.end_ns > t)
    rows = np.flatnonzero(ops)
    if not len(rows):
        return None
    return model.name(int(rows[np.argmax(model.depth[rows])]))


def memory_peaks(model: TraceModel, max_live: int = 20) -> list[MemoryPeak]:
    """Peak allocated memory per device and the largest allocations live at that moment."""
    mem = model.memory
    out = []
    for s in memory_series(model):
        if not len(s.ts_ns):
            continue
        i = int(np.argmax(s.allocated_bytes))
        t_peak = int(s.ts_ns[i])
        # allocations (by address) alive just after the peak event: allocated at or before it, freed after it
        sel = np.flatnonzero((mem.device_type == s.device_type) & (mem.device_id == s.device_id))
        pos_peak = sel[i]
        nbytes, addr = mem.bytes[sel], mem.addr[sel]
        addresses_known = len(np.unique(addr[: i + 1])) > 1  # old traces record no addresses (all 0)
        if addresses_known:
            order = np.lexsort((np.arange(len(sel)), addr))
            a_s, b_s, idx_s = addr[order], nbytes[order], sel[order]
            is_alloc = b_s > 0
            nxt_same = np.r_[a_s[1:] == a_s[:-1], False]
            nxt_idx = np.r_[idx_s[1:], -1]
            freed_after = nxt_same & (nxt_idx > pos_peak)
            alive = is_alloc & (idx_s <= pos_peak) & (~nxt_same | freed_after)
            live_pos = idx_s[alive]
        else:  # frees cannot be paired with allocations: the allocations made up to the peak
            live_pos = sel[: i + 1][nbytes[: i + 1] > 0]
        live_pos = live_pos[np.argsort(-mem.bytes[live_pos], kind="stable")]
        live = [LiveAllocation(int(mem.addr[p]), int(mem.bytes[p]), int(mem.ts_ns[p]),
                               _enclosing_op(model, int(mem.ts_ns[p]))) for p in live_pos[:max_live]]
        out.append(MemoryPeak(s.device_type, s.device_id, s.label, int(s.allocated_bytes[i]), t_peak,
                              None if s.reserved_bytes is None else int(s.reserved_bytes.max()),
                              live, int(len(live_pos)), addresses_known))
    return out
