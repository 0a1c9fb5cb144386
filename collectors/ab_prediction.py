"""Predicted vs measured: what the analysis of side A's profile promised for an A/B's fix.

After an A/B, side A's bundle is analysed; the finding whose knob the fix sets
gives the predicted gain.  Its speedup is ``step / (step - gain)``.  Both
bundles' run.json keep the prediction and the measurement (``ab`` key) so the
advice can be calibrated over time; a noisy profile is flagged.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from analyzers.bundle_reader import read_run_info
from analyzers.errors import TraceLoadError
from analyzers.session import AnalysisSession
from collectors import bundle as bundle_mod


def prediction(bundle: str | None, fix: Mapping[str, Any]) -> dict[str, Any] | None:
    """The prediction for ``fix`` from ``bundle``'s findings, and the profile's quality (None: not analysable)."""
    if not bundle or not os.path.isdir(bundle):
        return None
    try:
        session = AnalysisSession.load(bundle)
    except TraceLoadError:
        return None
    ra = session.rank()
    quality = ra.try_get("measurement_quality")[0] or {}
    out: dict[str, Any] = {"quality": quality.get("status"), "quality_reasons": quality.get("reasons") or []}
    for f in session.findings():
        if f.knob is not None and fix.get(f.knob) == f.knob_value:
            step = f.step_ms or 0.0
            speedup = step / (step - f.gain_ms) if step > f.gain_ms > 0 else None
            out.update(rule=f.rule, gain_ms=f.gain_ms, gain_pct=f.gain_pct, step_ms=step, predicted_speedup=speedup)
            break
    return out


def record(bundles: list[str | None], predicted: dict[str, Any] | None, measured: dict[str, Any]) -> None:
    """Keep the prediction next to the measurement in each bundle's run.json (atomic rewrite)."""
    for bundle in bundles:
        if not bundle or not os.path.isdir(bundle):
            continue
        try:
            info = read_run_info(bundle)
        except TraceLoadError:
            continue
        info["ab"] = {"predicted": predicted, "measured": measured}
        bundle_mod.write_json_atomic(os.path.join(bundle, bundle_mod.RUN_JSON), info)


def format_prediction(predicted: dict[str, Any] | None, measured_speedup: float | None) -> list[str]:
    """Report lines: the predicted speedup beside the measured one, and a noisy-profile warning."""
    lines: list[str] = []
    if predicted and predicted.get("predicted_speedup"):
        lines.append(f"  predicted by {predicted['rule']}: {predicted['predicted_speedup']:.2f}x "
                     f"(gain {predicted['gain_ms']:.2f} of {predicted['step_ms']:.2f} ms/step)"
                     + (f"; measured {measured_speedup:.2f}x" if measured_speedup else ""))
    elif predicted is not None:
        lines.append("  no finding of side A's profile proposed this fix")
    if predicted and predicted.get("quality") not in (None, "good"):
        lines.append(f"  warning: side A's profile is {predicted['quality']} ("
                     + "; ".join(predicted.get("quality_reasons") or []) + "): re-run on a quiet machine")
    return lines
