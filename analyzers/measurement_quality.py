"""How far a profile can be trusted: step-time spread, profiler overhead, other processes on the CPU.

``measurement_quality(model, steps)`` returns ``status`` (good | noisy | poor), the ``reasons``,
``step_cv`` (std / mean of the profiled steps), ``max_over_median`` (slowest step / median step),
``profiler_overhead_ratio`` (profiled / unprofiled median step, run bundles with timed steps) and
``host_cpu_other_pct`` (host CPU taken by other processes during the profiled window, from the
bundle's host samples).  Thresholds are ours, chosen from runs on a quiet and a loaded 2-core machine.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bundle_reader import timed_steps
from .step_stats import step_cv
from .steps import StepTable
from .trace_model import TraceModel

STATUSES = ("good", "noisy", "poor")
#: (noisy from, poor from) for each signal
CV_LIMITS = (0.15, 0.5)
OUTLIER_LIMITS = (2.0, 4.0)
OVERHEAD_LIMITS = (1.5, 3.0)
OTHER_CPU_LIMITS = (25.0, 60.0)


def _grade(value: float | None, limits: tuple[float, float]) -> int:
    if value is None:
        return 0
    return 2 if value >= limits[1] else 1 if value >= limits[0] else 0


def host_cpu_other_pct(model: TraceModel, window_ns: tuple[int, int]) -> float | None:
    """Mean host CPU % used by other processes inside ``window_ns`` (host minus workload samples)."""
    host, own = model.counter("Host CPU"), model.counter("Workload CPU")
    if host is None or own is None or not len(host.ts_ns):
        return None
    lo, hi = window_ns
    sel = (host.ts_ns >= lo) & (host.ts_ns <= hi)
    if not sel.any():  # a window shorter than the sampling period: the nearest sample after it
        sel = np.zeros(len(host.ts_ns), bool)
        sel[min(int(np.searchsorted(host.ts_ns, hi)), len(host.ts_ns) - 1)] = True
    own_at = np.interp(host.ts_ns[sel], own.ts_ns, own.values) if len(own.ts_ns) else np.zeros(int(sel.sum()))
    return float(np.clip(host.values[sel] - own_at, 0.0, 100.0).mean())


def measurement_quality(model: TraceModel, steps: StepTable) -> dict[str, Any]:
    """The quality verdict of one rank's profile and why."""
    step_ms = steps.dur_ns / 1e6
    cv = step_cv(step_ms)
    median = float(np.median(step_ms)) if steps.count else None
    outlier = float(step_ms.max() / median) if median else None
    timed = timed_steps(model.run_info)
    overhead = median / timed["median_ms"] if median and timed.get("median_ms") else None
    other = host_cpu_other_pct(model, steps.window_ns) if steps.count else None
    checks = [
        (_grade(cv, CV_LIMITS), f"profiled step times vary (coefficient of variation {cv:.2f})" if cv else ""),
        (_grade(outlier, OUTLIER_LIMITS) if steps.count >= 3 else 0,
         f"the slowest step took {outlier:.1f}x the median step" if outlier else ""),
        (_grade(overhead, OVERHEAD_LIMITS),
         f"profiled steps are {overhead:.1f}x slower than unprofiled ones" if overhead else ""),
        (_grade(other, OTHER_CPU_LIMITS),
         f"other processes used {other:.0f} % of the host CPU during the profile" if other is not None else ""),
    ]
    grade = max((g for g, _ in checks), default=0)
    reasons = [text for g, text in checks if g > 0]
    if 0 < steps.count < 3:
        reasons.append(f"only {steps.count} profiled step(s): per-step statistics are weak")
        grade = max(grade, 1)
    return {"status": STATUSES[grade], "reasons": reasons, "step_cv": cv, "max_over_median": outlier,
            "profiler_overhead_ratio": overhead, "host_cpu_other_pct": other, "steps": steps.count}
