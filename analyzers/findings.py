"""The :class:`Finding` a rule emits: what is slow, the evidence, the estimated gain and the fix.

A finding is plain data (JSON-safe through :meth:`Finding.to_dict`).  The gain
is an estimate per step and is always clamped to the time the bottleneck
really took (``bottleneck_ms``), so it can never promise more than exists.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .knobs import KNOBS, KnobError

SEVERITIES = ("high", "medium", "low", "info")  # most to least severe
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
MAX_EVIDENCE_ROWS = 200
MAX_EVIDENCE_RANGES = 200


def json_safe(value: Any) -> Any:
    """Numbers, strings, lists and dicts only (numpy scalars and NaN turned into plain values)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass
class Finding:
    """One bottleneck found in a trace.

    ``gain_ms`` is the estimated time saved per step by the fix; it is clamped
    to ``bottleneck_ms`` (the time the bottleneck took per step) when that is
    given, and never negative.
    """

    rule: str = ""  # filled with the registered rule id by the rule runner
    title: str = ""  # defaults to the registered rule title
    severity: str = "info"
    summary: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_ranges: list[tuple[int, int, int | None]] = field(default_factory=list)
    evidence_rows: list[int] = field(default_factory=list)
    gain_ms: float = 0.0
    gain_pct: float = 0.0
    fix: str = ""
    fix_snippet: str = ""
    knob: str | None = None
    knob_value: Any = None
    caveats: list[str] = field(default_factory=list)
    vendor_specific: bool = False
    bottleneck_ms: float | None = None
    step_ms: float | None = None
    rank: int | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.knob is not None:
            if self.knob not in KNOBS:
                raise KnobError(f"finding {self.rule}: unknown knob {self.knob!r}")
            self.knob_value = KNOBS[self.knob].parse(self.knob_value)
        gain = float(self.gain_ms) if self.gain_ms is not None and math.isfinite(float(self.gain_ms)) else 0.0
        gain = max(gain, 0.0)
        if self.bottleneck_ms is not None:
            gain = min(gain, max(float(self.bottleneck_ms), 0.0))
        if self.step_ms is not None and self.step_ms > 0:
            gain = min(gain, float(self.step_ms))
            self.gain_pct = 100.0 * gain / float(self.step_ms)
        self.gain_ms = gain
        self.evidence_rows = [int(r) for r in list(self.evidence_rows)[:MAX_EVIDENCE_ROWS]]
        self.evidence_ranges = [(int(s), int(e), None if t is None or t < 0 else int(t))
                                for s, e, t in list(self.evidence_ranges)[:MAX_EVIDENCE_RANGES]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with every field."""
        return json_safe({
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "summary": self.summary,
            "gain_ms": round(self.gain_ms, 4),
            "gain_pct": round(self.gain_pct, 3),
            "bottleneck_ms": self.bottleneck_ms,
            "step_ms": self.step_ms,
            "evidence": self.evidence,
            "evidence_ranges": [list(r) for r in self.evidence_ranges],
            "evidence_rows": self.evidence_rows,
            "fix": self.fix,
            "fix_snippet": self.fix_snippet,
            "knob": self.knob,
            "knob_value": self.knob_value,
            "caveats": list(self.caveats),
            "vendor_specific": self.vendor_specific,
            "rank": self.rank,
        })


def rank_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings by estimated gain (largest first), then severity, then rule id: the one order everywhere."""
    return sorted(findings, key=lambda f: (-f.gain_ms, SEVERITY_RANK[f.severity], f.rule))


def severity_for(gain_pct: float, cap: str = "high") -> str:
    """Severity from the estimated gain as a share of the step (never above ``cap``)."""
    if gain_pct >= 15.0:
        sev = "high"
    elif gain_pct >= 5.0:
        sev = "medium"
    elif gain_pct > 0.0:
        sev = "low"
    else:
        sev = "info"
    return SEVERITIES[max(SEVERITY_RANK[sev], SEVERITY_RANK[cap])]
