"""A/B comparison of two traces (or run bundles): step time, breakdown, op/kernel changes, findings.

``compare(a, b)`` returns a JSON-safe dict; ``format_compare_text(d)`` renders
it for a terminal.  Speedup is ``a_mean / b_mean`` (> 1: B is faster).  Ops and
kernels are matched by name (and input shapes when both traces recorded them)
and normalised per step, so traces with different step counts compare.
When both sides are run bundles with timed (unprofiled) steps, the measured
speedup (median step time) is reported beside the profiled one, with a seeded
bootstrap 95 % interval (``measured_ci_low`` / ``measured_ci_high``, from
``analyzers.stats``) when the bundles list their step times.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from .categories import STEP_PREFIX, Kind
from .findings import Finding, json_safe
from .stats import bootstrap_speedup_ci
from .trace_model import TraceModel

TOP_N = 10
CI_RESAMPLES = 2000
CI_SEED = 0
REDUCED_FRACTION = 0.5  # a finding in both runs whose cost fell to half or less is "reduced", not "still present"
_BREAKDOWN = ("kernel", "memcpy", "memset", "communication", "runtime", "dataloader", "cpu_exec", "other")


def _models(x: Sequence[TraceModel] | TraceModel) -> list[TraceModel]:
    if isinstance(x, TraceModel):
        return [x]
    out = list(x)
    if not out:
        raise ValueError("compare() needs at least one trace model on each side")
    return out


def _steps(model: TraceModel) -> Any:
    from .rules.context import ModelFacts
    return ModelFacts(model).steps


def _side(model: TraceModel) -> dict[str, Any]:
    steps = _steps(model)
    s = np.asarray(steps.start_ns, np.int64)
    e = np.asarray(steps.end_ns, np.int64)
    dur_ms = (e - s) / 1e6
    side: dict[str, Any] = {
        "path": model.source.path,
        "steps": {"count": int(len(s)), "mean_ms": float(dur_ms.mean()) if len(s) else None,
                  "median_ms": float(np.median(dur_ms)) if len(s) else None,
                  "min_ms": float(dur_ms.min()) if len(s) else None, "max_ms": float(dur_ms.max()) if len(s) else None,
                  "from_profiler_steps": bool(getattr(steps, "from_profiler_steps", True))},
        "vendor": model.vendor,
        "settings": model.settings,
    }
    try:
        from .breakdown import mean_breakdown_ms, step_breakdown
        side["breakdown_ms"] = mean_breakdown_ms(step_breakdown(model, steps))
    except Exception as exc:  # noqa: BLE001 - a broken metric must not hide the comparison
        side["breakdown_ms"] = {c: None for c in _BREAKDOWN}
        side["breakdown_error"] = f"{type(exc).__name__}: {exc}"
    timed = (model.run_info or {}).get("timed_steps") or {}
    if timed.get("median_ms") is not None:
        side["timed_steps"] = {"median_ms": timed.get("median_ms"), "mean_ms": timed.get("mean_ms"),
                               "count": timed.get("count")}
        step_ms = timed.get("step_ms")
        if isinstance(step_ms, list):
            side["timed_steps"]["step_ms"] = [float(v) for v in step_ms if isinstance(v, (int, float))]
    return side


def _window_rows(model: TraceModel, mask: np.ndarray) -> np.ndarray:
    steps = _steps(model)
    if len(steps.start_ns):
        lo, hi = int(np.min(steps.start_ns)), int(np.max(steps.end_ns))
        mask = mask & (model.start_ns >= lo) & (model.start_ns < hi)
    return np.flatnonzero(mask)


def _has_shapes(model: TraceModel, rows: np.ndarray) -> bool:
    sample = rows[:: max(1, len(rows) // 50)][:50]
    return any("Input Dims" in a for a in model.args_many(sample))


def _op_times(model: TraceModel, with_shapes: bool) -> dict[str, float]:
    """Host inclusive time per op (name, or name + shapes), ms per step, over the step window."""
    mask = np.isin(model.kind, [int(Kind.CPU_OP), int(Kind.USER_ANNOTATION)])
    rows = _window_rows(model, mask)
    if not len(rows):
        return {}
    step_ids = {i for i, s in enumerate(model.strings) if s.startswith(STEP_PREFIX)}
    if step_ids:
        rows = rows[~np.isin(model.name_id[rows], list(step_ids))]
    n_steps = max(1, int(len(_steps(model).start_ns)))
    dur = model.dur_ns[rows].astype(np.float64)
    if with_shapes:
        args = model.args_many(rows)
        keys = [f"{model.strings[int(n)]} {json.dumps(a.get('Input Dims', []))}" if a.get("Input Dims") else
                model.strings[int(n)] for n, a in zip(model.name_id[rows], args)]
        out: dict[str, float] = {}
        for k, d in zip(keys, dur):
            out[k] = out.get(k, 0.0) + d
        return {k: v / n_steps / 1e6 for k, v in out.items()}
    ids, inv = np.unique(model.name_id[rows], return_inverse=True)
    sums = np.bincount(inv, weights=dur)
    return {model.strings[int(i)]: float(v) / n_steps / 1e6 for i, v in zip(ids, sums)}


def _kernel_times(model: TraceModel) -> dict[str, float]:
    rows = _window_rows(model, np.isin(model.kind, [int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)]))
    if not len(rows):
        return {}
    n_steps = max(1, int(len(_steps(model).start_ns)))
    ids, inv = np.unique(model.name_id[rows], return_inverse=True)
    sums = np.bincount(inv, weights=model.dur_ns[rows].astype(np.float64))
    return {model.strings[int(i)]: float(v) / n_steps / 1e6 for i, v in zip(ids, sums)}


def _changes(a: dict[str, float], b: dict[str, float], kind: str, n: int) -> list[dict[str, Any]]:
    names = set(a) | set(b)
    rows = [{"name": k, "kind": kind, "a_ms": a.get(k, 0.0), "b_ms": b.get(k, 0.0),
             "delta_ms": b.get(k, 0.0) - a.get(k, 0.0), "only_in": "a" if k not in b else ("b" if k not in a else None)}
            for k in names]
    rows.sort(key=lambda r: (-abs(r["delta_ms"]), r["name"]))
    return rows[:n]


def _findings(models: list[TraceModel], given: Sequence[Finding] | None) -> list[Finding]:
    if given is not None:
        return list(given)
    from .rules import run_rules
    return run_rules(models)


def _rule_of(f: Any) -> str:
    return f.rule if hasattr(f, "rule") else str(f.get("rule"))


def _gain_of(f: Any) -> float:
    return float(f.gain_ms if hasattr(f, "gain_ms") else f.get("gain_ms") or 0.0)


def _severity_of(f: Any) -> str:
    return f.severity if hasattr(f, "severity") else str(f.get("severity", ""))


def _title_of(f: Any) -> str:
    return f.title if hasattr(f, "title") else str(f.get("title", ""))


def _cost_ms(f: Any) -> float:
    """What a finding costs per step: its bottleneck time when the rule measured one, else its gain."""
    bottleneck = f.bottleneck_ms if hasattr(f, "bottleneck_ms") else f.get("bottleneck_ms")
    return float(bottleneck) if bottleneck else _gain_of(f)


def _finding_row(f: Any) -> dict[str, Any]:
    return {"rule": _rule_of(f), "title": _title_of(f), "gain_ms": _gain_of(f)}


def classify_findings(fa: Sequence[Any], fb: Sequence[Any],
                      reduced_fraction: float = REDUCED_FRACTION) -> dict[str, Any]:
    """Sort the findings of A (before) and B (after) by what the change did to them.

    ``resolved``: rules of A that B no longer raises; ``new``: rules only B raises;
    ``reduced``: in both, but B's cost per step (bottleneck time, else gain) is at
    most ``reduced_fraction`` of A's; ``persisting``: in both and not reduced;
    ``info``: notes of severity "info" on either side (not bottlenecks: never
    resolved, new or still present).  Works on Finding objects or their dicts.
    """
    info = [{"rule": _rule_of(f), "title": _title_of(f), "side": side}
            for side, fs in (("a", fa), ("b", fb)) for f in fs if _severity_of(f) == "info"]
    ra = {_rule_of(f): f for f in fa if _severity_of(f) != "info"}
    rb = {_rule_of(f): f for f in fb if _severity_of(f) != "info"}
    both = sorted(set(ra) & set(rb))
    rows = {r: {"rule": r, "title": _title_of(ra[r]), "a_gain_ms": _gain_of(ra[r]), "b_gain_ms": _gain_of(rb[r]),
                "a_cost_ms": _cost_ms(ra[r]), "b_cost_ms": _cost_ms(rb[r])} for r in both}
    reduced = [r for r in both
               if rows[r]["a_cost_ms"] > 0 and rows[r]["b_cost_ms"] <= reduced_fraction * rows[r]["a_cost_ms"]]
    return {"resolved": sorted(set(ra) - set(rb)), "new": sorted(set(rb) - set(ra)),
            "reduced": [rows[r] for r in reduced],
            "persisting": [rows[r] for r in both if r not in reduced],
            "info": info}


def compare(a: Sequence[TraceModel] | TraceModel, b: Sequence[TraceModel] | TraceModel,
            findings_a: Sequence[Finding] | None = None, findings_b: Sequence[Finding] | None = None,
            top_n: int = TOP_N) -> dict[str, Any]:
    """Compare run A (before) with run B (after).  Uses rank 0 of each side for times."""
    ma, mb = _models(a), _models(b)
    A, B = ma[0], mb[0]
    sa, sb = _side(A), _side(B)
    out: dict[str, Any] = {"a": sa, "b": sb}
    am, bm = sa["steps"]["mean_ms"], sb["steps"]["mean_ms"]
    out["speedup"] = (am / bm) if am and bm else None
    out["step_delta_ms"] = (bm - am) if am is not None and bm is not None else None
    ta, tb = sa.get("timed_steps"), sb.get("timed_steps")
    if ta and tb and ta.get("median_ms") and tb.get("median_ms"):
        out["measured_speedup"] = ta["median_ms"] / tb["median_ms"]
        out["measured"] = {"a_median_ms": ta["median_ms"], "b_median_ms": tb["median_ms"]}
    else:
        out["measured_speedup"] = None
    out["measured_ci_low"] = out["measured_ci_high"] = None
    sa_ms, sb_ms = (ta or {}).get("step_ms") or [], (tb or {}).get("step_ms") or []
    if sa_ms and sb_ms:
        # bootstrap over the unprofiled step times of each side (seeded: the same bundles give the same CI)
        speedup, low, high = bootstrap_speedup_ci(sa_ms, sb_ms, resamples=CI_RESAMPLES, seed=CI_SEED)
        out["measured_speedup"] = speedup
        out["measured_ci_low"], out["measured_ci_high"] = low, high
        out["measured"] = {**(out.get("measured") or {}), "a_median_ms": float(np.median(sa_ms)),
                           "b_median_ms": float(np.median(sb_ms)), "a_count": len(sa_ms), "b_count": len(sb_ms),
                           "ci_level": 0.95, "method": "percentile bootstrap of median_A / median_B over timed steps"}
    ba, bb = sa.get("breakdown_ms") or {}, sb.get("breakdown_ms") or {}
    out["breakdown_delta_ms"] = {c: (bb.get(c) - ba.get(c)) if ba.get(c) is not None and bb.get(c) is not None
                                 else None for c in _BREAKDOWN}
    # ops and kernels whose per-step time changed most
    op_a_rows = np.flatnonzero(A.kind == int(Kind.CPU_OP))
    op_b_rows = np.flatnonzero(B.kind == int(Kind.CPU_OP))
    with_shapes = bool(len(op_a_rows) and len(op_b_rows) and _has_shapes(A, op_a_rows) and _has_shapes(B, op_b_rows))
    ops = _changes(_op_times(A, with_shapes), _op_times(B, with_shapes), "op", top_n)
    kernels = _changes(_kernel_times(A), _kernel_times(B), "kernel", top_n)
    out["top_changes"] = sorted(ops + kernels, key=lambda r: -abs(r["delta_ms"]))
    out["matched_by"] = "name+shapes" if with_shapes else "name"
    # findings: resolved / reduced / still present / new / info-only notes, by rule id
    fa_all, fb_all = _findings(ma, findings_a), _findings(mb, findings_b)
    out.update(classify_findings(fa_all, fb_all))
    out["findings_a"] = [_finding_row(f) for f in fa_all if _severity_of(f) != "info"]
    out["findings_b"] = [_finding_row(f) for f in fb_all if _severity_of(f) != "info"]
    return json_safe(out)


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def format_compare_text(d: dict[str, Any]) -> str:
    """A terminal rendering of :func:`compare`'s dict."""
    a, b = d["a"], d["b"]
    lines = [f"A: {a['path']}", f"B: {b['path']}", ""]
    lines.append(f"Step time (profiled): A {_ms(a['steps']['mean_ms'])} ms ({a['steps']['count']} steps), "
                 f"B {_ms(b['steps']['mean_ms'])} ms ({b['steps']['count']} steps)")
    if d.get("speedup"):
        lines.append(f"Speedup A/B: {d['speedup']:.2f}x" + (" (B faster)" if d["speedup"] > 1 else " (B slower)"
                                                            if d["speedup"] < 1 else ""))
    if d.get("measured_speedup"):
        m = d["measured"]
        lines.append(f"Measured (unprofiled, median): A {_ms(m['a_median_ms'])} ms, B {_ms(m['b_median_ms'])} ms, "
                     f"speedup {d['measured_speedup']:.2f}x"
                     + (f", 95% CI [{d['measured_ci_low']:.2f}, {d['measured_ci_high']:.2f}]"
                        if d.get("measured_ci_low") is not None and d.get("measured_ci_high") is not None else ""))
    lines += ["", f"{'breakdown (ms/step)':<22}{'A':>10}{'B':>10}{'delta':>10}"]
    ba, bb = a.get("breakdown_ms") or {}, b.get("breakdown_ms") or {}
    for c in _BREAKDOWN:
        lines.append(f"{c:<22}{_ms(ba.get(c)):>10}{_ms(bb.get(c)):>10}{_ms(d['breakdown_delta_ms'].get(c)):>10}")
    lines += ["", f"Largest changes (ms/step, matched by {d.get('matched_by', 'name')})"]
    for r in d["top_changes"]:
        name = r["name"] if len(r["name"]) <= 70 else r["name"][:67] + "..."
        lines.append(f"  {r['kind']:<6} {_ms(r['a_ms']):>9} -> {_ms(r['b_ms']):>9} ({r['delta_ms']:+.2f})  {name}")
    lines.append("")
    lines.append("Resolved findings: " + (", ".join(d["resolved"]) or "none"))
    lines.append("New findings: " + (", ".join(d["new"]) or "none"))
    for key, label in (("reduced", "Reduced"), ("persisting", "Still present")):
        if d.get(key):
            lines.append(f"{label} (ms/step): " + ", ".join(
                f"{p['rule']} ({_ms(p['a_cost_ms'])} -> {_ms(p['b_cost_ms'])})" for p in d[key]))
    if d.get("info"):
        notes = dict.fromkeys(f"{n['rule']} {n['title']}" for n in d["info"])
        lines.append("Notes (info only): " + ", ".join(notes))
    return "\n".join(lines)
