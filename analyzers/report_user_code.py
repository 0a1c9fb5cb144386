"""Report sections that map time back to user code: the module tree and FLOP throughput (JSON and text).

``modules_section`` / ``throughput_section`` build the ``modules`` and ``throughput``
keys of :func:`analyzers.report.build_report`; ``format_user_code`` renders them
for :func:`analyzers.report_text.format_text`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .module_tree import ModuleTree

TOP_MODULES = 12


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def modules_section(tree: ModuleTree) -> dict[str, Any]:
    """Per-step figures of every module path (parents before children) and the top modules by total time."""
    t = tree.table
    if tree.empty:
        note = ("no nn.Module calls recorded: profile with with_stack=True (the collector's default)"
                if not tree.has_stacks else "Python stacks recorded, but no nn.Module calls inside the steps")
        return {"available": False, "note": note, "steps": tree.steps, "tree": [], "top": []}
    rows = []
    for i in range(len(t)):
        r = t.iloc[i]
        rows.append({
            "path": r["path"], "name": r["name"], "depth": int(r["depth"]), "parent": int(r["parent"]),
            "calls_per_step": float(r["calls"]) / tree.steps,
            "host_total_ms": float(r["host_total_ns"]) / tree.steps / 1e6,
            "host_self_ms": float(r["host_self_ns"]) / tree.steps / 1e6,
            "device_total_ms": float(r["device_total_ns"]) / tree.steps / 1e6,
            "device_self_ms": float(r["device_self_ns"]) / tree.steps / 1e6,
            "gflop": float(r["flop_total"]) / tree.steps / 1e9,
            "bwd_host_total_ms": float(r["bwd_host_total_ns"]) / tree.steps / 1e6,
            "bwd_device_total_ms": float(r["bwd_device_total_ns"]) / tree.steps / 1e6,
            "bwd_gflop": float(r["bwd_flop_total"]) / tree.steps / 1e9,
            "tflops": float(r["tflops"]) if np.isfinite(r["tflops"]) else None,
        })
    key = "device_total_ms" if t["device_total_ns"].sum() > 0 else "host_total_ms"
    top = sorted((r for r in rows if r["depth"] > 0), key=lambda r: -r[key])[:TOP_MODULES]
    return {"available": True, "steps": tree.steps, "step_ms": tree.step_ns / 1e6,
            "top_level_cover_pct": tree.roots_cover_pct(),
            "top_level_with_backward_cover_pct": tree.roots_cover_pct(backward=True),
            "has_backward": bool(t["bwd_host_total_ns"].sum() > 0), "sorted_by": key, "tree": rows, "top": top}


def format_user_code(report: dict[str, Any]) -> list[str]:
    """Text lines: FLOP throughput and the top modules."""
    out: list[str] = []
    tp = report.get("throughput") or {}
    if tp.get("counted_ops"):
        out += ["", "FLOPs (matmuls, convolutions, attention)"]
        line = (f"  {_fmt(tp.get('gflop_per_step'), 3)} GFLOP per step ({tp.get('dtype')}), "
                f"{_fmt(tp.get('achieved_tflops'), 3)} TFLOP/s achieved")
        if tp.get("mfu_pct") is not None:
            line += f", MFU {_fmt(tp['mfu_pct'], 1)} % of {tp.get('gpu')} peak {_fmt(tp.get('peak_tflops'), 1)} TFLOP/s"
        out.append(line)
    if tp.get("note"):
        out.append(f"  NOTE: {tp['note']}")
    out += _compiled(report.get("compiled") or {})
    mods = report.get("modules") or {}
    if mods.get("available"):
        bwd = bool(mods.get("has_backward"))
        cover = f"top-level modules cover {_fmt(mods.get('top_level_cover_pct'), 1)} % of the step" + (
            f", {_fmt(mods.get('top_level_with_backward_cover_pct'), 1)} % with their backward" if bwd else "")
        out += ["", f"Top modules (per step; {cover})"]
        gpu = bool(report.get("gpus"))
        header = ["module", "calls", "host total ms", "host self ms"] + (["device total ms"] if gpu else []) \
            + ["GFLOP", "TFLOP/s"] + (["bwd host ms"] + (["bwd device ms"] if gpu else []) if bwd else [])
        rows = [[_short_path(m["path"]), _fmt(m["calls_per_step"], 0), _fmt(m["host_total_ms"], 3),
                 _fmt(m["host_self_ms"], 3)] + ([_fmt(m["device_total_ms"], 3)] if gpu else [])
                + [_fmt(m["gflop"], 3), _fmt(m["tflops"], 3)]
                + ([_fmt(m["bwd_host_total_ms"], 3)] + ([_fmt(m["bwd_device_total_ms"], 3)] if gpu else [])
                   if bwd else []) for m in mods.get("top", [])]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        out.append("  " + "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
        out += ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                for r in rows]
    elif mods.get("note"):
        out += ["", f"Modules: {mods['note']}"]
    return out


def _compiled(comp: dict[str, Any]) -> list[str]:
    """torch.compile: regions with their kernels, graph breaks, recompiles and compile time."""
    if not comp.get("present"):
        return []
    out = ["", f"torch.compile: {len(comp['regions'])} compiled region(s), "
               f"{_fmt(comp.get('graph_breaks_per_step'), 0)} graph break(s) per step, "
               f"recompiled frames {comp.get('recompiled_frames') or 'none'}, "
               f"{_fmt(comp.get('compile_ms'), 1)} ms compiling in the trace"]
    for r in comp["regions"]:
        kernels = ", ".join(f"{k['name'][:48]} x{k['calls']}" for k in r["kernels"][:3])
        out.append(f"  region {r['region']}: {r['calls']} call(s), host {_fmt(r['host_total_ms'], 3)} ms, "
                   f"device {_fmt(r['device_ms'], 3)} ms, {r['kernel_calls']} kernel call(s)"
                   + (f": {kernels}" if kernels else "") + (f" (in {r['called_from']})" if r.get("called_from") else ""))
    return out


def _short_path(path: str, width: int = 60) -> str:
    return path if len(path) <= width else "..." + path[-(width - 3):]
