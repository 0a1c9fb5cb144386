"""The output of ``torchscope tune``: the ranked table, the recommendation with code, and the JSON."""
from __future__ import annotations

from typing import Any

from analyzers.knobs import format_assignment
from collectors.tune import Measured, TuneResult
from collectors.tune_candidates import Candidate, snippet_for


def _ci(m: Measured) -> str:
    return f"[{m.ci_low:.2f}, {m.ci_high:.2f}]" if m.ci_low is not None and m.ci_high is not None else "-"


def _row(m: Measured) -> str:
    sp = f"{m.speedup:.2f}x" if m.speedup is not None else "-"
    why = f"  {m.cand.reason}" if m.cand.reason else ""
    return f"  {m.cand.label:<26} {sp:>7} {_ci(m):>14} {m.rounds:>6}  {m.cand.verdict:<9}{why}"


def format_tune(result: TuneResult) -> str:
    """The ranked table (knob, speedup, 95 % CI, rounds, verdict and why), the stack and the recommendation."""
    base = " ".join(format_assignment(k, v) for k, v in result.base.items()) or "defaults"
    med = result.baseline.get("median_step_ms")
    lines = [f"tune {result.workload}: baseline {base}"
             + (f", median {med:.2f} ms/step" if med else "") + f"  (runs under {result.out_dir})",
             f"  {'candidate':<26} {'speedup':>7} {'95% CI':>14} {'rounds':>6}  verdict"]
    lines += [_row(m) for m in result.ranked()]
    if result.stack is not None:
        lines.append("stack (winners together vs baseline):")
        lines.append(_row(result.stack))
    lines += [f"note: {n}" for n in result.notes]
    if result.status == "cancelled":
        lines.append("tune cancelled: the table shows what was measured so far")
    if result.recommended:
        lines.append("recommended: " + " ".join(format_assignment(k, v) for k, v in result.recommended.items()))
        for k, v in result.recommended.items():
            code = snippet_for(_source_candidate(result, k, v))
            if code:
                lines.append(f"  # {format_assignment(k, v)}\n" + "\n".join("  " + x for x in code.splitlines()))
    elif result.status == "ok":
        lines.append("recommended: keep the current settings (no candidate was clearly faster)")
    lines.append(f"wall time {result.wall_s:.0f} s (budget {result.budget_s:.0f} s)")
    return "\n".join(lines)


def _source_candidate(result: TuneResult, knob: str, value: Any) -> Candidate:
    for m in result.candidates:
        if m.cand.knob == knob and m.cand.value == value:
            return m.cand
    return Candidate(knob, value)


def _entry(m: Measured) -> dict[str, Any]:
    d = m.to_dict()
    d["snippet"] = snippet_for(m.cand)
    return d


def to_json(result: TuneResult) -> dict[str, Any]:
    """The ``--json`` object: baseline, candidates[], stack, recommended, wall_s (plus status and notes)."""
    stack = None
    if result.stack is not None:
        s = result.stack
        stack = {"settings": s.cand.settings, "speedup": s.speedup, "ci_low": s.ci_low, "ci_high": s.ci_high,
                 "rounds": s.rounds, "verdict": s.cand.verdict, "reason": s.cand.reason, "bundles": s.bundles}
    return {"workload": result.workload, "baseline": result.baseline,
            "candidates": [_entry(m) for m in result.ranked()], "stack": stack,
            "recommended": result.recommended, "wall_s": round(result.wall_s, 3), "budget_s": result.budget_s,
            "status": result.status, "notes": result.notes, "out_dir": result.out_dir,
            "method": "interleaved rounds (baseline + every open candidate per round); paired two-level "
                      "bootstrap over rounds then steps; early stop at 99 % CI excluding 1 or 95 % CI "
                      "ruling out a gain beyond the no-effect band"}
