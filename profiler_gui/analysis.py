"""Qt-free glue between the analyzers and the views: one :class:`Analysis` per opened trace.

Everything here runs in a worker thread.  Each analyzer piece is optional:
when a module has not landed (ImportError) or raises, the piece is ``None``
and ``unavailable[piece]`` says why, so a view can show a clear
'not available' state instead of crashing.  A few small fallbacks (step
ranges, op / kernel / memory tables straight from the trace model) keep the
GUI useful on their own; they are labelled as such.
"""
from __future__ import annotations

import importlib
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from analyzers.categories import STEP_PREFIX, Kind
from analyzers.trace_model import TraceModel


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
    fallbacks: set[str] = field(default_factory=set)
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


def _try_import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _err(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


# ----------------------------------------------------------------------------- steps
def _fallback_steps(model: TraceModel) -> pd.DataFrame:
    rows = model.rows_named(STEP_PREFIX)
    rows = rows[~model.tracks.is_device[model.track_id[rows]]] if len(rows) else rows
    if not len(rows):
        return pd.DataFrame(columns=["step", "start_ns", "end_ns", "step_ms"])
    names = model.names[rows]
    step = [int(str(n)[len(STEP_PREFIX):]) if str(n)[len(STEP_PREFIX):].isdigit() else i
            for i, n in enumerate(names)]
    df = pd.DataFrame({"step": step, "start_ns": model.start_ns[rows], "end_ns": model.end_ns[rows],
                       "step_ms": model.dur_ns[rows] / 1e6})
    return df.drop_duplicates("step").reset_index(drop=True)


def _pick(df: pd.DataFrame, *names: str) -> str | None:
    cols = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n in cols:
            return cols[n]
    return None


def normalise_steps(raw: Any) -> pd.DataFrame | None:
    """Turn whatever step_table returned into columns step, start_ns, end_ns, step_ms."""
    df = raw
    if hasattr(raw, "number") and hasattr(raw, "start_ns") and hasattr(raw, "end_ns"):  # analyzers.steps.StepTable
        st = np.asarray(raw.start_ns, dtype=np.int64)
        en = np.asarray(raw.end_ns, dtype=np.int64)
        return pd.DataFrame({"step": np.asarray(raw.number), "start_ns": st, "end_ns": en, "step_ms": (en - st) / 1e6})
    if not isinstance(df, pd.DataFrame):
        for attr in ("df", "frame", "table", "steps"):
            cand = getattr(raw, attr, None)
            if isinstance(cand, pd.DataFrame):
                df = cand
                break
        else:
            try:
                df = pd.DataFrame(raw)
            except Exception:
                return None
    out = pd.DataFrame(index=df.index)
    c = _pick(df, "step", "step_num", "number", "index")
    out["step"] = df[c].values if c is not None else np.arange(len(df))
    s = _pick(df, "start_ns", "start")
    e = _pick(df, "end_ns", "end")
    d = _pick(df, "step_ms", "dur_ms", "duration_ms", "wall_ms", "time_ms")
    out["start_ns"] = df[s].values if s is not None else np.zeros(len(df), dtype=np.int64)
    if e is not None:
        out["end_ns"] = df[e].values
    elif _pick(df, "dur_ns") is not None:
        out["end_ns"] = out["start_ns"].values + df[_pick(df, "dur_ns")].values
    else:
        out["end_ns"] = out["start_ns"]
    if d is not None:
        out["step_ms"] = df[d].astype(float).values
    else:
        out["step_ms"] = (out["end_ns"] - out["start_ns"]) / 1e6
    return out.reset_index(drop=True)


def step_count(raw: Any, fallback: pd.DataFrame | None) -> int:
    for attr in ("count", "n_steps"):
        v = getattr(raw, attr, None)
        if isinstance(v, (int, np.integer)):
            return int(v)
    if isinstance(raw, pd.DataFrame):
        return len(raw)
    return 0 if fallback is None else len(fallback)


# ----------------------------------------------------------------------------- tables
def fallback_kernel_table(model: TraceModel) -> pd.DataFrame:
    rows = model.rows_of_kind(Kind.KERNEL)
    if not len(rows):
        return pd.DataFrame(columns=["name", "count", "total_ms", "mean_us", "max_us", "pct_gpu_time",
                                     "mean_occupancy_pct"])
    df = pd.DataFrame({"name": model.names[rows], "dur_us": model.dur_ns[rows] / 1e3,
                       "occ": model.occupancy_pct[rows].astype(float)})
    g = df.groupby("name", sort=False)
    out = pd.DataFrame({"count": g.size(), "total_ms": g["dur_us"].sum() / 1e3, "mean_us": g["dur_us"].mean(),
                        "max_us": g["dur_us"].max(), "mean_occupancy_pct": g["occ"].mean()})
    out["pct_gpu_time"] = 100.0 * out["total_ms"] / max(out["total_ms"].sum(), 1e-12)
    out = out.reset_index().sort_values("total_ms", ascending=False).reset_index(drop=True)
    return out[["name", "count", "total_ms", "pct_gpu_time", "mean_us", "max_us", "mean_occupancy_pct"]]


def _shape_text(args: dict[str, Any]) -> str:
    for key in ("Input Dims", "Input dims", "input_dims"):
        if key in args:
            return str(args[key])
    return ""


def fallback_op_table(model: TraceModel, by_shape: bool = False) -> pd.DataFrame:
    rows = model.rows_of_kind(Kind.CPU_OP)
    cols = ["name"] + (["input_shapes"] if by_shape else []) + ["calls", "total_ms", "self_ms", "mean_us", "max_us"]
    if not len(rows):
        return pd.DataFrame(columns=cols)
    dur = model.dur_ns[rows]
    # self time: duration minus direct CPU-op children on the same track (depth + 1)
    child_sum = np.zeros(len(rows), dtype=np.int64)
    track = model.track_id[rows]
    depth = model.depth[rows]
    stack: dict[int, list[int]] = {}
    for i in range(len(rows)):
        st = stack.setdefault(int(track[i]), [])
        start = model.start_ns[rows[i]]
        while st and model.end_ns[rows[st[-1]]] <= start:
            st.pop()
        if st and depth[st[-1]] < depth[i]:
            child_sum[st[-1]] += dur[i]
        st.append(i)
    data = {"name": model.names[rows], "dur_us": dur / 1e3, "self_us": np.maximum(dur - child_sum, 0) / 1e3}
    keys = ["name"]
    if by_shape:
        data["input_shapes"] = [_shape_text(a) for a in model.args_many(rows)]
        keys.append("input_shapes")
    df = pd.DataFrame(data)
    g = df.groupby(keys, sort=False)
    out = pd.DataFrame({"calls": g.size(), "total_ms": g["dur_us"].sum() / 1e3, "self_ms": g["self_us"].sum() / 1e3,
                        "mean_us": g["dur_us"].mean(), "max_us": g["dur_us"].max()})
    out = out.reset_index().sort_values("total_ms", ascending=False).reset_index(drop=True)
    return out[cols]


# ----------------------------------------------------------------------------- memory
def fallback_memory(model: TraceModel, top: int = 200) -> dict[str, Any]:
    """Allocated / reserved series per device from ``[memory]`` events, the peak and what was live there."""
    mem = model.memory
    out: dict[str, Any] = {"devices": [], "live_at_peak": pd.DataFrame()}
    if not len(mem):
        return out
    best: tuple[int, int, str] | None = None
    for dtype, did in sorted(set(zip(mem.device_type.tolist(), mem.device_id.tolist()))):
        sel = np.flatnonzero((mem.device_type == dtype) & (mem.device_id == did))
        label = f"GPU {did}" if dtype == 1 else ("CPU" if dtype == 0 else f"device type {dtype} #{did}")
        alloc = mem.total_allocated_bytes[sel].astype(np.float64)
        if (alloc < 0).all():
            alloc = np.cumsum(mem.bytes[sel]).astype(np.float64)
        reserved = mem.total_reserved_bytes[sel].astype(np.float64)
        reserved[reserved < 0] = np.nan
        peak_i = int(np.nanargmax(alloc))
        dev = {"label": label, "device_type": int(dtype), "device_id": int(did), "ts_ns": mem.ts_ns[sel],
               "allocated": alloc, "reserved": reserved, "peak_ts_ns": int(mem.ts_ns[sel][peak_i]),
               "peak_bytes": float(alloc[peak_i]), "rows": sel, "peak_index": int(sel[peak_i])}
        out["devices"].append(dev)
        if best is None or (dtype == 1, alloc[peak_i]) > (best[0] == 1, best[1]):
            best = (int(dtype), float(alloc[peak_i]), label)
    # live allocations at the peak of the most interesting device (a GPU when there is one)
    dev = next(d for d in out["devices"] if d["label"] == best[2])
    out["peak_device"] = dev["label"]
    live: dict[int, tuple[int, int]] = {}
    upto = dev["rows"][: np.searchsorted(dev["rows"], dev["peak_index"]) + 1]
    if len(np.unique(mem.addr[upto])) <= 1:  # addresses not recorded: cannot pair frees with allocations
        out["live_note"] = "allocation addresses not recorded: showing the largest allocations before the peak"
        for n, i in enumerate(upto):
            if mem.bytes[i] > 0:
                live[n] = (int(mem.bytes[i]), int(mem.ts_ns[i]))
    else:
        for i in upto:
            addr, nbytes = int(mem.addr[i]), int(mem.bytes[i])
            if nbytes > 0:
                live[addr] = (nbytes, int(mem.ts_ns[i]))
            else:
                live.pop(addr, None)
    items = sorted(live.items(), key=lambda kv: -kv[1][0])[:top]
    ops = model.rows_of_kind(Kind.CPU_OP)
    o_start, o_end, o_depth = model.start_ns[ops], model.end_ns[ops], model.depth[ops]
    recs = []
    for addr, (nbytes, ts) in items:
        hi = np.searchsorted(o_start, ts, side="right")
        lo = max(0, hi - 2000)
        cand = np.flatnonzero(o_end[lo:hi] >= ts) + lo
        op = model.name(int(ops[cand[np.argmax(o_depth[cand])]])) if len(cand) else ""
        recs.append({"addr": "?" if "live_note" in out else hex(addr), "size_mb": nbytes / 2**20, "allocated_at_ms": ts / 1e6, "op": op})
    out["live_at_peak"] = pd.DataFrame(recs, columns=["addr", "size_mb", "allocated_at_ms", "op"])
    if "live_note" in out:
        out["live_at_peak"] = out["live_at_peak"].drop(columns=["addr"])
    return out


# ----------------------------------------------------------------------------- the pipeline
def analyze(path: str, models: list[TraceModel], progress: ProgressFn | None = None,
            cancel: threading.Event | None = None, timeline: bool = True) -> Analysis:
    """Run every available analyzer on ``models``; never raises for a missing or failing piece."""
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
        except ModuleNotFoundError as exc:
            a.unavailable[name] = f"not available yet ({exc.name} missing)"
        except Exception as exc:  # an analyzer bug must not take the window down
            a.unavailable[name] = f"failed: {_err(exc)}"
            traceback.print_exc()
        return None

    steps_mod = _try_import("analyzers.steps")
    if steps_mod is not None and hasattr(steps_mod, "step_table"):
        a.steps_raw = piece("steps", 0.05, lambda: steps_mod.step_table(m))
        a.steps = normalise_steps(a.steps_raw) if a.steps_raw is not None else None
    if a.steps is None:
        a.steps = _fallback_steps(m)
        a.fallbacks.add("steps")

    bd = _try_import("analyzers.breakdown")
    if bd is None:
        a.unavailable["breakdown"] = "not available yet (analyzers.breakdown has not landed)"
    else:
        res = piece("breakdown", 0.15, lambda: bd.step_breakdown(m, a.steps_raw if a.steps_raw is not None else a.steps))
        if isinstance(res, pd.DataFrame):
            a.breakdown = res
            mb = getattr(bd, "mean_breakdown_ms", None)
            if callable(mb):
                val = piece("breakdown", 0.2, lambda: mb(res))
                if isinstance(val, pd.Series):
                    val = val.to_dict()
                a.mean_breakdown = dict(val) if isinstance(val, dict) else None
            if a.mean_breakdown is not None:
                a.mean_breakdown = {(k if str(k).endswith("_ms") else f"{k}_ms"): float(v) for k, v in a.mean_breakdown.items()}
                if "step_ms" in res.columns and len(res):
                    a.mean_breakdown["step_ms"] = float(res["step_ms"].mean())
            if a.mean_breakdown is None:
                num = res.select_dtypes("number")
                a.mean_breakdown = {str(c): float(num[c].mean()) for c in num.columns if str(c).endswith("_ms")}

    gm = _try_import("analyzers.gpu_metrics")
    if gm is None:
        a.unavailable["gpu"] = "not available yet (analyzers.gpu_metrics has not landed)"
    else:
        a.gpu = piece("gpu", 0.25, lambda: gm.gpu_metrics(m, a.steps_raw if a.steps_raw is not None else a.steps))

    a.ops = _table_piece(a, "ops", "analyzers.op_table", ("op_table",), lambda: fallback_op_table(m), piece, 0.35)
    a.ops_by_shape = piece("ops_by_shape", 0.45, lambda: _ops_by_shape(m))
    a.kernels = _table_piece(a, "kernels", "analyzers.kernel_table", ("kernel_table",),
                             lambda: fallback_kernel_table(m), piece, 0.5)

    mt = _try_import("analyzers.memory_timeline")
    if mt is not None and hasattr(mt, "memory_series") and hasattr(mt, "memory_peaks"):
        a.memory = piece("memory", 0.55, lambda: memory_from_analyzer(m, mt))
    if a.memory is None:
        a.memory = piece("memory", 0.55, lambda: fallback_memory(m))
        a.fallbacks.add("memory")

    rules = _try_import("analyzers.rules")
    if rules is None or not hasattr(rules, "run_rules"):
        a.unavailable["findings"] = "not available yet (analyzers.rules has not landed)"
    else:
        found = piece("findings", 0.65, lambda: rules.run_rules(models))
        a.findings = sorted(found or [], key=lambda f: -(getattr(f, "gain_ms", 0) or 0))

    if len(models) > 1:
        dist = _try_import("analyzers.distributed")
        if dist is None or not hasattr(dist, "distributed_summary"):
            a.unavailable["distributed"] = "not available yet (analyzers.distributed has not landed)"
        else:
            ordered = [m2 for _, _, m2 in sorted(((rank_of(m2, i), i, m2) for i, m2 in enumerate(models)),
                                                 key=lambda t: (t[0], t[1]))]
            a.distributed = piece("distributed", 0.7, lambda: dist.distributed_summary(ordered))

    rep = _try_import("analyzers.report")
    if rep is None or not hasattr(rep, "build_report"):
        a.unavailable["report"] = "not available yet (analyzers.report has not landed)"
    else:
        a.report = piece("report", 0.75, lambda: rep.build_report(models, path, a.findings))

    if timeline:
        tl = _try_import("profiler_gui.timeline")
        build = getattr(tl, "build_pyramids", None) if tl is not None else None
        if build is None:
            a.unavailable["timeline"] = "not available yet (profiler_gui.timeline has not landed)"
        else:
            a.timeline_data = piece("timeline", 0.85, lambda: build(m))
    check()
    report("done", 1.0)
    return a


def memory_from_analyzer(m: TraceModel, mt: Any) -> dict[str, Any]:
    """analyzers.memory_timeline (memory_series + memory_peaks) in the view's dict shape."""
    series = mt.memory_series(m)
    peaks = {(p.device_type, p.device_id): p for p in mt.memory_peaks(m, max_live=200)}
    out: dict[str, Any] = {"devices": [], "live_at_peak": pd.DataFrame()}
    best = None
    for s in series:
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
    if len(m.memory) and len(np.unique(m.memory.addr)) <= 1:  # addresses not recorded: the GUI's table says more
        fb = fallback_memory(m)
        out["peak_device"], out["live_at_peak"] = fb.get("peak_device"), fb["live_at_peak"]
        out["live_note"] = fb.get("live_note", "")
    elif best is not None:
        out["peak_device"] = best.device_label
        out["live_at_peak"] = pd.DataFrame(
            [{"addr": hex(int(x.addr)), "size_mb": x.bytes / 2**20, "allocated_at_ms": x.alloc_ns / 1e6, "op": x.op or ""}
             for x in best.live], columns=["addr", "size_mb", "allocated_at_ms", "op"])
        if best.live_count > len(best.live):
            out["live_note"] = f"{best.live_count:,} allocations live; the {len(best.live)} largest are listed."
    return out


def _ops_by_shape(m: TraceModel) -> pd.DataFrame:
    mod = _try_import("analyzers.op_table")
    fn = getattr(mod, "op_table", None) if mod is not None else None
    if fn is not None:
        for kw in ({"group_by": "name+shapes"}, {"group_by_shape": True}, {"by_shape": True}):
            try:
                res = fn(m, **kw)
                if isinstance(res, pd.DataFrame):
                    return res
            except TypeError:
                continue
    return fallback_op_table(m, by_shape=True)


def _table_piece(a: Analysis, name: str, module: str, funcs: tuple[str, ...], fallback: Callable[[], pd.DataFrame],
                 piece: Callable[..., Any], frac: float) -> pd.DataFrame | None:
    mod = _try_import(module)
    fn = None
    if mod is not None:
        fn = next((getattr(mod, f) for f in funcs if hasattr(mod, f)), None)
    if fn is not None:
        res = piece(name, frac, lambda: fn(a.model))
        if isinstance(res, pd.DataFrame):
            return res
    a.fallbacks.add(name)
    return piece(name, frac, fallback)


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
    cmp_mod = _try_import("analyzers.compare")
    if cmp_mod is not None and hasattr(cmp_mod, "compare"):
        try:
            try:
                out["analyzer"] = cmp_mod.compare(a.models, b.models, findings_a=a.findings, findings_b=b.findings)
            except TypeError:
                out["analyzer"] = cmp_mod.compare(a.models, b.models)
        except Exception as exc:
            out["unavailable"]["compare"] = f"analyzers.compare failed: {_err(exc)}"
            traceback.print_exc()
    else:
        out["unavailable"]["compare"] = "analyzers.compare has not landed; figures below come from the GUI"
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
    # what changed most: per name, total time per step
    tc = an.get("top_changes") if isinstance(an, dict) else None
    out["changes"] = pd.DataFrame(tc) if isinstance(tc, list) and tc else _top_changes(a, b)
    # findings resolved / new (by rule)
    ra = {getattr(f, "rule", str(f)): f for f in a.findings}
    rb = {getattr(f, "rule", str(f)): f for f in b.findings}
    out["resolved"] = [ra[k] for k in ra if k not in rb]
    out["new"] = [rb[k] for k in rb if k not in ra]
    if isinstance(an, dict):
        out["resolved_names"] = an.get("resolved")
        out["new_names"] = an.get("new")
        out["top_changes_analyzer"] = an.get("top_changes")
    return out


def _per_step(a: Analysis) -> float:
    return float(max(len(a.steps), 1)) if a.steps is not None else 1.0


def _name_totals(a: Analysis, kinds: tuple[Kind, ...]) -> pd.Series:
    m = a.model
    rows = m.rows_of_kind(*kinds)
    if a.steps is not None and len(a.steps):
        lo, hi = int(a.steps["start_ns"].min()), int(a.steps["end_ns"].max())
        if hi > lo:
            rows = rows[(m.start_ns[rows] >= lo) & (m.start_ns[rows] < hi)]
    if not len(rows):
        return pd.Series(dtype=float)
    s = pd.Series(m.dur_ns[rows] / 1e6).groupby(m.names[rows]).sum()
    return s / _per_step(a)


def _top_changes(a: Analysis, b: Analysis, top: int = 30) -> pd.DataFrame:
    frames = []
    for label, kinds in (("kernel", (Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET)), ("op", (Kind.CPU_OP, Kind.USER_ANNOTATION))):
        sa, sb = _name_totals(a, kinds), _name_totals(b, kinds)
        df = pd.concat([sa.rename("a_ms_per_step"), sb.rename("b_ms_per_step")], axis=1).fillna(0.0)
        if not len(df):
            continue
        df["delta_ms_per_step"] = df["b_ms_per_step"] - df["a_ms_per_step"]
        df.insert(0, "type", label)
        df.index.name = "name"
        frames.append(df.reset_index())
    if not frames:
        return pd.DataFrame(columns=["name", "type", "a_ms_per_step", "b_ms_per_step", "delta_ms_per_step"])
    df = pd.concat(frames, ignore_index=True)
    df = df[~df["name"].astype(str).str.startswith(STEP_PREFIX)]
    return df.reindex(df["delta_ms_per_step"].abs().sort_values(ascending=False).index).head(top).reset_index(drop=True)


# ----------------------------------------------------------------------------- report dict
def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.DataFrame):
        return _json_ready(value.to_dict("records"))
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return _json_ready(value.to_dict())
        except TypeError:
            pass
    return value


def report_dict(a: Analysis) -> dict[str, Any]:
    """The report to export: analyzers.report.build_report when available, else one built from the Analysis."""
    if isinstance(a.report, dict):
        return _json_ready(a.report)
    m = a.model
    out: dict[str, Any] = {
        "trace": {"path": a.path, "format": m.source.format, "ranks": len(a.models), **m.summary(),
                  "gpu_devices": m.gpu_devices or "none (CPU-only trace)", "warnings": m.warnings[:20]},
    }
    if m.run_info is not None:
        out["run"] = {"workload": m.run_info.get("workload"), "settings": m.settings,
                      "status": m.run_info.get("status"),
                      "timed_median_ms": (m.run_info.get("timed_steps") or {}).get("median_ms")}
    if a.steps is not None and len(a.steps):
        out["steps"] = {"count": len(a.steps), "median_ms": float(a.steps["step_ms"].median()),
                        "min_ms": float(a.steps["step_ms"].min()), "max_ms": float(a.steps["step_ms"].max())}
    if a.mean_breakdown:
        out["breakdown_mean_ms"] = {k: float(v) for k, v in a.mean_breakdown.items()}
    if a.gpu is not None:
        out["gpu_metrics"] = _json_ready(a.gpu if not isinstance(a.gpu, list) else [_json_ready(g) for g in a.gpu])
    out["findings"] = [_json_ready(f) for f in a.findings]
    if a.kernels is not None and len(a.kernels):
        out["top_kernels"] = _json_ready(a.kernels.head(15))
    if a.ops is not None and len(a.ops):
        out["top_ops"] = _json_ready(a.ops.head(15))
    if a.unavailable:
        out["not_available"] = dict(a.unavailable)
    return out
