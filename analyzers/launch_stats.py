"""HTA kernel launch statistics: launch call duration, GPU duration and launch delay per kernel.

Ours: every kernel with a launch call, ns clock, delay = kernel start - call start.  HTA 0.5's own
figures (its launch calls, us clock, delay from the call's end): :func:`hta_launch_summary`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .categories import Kind
from .hta_view import LAUNCH_CALLS, HtaView
from .launches import LaunchPairs, launch_pairs
from .trace_model import TraceModel

LONG_DELAY_NS = 100_000  # launch delay over 100 us (HTA default)
RUNTIME_OUTLIER_NS = 50_000  # launch call over 50 us (HTA default)
COLUMNS = ["row", "launch_row", "name", "launch_name", "launch_us", "gpu_us", "delay_us"]


def launch_table(model: TraceModel, launches: LaunchPairs | None = None) -> pd.DataFrame:
    """One row per kernel with a known launch call."""
    src, dst = launch_pairs(model) if launches is None else launches
    k = model.kind[dst] == int(Kind.KERNEL)
    src, dst = src[k], dst[k]
    table = np.array(model.strings, dtype=object)
    return pd.DataFrame({
        "row": dst, "launch_row": src,
        "name": table[model.name_id[dst]] if len(dst) else np.empty(0, dtype=object),
        "launch_name": table[model.name_id[src]] if len(src) else np.empty(0, dtype=object),
        "launch_us": model.dur_ns[src] / 1e3, "gpu_us": model.dur_ns[dst] / 1e3,
        "delay_us": (model.start_ns[dst] - model.start_ns[src]) / 1e3,
    }, columns=COLUMNS)


def launch_summary(model: TraceModel, table: pd.DataFrame | None = None, long_delay_ns: int = LONG_DELAY_NS,
                   outlier_ns: int = RUNTIME_OUTLIER_NS) -> dict[str, Any]:
    """Counts of short kernels (GPU < launch), long launch delays and slow launch calls (``table``: launch_table)."""
    df = launch_table(model) if table is None else table
    n = len(df)
    if not n:
        return {"kernels": 0, "short_kernels": 0, "long_delays": 0, "runtime_outliers": 0}
    return {
        "kernels": n,
        "short_kernels": int((df["gpu_us"] < df["launch_us"]).sum()),
        "short_kernels_pct": 100.0 * float((df["gpu_us"] < df["launch_us"]).mean()),
        "long_delays": int((df["delay_us"] * 1e3 > long_delay_ns).sum()),
        "runtime_outliers": int((df["launch_us"] * 1e3 > outlier_ns).sum()),
        "median_launch_us": float(df["launch_us"].median()),
        "median_gpu_us": float(df["gpu_us"].median()),
        "median_delay_us": float(df["delay_us"].median()),
    }


def hta_launch_summary(view: HtaView, launches: LaunchPairs, long_delay_us: int = LONG_DELAY_NS // 1000,
                       outlier_us: int = RUNTIME_OUTLIER_NS // 1000) -> dict[str, Any]:
    """HTA 0.5's launch statistics: launches by the calls it counts (kernel launches, async copies and
    memsets), on its microsecond clock, launch delay from the end of the call, clipped at 0."""
    src, dst = launches
    model = view.model
    names = np.array(model.strings, dtype=object)
    k = (view.keep[src] & view.keep[dst] & (model.stream[dst] >= 0)
         & np.isin(names[model.name_id[src]] if len(src) else np.empty(0, dtype=object), LAUNCH_CALLS))
    src, dst = src[k], dst[k]
    cpu_us, gpu_us = view.dur_us[src], view.dur_us[dst]
    delay_us = np.maximum(0, view.start_us[dst] - view.start_us[src] - cpu_us)
    return {"kernels": int(len(src)), "short_kernels": int((gpu_us < cpu_us).sum()),
            "long_delays": int((delay_us > long_delay_us).sum()),
            "runtime_outliers": int((cpu_us > outlier_us).sum())}
