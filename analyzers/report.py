"""The ``torchscope analyze`` report: one JSON-safe dict, and its text form.

``build_report(models, path, findings)`` gathers trace facts, steps, the step
time breakdown, per-GPU metrics, top ops and kernels, idle time, memory peaks,
distributed figures (several ranks) and the findings; ``format_text(report)``
renders it for a terminal.
"""
from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .breakdown import CATEGORIES, mean_breakdown_ms, step_breakdown
from .findings import json_safe
from .gpu_metrics import gpu_metrics
from .knobs import format_assignment
from .steps import step_table
from .trace_model import TraceModel

TOP_N = 10
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}
_LABELS = {"kernel": "Kernel", "memcpy": "Memcpy", "memset": "Memset", "communication": "Communication",
           "runtime": "Runtime", "dataloader": "DataLoader", "cpu_exec": "CPU Exec", "other": "Other",
           "device_other": "Device (unknown kind)", "device_wait": "Device wait"}


def _finding_dict(f: Any) -> dict[str, Any]:
    if hasattr(f, "to_dict"):
        return f.to_dict()
    if is_dataclass(f) and not isinstance(f, type):
        return asdict(f)
    if isinstance(f, dict):
        return dict(f)
    return {"title": str(f)}


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


def _guard(warnings: list[str], what: str, fn: Callable[[], Any], default: Any) -> Any:
    """Compute an optional section; a failure becomes a warning, not a crash of the whole report."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - odd traces must still produce a report
        warnings.append(f"{what} could not be computed: {type(exc).__name__}: {exc}")
        return default


def _steps_section(model: TraceModel) -> dict[str, Any]:
    st = step_table(model)
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
        "rank": model.rank,
    }


def _top_ops(model: TraceModel) -> list[dict[str, Any]]:
    from .op_table import op_table

    df = op_table(model)
    if not len(df):
        return []
    # self times, as the TensorBoard plugin's op table: nested ops are not counted twice
    col = "device_self_us" if model.has_gpu and df["device_self_us"].sum() > 0 else "host_self_us"
    df = df.sort_values(col, ascending=False).head(TOP_N)
    keep = ["name", "calls", "host_total_us", "host_self_us", "device_total_us", "device_self_us"]
    return df[keep].to_dict("records")


def _top_kernels(model: TraceModel) -> list[dict[str, Any]]:
    from .kernel_table import kernel_table

    df = kernel_table(model)
    if not len(df):
        return []
    keep = ["name", "calls", "total_us", "mean_us", "min_us", "max_us", "share_pct", "blocks_per_sm",
            "occupancy_pct", "tensor_cores"]
    return df.head(TOP_N)[[c for c in keep if c in df.columns]].to_dict("records")


def _idle(model: TraceModel) -> dict[str, Any]:
    from .idle_time import idle_time_summary

    return idle_time_summary(model)


def _launch(model: TraceModel) -> dict[str, Any]:
    from .launch_stats import launch_summary

    return launch_summary(model)


def _temporal(models: Sequence[TraceModel]) -> list[dict[str, Any]]:
    from .temporal_breakdown import temporal_breakdown

    return [temporal_breakdown(m).to_dict() for m in models if m.has_gpu]


def _memory(model: TraceModel) -> list[dict[str, Any]]:
    from .memory_timeline import memory_peaks

    return [p.to_dict(max_live=5) for p in memory_peaks(model)]


def _distributed(models: Sequence[TraceModel]) -> dict[str, Any]:
    from .distributed import distributed_summary

    return distributed_summary(list(models))


def build_report(models: list[TraceModel], path: str, findings: list | None = None) -> dict[str, Any]:
    """The JSON object of ``torchscope analyze --json`` (JSON-safe: no NaN)."""
    warnings: list[str] = []
    if not models:
        return json_safe({"source": {"path": str(path), "format": None, "events": 0, "ranks": 0},
                          "devices": [], "steps": {"count": 0}, "breakdown_ms": {c: 0.0 for c in CATEGORIES},
                          "gpus": [], "findings": [_finding_dict(f) for f in findings or []], "top_ops": [],
                          "top_kernels": [], "idle": {}, "memory": [], "warnings": ["no trace loaded"],
                          "notes": ["The trace holds no events."]})
    main = models[0]
    for m in models:
        warnings.extend(f"rank {m.rank}: {w}" if len(models) > 1 else w for w in m.warnings)
    notes: list[str] = []
    n_events = int(sum(m.raw_event_count for m in models))
    n_slices = int(sum(len(m) for m in models))
    if not n_slices:
        notes.append("The trace holds no timed events: nothing to analyze.")
    elif not any(m.has_gpu for m in models):
        notes.append("No GPU activity in this trace (CPU-only).")

    steps = _steps_section(main)
    if n_slices and not steps["from_profiler_steps"]:
        notes.append("No ProfilerStep#N ranges: the whole trace is treated as one step.")
    if steps["dropped"]:
        warnings.append(f"{steps['dropped']} trailing step(s) dropped (no GPU work, or incomplete)")
    df = step_breakdown(main)
    mean = mean_breakdown_ms(df)
    gpus = []
    for m in models:
        for g in gpu_metrics(m):
            d = g.to_dict()
            d["rank"] = m.rank
            gpus.append(d)

    summary = main.summary()
    report: dict[str, Any] = {
        "source": {
            "path": str(path), "format": main.source.format, "schema": main.source.schema,
            "events": n_events, "slices": n_slices, "ranks": len(models),
            "span_ms": summary["span_ms"], "vendor": main.vendor,
            "kernels": int(sum(m.summary()["kernels"] for m in models)),
            "workload": (main.run_info or {}).get("workload"),
        },
        "devices": [d for m in models for d in _devices(m)],
        "steps": steps,
        "breakdown_ms": mean,
        "breakdown_pct": {k: (100.0 * v / steps["mean_ms"] if steps["mean_ms"] else None) for k, v in mean.items()},
        "gpus": gpus,
        "findings": sorted((_finding_dict(f) for f in findings or []),
                           key=lambda d: -(d.get("gain_ms") or 0.0)),
        "top_ops": _guard(warnings, "top ops", lambda: _top_ops(main), []) if n_slices else [],
        "top_kernels": _guard(warnings, "top kernels", lambda: _top_kernels(main), []) if main.has_gpu else [],
        "idle": _guard(warnings, "idle time", lambda: _idle(main), {}) if main.has_gpu else {},
        "launch": _guard(warnings, "launch statistics", lambda: _launch(main), {}) if main.has_gpu else {},
        "temporal": _guard(warnings, "temporal breakdown", lambda: _temporal(models), []),
        "memory": [p for m in models for p in _guard(warnings, "memory", lambda m=m: _memory(m), [])],
        "notes": notes,
        "warnings": warnings,
    }
    if len(models) > 1:
        report["distributed"] = _guard(warnings, "distributed", lambda: _distributed(models), {})
    return json_safe(report)


# ----------------------------------------------------------------------------- text
def _fmt(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def _size(mib: float | None) -> str:
    if mib is None:
        return "n/a"
    n = mib * 2**20
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def _table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [("  " + line(headers)).rstrip(), "  " + "  ".join("-" * w for w in widths)] + [
        ("  " + line(r)).rstrip() for r in rows]


def _short(name: str, width: int = 60) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 3] + "..."


def format_text(report: dict[str, Any]) -> str:
    """A readable, aligned report for the terminal."""
    out: list[str] = []
    src = report.get("source", {})
    out.append(f"TorchScope analysis of {src.get('path')}")
    out.append(f"  format {src.get('format')} ({src.get('schema', '?')} schema), {src.get('events', 0):,} events, "
               f"{src.get('ranks', 0)} rank(s), span {_fmt(src.get('span_ms'))} ms, vendor {src.get('vendor', '?')}")
    for note in report.get("notes", []):
        out.append(f"  NOTE: {note}")
    devices = [d for d in report.get("devices", []) if d.get("used")] or report.get("devices", [])
    if devices:
        out.append("")
        out.append("Devices")
        rows = [[str(d.get("id")), str(d.get("name") or "?"), _fmt(d.get("sms")), _fmt(d.get("memory_gib"), 1),
                 str(d.get("compute_capability") or "?"), "yes" if d.get("used") else "no"] for d in devices]
        out += _table(["id", "name", "SMs", "memory GiB", "CC", "used"], rows, right={2, 3})

    steps = report.get("steps", {})
    out.append("")
    if steps.get("count"):
        origin = "ProfilerStep ranges" if steps.get("from_profiler_steps") else "whole trace as one step"
        out.append(f"Steps: {steps['count']} ({origin})  mean {_fmt(steps.get('mean_ms'))} ms  "
                   f"median {_fmt(steps.get('median_ms'))} ms  min {_fmt(steps.get('min_ms'))} ms  "
                   f"max {_fmt(steps.get('max_ms'))} ms")
        bd = report.get("breakdown_ms", {})
        total = steps.get("mean_ms") or 0.0
        out.append("")
        out.append("Step time breakdown (mean per step)")
        gpu_only = ("kernel", "memcpy", "memset", "runtime")  # always zero without a GPU: not shown then
        rows = [[_LABELS.get(k, k), _fmt(v, 3), _fmt(100.0 * v / total if total else None, 1, " %")]
                for k, v in bd.items() if (report.get("gpus") or k not in gpu_only or v)
                and (v or k not in ("device_other", "device_wait"))]
        rows.append(["Step", _fmt(total, 3), "100.0 %" if total else "n/a"])
        out += _table(["category", "ms", "% of step"], rows)
    else:
        out.append("Steps: none (no events)")

    gpus = report.get("gpus", [])
    out.append("")
    if gpus:
        out.append("GPUs (window: first step start to last step end)")
        rows = [[f"{g.get('device')}" + (f" (rank {g['rank']})" if src.get("ranks", 1) > 1 else ""),
                 _fmt(g.get("utilization_pct"), 1, " %"), _fmt(g.get("sm_efficiency_pct"), 1, " %"),
                 _fmt(g.get("achieved_occupancy_pct"), 1, " %"),
                 _fmt(g.get("tensor_core_pct"), 1, " %") + f" ({g.get('tensor_core_signal')})",
                 _fmt(g.get("tc_eligible_pct"), 1, " %")] for g in gpus]
        out += _table(["GPU", "utilization", "est. SM eff.", "est. occupancy", "Tensor Cores", "TC-eligible"], rows)
    elif any(d.get("used") for d in report.get("devices", [])):
        out.append("Devices: activity recognised, but no kernels: no utilization figures (see the warnings).")
    else:
        out.append("GPUs: no GPU activity in this trace (CPU-only)." if src.get("slices") else "GPUs: none")

    ops = report.get("top_ops", [])
    if ops:
        out.append("")
        out.append(f"Top {len(ops)} operators")
        header = ["op", "calls", "host total ms", "host self ms"]
        keys = ["host_total_us", "host_self_us"]
        if report.get("gpus"):  # device columns only mean something when a GPU ran
            header += ["device total ms", "device self ms"]
            keys += ["device_total_us", "device_self_us"]
        rows = [[_short(o["name"]), str(o["calls"])] + [_fmt(o[k] / 1e3, 3) for k in keys] for o in ops]
        out += _table(header, rows)
    kernels = report.get("top_kernels", [])
    if kernels:
        out.append("")
        out.append(f"Top {len(kernels)} kernels")
        rows = [[_short(k["name"]), str(k["calls"]), _fmt(k["total_us"] / 1e3, 3), _fmt(k["mean_us"], 1),
                 _fmt(k.get("share_pct"), 1, " %"), _fmt(k.get("occupancy_pct"), 0, " %"),
                 "yes" if k.get("tensor_cores") else "no"] for k in kernels]
        out += _table(["kernel", "calls", "total ms", "mean us", "share", "occupancy", "TC"], rows)

    idle = report.get("idle") or {}
    if idle.get("idle_ms") is not None:
        out.append("")
        n_streams = len(idle.get("streams") or [])
        out.append(f"GPU idle gaps between ops, summed over {n_streams} stream(s): {_fmt(idle.get('idle_ms'), 3)} ms"
                   f"  (host wait "
                   f"{_fmt(idle.get('host_wait_pct'), 1, ' %')}, kernel wait {_fmt(idle.get('kernel_wait_pct'), 1, ' %')}"
                   f", other {_fmt(idle.get('other_pct'), 1, ' %')})")
    launch = report.get("launch") or {}
    if launch.get("kernels"):
        out.append(f"Kernel launches: {launch['kernels']:,}; {launch['short_kernels']:,} shorter on the GPU than their "
                   f"launch call ({_fmt(launch.get('short_kernels_pct'), 1, ' %')}), {launch['long_delays']:,} "
                   f"launch delays over 100 us, {launch['runtime_outliers']:,} launch calls over 50 us")
    for mem in report.get("memory", []):
        out.append("")
        out.append(f"Memory peak on {mem.get('device_label')}: allocated {_fmt(mem.get('peak_allocated_mib'), 1, ' MiB')}"
                   f" at {_fmt(mem.get('peak_time_ms'), 3, ' ms')}, reserved {_fmt(mem.get('peak_reserved_mib'), 1, ' MiB')}")
        live = mem.get("live") or []
        if live:
            top = live[0]
            what = ("made inside the trace live at the peak" if mem.get("addresses_known", True)
                    else "made up to the peak (addresses not recorded, frees cannot be paired)")
            out.append(f"  {mem.get('live_count')} allocation(s) {what}; largest "
                       f"{_size(top.get('mib'))} allocated at {_fmt(top.get('alloc_ms'), 3, ' ms')}"
                       + (f" in {top['op']}" if top.get("op") else ""))
    dist = report.get("distributed")
    if dist:
        out.append("")
        out.append(f"Distributed: {dist.get('ranks')} ranks, slowest rank {dist.get('slowest_rank')}")
        rows = [[str(r.get("rank")), _fmt(r.get("step_mean_ms"), 3), _fmt(r.get("computation_ms"), 3),
                 _fmt(r.get("communication_ms"), 3), _fmt(r.get("overlap_pct"), 1, " %")]
                for r in dist.get("per_rank", [])]
        out += _table(["rank", "step ms", "compute ms", "comm ms", "comm overlapped"], rows)

    findings = report.get("findings", [])
    out.append("")
    if findings:
        out.append(f"Findings ({len(findings)}, by estimated gain)")
        for i, f in enumerate(findings, 1):
            gain = f.get("gain_ms")
            pct = f.get("gain_pct")
            out.append(f"  {i}. [{(f.get('severity') or '?').upper()}] {f.get('title', '')}"
                       f"  (gain ~{_fmt(gain, 2)} ms/step" + (f", {_fmt(pct, 1)} %" if pct else "") + ")"
                       + (f"  [{f['rule']}]" if f.get("rule") else ""))
            if f.get("summary"):
                out.append(f"     evidence: {f['summary']}")
            if f.get("fix"):
                knob = f" (knob {f['knob']}={f.get('knob_value')})" if f.get("knob") else ""
                out.append(f"     fix: {f['fix']}{knob}")
        workload = report["source"].get("workload")
        fixable = [f for f in findings if f.get("knob")]
        if workload and fixable:
            out.append("")
            out.append(f"Measure the top fix (A/B, interleaved, 95 % CI): torchscope ab {workload} "
                       f"--fix {format_assignment(fixable[0]['knob'], fixable[0].get('knob_value'))}")
    else:
        out.append("Findings: none")
    warns = report.get("warnings", [])
    if warns:
        out.append("")
        out.append("Warnings")
        out += [f"  - {w}" for w in warns]
    return "\n".join(out) + "\n"
