"""GPU idle time per stream with HTA's categories (METRICS.md).

A gap between consecutive GPU ops on a stream is *host wait* when the next op's
launch call started after the previous op ended (the CPU was late), *kernel
wait* when it was launched earlier and the gap is short, *other* otherwise.
:func:`hta_idle_summary` gives HTA 0.5's own figures (docs/HTA_PARITY.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import intervals as iv
from .categories import Kind
from .hta_view import HtaView
from .launches import LaunchPairs, launch_of
from .trace_model import TraceModel

#: gaps shorter than this, with the next op already launched, are kernel-to-kernel wait (HTA default)
KERNEL_WAIT_MAX_NS = 30
CATEGORY_NAMES = np.array(["host wait", "kernel wait", "other"], dtype=object)
COLUMNS = ["device", "stream", "gaps", "idle_ms", "host_wait_ms", "kernel_wait_ms", "other_ms"]


def is_host_wait(model: TraceModel, next_launch_rows: np.ndarray, gap_start_ns: np.ndarray) -> np.ndarray:
    """The one definition of host wait: the GPU op after a gap was launched after the gap began (the CPU was late).

    ``next_launch_rows``: the launching runtime row of the op after each gap (-1 when unknown: not host wait)."""
    known = next_launch_rows >= 0
    launch_start = model.start_ns[np.maximum(next_launch_rows, 0)]
    return known & (launch_start > gap_start_ns)


def device_idle(model: TraceModel, window_ns: tuple[int, int], launch_rows: np.ndarray) -> dict[str, float]:
    """GPU idle in ``window_ns`` with all streams of a device merged (mean over devices), and its host-wait part.

    Keys ``busy_ns``, ``idle_ns``, ``host_wait_ns``, ``window_ns``; ``launch_rows`` is the per-slice launch row."""
    lo, hi = window_ns
    gpu = np.isin(model.kind, [int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)])
    rows = np.flatnonzero(gpu & (model.start_ns >= lo) & (model.start_ns < hi))
    res = {"busy_ns": 0.0, "idle_ns": 0.0, "host_wait_ns": 0.0, "window_ns": float(hi - lo)}
    if not len(rows) or hi <= lo:
        return res
    devs = model.device[rows]
    busy = idle = host_wait = 0
    for d in np.unique(devs):
        r = rows[devs == d]
        s = np.clip(model.start_ns[r], lo, hi)
        ms, me = iv.union(s, np.clip(model.end_ns[r], lo, hi))
        busy += int((me - ms).sum())
        gap_start = np.concatenate([[lo], me])
        gap_len = np.concatenate([ms, [hi]]) - gap_start
        idle += int(gap_len[gap_len > 0].sum())
        # the row that opens each busy interval (rows are sorted by start)
        order = np.argsort(s, kind="stable")
        first = r[order[np.searchsorted(s[order], ms, side="left")]]
        hw = is_host_wait(model, launch_rows[first], gap_start[:-1]) & (gap_len[:-1] > 0)
        host_wait += int(gap_len[:-1][hw].sum())
    n_dev = len(np.unique(devs))
    res.update(busy_ns=busy / n_dev, idle_ns=idle / n_dev, host_wait_ns=host_wait / n_dev)
    return res


def gpu_gaps(model: TraceModel, launches: LaunchPairs | None = None,
             kernel_wait_max_ns: int = KERNEL_WAIT_MAX_NS) -> pd.DataFrame:
    """One row per gap: device, stream, start_ns, end_ns, dur_ns, category ('host wait'/'kernel wait'/'other'),
    code (0/1/2, same order) and next_row (the GPU op after the gap)."""
    rows = model.rows_of_kind(Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET)
    if len(rows) < 2:
        return pd.DataFrame(columns=["device", "stream", "start_ns", "end_ns", "dur_ns", "category", "code",
                                     "next_row"])
    track = model.track_id[rows].astype(np.int64)
    order = np.lexsort((model.start_ns[rows], track))
    rows, track = rows[order], track[order]
    end = model.end_ns[rows]
    # "previous op end" = furthest end so far on the stream (ops can overlap slightly in traces)
    same = track[1:] == track[:-1]
    prev_end = _running_max_by_group(end, track)[:-1]
    nxt = rows[1:]
    gap_s, gap_e = prev_end, model.start_ns[nxt]
    keep = same & (gap_e > gap_s)
    gap_s, gap_e, nxt = gap_s[keep], gap_e[keep], nxt[keep]
    host_wait = is_host_wait(model, launch_of(model, launches)[nxt], gap_s)
    code = np.where(host_wait, 0, np.where(gap_e - gap_s < kernel_wait_max_ns, 1, 2))
    return pd.DataFrame({"device": model.device[nxt].astype(np.int64), "stream": model.stream[nxt],
                         "start_ns": gap_s, "end_ns": gap_e, "dur_ns": gap_e - gap_s,
                         "category": CATEGORY_NAMES[code], "code": code.astype(np.int8), "next_row": nxt})


def _running_max_by_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running max of ``values`` restarting at each change of ``group`` (group sorted)."""
    values = values.astype(np.int64)
    if not len(values):
        return values
    # offset each group so that a plain running max never crosses groups
    starts = np.r_[True, group[1:] != group[:-1]]
    gid = np.cumsum(starts) - 1
    span = int(values.max() - values.min()) + 1
    shifted = values - values.min() + gid * span
    return np.maximum.accumulate(shifted) - gid * span + values.min()


def idle_time(model: TraceModel, gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per stream: gap count and idle ms split into host wait / kernel wait / other (``gaps``: :func:`gpu_gaps`)."""
    gaps = gpu_gaps(model) if gaps is None else gaps
    if not len(gaps):
        return pd.DataFrame(columns=COLUMNS)
    keys = gaps["device"].to_numpy() * (1 << 40) + gaps["stream"].to_numpy()
    uniq, pos, inv = np.unique(keys, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    dur = gaps["dur_ns"].to_numpy().astype(np.float64)
    code = gaps["code"].to_numpy()
    out = pd.DataFrame({"device": gaps["device"].to_numpy()[pos], "stream": gaps["stream"].to_numpy()[pos],
                        "gaps": np.bincount(inv, minlength=len(uniq))})
    for c, col in enumerate(("host_wait_ms", "kernel_wait_ms", "other_ms")):
        out[col] = np.bincount(inv, weights=np.where(code == c, dur, 0.0), minlength=len(uniq)) / 1e6
    out["idle_ms"] = out["host_wait_ms"] + out["kernel_wait_ms"] + out["other_ms"]
    return out[COLUMNS]


def idle_time_summary(model: TraceModel, table: pd.DataFrame | None = None) -> dict[str, Any]:
    """Totals over all streams (ms and shares of idle time); {} without GPU ops (``table``: :func:`idle_time`)."""
    df = idle_time(model) if table is None else table
    if not len(df):
        return {}
    idle = float(df["idle_ms"].sum())

    def pct(col: str) -> float | None:
        return 100.0 * float(df[col].sum()) / idle if idle > 0 else None

    return {"idle_ms": idle, "host_wait_ms": float(df["host_wait_ms"].sum()),
            "kernel_wait_ms": float(df["kernel_wait_ms"].sum()), "other_ms": float(df["other_ms"].sum()),
            "host_wait_pct": pct("host_wait_ms"), "kernel_wait_pct": pct("kernel_wait_ms"),
            "other_pct": pct("other_ms"), "streams": df.to_dict("records")}


#: HTA 0.5's consecutive_kernel_delay default: documented as 30 ns, applied to microsecond times (30 us)
HTA_KERNEL_WAIT_MAX_US = 30


def hta_idle_summary(view: HtaView, launch_rows: np.ndarray,
                     kernel_wait_max_us: int = HTA_KERNEL_WAIT_MAX_US) -> dict[str, Any]:
    """HTA 0.5's idle-time breakdown (ms), summed over streams; {} without GPU work.

    Per stream, in start order, each op's gap to the previous op's end (negative when they overlap) is host
    wait when its launch call started after that end, kernel wait when shorter than ``kernel_wait_max_us``,
    else other.  ``launch_rows``: the launching row per slice (``launch_of``)."""
    rows = view.work_rows
    if not len(rows):
        return {}
    model = view.model
    sums = np.zeros(3, dtype=np.int64)
    for key in np.unique(model.device[rows].astype(np.int64) * (1 << 40) + model.stream[rows]):
        r = rows[model.device[rows].astype(np.int64) * (1 << 40) + model.stream[rows] == key]
        r = r[np.argsort(view.start_us[r], kind="stable")]
        prev_end, nxt = view.end_us[r][:-1], r[1:]
        gap = view.start_us[nxt] - prev_end
        launch = launch_rows[nxt]
        host = (launch >= 0) & (view.start_us[np.maximum(launch, 0)] > prev_end)
        kernel = ~host & (gap < kernel_wait_max_us)
        for code, mask in enumerate((host, kernel, ~host & ~kernel)):
            sums[code] += int(gap[mask].sum())
    idle = int(sums.sum())
    out: dict[str, Any] = {"idle_ms": idle / 1e3}
    for code, name in enumerate(("host_wait", "kernel_wait", "other")):
        out[f"{name}_ms"] = float(sums[code]) / 1e3
        out[f"{name}_pct"] = 100.0 * float(sums[code]) / idle if idle else None
    return out
