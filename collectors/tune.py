"""``torchscope tune``: sequential, interleaved A/B of many candidate knobs with early stopping.

Round r runs the baseline once and every still-undecided candidate once
(baseline first on even rounds, last on odd ones); each candidate's round pairs
its run with that round's baseline run, and its speedup and 95 % interval come
from ``analyzers.stats.cluster_bootstrap_speedup_ci`` (rounds resampled in
pairs).  After ``min_rounds`` a candidate stops as soon as its 99 % interval
excludes 1 (faster / slower: the stricter level pays for looking after every
round), or its 95 % interval shows no worthwhile gain (upper end below
``1 + band``) or sits inside the no-effect band ``[1 - band, 1 + band]``, or
it reaches ``max_rounds``, or the budget is spent (less a share kept for the
stack once two candidates look like winners).  The winners are then stacked
and the stack is A/B-tested against the baseline.  A candidate that
crashes, hangs (``timeout_s`` per run) or runs out of memory is ``failed`` and
the tune goes on.  Imports neither torch nor Qt.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from analyzers.knobs import validate
from analyzers.stats import cluster_bootstrap_speedup_ci
from collectors import bundle as bundle_mod
from collectors.errors import UsageError
from collectors.runner import RunResult, precheck, run_workload
from collectors.tune_candidates import Candidate, check, from_findings, merge, standard_list
from collectors.workload_ref import resolve

Runner = Callable[..., RunResult]
UpdateFn = Callable[["TuneResult"], None]


class BaselineFailed(UsageError):
    """The workload fails with the baseline settings: there is nothing to tune against."""


@dataclass
class TuneConfig:
    """How long and how hard to search."""

    budget_s: float = 600.0
    band: float = 0.02  # no-effect band: speedups within 1 +- band are not worth a change
    min_rounds: int = 3
    max_rounds: int = 10
    stack_share: float = 0.2  # budget kept for testing the stack
    timeout_s: float | None = None  # per run; None: max(120 s, 5 x the baseline run's wall time)
    warmup_steps: int = 3
    profile_steps: int = 2
    timed_steps: int = 10
    resamples: int = 1000
    seed: int = 0


@dataclass
class Measured:
    """A candidate's paired rounds and current estimate."""

    cand: Candidate
    a_rounds: list[list[float]] = field(default_factory=list)
    b_rounds: list[list[float]] = field(default_factory=list)
    bundles: list[str] = field(default_factory=list)
    scale: float = 1.0  # batch_B / batch_A when the batch size differs (time per sample compared)
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    last_wall_s: float = 0.0

    @property
    def rounds(self) -> int:
        return len(self.b_rounds)

    def to_dict(self) -> dict[str, Any]:
        c = self.cand
        return {"knob": c.knob, "value": c.value, "settings": c.settings, "source": c.source,
                "speedup": self.speedup, "ci_low": self.ci_low, "ci_high": self.ci_high, "rounds": self.rounds,
                "verdict": c.verdict, "reason": c.reason, "bundles": self.bundles,
                "round_speedups": [round(float(x), 4) for x in _round_speedups(self)]}


def _round_speedups(m: Measured) -> list[float]:
    import numpy as np
    return [float(np.median(a) / np.median(b)) * m.scale for a, b in zip(m.a_rounds, m.b_rounds)]


@dataclass
class TuneResult:
    """Everything tune measured so far (complete, or partial after a cancel)."""

    workload: str
    base: dict[str, Any]
    out_dir: str
    budget_s: float
    baseline: dict[str, Any] = field(default_factory=dict)
    candidates: list[Measured] = field(default_factory=list)
    stack: Measured | None = None
    recommended: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    status: str = "running"  # running, ok, cancelled
    wall_s: float = 0.0

    def ranked(self) -> list[Measured]:
        """Measured candidates by speedup, then failed, then skipped."""
        order = {"faster": 0, "no effect": 1, "running": 1, "pending": 1, "slower": 2, "failed": 3, "skipped": 4}
        return sorted(self.candidates, key=lambda m: (order.get(m.cand.verdict, 5), -(m.speedup or 0.0)))

    def leader(self) -> Measured | None:
        measured = [m for m in self.candidates if m.speedup is not None and m.cand.verdict not in ("failed",)]
        return max(measured, key=lambda m: m.speedup or 0.0) if measured else None


def parse_budget(text: str) -> float:
    """'10m', '90s', '1h', '600' -> seconds; UsageError for 0, negatives and garbage."""
    raw = str(text).strip().lower()
    units = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
    unit = next((u for u in ("min", "s", "m", "h") if raw.endswith(u)), "")
    try:
        value = float(raw[: len(raw) - len(unit)]) * units.get(unit, 1.0)
    except ValueError:
        raise UsageError(f"--budget {text!r}: expected a duration like 10m, 90s or 1h") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"--budget {text!r}: the budget must be a positive duration")
    return value


class Tuner:
    """One tune: baseline, candidates, rounds, stack.  ``run()`` returns the TuneResult."""

    def __init__(self, workload: str, base: Mapping[str, Any], out_dir: str, config: TuneConfig, *,
                 candidates: Sequence[str] | None = None, device: str = "auto", workload_args: Sequence[str] = (),
                 script: bool | None = None, on_update: UpdateFn | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 cancel: threading.Event | None = None, runner: Runner | None = None, name: str | None = None) -> None:
        from analyzers.knobs import parse_assignment
        self.ref = resolve(workload, script=script)
        self.base = validate(base)
        self.user = [parse_assignment(t) for t in candidates or []]
        self.cfg, self.device, self.args, self.script = config, device, tuple(workload_args), script
        self.on_update, self.on_progress, self.cancel, self.runner = on_update, on_progress, cancel, runner or run_workload
        precheck(self.base, device)
        self.folder = os.path.join(out_dir, name or bundle_mod.default_name(f"tune-{self.ref.name}"))
        self.result = TuneResult(workload, self.base, self.folder, config.budget_s)
        self.started = time.monotonic()
        self.baseline_wall_s = 0.0
        self.baseline_failures = 0

    # -- runs ------------------------------------------------------------------------------------
    def _run(self, settings: Mapping[str, Any], name: str, profile: bool) -> RunResult:
        def relay(event: dict[str, Any]) -> None:
            if self.on_progress is not None:
                self.on_progress({**event, "run": name})
        timeout_s = self.cfg.timeout_s or (max(120.0, 5.0 * self.baseline_wall_s) if self.baseline_wall_s else 600.0)
        return self.runner(self.result.workload, {**self.base, **settings}, self.folder, timeout_s, relay,
                           self.cancel, name=name, workload_args=self.args, device=self.device,
                           warmup_steps=self.cfg.warmup_steps, profile_steps=self.cfg.profile_steps,
                           timed_steps=self.cfg.timed_steps, profile=profile, sample=profile, script=self.script)

    def _cancelled(self, run: RunResult | None = None) -> bool:
        if (run is not None and run.status == "cancelled") or (self.cancel is not None and self.cancel.is_set()):
            self.result.status = "cancelled"
        return self.result.status == "cancelled"

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _update(self) -> None:
        self.result.wall_s = self._elapsed()
        if self.on_update is not None:
            self.on_update(self.result)

    # -- phases ----------------------------------------------------------------------------------
    def baseline(self) -> RunResult:
        """The profiled baseline run (round 1's A); BaselineFailed when it does not finish."""
        run = self._run({}, "baseline", profile=True)
        if self._cancelled(run):
            return run
        if run.status != "ok" or not run.step_times_ms:
            raise BaselineFailed(f"{self.result.workload}: the workload fails with the baseline settings "
                                 f"({run.status}): {run.error} (bundle: {run.bundle_path})")
        self.baseline_wall_s = run.wall_s
        info = bundle_mod.read_run(run.bundle_path) if run.bundle_path else {}
        self.result.baseline = {"settings": self.base, "bundle": run.bundle_path, "median_step_ms": run.median_step_ms,
                                "batch_size": run.batch_size, "device": info.get("device"),
                                "workload_kind": info.get("workload_kind")}
        self.info = info
        return run

    def plan(self) -> None:
        """Candidates: the user's, else the findings' fixes then the standard list; checked, skipped with reason."""
        info = getattr(self, "info", {})
        facts = dict(info.get("workload_facts") or {})
        model = dict(info.get("model_facts") or {})
        facts["model_facts"] = model or facts.get("model_facts")
        facts["batch_size"] = self.result.baseline.get("batch_size")
        device = info.get("device") or ("cuda" if self.device == "cuda" else "cpu")
        if self.user:
            cands = [Candidate(k, v, source="user") for k, v in self.user]
        else:
            cands = merge(from_findings(self._findings()), standard_list(device, facts, model))
        isa = model.get("cpu_isa") if "cpu_isa" in model else None
        for cand in cands:
            reason = check(cand, self.base, device, facts, isa, user=bool(self.user))
            cand.verdict, cand.reason = ("skipped", reason) if reason else ("running", "")
            self.result.candidates.append(Measured(cand))
        self._update()

    def _findings(self) -> list[Any]:
        """The baseline bundle's findings (none when it cannot be analysed)."""
        from analyzers.errors import AnalysisError, TraceLoadError
        from analyzers.session import AnalysisSession
        bundle = self.result.baseline.get("bundle")
        try:
            return list(AnalysisSession.load(bundle).findings()) if bundle else []
        except (TraceLoadError, AnalysisError) as exc:
            self.result.notes.append(f"baseline not analysed ({exc}): standard candidates only")
            return []

    def _deadline(self, reserve_stack: bool) -> float:
        """Seconds since the start when rounds must stop: the budget, less the stack's share once two
        candidates look like winners (only then will a stack be tested)."""
        likely = [m for m in self.result.candidates if m.cand.verdict == "faster"
                  or (m.cand.verdict == "running" and (m.ci_low or 0.0) > 1.0)]
        reserve = self.cfg.stack_share * self.cfg.budget_s if reserve_stack and len(likely) >= 2 else 0.0
        return self.cfg.budget_s - reserve

    def rounds(self, first: RunResult, measured: list[Measured], reserve_stack: bool) -> None:
        """Interleaved rounds until every candidate in ``measured`` is decided or the budget is spent."""
        a_run: RunResult | None = first
        why = f"max rounds ({self.cfg.max_rounds}) reached"
        for rnd in range(self.cfg.max_rounds):
            active = [m for m in measured if m.cand.verdict == "running"]
            if not active or self._cancelled():
                return
            if rnd and (self._elapsed() + self.baseline_wall_s + min(m.last_wall_s for m in active)
                        > self._deadline(reserve_stack)):
                why = "budget spent"
                break
            if a_run is None and rnd % 2 == 0:
                a_run = self._baseline_round(rnd)
            order = active if rnd % 2 == 0 else active[::-1]
            b_runs: list[tuple[Measured, RunResult]] = []
            for m in order:
                if self._elapsed() + max(m.last_wall_s, self.baseline_wall_s) > self._deadline(reserve_stack):
                    break
                run = self._run(m.cand.settings, f"{_slug(m.cand.label)}-r{rnd + 1}", profile=not m.bundles)
                m.last_wall_s = run.wall_s
                if run.bundle_path:
                    m.bundles.append(run.bundle_path)
                if self._cancelled(run):
                    return
                if run.status != "ok" or not run.step_times_ms:
                    m.cand.verdict, m.cand.reason = "failed", f"{run.status}: {run.error}"
                    self._update()
                    continue
                b_runs.append((m, run))
            if a_run is None and not self._cancelled():
                a_run = self._baseline_round(rnd)
            if self._cancelled() or a_run is None:
                return
            for m, run in b_runs:
                self._add(m, a_run, run)
            self._update()
            a_run = None
            if len(b_runs) < len([m for m in order if m.cand.verdict == "running"]):
                why = "budget spent"  # the deadline cut this round short
                break
        for m in measured:
            if m.cand.verdict == "running":
                decide(m, self.cfg, final=True, why=why)

    def _baseline_round(self, rnd: int) -> RunResult | None:
        run = self._run({}, f"baseline-r{rnd + 1}", profile=False)
        if self._cancelled(run):
            return None
        if run.status != "ok" or not run.step_times_ms:
            self.baseline_failures += 1
            self.result.notes.append(f"baseline run of round {rnd + 1} {run.status}: {run.error}; round dropped")
            return None
        self.baseline_wall_s = max(self.baseline_wall_s, run.wall_s)
        return run

    def _add(self, m: Measured, a_run: RunResult, b_run: RunResult) -> None:
        m.a_rounds.append(list(a_run.step_times_ms))
        m.b_rounds.append(list(b_run.step_times_ms))
        if a_run.batch_size and b_run.batch_size:
            m.scale = b_run.batch_size / a_run.batch_size
        estimate(m, self.cfg)
        if m.rounds >= self.cfg.min_rounds:
            decide(m, self.cfg, final=False)

    def stack(self) -> None:
        """Combine the winners (best value per knob) and A/B the combination against the baseline."""
        winners = [m for m in self.result.ranked() if m.cand.verdict == "faster"]
        best: dict[str, Measured] = {}
        for m in winners:
            best.setdefault(m.cand.knob, m)
        members = list(best.values())
        self.result.recommended = dict(members[0].cand.settings) if members else {}
        if len(members) < 2:
            return
        head, rest = members[0].cand, members[1:]
        extra = {k: v for m in rest for k, v in m.cand.settings.items()}
        cand = Candidate(head.knob, head.value, source="stack", extra=extra, verdict="running")
        self.result.stack = Measured(cand)
        a_first = self._baseline_round(-1)  # named baseline-r0: the stack's first baseline
        if a_first is None:
            return
        self.rounds(a_first, [self.result.stack], reserve_stack=False)
        self.result.recommended = recommend(members, self.result.stack, self.result.notes)

    def run(self) -> TuneResult:
        """Baseline, plan, rounds, stack; a KeyboardInterrupt keeps what was measured (status cancelled)."""
        try:
            first = self.baseline()
            if not self._cancelled():
                self.plan()
                self.rounds(first, [m for m in self.result.candidates if m.cand.verdict == "running"],
                            reserve_stack=True)
            if not self._cancelled():
                self.stack()
        except KeyboardInterrupt:
            self.result.status = "cancelled"
        if self.result.status == "cancelled":
            for m in self.result.candidates:
                if m.cand.verdict == "running":
                    decide(m, self.cfg, final=True, why="cancelled") if m.rounds >= 2 else _undecided(m)
        else:
            self.result.status = "ok"
        self._update()
        return self.result


def _undecided(m: Measured) -> None:
    m.cand.verdict, m.cand.reason = "no effect", f"not decided: cancelled after {m.rounds} round(s)"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text.replace("=", "-"))[:60]


def estimate(m: Measured, cfg: TuneConfig, level: float = 0.95) -> tuple[float, float, float]:
    """Fill the candidate's speedup and 95 % interval from its paired rounds; return (speedup, low, high)."""
    ci = cluster_bootstrap_speedup_ci(m.a_rounds, m.b_rounds, resamples=cfg.resamples, seed=cfg.seed, level=level)
    s, lo, hi = ci.speedup * m.scale, ci.ci_low * m.scale, ci.ci_high * m.scale
    if level == 0.95:
        m.speedup, m.ci_low, m.ci_high = s, lo, hi
    return s, lo, hi


def decide(m: Measured, cfg: TuneConfig, final: bool, why: str = "") -> None:
    """Stop a candidate when the evidence is clear (see the module doc); ``final`` forces a verdict."""
    c = m.cand
    if m.rounds < 2:  # one round says nothing about round-to-round spread: no verdict either way
        c.verdict, c.reason = "no effect", f"not decided: {m.rounds} round(s) before {why or 'the end'}"
        return
    lo95, hi95 = m.ci_low or 0.0, m.ci_high or 0.0
    if not final and m.rounds >= 2:
        _, lo99, hi99 = estimate(m, cfg, level=0.99)
        if lo99 > 1.0 or hi99 < 1.0:
            c.verdict = "faster" if lo99 > 1.0 else "slower"
            c.reason = f"99 % CI [{lo99:.2f}, {hi99:.2f}] excludes 1 after {m.rounds} rounds"
            return
    if lo95 >= 1.0 - cfg.band and hi95 <= 1.0 + cfg.band:
        c.verdict, c.reason = "no effect", f"95 % CI inside the no-effect band 1 +- {cfg.band:g} after {m.rounds} rounds"
    elif hi95 < 1.0 + cfg.band and not final:
        c.verdict = "slower" if hi95 < 1.0 else "no effect"
        c.reason = f"no worthwhile gain: 95 % CI upper end {hi95:.3f} < {1 + cfg.band:g} after {m.rounds} rounds"
    elif final:
        c.verdict = "faster" if lo95 > 1.0 else "slower" if hi95 < 1.0 else "no effect"
        c.reason = (f"{why} after {m.rounds} rounds" if c.verdict != "no effect"
                    else f"no clear difference (95 % CI includes 1); {why} after {m.rounds} rounds")


def recommend(members: list[Measured], stack: Measured, notes: list[str]) -> dict[str, Any]:
    """The stack when it is at least as fast as its best member, else that member alone (with a note)."""
    best = max(members, key=lambda m: m.speedup or 0.0)
    if stack.cand.verdict == "faster" and (stack.speedup or 0.0) >= (best.speedup or 0.0):
        return dict(stack.cand.settings)
    if stack.cand.verdict == "failed":
        notes.append(f"the stack {stack.cand.label} failed ({stack.cand.reason}): recommending "
                     f"{best.cand.label} alone")
    elif stack.cand.verdict != "faster":
        notes.append(f"the stack {stack.cand.label} was not shown faster than the baseline ({stack.cand.verdict}, "
                     f"{stack.rounds} rounds): recommending its best member {best.cand.label} alone")
    else:
        notes.append(f"the stack {stack.cand.label} ({(stack.speedup or 0):.2f}x) is not faster than its best member "
                     f"{best.cand.label} ({(best.speedup or 0):.2f}x): fixes do not compose here")
    return dict(best.cand.settings)


def run_tune(workload: str, base: Mapping[str, Any], out_dir: str, config: TuneConfig | None = None,
             **kwargs: Any) -> TuneResult:
    """Run one tune (see :class:`Tuner` for the keyword arguments)."""
    return Tuner(workload, base, out_dir, config or TuneConfig(), **kwargs).run()
