"""Qt-free: A vs B for the Compare view, on top of :func:`analyzers.compare.compare`.

``analyzers.compare`` decides the figures (per rank, headline from each
side's slowest rank); this adds what only the GUI draws: the step-time
distributions, the speedup to headline (an interleaved A/B run's, else the
bundles' bootstrap, else profiled medians) and tables as DataFrames.
"""
from __future__ import annotations

import traceback
from typing import Any

import numpy as np
import pandas as pd

from analyzers.compare import compare
from analyzers.session import AnalysisSession
from collectors.ab_prediction import format_prediction

from .analysis import shown_findings, step_ms, timed_steps_ms


def _err(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def step_distribution(session: AnalysisSession) -> tuple[list[float], str]:
    """Step times to plot (slowest rank): timed steps when the run recorded them, else profiled steps."""
    ra = session.rank(session.slowest_rank)
    timed = timed_steps_ms(ra)
    if timed:
        return timed, "timed steps (unprofiled)"
    vals = step_ms(ra)
    return ([float(v) for v in vals], "profiled steps") if len(vals) else ([], "no steps")


def _median(vals: Any) -> float | None:
    return float(np.median(vals)) if len(vals) else None


def _ab_dict(ab: Any) -> dict[str, Any]:
    return {"rounds": getattr(ab, "rounds", None), "fix": dict(getattr(ab, "fix", {}) or {}),
            "round_speedups": [float(x) for x in getattr(ab, "round_speedups", []) or []],
            "a_count": len(getattr(ab.a, "step_ms", []) or []), "b_count": len(getattr(ab.b, "step_ms", []) or []),
            "a_median_ms": getattr(ab.a, "median_step_ms", None), "b_median_ms": getattr(ab.b, "median_step_ms", None),
            "significant": bool(getattr(ab, "significant", False)),
            "per_sample": bool(getattr(ab, "per_sample", False)),
            "prediction_lines": [x.strip() for x in format_prediction(getattr(ab, "predicted", None),
                                                                       getattr(ab, "speedup", None))]}


def _headline(out: dict[str, Any], a: AnalysisSession, b: AnalysisSession, ab: Any) -> None:
    """The speedup to headline and where it comes from."""
    an = out.get("analyzer") or {}
    ma, mb = out["a_median_ms"], out["b_median_ms"]
    pa = _median(step_ms(a.rank(a.slowest_rank)))
    pb = _median(step_ms(b.rank(b.slowest_rank)))
    out["profiled_ratio"] = (pa / pb) if pa and pb else None
    out["speedup"] = (ma / mb) if ma and mb else out["profiled_ratio"]
    timed_both = out["a_steps_label"].startswith("timed") and out["b_steps_label"].startswith("timed")
    out["speedup_source"] = "timed-step medians" if timed_both else "profiled step medians"
    out["ci"], out["ab"] = None, None
    if an.get("measured_speedup") and an.get("measured_ci_low") is not None and an.get("measured_ci_high") is not None:
        out["speedup"] = float(an["measured_speedup"])
        out["ci"] = (float(an["measured_ci_low"]), float(an["measured_ci_high"]))
        out["speedup_source"] = "timed-step medians, bootstrap CI over each bundle's timed steps"
    if ab is not None and getattr(ab, "speedup", None):
        out["speedup"] = float(ab.speedup)
        out["ci"] = (getattr(ab, "ci_low", None), getattr(ab, "ci_high", None))
        out["speedup_source"] = "interleaved A/B timing"
        out["ab"] = _ab_dict(ab)
    if an.get("speedup") and out["speedup"] is None:
        out["speedup"] = float(an["speedup"])


def _tables(out: dict[str, Any], a: AnalysisSession, b: AnalysisSession) -> None:
    """Breakdown side by side, the largest changes and the resolved / new findings (as Finding objects)."""
    an = out.get("analyzer") or {}
    ba, bb = (an.get("a") or {}).get("breakdown_ms") or {}, (an.get("b") or {}).get("breakdown_ms") or {}
    keys = [k for k in dict.fromkeys([*ba, *bb]) if ba.get(k) is not None and bb.get(k) is not None
            and (ba[k] or bb[k] or k == "other")]  # a category neither run has is not drawn
    out["breakdown"] = None
    if keys:
        df = pd.DataFrame({"component": keys, "a_ms": [float(ba[k]) for k in keys], "b_ms": [float(bb[k]) for k in keys]})
        df["delta_ms"] = df["b_ms"] - df["a_ms"]
        out["breakdown"] = df
    tc = an.get("top_changes")
    out["changes"] = pd.DataFrame(tc if isinstance(tc, list) and tc else [],
                                  columns=None if tc else ["name", "kind", "a_ms", "b_ms", "delta_ms"])
    fa = {f.rule: f for f in shown_findings(a, a.first_rank)[0]}
    fb = {f.rule: f for f in shown_findings(b, b.first_rank)[0]}
    out["resolved"] = [fa[k] for k in an.get("resolved", []) if k in fa]
    out["new"] = [fb[k] for k in an.get("new", []) if k in fb]


def compare_sessions(a: AnalysisSession, b: AnalysisSession, ab: Any = None) -> dict[str, Any]:
    """Compare A and B (every rank, headline from the slowest); ``ab`` is a collectors.ab.ABResult when measured."""
    out: dict[str, Any] = {"a_path": a.path, "b_path": b.path, "unavailable": {}}
    try:
        out["analyzer"] = compare(a, b)
    except Exception as exc:  # noqa: BLE001 - shown in the Compare view, never a crash
        out["unavailable"]["compare"] = f"analyzers.compare failed: {_err(exc)}"
        traceback.print_exc()
    try:
        da, la = step_distribution(a)
        db, lb = step_distribution(b)
    except Exception as exc:  # noqa: BLE001
        out["unavailable"]["steps"] = f"step times: {_err(exc)}"
        (da, la), (db, lb) = ([], "no steps"), ([], "no steps")
    out["a_steps"], out["a_steps_label"], out["b_steps"], out["b_steps_label"] = da, la, db, lb
    out["a_median_ms"], out["b_median_ms"] = _median(da), _median(db)
    try:
        _headline(out, a, b, ab)
    except Exception as exc:  # noqa: BLE001
        out["unavailable"]["speedup"] = f"speedup: {_err(exc)}"
        out.setdefault("speedup", None)
        out.setdefault("ci", None)
        out.setdefault("ab", None)
    _tables(out, a, b)
    return out
