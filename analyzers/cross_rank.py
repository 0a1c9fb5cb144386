"""Across ranks: the rank x step table, who arrives last at each collective and who waits.

Definitions (HTA's where it has them):

* **Collectives** of a rank: its communication kernels (NCCL/RCCL) when the
  trace has them, else its host collective ranges run by the backend
  (``gloo:*`` / ``mpi:*`` on their worker threads; ``c10d::*`` when those are
  absent), outermost per track.
* **Matching**: the k-th collective of a name in ProfilerStep N on every rank
  is one collective (ranks run the same program on the same step schedule).
* **Arrival** at a collective: its start on the rank's trace clock (epoch ns,
  so ranks on one host align exactly; across hosts the clocks' skew adds in).
  HTA's straggler analysis uses the same signal: the rank whose collective
  starts latest holds the others back.
* **Wait** of a rank: ``last arrival - own arrival`` (clipped to its
  duration), the part of the collective spent waiting for the last rank;
  **transfer** is the rest.  **Late** time of the last rank: the median wait
  of the other ranks at that collective (what it costs the job; never more than
  they actually spent in it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .categories import COMM_KERNEL_PREFIXES, Kind
from .steps import StepTable
from .trace_model import TraceModel

BACKEND_PREFIXES = ("gloo:", "mpi:", "ucc:")
ENQUEUE_PREFIXES = ("c10d::", "nccl:", "record_param_comms")
CALL_COLUMNS = ["rank", "step", "name", "seq", "arrive_ns", "end_ns", "dur_ns"]


def _outermost(model: TraceModel, rows: np.ndarray) -> np.ndarray:
    """``rows`` not nested inside another of ``rows`` on the same track."""
    keep = np.zeros(len(rows), bool)
    tracks = model.track_id[rows]
    for t in np.unique(tracks):
        sel = np.flatnonzero(tracks == t)
        ends = model.end_ns[rows[sel]]
        prev_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(ends)[:-1]])
        keep[sel] = model.start_ns[rows[sel]] >= prev_max
    return rows[keep]


def collective_rows(model: TraceModel) -> tuple[np.ndarray, str]:
    """(rows of the rank's collectives, their source: 'collective kernels' / 'host collectives' / 'none')."""
    kern = np.flatnonzero((model.kind == int(Kind.KERNEL))
                          & model.name_mask(lambda s: s.startswith(COMM_KERNEL_PREFIXES)))
    if len(kern):
        return kern, "collective kernels"
    host = model.kind != int(Kind.KERNEL)
    for prefixes in (BACKEND_PREFIXES, ENQUEUE_PREFIXES):
        rows = np.flatnonzero(host & model.name_mask(lambda s, p=prefixes: s.startswith(p)))
        if len(rows):
            return _outermost(model, rows), "host collectives"
    return np.empty(0, np.int64), "none"


def rank_collectives(model: TraceModel, steps: StepTable, rank: int) -> pd.DataFrame:
    """One row per collective inside a step: step number, name, k-th of that name in the step, times (epoch ns)."""
    rows, _ = collective_rows(model)
    if not len(rows) or not steps.count:
        return pd.DataFrame(columns=CALL_COLUMNS)
    start = model.start_ns[rows]
    idx = np.searchsorted(steps.start_ns, start, side="right") - 1
    ok = (idx >= 0) & (start < steps.end_ns[np.clip(idx, 0, None)])
    rows, idx = rows[ok], idx[ok]
    origin = int(model.origin_abs_ns or 0)
    df = pd.DataFrame({"rank": rank, "step": steps.number[idx].astype(np.int64),
                       "name": [model.strings[i] for i in model.name_id[rows]],
                       "arrive_ns": model.start_ns[rows] + origin, "end_ns": model.end_ns[rows] + origin,
                       "dur_ns": model.dur_ns[rows]})
    df = df.sort_values(["step", "arrive_ns"], kind="stable")
    df["seq"] = df.groupby(["step", "name"]).cumcount()
    return df[CALL_COLUMNS].reset_index(drop=True)


def collective_waits(calls: list[pd.DataFrame]) -> pd.DataFrame:
    """Every collective present on all ranks, per rank: wait, transfer, who arrived last, how late.

    Columns: rank, step, name, seq, arrive_ns, dur_ns, wait_ns, transfer_ns, last_rank, late_ns
    (``late_ns`` is 0 except on the last-arriving rank).
    """
    cols = CALL_COLUMNS + ["wait_ns", "transfer_ns", "last_rank", "late_ns"]
    frames = [c for c in calls if len(c)]
    if len(frames) < 2 or len(frames) < len(calls):
        return pd.DataFrame(columns=cols)
    df = pd.concat(frames, ignore_index=True)
    key = ["step", "name", "seq"]
    n_ranks = len(calls)
    df = df[df.groupby(key)["rank"].transform("nunique") == n_ranks].copy()
    if not len(df):
        return pd.DataFrame(columns=cols)
    g = df.groupby(key)["arrive_ns"]
    last = g.transform("max")
    df["wait_ns"] = np.minimum(np.maximum(last - df["arrive_ns"], 0), df["dur_ns"])
    df["transfer_ns"] = df["dur_ns"] - df["wait_ns"]
    idx_last = g.idxmax()
    last_rank = df.loc[idx_last, key + ["rank"]].rename(columns={"rank": "last_rank"})
    df = df.merge(last_rank, on=key, how="left")
    is_last = (df["rank"] == df["last_rank"]).to_numpy()
    df["late_ns"] = np.where(is_last, _median_wait_of_others(df, key, is_last), 0)
    return df[cols].reset_index(drop=True)


def _median_wait_of_others(df: pd.DataFrame, key: list[str], is_last: np.ndarray) -> np.ndarray:
    """Per row: the median wait of the ranks that did not arrive last at the same collective."""
    others = df.loc[~is_last].groupby(key)["wait_ns"].median().rename("others_wait_ns")
    med = df[key].merge(others, left_on=key, right_index=True, how="left")["others_wait_ns"]
    return med.fillna(0).to_numpy().astype(np.int64)


def step_matrix(step_tables: dict[int, StepTable]) -> pd.DataFrame:
    """Rank x step number: step time in ms (NaN where a rank lacks the step)."""
    data = {r: pd.Series(st.dur_ns / 1e6, index=st.number.astype(np.int64)) for r, st in step_tables.items()
            if st.count}
    if not data:
        return pd.DataFrame()
    return pd.DataFrame(data).T.sort_index().sort_index(axis=1)


def per_step_sums(waits: pd.DataFrame) -> pd.DataFrame:
    """Per (rank, step): wait, transfer and late ms summed over the step's collectives, calls, times last."""
    if not len(waits):
        return pd.DataFrame(columns=["rank", "step", "wait_ms", "transfer_ms", "late_ms", "calls", "last"])
    w = waits.assign(last=(waits["rank"] == waits["last_rank"]).astype(int))
    out = w.groupby(["rank", "step"]).agg(wait_ns=("wait_ns", "sum"), transfer_ns=("transfer_ns", "sum"),
                                          late_ns=("late_ns", "sum"), calls=("name", "size"),
                                          last=("last", "sum")).reset_index()
    for c in ("wait", "transfer", "late"):
        out[f"{c}_ms"] = out.pop(f"{c}_ns") / 1e6
    return out[["rank", "step", "wait_ms", "transfer_ms", "late_ms", "calls", "last"]]


@dataclass
class RankWaits:
    """One rank's figures at the collectives, mean per step."""

    rank: int
    wait_ms: float
    transfer_ms: float
    late_ms: float
    times_last: int
    calls: int


def rank_waits(sums: pd.DataFrame, ranks: list[int]) -> list[RankWaits]:
    """Mean per step of each rank's wait, transfer and late time (zeros for a rank without matched calls)."""
    out = []
    for r in ranks:
        s = sums[sums["rank"] == r]
        n = max(len(s), 1)
        out.append(RankWaits(r, float(s["wait_ms"].sum() / n), float(s["transfer_ms"].sum() / n),
                             float(s["late_ms"].sum() / n), int(s["last"].sum()), int(s["calls"].sum())))
    return out


def step_spread(matrix: pd.DataFrame) -> dict[str, Any]:
    """Spread of step times across ranks: per rank mean, per step max - min, the largest relative spread."""
    if matrix.empty:
        return {"rank_mean_ms": {}, "step_range_ms": {}, "max_range_ms": None, "max_range_pct": None}
    rng = matrix.max(axis=0) - matrix.min(axis=0)
    med = matrix.median(axis=0)
    pct = (100.0 * rng / med.where(med > 0)).dropna()
    return {"rank_mean_ms": {int(r): float(v) for r, v in matrix.mean(axis=1).items()},
            "step_range_ms": {int(s): float(v) for s, v in rng.items()},
            "max_range_ms": float(rng.max()), "max_range_pct": float(pct.max()) if len(pct) else None}


@dataclass
class CrossRank:
    """Every cross-rank figure of a session (see the module docstring for the definitions)."""

    ranks: list[int]
    source: str  # what the collectives are: 'collective kernels', 'host collectives', 'none'
    clock_aligned: bool  # every rank has an epoch origin (traces share one clock)
    matrix: pd.DataFrame  # rank x step number -> step ms
    spread: dict[str, Any]
    waits: pd.DataFrame  # per matched collective and rank
    sums: pd.DataFrame  # per (rank, step)
    per_rank: list[RankWaits]
    overlap: list[dict[str, Any]]
    straggler: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``distributed`` section of the report)."""
        m = self.matrix
        return {
            "collective_source": self.source, "clock_aligned": self.clock_aligned,
            "step_matrix": {"ranks": [int(r) for r in m.index], "steps": [int(s) for s in m.columns],
                            "ms": [[None if pd.isna(v) else float(v) for v in row] for row in m.to_numpy()]},
            "step_spread": self.spread,
            "collectives": {"matched": int(len(self.waits) // max(len(self.ranks), 1)),
                            "per_rank": [vars(w) for w in self.per_rank],
                            "per_step": self.sums.to_dict("records")},
            "overlap": self.overlap,
            "straggler": self.straggler,
        }


def analyze_ranks(models: dict[int, tuple[TraceModel, StepTable]], breakdowns: dict[int, dict[str, float]],
                  overlap: list[dict[str, Any]]) -> CrossRank:
    """All cross-rank figures from each rank's model, steps and mean breakdown (ms per step)."""
    from .straggler import find_straggler

    ranks = sorted(models)
    sources = {collective_rows(m)[1] for m, _ in models.values()}
    calls = [rank_collectives(m, st, r) for r, (m, st) in sorted(models.items())]
    waits = collective_waits(calls)
    sums = per_step_sums(waits)
    per_rank = rank_waits(sums, ranks)
    matrix = step_matrix({r: st for r, (_, st) in models.items()})
    step_ms = float(np.nanmedian(matrix.to_numpy())) if matrix.size else 0.0
    return CrossRank(ranks=ranks, source="/".join(sorted(sources - {"none"})) or "none",
                     clock_aligned=all(m.origin_abs_ns is not None for m, _ in models.values()),
                     matrix=matrix, spread=step_spread(matrix), waits=waits, sums=sums, per_rank=per_rank,
                     overlap=overlap, straggler=find_straggler(per_rank, breakdowns, step_ms))


def kernel_overlap(model: TraceModel) -> dict[str, Any] | None:
    """HTA's comm/comp overlap: time communication kernels run alongside computation kernels, as a share
    of communication kernel time, over the whole trace (None without communication kernels)."""
    from .distributed import comm_compute_ns

    comm_ns, _, both = comm_compute_ns(model)
    if not comm_ns:
        return None
    return {"comm_ms": comm_ns / 1e6, "overlap_ms": both / 1e6,
            "overlap_pct": 100.0 * both / comm_ns, "source": "collective kernels (HTA)"}
