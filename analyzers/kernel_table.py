"""Kernel table: per kernel name, calls and times, launch geometry and efficiency estimates."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .categories import Kind
from .gpu_metrics import TensorCoreFlags, tensor_core_flags
from .trace_model import TraceModel

COLUMNS = ["name", "calls", "total_us", "mean_us", "min_us", "max_us", "share_pct", "grid", "block",
           "registers_per_thread", "shared_mem_bytes", "blocks_per_sm", "occupancy_pct", "tensor_cores"]


def _weighted_mean(values: np.ndarray, weights: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    ok = np.isfinite(values) & (values >= 0)
    num = np.bincount(groups[ok], weights=values[ok] * weights[ok], minlength=n)
    den = np.bincount(groups[ok], weights=weights[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def kernel_table(model: TraceModel, device: int | None = None,
                 tc_flags: TensorCoreFlags | None = None) -> pd.DataFrame:
    """One row per kernel name, by total time (desc); blocks_per_sm / occupancy_pct are duration-weighted."""
    rows = model.rows_of_kind(Kind.KERNEL)
    tc_all, _, _ = tensor_core_flags(model) if tc_flags is None else tc_flags
    if device is not None:
        sel = model.device[rows] == device
        rows, tc_all = rows[sel], tc_all[sel]
    if not len(rows):
        return pd.DataFrame(columns=COLUMNS)
    uniq, grp = np.unique(model.name_id[rows], return_inverse=True)
    grp = grp.reshape(-1)
    n = len(uniq)
    dur = model.dur_ns[rows].astype(np.float64)
    total = np.bincount(grp, weights=dur, minlength=n)
    calls = np.bincount(grp, minlength=n)
    mn = np.full(n, np.inf)
    mx = np.full(n, -np.inf)
    np.minimum.at(mn, grp, dur)
    np.maximum.at(mx, grp, dur)
    # one representative row per name (the longest call) for geometry
    order = np.lexsort((-dur, grp))
    first = order[np.searchsorted(grp[order], np.arange(n))]
    rep = rows[first]
    args = model.args_many(rep)
    tc = np.bincount(grp, weights=tc_all.astype(np.float64) * dur, minlength=n) > 0.5 * total
    table = np.array(model.strings, dtype=object)
    df = pd.DataFrame({
        "name": table[uniq],
        "calls": calls.astype(np.int64),
        "total_us": total / 1e3,
        "mean_us": total / calls / 1e3,
        "min_us": mn / 1e3,
        "max_us": mx / 1e3,
        "share_pct": 100.0 * total / total.sum() if total.sum() > 0 else np.zeros(n),
        "grid": [str(a.get("grid")) if a.get("grid") is not None else None for a in args],
        "block": [str(a.get("block")) if a.get("block") is not None else None for a in args],
        "registers_per_thread": model.registers_per_thread[rep].astype(np.int64),
        "shared_mem_bytes": model.shared_mem_bytes[rep].astype(np.int64),
        "blocks_per_sm": _weighted_mean(model.blocks_per_sm[rows].astype(np.float64), dur, grp, n),
        "occupancy_pct": _weighted_mean(model.occupancy_pct[rows].astype(np.float64), dur, grp, n),
        "tensor_cores": tc,
    })
    return df.sort_values("total_us", ascending=False, kind="stable").reset_index(drop=True)
