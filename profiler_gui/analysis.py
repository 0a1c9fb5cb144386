"""Qt-free glue between the analyzers and the views: one :class:`Analysis` per opened trace.

Everything here runs in a worker thread.  When an analyzer raises, its
piece is ``None`` and ``unavailable[piece]`` says why, so a view shows a
clear 'not available' state instead of the window crashing.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from analyzers.breakdown import mean_breakdown_ms, step_breakdown
from analyzers.compare import compare
from analyzers.distributed import distributed_summary
from analyzers.findings import json_safe
from analyzers.gpu_metrics import gpu_metrics
from analyzers.kernel_table import kernel_table
from analyzers.memory_timeline import memory_peaks, memory_series
from analyzers.op_table import op_table
from analyzers.report import build_report
from analyzers.rules import run_rules
from analyzers.steps import StepTable, step_table
from analyzers.trace_model import TraceModel

from .timeline.data import build_pyramids


class Cancelled(Exception):
    """Raised from a progress callback when the user pressed Cancel."""


ProgressFn = Callable[[str, float], None]


@dataclass
class Analysis:
    """What the views show for one opened trace (all ranks; views use ``model``)."""

    path: str
    models: list[TraceModel]
    steps: pd.DataFrame | None = None  # normalised: step, start_ns, end_ns, step_ms
    steps_raw: Any = None  # whatever analyzers.steps.step_table returned
    breakdown: pd.DataFrame | None = None
    mean_breakdown: dict[str, float] | None = None
    gpu: Any = None
    ops: pd.DataFrame | None = None
    ops_by_shape: pd.DataFrame | None = None
    kernels: pd.DataFrame | None = None
    memory: dict[str, Any] | None = None
    memory_raw: Any = None
    findings: list[Any] = field(default_factory=list)
    report: dict[str, Any] | None = None
    timeline_data: Any = None
    unavailable: dict[str, str] = field(default_factory=dict)
    distributed: dict[str, Any] | None = None  # analyzers.distributed.distributed_summary when > 1 rank

    @property
    def model(self) -> TraceModel:
        """The rank the views show: the first model (see :func:`models_for_rank`)."""
        return self.models[0]

    @property
    def ranks(self) -> list[int]:
        """Rank numbers of all models, sorted (position in the file list when a trace names none)."""
        return sorted(rank_of(m, i) for i, m in enumerate(self.models))

    @property
    def current_rank(self) -> int:
        return rank_of(self.model, 0)


def rank_of(model: TraceModel, index: int) -> int:
    r = getattr(model, "rank", None)
    return int(r) if isinstance(r, (int, np.integer)) and r >= 0 else index


def models_for_rank(models: list[TraceModel], rank: int) -> list[TraceModel]:
    """``models`` with the model of ``rank`` first (the views show models[0]), the others in rank order."""
    for i, m in enumerate(models):
        if rank_of(m, -1) < 0:
            m.rank = i  # a trace that names no rank: keep its label stable across reorders
    keyed = sorted(((rank_of(m, i), i, m) for i, m in enumerate(models)), key=lambda t: (t[0], t[1]))
    chosen = [m for r, _, m in keyed if r == rank]
    if not chosen:
        raise ValueError(f"no rank {rank} in this trace (ranks: {', '.join(str(r) for r, _, _ in keyed)})")
    return [chosen[0]] + [m for _, _, m in keyed if m is not chosen[0]]

    @property
    def is_bundle(self) -> bool:
        return self.model.run_info is not None


def _err(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


# ----------------------------------------------------------------------------- steps
def steps_frame(steps: StepTable) -> pd.DataFrame:
    """The step table as columns step, start_ns, end_ns, step_ms (what the views plot)."""
    start = np.asarray(steps.start_ns, dtype=np.int64)
    end = np.asarray(steps.end_ns, dtype=np.int64)
    return pd.DataFrame({"step": np.asarray(steps.number), "start_ns": start, "end_ns": end,
                         "step_ms": (end - start) / 1e6})


def step_count(raw: StepTable | None, frame: pd.DataFrame | None) -> int:
    """Number of kept steps."""
    if raw is not None:
        return int(raw.count)
    return 0 if frame is None else len(frame)


# ----------------------------------------------------------------------------- the pipeline
def analyze(path: str, models: list[TraceModel], progress: ProgressFn | None = None,
            cancel: threading.Event | None = None, timeline: bool = True) -> Analysis:
    """Run every analyzer on ``models``; a failing piece is recorded in ``unavailable``, never raised."""
    report = progress or (lambda phase, frac: None)
    a = Analysis(path=path, models=models)
    m = a.model

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()

    def piece(name: str, frac: float, fn: Callable[[], Any]) -> Any:
        check()
        report(f"analyzing: {name}", frac)
        try:
            return fn()
        except Cancelled:
            raise
        except Exception as exc:  # an analyzer bug must not take the window down
            a.unavailable[name] = f"failed: {_err(exc)}"
            traceback.print_exc()
        return None

    a.steps_raw = piece("steps", 0.05, lambda: step_table(m))
    a.steps = steps_frame(a.steps_raw) if a.steps_raw is not None else None
    if a.steps_raw is not None:
        a.breakdown = piece("breakdown", 0.15, lambda: step_breakdown(m, a.steps_raw))
        a.gpu = piece("gpu", 0.25, lambda: gpu_metrics(m, a.steps_raw))
    if a.breakdown is not None:
        mean = mean_breakdown_ms(a.breakdown)
        a.mean_breakdown = {f"{k}_ms": float(v) for k, v in mean.items()}
        if len(a.breakdown):
            a.mean_breakdown["step_ms"] = float(a.breakdown["step_ms"].mean())
    a.ops = piece("ops", 0.35, lambda: op_table(m))
    a.ops_by_shape = piece("ops_by_shape", 0.45, lambda: op_table(m, group_by="name+shapes"))
    a.kernels = piece("kernels", 0.5, lambda: kernel_table(m))
    a.memory = piece("memory", 0.55, lambda: memory_view(m))
    found = piece("findings", 0.65, lambda: run_rules(models))
    a.findings = sorted(found or [], key=lambda f: -(f.gain_ms or 0))
    if len(models) > 1:
        ordered = [m2 for _, _, m2 in sorted(((rank_of(m2, i), i, m2) for i, m2 in enumerate(models)),
                                             key=lambda t: (t[0], t[1]))]
        a.distributed = piece("distributed", 0.7, lambda: distributed_summary(ordered))
    a.report = piece("report", 0.75, lambda: build_report(models, path, a.findings))
    if timeline:
        a.timeline_data = piece("timeline", 0.85, lambda: build_pyramids(m))
    check()
    report("done", 1.0)
    return a


def memory_view(m: TraceModel) -> dict[str, Any]:
    """analyzers.memory_timeline (memory_series + memory_peaks) in the view's dict shape."""
    peaks = {(p.device_type, p.device_id): p for p in memory_peaks(m, max_live=200)}
    out: dict[str, Any] = {"devices": [], "live_at_peak": pd.DataFrame()}
    best = None
    for s in memory_series(m):
        p = peaks.get((s.device_type, s.device_id))
        alloc = np.asarray(s.allocated_bytes, dtype=np.float64)
        res = (np.asarray(s.reserved_bytes, dtype=np.float64) if s.reserved_bytes is not None
               else np.full(len(alloc), np.nan))
        if p is not None:
            peak_ts, peak_b = int(p.peak_time_ns), float(p.peak_allocated_bytes)
        elif len(alloc):
            i = int(np.nanargmax(alloc))
            peak_ts, peak_b = int(s.ts_ns[i]), float(alloc[i])
        else:
            continue
        out["devices"].append({"label": s.label, "device_type": int(s.device_type), "device_id": int(s.device_id),
                               "ts_ns": np.asarray(s.ts_ns), "allocated": alloc, "reserved": res,
                               "peak_ts_ns": peak_ts, "peak_bytes": peak_b})
        if p is not None and (best is None or (p.device_type == 1, peak_b) > (best.device_type == 1, best.peak_allocated_bytes)):
            best = p
    if best is not None:  # the most interesting device: a GPU when there is one
        out["peak_device"] = best.device_label
        live = pd.DataFrame(
            [{"addr": hex(int(x.addr)), "size_mb": x.bytes / 2**20, "allocated_at_ms": x.alloc_ns / 1e6, "op": x.op or ""}
             for x in best.live], columns=["addr", "size_mb", "allocated_at_ms", "op"])
        if not best.addresses_known:
            out["live_note"] = "allocation addresses not recorded: showing the largest allocations before the peak"
            live = live.drop(columns=["addr"])
        elif best.live_count > len(best.live):
            out["live_note"] = f"{best.live_count:,} allocations live; the {len(best.live)} largest are listed."
        out["live_at_peak"] = live
    return out


def load_and_analyze(path: str, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
                     timeline: bool = True) -> Analysis:
    """Load ``path`` (anything the loader reads) and analyze it.  Raises TraceLoadError / Cancelled."""
    from analyzers.loader import load_traces

    report = progress or (lambda phase, frac: None)

    def on_progress(phase: str, frac: float) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        report(f"loading: {phase}", 0.6 * float(frac))

    models = load_traces(path, progress=on_progress)
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if not models:
        from analyzers.errors import TraceLoadError
        raise TraceLoadError(path, "no trace found")

    def sub(phase: str, frac: float) -> None:
        report(phase, 0.6 + 0.4 * frac)

    return analyze(str(path), models, sub, cancel, timeline=timeline)


def find_samples(root: str) -> list[str]:
    """Bundled sample run bundles: folders under ``root`` holding a run.json."""
    import os

    out = []
    if not os.path.isdir(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        if "run.json" in filenames:
            out.append(dirpath)
            dirnames[:] = []
        dirnames.sort()
    return sorted(out)


# ----------------------------------------------------------------------------- compare
def timed_steps_ms(model: TraceModel) -> list[float]:
    """Unprofiled timed-step times of a run bundle (run.json timed_steps.step_ms), else []."""
    steps = (model.run_info or {}).get("timed_steps") or {}
    vals = steps.get("step_ms") if isinstance(steps, dict) else None
    return [float(v) for v in vals] if isinstance(vals, list) else []


def step_distribution(a: Analysis) -> tuple[list[float], str]:
    """Step times to plot: timed steps when the run recorded them, else profiled per-step times."""
    timed = timed_steps_ms(a.model)
    if timed:
        return timed, "timed steps (unprofiled)"
    if a.steps is not None and len(a.steps):
        return [float(v) for v in a.steps["step_ms"]], "profiled steps"
    return [], "no steps"


def _median(vals: list[float]) -> float | None:
    return float(np.median(vals)) if vals else None


def compare_analyses(a: Analysis, b: Analysis, ab: Any = None) -> dict[str, Any]:
    """Compare A and B: analyzers.compare when it has landed, plus GUI-side figures.

    ``ab`` is an A/B result (collectors.ab.ABResult) when one was measured.
    """
    out: dict[str, Any] = {"a_path": a.path, "b_path": b.path, "unavailable": {}}
    try:
        out["analyzer"] = compare(a.models, b.models, findings_a=a.findings, findings_b=b.findings)
    except Exception as exc:  # an analyzer bug must not take the window down
        out["unavailable"]["compare"] = f"analyzers.compare failed: {_err(exc)}"
        traceback.print_exc()
    da, la = step_distribution(a)
    db, lb = step_distribution(b)
    out["a_steps"], out["a_steps_label"], out["b_steps"], out["b_steps_label"] = da, la, db, lb
    ma, mb = _median(da), _median(db)
    out["a_median_ms"], out["b_median_ms"] = ma, mb
    pa = _median([float(v) for v in a.steps["step_ms"]]) if a.steps is not None and len(a.steps) else None
    pb = _median([float(v) for v in b.steps["step_ms"]]) if b.steps is not None and len(b.steps) else None
    out["profiled_ratio"] = (pa / pb) if pa and pb else None
    out["speedup"] = (ma / mb) if ma and mb else out["profiled_ratio"]
    out["speedup_source"] = "timed-step medians" if timed_steps_ms(a.model) and timed_steps_ms(b.model) else "profiled step medians"
    out["ci"] = None
    out["ab"] = None
    an = out.get("analyzer")
    if (isinstance(an, dict) and an.get("measured_speedup") and an.get("measured_ci_low") is not None
            and an.get("measured_ci_high") is not None):
        # two run bundles opened by hand: analyzers.compare bootstraps their timed steps
        out["speedup"] = float(an["measured_speedup"])
        out["ci"] = (float(an["measured_ci_low"]), float(an["measured_ci_high"]))
        out["speedup_source"] = "timed-step medians, bootstrap CI over each bundle's timed steps"
    if ab is not None and getattr(ab, "speedup", None):
        out["speedup"] = float(ab.speedup)
        out["ci"] = (getattr(ab, "ci_low", None), getattr(ab, "ci_high", None))
        out["speedup_source"] = "interleaved A/B timing"
        out["ab"] = {"rounds": getattr(ab, "rounds", None), "fix": dict(getattr(ab, "fix", {}) or {}),
                     "round_speedups": [float(x) for x in getattr(ab, "round_speedups", []) or []],
                     "a_count": len(getattr(ab.a, "step_ms", []) or []), "b_count": len(getattr(ab.b, "step_ms", []) or []),
                     "a_median_ms": getattr(ab.a, "median_step_ms", None), "b_median_ms": getattr(ab.b, "median_step_ms", None),
                     "significant": bool(getattr(ab, "significant", False)),
                     "per_sample": bool(getattr(ab, "per_sample", False))}
    if isinstance(an, dict) and an.get("speedup") and out["ci"] is None and out["speedup"] is None:
        out["speedup"] = float(an["speedup"])
    # breakdown side by side
    out["breakdown"] = None
    if a.mean_breakdown and b.mean_breakdown:
        keys = list(dict.fromkeys([*a.mean_breakdown, *b.mean_breakdown]))
        out["breakdown"] = pd.DataFrame({"component": keys, "a_ms": [a.mean_breakdown.get(k, 0.0) for k in keys],
                                         "b_ms": [b.mean_breakdown.get(k, 0.0) for k in keys]})
        out["breakdown"]["delta_ms"] = out["breakdown"]["b_ms"] - out["breakdown"]["a_ms"]
    elif isinstance(an, dict) and isinstance(an.get("breakdown_delta_ms"), dict):
        d = an["breakdown_delta_ms"]
        out["breakdown"] = pd.DataFrame({"component": list(d), "delta_ms": [float(v) for v in d.values()]})
    # what changed most and which findings were resolved / are new: analyzers.compare decides
    tc = an.get("top_changes") if isinstance(an, dict) else None
    out["changes"] = pd.DataFrame(tc if isinstance(tc, list) else [],
                                  columns=None if tc else ["name", "kind", "a_ms", "b_ms", "delta_ms"])
    ra = {f.rule: f for f in a.findings}
    rb = {f.rule: f for f in b.findings}
    out["resolved"] = [ra[k] for k in (an or {}).get("resolved", []) if k in ra]
    out["new"] = [rb[k] for k in (an or {}).get("new", []) if k in rb]
    return out


# ----------------------------------------------------------------------------- report dict
def report_dict(a: Analysis) -> dict[str, Any]:
    """The report to export (analyzers.report.build_report), with what the GUI could not compute."""
    out = dict(a.report or {"source": {"path": a.path}})
    if a.unavailable:
        out["not_available"] = dict(a.unavailable)
    return json_safe(out)

