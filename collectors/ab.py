"""A/B runs: baseline (A) and fixed (B) configurations interleaved, speedup with a bootstrap CI.

Each round runs A in one child, then B in another (A B A B ...), so slow
drift of a noisy machine hits both sides alike.  Round 1 records a profiled
bundle per side (``NAME-A``, ``NAME-B``); later rounds only time steps
(their throw-away bundles go to a temporary folder).  The speedup is
median(A step times) / median(B step times) over all rounds, with a seeded
95 % interval from ``analyzers.stats.cluster_bootstrap_speedup_ci``: rounds are
resampled (in A/B pairs), then steps within them, because rounds differ far
more than steps do (per sample, i.e. scaled by batch_B / batch_A, when a
batch_size fix makes the batch sizes differ).  ``aa=True`` runs the same
settings on both sides: an A/A run measures the false-positive rate.
Every knob is checked against the workload's facts (a probe child that only
builds it) before side A runs.
This module imports neither torch nor Qt.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from analyzers.knobs import format_assignment, validate
from analyzers.stats import bootstrap_speedup_ci  # noqa: F401 - re-exported for callers of collectors.ab
from analyzers.stats import cluster_bootstrap_speedup_ci
from collectors import ab_prediction
from collectors import bundle as bundle_mod
from collectors.errors import UsageError
from collectors.knob_checks import refuse_for_facts
from collectors.runner import DEFAULT_TIMEOUT_S, ProgressFn, RunResult, precheck, probe_workload, run_workload
from collectors.workload_ref import resolve


@dataclass
class SideResult:
    """One side of an A/B comparison."""

    label: str
    settings: dict[str, Any]
    bundle: str | None = None
    step_ms: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)
    batch_size: int | None = None
    round_step_ms: list[list[float]] = field(default_factory=list)  # each round's timed steps

    def add_round(self, step_ms: Sequence[float]) -> None:
        """Keep one round's timed steps (pooled, per round, and its median)."""
        self.step_ms.extend(step_ms)
        self.round_step_ms.append(list(step_ms))
        self.round_medians_ms.append(float(np.median(step_ms)))

    @property
    def median_step_ms(self) -> float | None:
        return float(np.median(self.step_ms)) if self.step_ms else None

    @property
    def mean_step_ms(self) -> float | None:
        return float(np.mean(self.step_ms)) if self.step_ms else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["median_step_ms"] = self.median_step_ms
        d["mean_step_ms"] = self.mean_step_ms
        d["count"] = len(self.step_ms)
        d.pop("round_step_ms")
        return d


@dataclass
class ABResult:
    """The A/B outcome; ``to_dict()`` is what ``torchscope ab --json`` prints."""

    workload: str
    fix: dict[str, Any]
    a: SideResult
    b: SideResult
    rounds: int
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    status: str = "ok"  # "ok" | "failed" | "timeout" | "cancelled"
    error: str | None = None
    seed: int = 0
    bootstrap_resamples: int = 0
    per_sample: bool = False  # True when the batch sizes differ: times per sample are compared
    predicted: dict[str, Any] | None = None  # what side A's findings promised for this fix (ab_prediction)
    aa: bool = False  # an A/A run: both sides identical
    method: str = ""

    def compute(self, resamples: int = 2000, seed: int = 0) -> None:
        """Fill speedup and its CI from both sides' step times (per sample when batch sizes differ)."""
        self.per_sample = bool(self.a.batch_size and self.b.batch_size and self.a.batch_size != self.b.batch_size)
        scale = self._scale()  # different batch sizes do different work per step
        a_rounds = self.a.round_step_ms or [self.a.step_ms]
        b_rounds = self.b.round_step_ms or [self.b.step_ms]
        ci = cluster_bootstrap_speedup_ci(a_rounds, b_rounds, resamples=resamples, seed=seed)
        self.speedup, self.ci_low, self.ci_high = ci.speedup * scale, ci.ci_low * scale, ci.ci_high * scale
        self.seed, self.bootstrap_resamples, self.method = seed, resamples, ci.method

    @property
    def round_speedups(self) -> list[float]:
        """median_A / median_B within each round: how stable the gain is across rounds."""
        scale = self._scale()
        return [a / b * scale for a, b in zip(self.a.round_medians_ms, self.b.round_medians_ms, strict=False)
                if b > 0]

    def _scale(self) -> float:
        """batch_B / batch_A when comparing per sample, else 1."""
        if self.per_sample and self.a.batch_size and self.b.batch_size:
            return self.b.batch_size / self.a.batch_size
        return 1.0

    @property
    def significant(self) -> bool:
        """Whether the 95 % interval excludes 1 (a real change either way)."""
        return self.ci_low is not None and (self.ci_low > 1.0 or (self.ci_high or 0) < 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "fix": self.fix, "rounds": self.rounds,
                "a": self.a.to_dict(), "b": self.b.to_dict(), "speedup": self.speedup,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "ci_level": 0.95,
                "round_speedups": self.round_speedups, "per_sample": self.per_sample,
                "significant": self.significant, "status": self.status, "error": self.error,
                "seed": self.seed, "bootstrap_resamples": self.bootstrap_resamples, "predicted": self.predicted,
                "aa": self.aa,
                "method": "interleaved A/B children (order A,B then B,A by round); speedup = median_A / median_B; "
                          + (self.method or "not computed")}


def run_ab(workload_ref: str, base_settings: Mapping[str, Any], fix_settings: Mapping[str, Any],
           rounds: int = 3, out_dir: str = "runs", timeout_s: float = DEFAULT_TIMEOUT_S,
           on_progress: ProgressFn | None = None, cancel: threading.Event | None = None, *,
           name: str | None = None, workload_args: Sequence[str] = (), device: str = "auto",
           warmup_steps: int = 3, profile_steps: int = 3, timed_steps: int = 20,
           seed: int = 0, resamples: int = 2000, with_stack: bool = True,
           script: bool | None = None, nproc_per_node: int = 1, aa: bool = False) -> ABResult:
    """Run A (``base_settings``) and B (``base_settings`` + ``fix_settings``) interleaved ``rounds`` times.

    ``timeout_s`` applies to each child.  Progress events get ``side`` ("A"/"B")
    and ``round`` keys.  ``aa``: B = A (no fix allowed).  Raises
    KnobError/WorkloadRefError/KnobRefused for user errors, before side A runs.
    """
    if rounds < 1:
        raise UsageError("rounds must be >= 1")
    ref = resolve(workload_ref)
    base = validate(base_settings)
    fix = validate(fix_settings)
    if aa and fix:
        raise UsageError("an A/A run compares identical sides; drop the --fix settings")
    if not fix and not aa:
        raise UsageError("an A/B run needs at least one --fix KNOB=VALUE")
    both = {**base, **fix}
    precheck(base, device)
    precheck(both, device)
    if fix:  # kind, data source and model facts, from a child that only builds the workload
        facts = probe_workload(workload_ref, base, timeout_s, cancel, workload_args=workload_args,
                               device=device, script=script)
        if facts is not None:
            refuse_for_facts(fix, facts)
    name = name or bundle_mod.default_name(ref.name)
    result = ABResult(workload=workload_ref, fix=fix, a=SideResult("A", base), b=SideResult("B", both),
                      rounds=rounds, seed=seed, aa=aa)
    scratch = tempfile.mkdtemp(prefix="torchscope-ab-")
    try:
        for rnd in range(rounds):
            # A, B then B, A: a drift in machine load over time does not favour the side that runs second
            for side in (result.a, result.b) if rnd % 2 == 0 else (result.b, result.a):
                def relay(event: dict[str, Any], side: str = side.label, rnd: int = rnd) -> None:
                    if on_progress is not None:
                        on_progress({**event, "side": side, "round": rnd + 1, "rounds": rounds})
                first = rnd == 0
                run: RunResult = run_workload(
                    workload_ref, side.settings, out_dir if first else scratch, timeout_s, relay, cancel,
                    name=f"{name}-{side.label}" if first else f"r{rnd}-{side.label}",
                    workload_args=workload_args, device=device, warmup_steps=warmup_steps,
                    profile_steps=profile_steps, timed_steps=timed_steps, profile=first, sample=first,
                    with_stack=with_stack and first, script=script, nproc_per_node=nproc_per_node)
                if first:
                    side.bundle = run.bundle_path
                    side.batch_size = run.batch_size
                if run.status != "ok":
                    result.status = run.status
                    where = f"side {side.label} ({_describe(side.settings)}), round {rnd + 1}"
                    kept = f" (bundle: {run.bundle_path})" if first else ""
                    result.error = f"{where}: {run.error}{kept}"
                    return result
                side.add_round(run.step_times_ms)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.compute(resamples=resamples, seed=seed)
    result.predicted = ab_prediction.prediction(result.a.bundle, fix) if fix else None
    ab_prediction.record([result.a.bundle, result.b.bundle], result.predicted,
                         {"speedup": result.speedup, "ci_low": result.ci_low, "ci_high": result.ci_high,
                          "rounds": rounds, "fix": fix})
    return result


def _describe(settings: Mapping[str, Any]) -> str:
    return " ".join(format_assignment(k, v) for k, v in settings.items()) or "defaults"


def format_ab(result: ABResult) -> str:
    """A short human-readable report of an A/B result."""
    lines = [f"workload {result.workload}: A = {_describe(result.a.settings)}",
             f"{' ' * (len(result.workload) + 10)}B = {_describe(result.b.settings)}"
             + ("  (A/A: identical sides, any difference is a false positive)" if result.aa else "")]
    if result.status != "ok":
        lines.append(f"A/B {result.status}: {result.error}")
        return "\n".join(lines)
    for side in (result.a, result.b):
        lines.append(f"  {side.label}: median {side.median_step_ms:.2f} ms/step, mean {side.mean_step_ms:.2f} "
                     f"({len(side.step_ms)} timed steps over {result.rounds} rounds)  bundle {side.bundle}")
    if not result.significant:
        verdict = "no clear difference"
    else:
        verdict = "B faster" if result.speedup and result.speedup > 1 else "B slower"
    if result.per_sample:
        lines.append(f"  batch sizes differ ({result.a.batch_size} vs {result.b.batch_size}): "
                     "speedup compares time per sample")
    sig = "CI excludes 1" if result.significant else "CI includes 1"
    lines.append(f"  speedup A/B = {result.speedup:.2f}x, 95% CI [{result.ci_low:.2f}, "
                 f"{result.ci_high:.2f}]; {sig}: {verdict}")
    lines.append("  per round: " + ", ".join(f"{x:.2f}x" for x in result.round_speedups))
    lines += ab_prediction.format_prediction(result.predicted, result.speedup)
    return "\n".join(lines)
