"""The ``torchscope analyze`` report: one JSON-safe dict built from an analysis session.

``build_report(session, rank)`` gathers trace facts and, for the detailed
rank (``rank``, or the first one), steps, the step time breakdown, top ops and
kernels, idle time and launch statistics; per-device figures (GPUs, memory,
temporal breakdown) for every rank shown; the findings; a per-rank summary
table and, with several ranks, the distributed figures.  ``ranks`` holds each
shown rank's own sections.  An analysis that fails is named under ``errors``
(and in ``warnings``); the rest of the report stands.  Its text form: ``report_text.format_text``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .breakdown import CATEGORIES
from .errors import AnalysisError
from .findings import json_safe
from .report_user_code import modules_section
from .trace_model import TraceModel

if TYPE_CHECKING:
    from .rank_analysis import RankAnalysis
    from .session import AnalysisSession

TOP_N = 10
MEMORY_LIVE_IN_REPORT = 5


class _Sections:
    """Collects a rank's sections; a failed analysis becomes an entry in ``errors``, never a crash."""

    def __init__(self, ra: RankAnalysis, errors: dict[str, str]) -> None:
        self.ra = ra
        self.errors = errors

    def get(self, name: str, default: Any) -> Any:
        """The rank's analysis ``name``, or ``default`` with the failure recorded."""
        value, err = self.ra.try_get(name)
        if err is not None:
            self.errors[f"rank {self.ra.rank}: {name}"] = err
            return default
        return value

    def call(self, what: str, fn: Callable[[], Any], default: Any) -> Any:
        """``fn()``, or ``default`` with the failure recorded under ``what``."""
        try:
            return fn()
        except AnalysisError as exc:  # an analysis it needs failed: named by that analysis
            self.errors[f"rank {self.ra.rank}: {exc.analysis}"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded by name; the report still stands
            self.errors[f"rank {self.ra.rank}: {what}"] = str(AnalysisError(what, exc))
        return default


def _devices(model: TraceModel) -> list[dict[str, Any]]:
    used = set(model.gpu_devices)
    out = []
    for p in model.device_properties:
        dev = p.get("id")
        mem = p.get("totalGlobalMem")
        major, minor = p.get("computeMajor"), p.get("computeMinor")
        out.append({
            "id": dev, "name": p.get("name"), "sms": p.get("numSms"),
            "memory_gib": round(mem / 2**30, 2) if isinstance(mem, (int, float)) else None,
            "compute_capability": f"{major}.{minor}" if major is not None and minor is not None else None,
            "used": dev in used, "rank": model.rank,
        })
    known = {p.get("id") for p in model.device_properties}
    for dev in sorted(used - known):
        out.append({"id": dev, "name": None, "sms": None, "memory_gib": None, "compute_capability": None,
                    "used": True, "rank": model.rank})
    return out


def _steps_section(ra: RankAnalysis) -> dict[str, Any]:
    st = ra.steps
    dur_ms = st.dur_ns / 1e6
    return {
        "count": st.count,
        "mean_ms": float(dur_ms.mean()) if st.count else None,
        "median_ms": float(np.median(dur_ms)) if st.count else None,
        "min_ms": float(dur_ms.min()) if st.count else None,
        "max_ms": float(dur_ms.max()) if st.count else None,
        "from_profiler_steps": st.from_profiler_steps,
        "numbers": st.number.tolist(),
        "dropped": st.dropped,
        "rank": ra.rank,
    }


def _top_ops(ra: RankAnalysis) -> list[dict[str, Any]]:
    df = ra.op_table("name")
    if not len(df):
        return []
    # self times, as the TensorBoard plugin's op table: nested ops are not counted twice
    col = "device_self_us" if ra.model.has_gpu and df["device_self_us"].sum() > 0 else "host_self_us"
    df = df.sort_values(col, ascending=False).head(TOP_N)
    keep = ["name", "calls", "host_total_us", "host_self_us", "device_total_us", "device_self_us", "gflop", "tflops"]
    return df[[c for c in keep if c in df.columns]].to_dict("records")


def _top_kernels(ra: RankAnalysis) -> list[dict[str, Any]]:
    df = ra.kernel_table
    if not len(df):
        return []
    keep = ["name", "calls", "total_us", "mean_us", "min_us", "max_us", "share_pct", "blocks_per_sm",
            "occupancy_pct", "tensor_cores"]
    return df.head(TOP_N)[[c for c in keep if c in df.columns]].to_dict("records")


def rank_section(ra: RankAnalysis, errors: dict[str, str]) -> dict[str, Any]:
    """One rank's own figures: steps, breakdown, GPUs, top ops/kernels, idle, launches, memory, findings."""
    sec = _Sections(ra, errors)
    m = ra.model
    has_slices, has_gpu = len(m) > 0, m.has_gpu
    steps = _steps_section(ra)
    mean = sec.get("mean_breakdown_ms", {c: 0.0 for c in CATEGORIES})
    gpus = [{**g.to_dict(), "rank": ra.rank} for g in sec.get("gpu_metrics", [])]
    temporal = sec.get("temporal", None) if has_gpu else None
    return {
        "rank": ra.rank,
        "steps": steps,
        "breakdown_ms": mean,
        "breakdown_pct": {k: (100.0 * v / steps["mean_ms"] if steps["mean_ms"] else None) for k, v in mean.items()},
        "gpus": gpus,
        "top_ops": sec.call("top ops", lambda: _top_ops(ra), []) if has_slices else [],
        "top_kernels": sec.call("top kernels", lambda: _top_kernels(ra), []) if has_gpu else [],
        "idle": sec.get("idle_summary", {}) if has_gpu else {},
        "launch": sec.get("launch_summary", {}) if has_gpu else {},
        "hta": sec.get("hta_figures", {}) if has_gpu else {},
        "critical_path": sec.get("critical_path_summary", {}) if has_gpu else {},
        "temporal": [temporal.to_dict()] if temporal is not None else [],
        "memory": [p.to_dict(max_live=MEMORY_LIVE_IN_REPORT) for p in sec.get("memory_peaks", [])],
        "devices": _devices(m),
        "findings": [f.to_dict() for f in sec.get("findings", [])],
        "measurement_quality": sec.get("measurement_quality", {}),
        "modules": sec.call("modules", lambda: modules_section(ra.module_tree), {}) if has_slices else {},
        "throughput": sec.get("throughput", {}) if has_slices else {},
        "compiled": sec.call("compiled regions", lambda: ra.compiled_regions.to_dict(), {}) if has_slices else {},
    }


def rank_summary_row(ra: RankAnalysis) -> dict[str, Any]:
    """One line per rank: steps, mean step, largest breakdown category, GPU utilization, findings."""
    try:
        return _summary_row(ra)
    except AnalysisError as exc:
        return {"rank": ra.rank, "error": str(exc)}


def _summary_row(ra: RankAnalysis) -> dict[str, Any]:
    st = ra.steps
    mean_ms = float(st.dur_ns.mean() / 1e6) if st.count else None
    util = [g.utilization_pct for g in ra.gpu_metrics if g.utilization_pct is not None] if ra.model.has_gpu else []
    bd = ra.mean_breakdown_ms
    top = max(bd, key=lambda k: bd[k]) if mean_ms else None
    return {"rank": ra.rank, "steps": st.count, "step_mean_ms": mean_ms,
            "gpu_utilization_pct": float(np.mean(util)) if util else None,
            "largest_category": top, "largest_category_pct": 100.0 * bd[top] / mean_ms if top and mean_ms else None,
            "findings": len(ra.findings), "top_finding": ra.findings[0].rule if ra.findings else None}


def _source(session: AnalysisSession) -> dict[str, Any]:
    models = session.models
    main = models[0]
    return {
        "path": session.path, "format": main.source.format, "schema": main.source.schema,
        "events": int(sum(m.raw_event_count for m in models)), "slices": int(sum(len(m) for m in models)),
        "ranks": len(models), "span_ms": main.summary()["span_ms"], "vendor": main.vendor,
        "kernels": int(sum(m.summary()["kernels"] for m in models)),
        "workload": (main.run_info or {}).get("workload"),
    }


def _empty_report(path: str) -> dict[str, Any]:
    return json_safe({"source": {"path": path, "format": None, "events": 0, "ranks": 0}, "devices": [],
                      "steps": {"count": 0}, "breakdown_ms": {c: 0.0 for c in CATEGORIES}, "gpus": [],
                      "findings": [], "top_ops": [], "top_kernels": [], "idle": {}, "memory": [], "ranks": [],
                      "rank_summary": [], "errors": {}, "warnings": ["no trace loaded"],
                      "notes": ["The trace holds no events."]})


def _notes(source: dict[str, Any], session: AnalysisSession, steps: dict[str, Any]) -> list[str]:
    notes = []
    if not source["slices"]:
        notes.append("The trace holds no timed events: nothing to analyze.")
    elif not any(m.has_gpu for m in session.models):
        notes.append("No GPU activity in this trace (CPU-only).")
    if source["slices"] and not steps["from_profiler_steps"]:
        notes.append("No ProfilerStep#N ranges: the whole trace is treated as one step.")
    return notes


def build_report(session: AnalysisSession, rank: int | None = None) -> dict[str, Any]:
    """The JSON object of ``torchscope analyze --json`` for ``rank`` (None: all ranks, the first in detail)."""
    if not session.ranks:
        return _empty_report(session.path)
    detail = session.rank(rank)  # ValueError names the ranks there are
    shown = list(session) if rank is None else [detail]
    errors: dict[str, str] = {}
    sections = {ra.rank: rank_section(ra, errors) for ra in shown}
    main = sections[detail.rank]
    multi = session.is_multi_rank
    warnings = [f"rank {m.rank}: {w}" if multi else w for m in (ra.model for ra in shown) for w in m.warnings]
    if main["steps"]["dropped"]:
        warnings.append(f"{main['steps']['dropped']} trailing step(s) dropped (no GPU work, or incomplete)")
    warnings += [f"rule {rid} failed on rank {r}: {msg}" for rid, r, msg in session.rule_errors()
                 if r in sections]
    findings = session.findings() if rank is None else detail.findings
    source = _source(session)
    report: dict[str, Any] = {
        "source": source, "rank": detail.rank,
        **{k: main[k] for k in ("steps", "breakdown_ms", "breakdown_pct", "top_ops", "top_kernels", "idle",
                                "launch", "hta", "critical_path", "measurement_quality", "modules", "throughput",
                                "compiled")},
        "devices": [d for s in sections.values() for d in s["devices"]],
        "gpus": [g for s in sections.values() for g in s["gpus"]],
        "temporal": [t for s in sections.values() for t in s["temporal"]],
        "memory": [p for s in sections.values() for p in s["memory"]],
        "findings": [f.to_dict() for f in findings],
        "rank_summary": [rank_summary_row(ra) for ra in session],
        "ranks": list(sections.values()),
        "notes": _notes(source, session, main["steps"]),
        "errors": errors,
    }
    if multi:
        try:
            report["distributed"] = session.distributed
        except Exception as exc:  # noqa: BLE001 - named under errors
            errors["distributed"] = str(exc)
    report["warnings"] = warnings + [f"{k}: {v}" for k, v in errors.items()]
    return json_safe(report)
