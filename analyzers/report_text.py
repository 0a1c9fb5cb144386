"""The ``torchscope analyze`` report as text: ``format_text(report)`` renders :func:`analyzers.report.build_report`."""
from __future__ import annotations

from typing import Any

from .knobs import format_assignment
from .report_user_code import format_user_code

_LABELS = {"kernel": "Kernel", "memcpy": "Memcpy", "memset": "Memset", "communication": "Communication",
           "runtime": "Runtime", "dataloader": "DataLoader", "cpu_exec": "CPU Exec", "other": "Other",
           "device_other": "Device (unknown kind)", "device_wait": "Device wait"}


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


def _header(report: dict[str, Any]) -> list[str]:
    """Title, source facts, notes and the device table."""
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
    return out


def _rank_summary(report: dict[str, Any]) -> list[str]:
    """With several ranks: one line per rank, then which rank the detail below shows."""
    rows_in = report.get("rank_summary") or []
    if len(rows_in) < 2:
        return []
    rows = [[str(r.get("rank")), str(r.get("steps", "?")), _fmt(r.get("step_mean_ms"), 3),
             _fmt(r.get("gpu_utilization_pct"), 1, " %"),
             f"{_LABELS.get(r.get('largest_category'), '-')} {_fmt(r.get('largest_category_pct'), 1, ' %')}"
             if r.get("largest_category") else "-",
             str(r.get("findings", 0)) + (f" (top {r['top_finding']})" if r.get("top_finding") else "")]
            for r in rows_in]
    out = ["", "Ranks"]
    out += _table(["rank", "steps", "step ms", "GPU util", "largest category", "findings"], rows, right={1, 2, 3})
    out += ["", f"Rank {report.get('rank')} in detail (torchscope analyze PATH --rank N for another)"]
    return out


def _quality(report: dict[str, Any]) -> list[str]:
    """The measurement-quality verdict when the profile is not clean."""
    q = report.get("measurement_quality") or {}
    if not q or q.get("status") in (None, "good"):
        return []
    return ["", f"Measurement quality: {q['status'].upper()} - " + "; ".join(q.get("reasons") or []),
            "  findings rest on per-step medians; re-profile on a quiet machine before trusting small gains"]


def _steps(report: dict[str, Any]) -> list[str]:
    """Step statistics and the mean step breakdown."""
    out: list[str] = []
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
        gpu_only = ("kernel", "memcpy", "memset", "runtime", "communication")  # zero without a GPU: not shown then
        rows = [[_LABELS.get(k, k), _fmt(v, 3), _fmt(100.0 * v / total if total else None, 1, " %")]
                for k, v in bd.items() if (report.get("gpus") or k not in gpu_only or v)
                and (v or k not in ("device_other", "device_wait"))]
        rows.append(["Step", _fmt(total, 3), "100.0 %" if total else "n/a"])
        out += _table(["category", "ms", "% of step"], rows)
    else:
        out.append("Steps: none (no events)")
    return out


def _gpus(report: dict[str, Any]) -> list[str]:
    """Per-GPU utilization, SM efficiency, occupancy and Tensor Core shares."""
    out: list[str] = []
    src = report.get("source", {})
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
    return out


def _ops_kernels(report: dict[str, Any]) -> list[str]:
    """The top operators and kernels."""
    out: list[str] = []
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
        if any(o.get("gflop") for o in ops):  # FLOPs of matmuls / convolutions / attention
            header += ["GFLOP", "TFLOP/s"]
            rows = [r + [_fmt(o.get("gflop"), 3), _fmt(o.get("tflops"), 3)] for r, o in zip(rows, ops)]
        out += _table(header, rows)
    kernels = report.get("top_kernels", [])
    if kernels:
        out.append("")
        out.append(f"Top {len(kernels)} kernels")
        rows = [[_short(k["name"]), str(k["calls"]), _fmt(k["total_us"] / 1e3, 3), _fmt(k["mean_us"], 1),
                 _fmt(k.get("share_pct"), 1, " %"), _fmt(k.get("occupancy_pct"), 0, " %"),
                 "yes" if k.get("tensor_cores") else "no"] for k in kernels]
        out += _table(["kernel", "calls", "total ms", "mean us", "share", "occupancy", "TC"], rows)
    return out


def _idle_launch(report: dict[str, Any]) -> list[str]:
    """GPU idle gaps and kernel launch statistics."""
    out: list[str] = []
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
    return out


def _hta(report: dict[str, Any]) -> list[str]:
    """HTA 0.5's own figures on the same trace (its event selection and microsecond clock)."""
    hta = report.get("hta") or {}
    t, idle, launch = hta.get("temporal") or {}, hta.get("idle") or {}, hta.get("launch") or {}
    if not t.get("window_ms"):
        return []
    out = ["", "As HTA 0.5 computes them (docs/HTA_PARITY.md): temporal idle / compute / non-compute "
           f"{_fmt(t.get('idle_pct'))} / {_fmt(t.get('compute_pct'))} / {_fmt(t.get('non_compute_pct'))} %"]
    if idle:
        out.append(f"  idle host wait {_fmt(idle.get('host_wait_ms'))} ms, kernel wait {_fmt(idle.get('kernel_wait_ms'))} ms"
                   f", other {_fmt(idle.get('other_ms'))} ms")
    if launch.get("kernels"):
        out.append(f"  launches {launch['kernels']:,}, shorter than the call {launch['short_kernels']:,}, delays over "
                   f"100 us {launch['long_delays']:,}, calls over 50 us {launch['runtime_outliers']:,}")
    if hta.get("overlap_pct") is not None:
        out.append(f"  comm/compute overlap {_fmt(hta['overlap_pct'])} %")
    return out


def _critical_path(report: dict[str, Any]) -> list[str]:
    """The critical path of one step or annotation instance (HTA's model)."""
    cp = report.get("critical_path") or {}
    if not cp.get("length_ms"):
        return ["", f"Critical path: {cp['reason']}"] if cp.get("reason") else []
    return [""] + format_critical_path(cp, top=5)


def format_critical_path(cp: dict[str, Any], top: int = 10) -> list[str]:
    """Lines for a critical path dict (``CriticalPath.to_dict``): length, shares, top ops."""
    shares = ", ".join(f"{k} {_fmt(v, 1, ' %')}" for k, v in (cp.get("bound_by_pct") or {}).items())
    out = [f"Critical path of {_short(str(cp.get('window')), 60)} (instance {cp.get('instance')}): "
           f"{_fmt(cp['length_ms'], 3)} ms", f"  bound by: {shares}"]
    for op in (cp.get("top_ops") or [])[:top]:
        out.append(f"  {_fmt(op['ms'], 3):>10} ms  {op['bound_by']:<18} {_short(op['name'])}")
    for d in (cp.get("gpu_idle_delays") or [])[:3]:
        out.append(f"  GPU idle {_fmt(d['gap_ms'], 3)} ms before {_short(d['next_gpu_op'], 40)}: delayed by "
                   f"{_short(d['delayed_by'], 40)} ({_fmt(d['delayed_by_ms'], 3)} ms on the path)")
    out += [f"  note: {w}" for w in cp.get("warnings") or []]
    return out


def _memory(report: dict[str, Any]) -> list[str]:
    """Memory peaks per device."""
    out: list[str] = []
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
    return out


def _distributed(report: dict[str, Any]) -> list[str]:
    """Per-rank summary and the distributed figures."""
    out: list[str] = []
    dist = report.get("distributed")
    if dist:
        out.append("")
        out.append(f"Distributed: {dist.get('ranks')} ranks, slowest rank {dist.get('slowest_rank')}")
        rows = [[str(r.get("rank")), _fmt(r.get("step_mean_ms"), 3), _fmt(r.get("computation_ms"), 3),
                 _fmt(r.get("communication_ms"), 3), _fmt(r.get("overlap_pct"), 1, " %")]
                for r in dist.get("per_rank", [])]
        out += _table(["rank", "step ms", "compute ms", "comm ms", "comm overlapped"], rows)
        out += _cross_rank(dist)
    return out


MAX_STEP_COLUMNS = 8


def _cross_rank(dist: dict[str, Any]) -> list[str]:
    """Rank x step times, waits at the collectives, overlap and the straggler."""
    out: list[str] = []
    matrix = dist.get("step_matrix") or {}
    if matrix.get("steps"):
        out.append("")
        shown = matrix["steps"][:MAX_STEP_COLUMNS]
        more = len(matrix["steps"]) - len(shown)
        out.append("Step time per rank (ms)" + (f"; first {len(shown)} of {len(matrix['steps'])} steps" if more else ""))
        out += _table(["rank", *(f"step {s}" for s in shown)],
                      [[str(r), *(_fmt(v, 2) for v in row[:len(shown)])] for r, row in zip(matrix["ranks"], matrix["ms"])])
        spread = dist.get("step_spread") or {}
        if spread.get("max_range_ms") is not None:
            out.append(f"  largest spread across ranks: {_fmt(spread['max_range_ms'], 2)} ms "
                       f"({_fmt(spread.get('max_range_pct'), 1)} % of the step)")
    coll = dist.get("collectives") or {}
    overlap = {o["rank"]: o for o in dist.get("overlap") or []}
    if coll.get("per_rank"):
        out.append("")
        out.append(f"At the collectives ({dist.get('collective_source')}, {coll.get('matched')} matched, per step)")
        rows = [[str(w["rank"]), _fmt(w["wait_ms"], 2), _fmt(w["transfer_ms"], 2), _fmt(w["late_ms"], 2),
                 f"{w['times_last']}/{w['calls']}", _fmt((overlap.get(w["rank"]) or {}).get("overlap_pct"), 1, " %")]
                for w in coll["per_rank"]]
        out += _table(["rank", "wait ms", "transfer ms", "late ms", "last", "comm overlapped"], rows)
    strag = dist.get("straggler")
    if strag:
        cause = strag.get("cause") or {}
        out.append(f"  straggler: rank {strag['rank']}, +{_fmt(strag['extra_ms_per_step'], 2)} ms/step"
                   + (f", cause: {cause['what']} (+{_fmt(cause['excess_ms'], 2)} ms/step)" if cause.get("category")
                      else ""))
    return out


def _findings(report: dict[str, Any]) -> list[str]:
    """The findings by estimated gain, and the A/B command for the top fix."""
    out: list[str] = []
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
    return out


def _warnings(report: dict[str, Any]) -> list[str]:
    """Warnings (loader, dropped steps, failed analyses)."""
    out: list[str] = []
    warns = report.get("warnings", [])
    if warns:
        out.append("")
        out.append("Warnings")
        out += [f"  - {w}" for w in warns]
    return out


_SECTIONS = (_header, _rank_summary, _quality, _steps, _gpus, _ops_kernels, format_user_code, _idle_launch, _hta,
             _critical_path, _memory, _distributed, _findings, _warnings)


def format_text(report: dict[str, Any]) -> str:
    """A readable, aligned report for the terminal."""
    out: list[str] = []
    for section in _SECTIONS:
        out += section(report)
    return "\n".join(out) + "\n"
