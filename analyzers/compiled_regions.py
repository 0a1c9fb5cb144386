"""torch.compile in a trace: compiled regions, the kernels they ran, graph breaks, recompiles, compile time.

Dynamo marks every call of compiled code with a ``Torch-Compiled Region: F/C``
range (F: the Python frame it compiled, C: that frame's compile number, so
``0/1`` is the first recompile of frame 0), preceded by a ``TorchDynamo Cache
Lookup``.  Compilation itself shows as ``entire_frame_compile`` ranges.  More than
one frame entered per step means graph breaks split the model (one region per
piece); a compile number above 0 is a recompilation (a guard failed: new shapes,
dtypes or Python values).  The kernels of a region are the GPU kernels launched
inside it (Triton ``triton_*`` for inductor), or on a CPU the ``aten::`` ops it ran
plus inductor's C++ kernels (``<built-in function kernel>`` Python frames).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .categories import Kind
from .launches import LaunchPairs
from .module_tree import enclosing
from .steps import StepTable
from .trace_model import TraceModel

REGION_PREFIX = "Torch-Compiled Region: "
CACHE_LOOKUP = "TorchDynamo Cache Lookup"
COMPILE_NAMES = ("entire_frame_compile",)
CPP_KERNEL = "<built-in function kernel>"
_ID = re.compile(r"(\d+)/(\d+)")


@dataclass
class CompiledRegions:
    """Per region id (``F/C``): calls, host and device time, kernels; per step: frames entered, compile time."""

    regions: pd.DataFrame  # region, frame, compile_id, calls, host_total_ns, device_ns, kernel_calls, first_row
    kernels: pd.DataFrame  # region, kernel, calls, total_ns (device time on GPUs, host time on CPUs)
    per_step: pd.DataFrame  # step, frames, regions_entered, compile_ns, cache_lookups
    compile_ns: int = 0  # all compilation in the trace
    cache_lookup_ns: int = 0
    recompiled_frames: list[int] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(len(self.regions))

    @property
    def graph_breaks_per_step(self) -> float:
        """Frames entered per step beyond the first (median over steps); 0 without regions."""
        if not len(self.per_step):
            return 0.0
        return max(float(np.median(self.per_step["frames"])) - 1.0, 0.0)

    def to_dict(self, top_kernels: int = 5) -> dict[str, Any]:
        regions = []
        for _, r in self.regions.iterrows():
            ks = self.kernels[self.kernels["region"] == r["region"]].head(top_kernels)
            regions.append({"region": r["region"], "frame": int(r["frame"]), "compile_id": int(r["compile_id"]),
                            "called_from": r["called_from"],
                            "calls": int(r["calls"]), "host_total_ms": r["host_total_ns"] / 1e6,
                            "device_ms": r["device_ns"] / 1e6, "kernel_calls": int(r["kernel_calls"]),
                            "kernels": [{"name": k["kernel"], "calls": int(k["calls"]), "total_ms": k["total_ns"] / 1e6}
                                        for _, k in ks.iterrows()]})
        return {"present": self.present, "regions": regions, "graph_breaks_per_step": self.graph_breaks_per_step,
                "recompiled_frames": self.recompiled_frames, "compile_ms": self.compile_ns / 1e6,
                "cache_lookup_ms": self.cache_lookup_ns / 1e6,
                "per_step": self.per_step.to_dict("records")}


def _region_rows(model: TraceModel) -> np.ndarray:
    rows = model.rows_named(REGION_PREFIX)
    return rows[~np.asarray(model.tracks.is_device, dtype=bool)[model.track_id[rows]]] if len(rows) else rows


def _kernel_rows(model: TraceModel, regions: np.ndarray, launches: LaunchPairs,
                 times: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(kernel or op rows, index of the innermost region holding them); CPU ops: outermost aten ops only."""
    src, dst = launches
    if model.has_gpu and len(src):
        owner = enclosing(model, regions, src)
        return dst[owner >= 0], owner[owner >= 0]
    cpp = model.name_mask(lambda s: s == CPP_KERNEL) & (model.kind == int(Kind.PYTHON))
    aten = model.name_mask(lambda s: s.startswith("aten::")) & (model.kind == int(Kind.CPU_OP))
    ops = times.index.to_numpy(dtype=np.int64)
    parent = times["parent"].to_numpy()
    inner = np.zeros(len(model), dtype=bool)  # an aten op inside another aten op: part of that one
    has_p = parent >= 0
    inner[ops[has_p]] = aten[ops[parent[has_p]]]
    rows = np.flatnonzero(cpp | (aten & ~inner))
    owner = enclosing(model, regions, rows)
    return rows[owner >= 0], owner[owner >= 0]


def _called_from(model: TraceModel, rows: np.ndarray) -> np.ndarray:
    """Per region call: the Python frame it runs in (with_stack traces; '' without): for a frame entered after a
    graph break, the user function where compiled code resumes."""
    py = np.flatnonzero(model.kind == int(Kind.PYTHON))
    out = np.full(len(rows), "", dtype=object)
    if len(py) and len(rows):
        owner = enclosing(model, py, rows)
        ok = owner >= 0
        out[ok] = model.names[py[owner[ok]]]
    return out


def compiled_regions(model: TraceModel, launches: LaunchPairs, steps: StepTable,
                     times: pd.DataFrame) -> CompiledRegions:
    """The compiled regions of ``model`` and what they did, per region id and per step (``times``: op_times)."""
    rows = _region_rows(model)
    names = model.names[rows] if len(rows) else np.zeros(0, dtype=object)
    ids = [_ID.search(n[len(REGION_PREFIX):]) for n in names]
    frame = np.array([int(m.group(1)) if m else -1 for m in ids], dtype=np.int64)
    cid = np.array([int(m.group(2)) if m else 0 for m in ids], dtype=np.int64)
    label = np.array([n[len(REGION_PREFIX):] for n in names], dtype=object)
    krows, owner = _kernel_rows(model, rows, launches, times)
    kdur = model.dur_ns[krows].astype(np.int64)
    df = pd.DataFrame({"region": label, "frame": frame, "compile_id": cid, "dur": model.dur_ns[rows].astype(np.int64),
                       "row": rows})
    df["device_ns"] = np.bincount(owner, weights=kdur, minlength=len(rows)).astype(np.int64) if model.has_gpu else 0
    df["kernel_calls"] = np.bincount(owner, minlength=len(rows))
    df["called_from"] = _called_from(model, rows)
    regions = df.groupby("region", sort=False).agg(
        frame=("frame", "first"), compile_id=("compile_id", "first"), calls=("dur", "size"),
        host_total_ns=("dur", "sum"), device_ns=("device_ns", "sum"), kernel_calls=("kernel_calls", "sum"),
        first_row=("row", "first"), called_from=("called_from", "first")).reset_index().sort_values(["frame", "compile_id"], kind="stable")
    kernels = pd.DataFrame({"region": label[owner] if len(owner) else np.zeros(0, dtype=object),
                            "kernel": model.names[krows] if len(krows) else np.zeros(0, dtype=object), "ns": kdur})
    kernels = kernels.groupby(["region", "kernel"], sort=False).agg(calls=("ns", "size"), total_ns=("ns", "sum"))
    kernels = kernels.reset_index().sort_values("total_ns", ascending=False, kind="stable")
    compile_rows = np.flatnonzero(model.name_mask(lambda s: s in COMPILE_NAMES) & (model.kind == int(Kind.CPU_OP)))
    lookups = model.rows_named(CACHE_LOOKUP)
    return CompiledRegions(
        regions=regions.reset_index(drop=True), kernels=kernels.reset_index(drop=True),
        per_step=_per_step(model, steps, rows, frame, compile_rows, lookups),
        compile_ns=int(model.dur_ns[compile_rows].sum()), cache_lookup_ns=int(model.dur_ns[lookups].sum()),
        recompiled_frames=sorted({int(f) for f, c in zip(frame, cid) if c > 0}))


def _per_step(model: TraceModel, steps: StepTable, rows: np.ndarray, frame: np.ndarray,
              compile_rows: np.ndarray, lookups: np.ndarray) -> pd.DataFrame:
    """Per kept step (host range): distinct frames entered, regions entered, compile ns, cache lookups."""
    out = []
    for i in range(steps.count if len(rows) else 0):
        lo, hi = int(steps.host_start_ns[i]), int(steps.host_end_ns[i])

        def inside(r: np.ndarray) -> np.ndarray:
            s = model.start_ns[r]
            return (s >= lo) & (s < hi)
        sel = inside(rows)
        out.append({"step": int(steps.number[i]), "frames": int(len(np.unique(frame[sel]))),
                    "regions_entered": int(sel.sum()),
                    "compile_ns": int(model.dur_ns[compile_rows[inside(compile_rows)]].sum()),
                    "cache_lookups": int(inside(lookups).sum())})
    return pd.DataFrame(out, columns=["step", "frames", "regions_entered", "compile_ns", "cache_lookups"])
