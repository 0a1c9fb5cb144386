"""A/B comparison of two traces (or run bundles): step time, breakdown, op/kernel changes, findings.

``compare(a, b)`` takes two analysis sessions (or model lists) and returns a
JSON-safe dict; ``format_compare_text(d)`` renders it for a terminal.  Every
rank is compared (``per_rank``); the headline figures use each side's slowest
rank, the one a job waits for.  Speedup is ``a_mean / b_mean`` (> 1: B is faster).  Ops and
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

from .breakdown import CATEGORIES
from .bundle_reader import timed_steps
from .categories import STEP_PREFIX, Kind
from .findings import Finding, json_safe
from .stats import bootstrap_speedup_ci
from .rank_analysis import RankAnalysis
from .session import AnalysisSession
from .trace_model import TraceModel

Side = AnalysisSession | Sequence[TraceModel] | TraceModel

TOP_N = 10
CI_RESAMPLES = 2000
CI_SEED = 0
REDUCED_FRACTION = 0.5  # a finding in both runs whose cost fell to half or less is "reduced", not "still present"
_BREAKDOWN = CATEGORIES  # the breakdown's own category list


def as_session(x: Side) -> AnalysisSession:
    """An analysis session for a session, a list of models (one per rank) or one model."""
    if isinstance(x, AnalysisSession):
        return x
    models = [x] if isinstance(x, TraceModel) else list(x)
    if not models:
        raise ValueError("compare() needs at least one trace model on each side")
    return AnalysisSession(models, models[0].source.path)


def _side(ra: RankAnalysis) -> dict[str, Any]:
    model, steps = ra.model, ra.steps
    dur_ms = steps.dur_ns / 1e6
    n = steps.count
    side: dict[str, Any] = {
        "path": model.source.path, "rank": ra.rank,
        "steps": {"count": n, "mean_ms": float(dur_ms.mean()) if n else None,
                  "median_ms": float(np.median(dur_ms)) if n else None,
                  "min_ms": float(dur_ms.min()) if n else None, "max_ms": float(dur_ms.max()) if n else None,
                  "from_profiler_steps": steps.from_profiler_steps},
        "vendor": model.vendor,
        "settings": model.settings,
    }
    value, err = ra.try_get("mean_breakdown_ms")
    side["breakdown_ms"] = value if err is None else {c: None for c in _BREAKDOWN}
    if err is not None:
        side["breakdown_error"] = err
    timed = timed_steps(model.run_info)
    if timed:
        side["timed_steps"] = timed
    return side


def _window_rows(ra: RankAnalysis, mask: np.ndarray) -> np.ndarray:
    steps = ra.steps
    if steps.count:
        lo, hi = int(np.min(steps.start_ns)), int(np.max(steps.end_ns))
        mask = mask & (ra.model.start_ns >= lo) & (ra.model.start_ns < hi)
    return np.flatnonzero(mask)


def _has_shapes(model: TraceModel, rows: np.ndarray) -> bool:
    sample = rows[:: max(1, len(rows) // 50)][:50]
    return any("Input Dims" in a for a in model.args_many(sample))


def _op_times(ra: RankAnalysis, with_shapes: bool) -> dict[str, float]:
    """Host inclusive time per op (name, or name + shapes), ms per step, over the step window."""
    model = ra.model
    mask = np.isin(model.kind, [int(Kind.CPU_OP), int(Kind.USER_ANNOTATION)])
    rows = _window_rows(ra, mask)
    if not len(rows):
        return {}
    step_ids = {i for i, s in enumerate(model.strings) if s.startswith(STEP_PREFIX)}
    if step_ids:
        rows = rows[~np.isin(model.name_id[rows], list(step_ids))]
    n_steps = max(1, ra.steps.count)
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


def _kernel_times(ra: RankAnalysis) -> dict[str, float]:
    model = ra.model
    rows = _window_rows(ra, np.isin(model.kind, [int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)]))
    if not len(rows):
        return {}
    n_steps = max(1, ra.steps.count)
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


def _measured(out: dict[str, Any], sa: dict[str, Any], sb: dict[str, Any]) -> None:
    """Speedup of the unprofiled timed steps of two run bundles, with a seeded bootstrap CI."""
    ta, tb = sa.get("timed_steps"), sb.get("timed_steps")
    if ta and tb and ta.get("median_ms") and tb.get("median_ms"):
        out["measured_speedup"] = ta["median_ms"] / tb["median_ms"]
        out["measured"] = {"a_median_ms": ta["median_ms"], "b_median_ms": tb["median_ms"]}
    else:
        out["measured_speedup"] = None
    out["measured_ci_low"] = out["measured_ci_high"] = None
    sa_ms, sb_ms = (ta or {}).get("step_ms") or [], (tb or {}).get("step_ms") or []
    if sa_ms and sb_ms:
        speedup, low, high = bootstrap_speedup_ci(sa_ms, sb_ms, resamples=CI_RESAMPLES, seed=CI_SEED)
        out["measured_speedup"] = speedup
        out["measured_ci_low"], out["measured_ci_high"] = low, high
        out["measured"] = {**(out.get("measured") or {}), "a_median_ms": float(np.median(sa_ms)),
                           "b_median_ms": float(np.median(sb_ms)), "a_count": len(sa_ms), "b_count": len(sb_ms),
                           "ci_level": 0.95, "method": "percentile bootstrap of median_A / median_B over timed steps"}


def _mean_step_ms(ra: RankAnalysis) -> float | None:
    st = ra.steps
    return float(st.dur_ns.mean() / 1e6) if st.count else None


def per_rank(a: AnalysisSession, b: AnalysisSession) -> list[dict[str, Any]]:
    """Mean step of every rank on each side and its speedup (a rank missing on one side has None there)."""
    rows = []
    for r in sorted(set(a.ranks) | set(b.ranks)):
        am = _mean_step_ms(a.rank(r)) if r in a.ranks else None
        bm = _mean_step_ms(b.rank(r)) if r in b.ranks else None
        rows.append({"rank": r, "a_step_ms": am, "b_step_ms": bm, "speedup": am / bm if am and bm else None})
    return rows


def _change(am: float | None, bm: float | None) -> dict[str, Any]:
    return {"a_step_ms": am, "b_step_ms": bm, "speedup": am / bm if am and bm else None,
            "delta_ms": bm - am if am is not None and bm is not None else None}


def _straggler_of(sess: AnalysisSession) -> dict[str, Any] | None:
    """The side's straggler (rank, extra ms/step, cause) when it has several ranks."""
    if not sess.is_multi_rank:
        return None
    s = sess.cross_rank.straggler
    return None if s is None else {"rank": s["rank"], "extra_ms_per_step": s["extra_ms_per_step"],
                                   "cause": (s.get("cause") or {}).get("category")}


def rank_changes(a: AnalysisSession, b: AnalysisSession, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The slowest rank's change (each side's slowest: the job's pace) and the median rank's, and the stragglers."""
    a_ms = [r["a_step_ms"] for r in rows if r["a_step_ms"] is not None]
    b_ms = [r["b_step_ms"] for r in rows if r["b_step_ms"] is not None]
    slowest = _change(max(a_ms) if a_ms else None, max(b_ms) if b_ms else None)
    slowest.update(a_rank=a.slowest_rank, b_rank=b.slowest_rank)
    median = _change(float(np.median(a_ms)) if a_ms else None, float(np.median(b_ms)) if b_ms else None)
    return {"slowest": slowest, "median": median, "straggler": {"a": _straggler_of(a), "b": _straggler_of(b)}}


def _changes_of(A: RankAnalysis, B: RankAnalysis, top_n: int) -> tuple[list[dict[str, Any]], str]:
    """Ops and kernels whose per-step time changed most, matched by name (and shapes when both recorded them)."""
    op_a_rows = np.flatnonzero(A.model.kind == int(Kind.CPU_OP))
    op_b_rows = np.flatnonzero(B.model.kind == int(Kind.CPU_OP))
    with_shapes = bool(len(op_a_rows) and len(op_b_rows) and _has_shapes(A.model, op_a_rows)
                       and _has_shapes(B.model, op_b_rows))
    ops = _changes(_op_times(A, with_shapes), _op_times(B, with_shapes), "op", top_n)
    kernels = _changes(_kernel_times(A), _kernel_times(B), "kernel", top_n)
    return sorted(ops + kernels, key=lambda r: -abs(r["delta_ms"])), "name+shapes" if with_shapes else "name"


def compare(a: Side, b: Side, findings_a: Sequence[Finding] | None = None,
            findings_b: Sequence[Finding] | None = None, top_n: int = TOP_N) -> dict[str, Any]:
    """Compare run A (before) with run B (after): every rank, headline figures from each side's slowest rank."""
    sess_a, sess_b = as_session(a), as_session(b)
    A, B = sess_a.rank(sess_a.slowest_rank), sess_b.rank(sess_b.slowest_rank)
    sa, sb = _side(A), _side(B)
    if sess_a.is_multi_rank or sess_b.is_multi_rank:  # name what was opened, not the slowest rank's file
        sa["path"], sb["path"] = sess_a.path or sa["path"], sess_b.path or sb["path"]
    out: dict[str, Any] = {"a": sa, "b": sb, "ranks": {"a": sess_a.ranks, "b": sess_b.ranks},
                           "slowest_rank": {"a": A.rank, "b": B.rank}, "per_rank": per_rank(sess_a, sess_b)}
    if sess_a.is_multi_rank or sess_b.is_multi_rank:
        out["rank_change"] = rank_changes(sess_a, sess_b, out["per_rank"])
    am, bm = sa["steps"]["mean_ms"], sb["steps"]["mean_ms"]
    out["speedup"] = (am / bm) if am and bm else None
    out["step_delta_ms"] = (bm - am) if am is not None and bm is not None else None
    _measured(out, sa, sb)
    ba, bb = sa.get("breakdown_ms") or {}, sb.get("breakdown_ms") or {}
    out["breakdown_delta_ms"] = {c: (bb.get(c) - ba.get(c)) if ba.get(c) is not None and bb.get(c) is not None
                                 else None for c in _BREAKDOWN}
    out["top_changes"], out["matched_by"] = _changes_of(A, B, top_n)
    # findings: resolved / reduced / still present / new / info-only notes, by rule id
    fa_all = sess_a.findings() if findings_a is None else list(findings_a)
    fb_all = sess_b.findings() if findings_b is None else list(findings_b)
    out.update(classify_findings(fa_all, fb_all))
    out["findings_a"] = [_finding_row(f) for f in fa_all if _severity_of(f) != "info"]
    out["findings_b"] = [_finding_row(f) for f in fb_all if _severity_of(f) != "info"]
    return json_safe(out)


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _per_rank_text(d: dict[str, Any]) -> list[str]:
    rows = d.get("per_rank") or []
    if len(rows) < 2:
        return []
    slow = d.get("slowest_rank") or {}
    lines = ["", f"Per rank (slowest: A rank {slow.get('a')}, B rank {slow.get('b')}; headline figures use them)",
             f"  {'rank':>4}{'A ms':>11}{'B ms':>11}{'speedup':>9}"]
    for r in rows:
        sp = f"{r['speedup']:.2f}x" if r.get("speedup") else "n/a"
        lines.append(f"  {r['rank']:>4}{_ms(r.get('a_step_ms')):>11}{_ms(r.get('b_step_ms')):>11}{sp:>9}")
    change = d.get("rank_change") or {}
    for key, label in (("slowest", "slowest rank"), ("median", "median rank")):
        c = change.get(key) or {}
        if c.get("speedup"):
            lines.append(f"  {label}: {_ms(c.get('a_step_ms'))} -> {_ms(c.get('b_step_ms'))} ms "
                         f"({c['speedup']:.2f}x)")
    for side in ("a", "b"):
        st = (change.get("straggler") or {}).get(side)
        if st:
            lines.append(f"  straggler on {side.upper()}: rank {st['rank']}, +{st['extra_ms_per_step']:.2f} ms/step"
                         + (f" ({st['cause']})" if st.get("cause") else ""))
    return lines


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
    lines += _per_rank_text(d)
    lines += ["", f"{'breakdown (ms/step)':<22}{'A':>10}{'B':>10}{'delta':>10}"]
    ba, bb = a.get("breakdown_ms") or {}, b.get("breakdown_ms") or {}
    for c in _BREAKDOWN:
        if not ba.get(c) and not bb.get(c) and c != "other":
            continue  # a category neither run has (GPU ones on the CPU, accelerator-only ones on CUDA)
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
