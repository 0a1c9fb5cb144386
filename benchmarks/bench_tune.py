"""Tune benchmark: wall time of ``torchscope tune`` against one-at-a-time full A/Bs of the same candidates.

Runs, in the same session, (1) ``collectors.tune.run_tune`` on WORKLOAD with the
given candidates and budget, then (2) ``collectors.ab.run_ab`` for each candidate
with a fixed ``--ab-rounds`` (what one would do by hand), and prints both wall
times, each candidate's verdict and rounds, and the A/B speedups next to tune's.

    python benchmarks/bench_tune.py                                  # slow_loader, 3 candidates
    python benchmarks/bench_tune.py --candidates num_workers=2,compile=default --budget 5m --ab-rounds 5
    python benchmarks/bench_tune.py --simulate-aa 100    # sequential A/A: false verdicts of the early stopping

Long on a 2-core CPU: several minutes (each run is a fresh child process).
``--summary PATH`` writes the figures as JSON (``benchmarks/summary.py``): the
figure is tune, the baseline the one-at-a-time A/Bs of the same run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.tune import TuneResult

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402


def simulate_aa(trials: int, summary: Path | None = None) -> int:
    """Sequential A/A: how often tune calls a no-effect knob faster/slower (fake runs, per-run load level 10 %)."""
    import collections
    sys.path.insert(0, str(REPO / "tests" / "collectors"))
    from tune_fakes import FakeRunner

    from collectors.tune import TuneConfig, run_tune
    verdicts: collections.Counter[str] = collections.Counter()
    rounds = []
    for i in range(trials):
        runner = FakeRunner({"threads=1": 1.0}, run_sd=0.1, step_sd=0.03)
        runner.calls = [("seed", {})] * i  # a different seed for each trial's runs
        res = run_tune("slow_loader", {}, tempfile.mkdtemp(prefix="bench-tune-aa-"),
                       TuneConfig(budget_s=1e9, resamples=600), runner=runner, candidates=["threads=1"])
        verdicts[res.candidates[0].cand.verdict] += 1
        rounds.append(res.candidates[0].rounds)
    wrong = verdicts["faster"] + verdicts["slower"]
    print(f"{trials} simulated tunes of a no-effect knob: {dict(verdicts)}; false verdicts {wrong}/{trials} "
          f"= {100 * wrong / trials:.1f} % (target <= 5 %); mean rounds {sum(rounds) / len(rounds):.1f}")
    write_summary(summary, benchmark="bench_tune.py", command=command_line(),
                  figure=f"false verdicts {wrong} / {trials} ({verdicts['faster']} faster, {verdicts['slower']} "
                         f"slower), mean {sum(rounds) / len(rounds):.1f} rounds",
                  baseline="-", target="<= 5 %", met=wrong <= 0.05 * trials)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="slow_loader")
    p.add_argument("--set", dest="sets", action="append", default=["threads=1"], metavar="KNOB=VALUE")
    p.add_argument("--candidates", default="num_workers=2,optimizer_impl=foreach,compile=default")
    p.add_argument("--budget", default="6m")
    p.add_argument("--ab-rounds", type=int, default=5, help="rounds of each one-at-a-time A/B (default 5)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--simulate-aa", type=int, default=0, metavar="N",
                   help="instead: N simulated tunes of a no-effect knob (fake runs), the false-verdict rate")
    add_summary_option(p)
    args = p.parse_args()
    if args.simulate_aa:
        return simulate_aa(args.simulate_aa, args.summary)
    from analyzers.knobs import parse_assignment, parse_assignments
    from collectors.ab import run_ab
    from collectors.tune import TuneConfig, parse_budget, run_tune
    from collectors.tune_report import format_tune
    base = parse_assignments(args.sets)
    cands = [c.strip() for c in args.candidates.split(",") if c.strip()]
    out = tempfile.mkdtemp(prefix="bench-tune-")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    t0 = time.monotonic()
    result = run_tune(args.workload, base, out, TuneConfig(budget_s=parse_budget(args.budget), timed_steps=args.steps),
                      candidates=cands)
    tune_s = time.monotonic() - t0
    print(format_tune(result))
    tune_runs = sum(len(m.bundles) for m in result.candidates) + len(
        [n for n in os.listdir(result.out_dir) if n.startswith("baseline")])
    rows = []
    t1 = time.monotonic()
    for text in cands:
        k, v = parse_assignment(text)
        ab = run_ab(args.workload, base, {k: v}, rounds=args.ab_rounds, out_dir=out, timed_steps=args.steps,
                    profile_steps=2)
        rows.append((text, ab.speedup, ab.ci_low, ab.ci_high, ab.status))
    ab_s = time.monotonic() - t1
    report(args, result, tune_s, tune_runs, rows, ab_s)
    return 0


def report(args: argparse.Namespace, result: TuneResult, tune_s: float, tune_runs: int, rows: list[tuple],
           ab_s: float) -> None:
    """Print tune against the one-at-a-time A/Bs; write the --summary cells."""
    cands = [r[0] for r in rows]
    print(f"\none-at-a-time A/Bs ({args.ab_rounds} rounds each, {2 * args.ab_rounds * len(cands)} runs):")
    for text, s, lo, hi, status in rows:
        print(f"  {text:<26} {s or 0:.2f}x [{lo or 0:.2f}, {hi or 0:.2f}] {status}")
    cand_rounds = sum(m.rounds for m in result.candidates) + (result.stack.rounds if result.stack else 0)
    ab_runs = 2 * args.ab_rounds * len(cands)
    per_round = tune_runs / max(cand_rounds, 1)
    print(f"\ntune: {tune_s:.0f} s, {tune_runs} runs for {cand_rounds} candidate-rounds "
          f"({per_round:.2f} runs each);  one-at-a-time A/Bs: {ab_s:.0f} s, {ab_runs} runs for "
          f"{args.ab_rounds * len(cands)} candidate-rounds (2.00 runs each);  wall ratio A/Bs / tune {ab_s / tune_s:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    from collectors.tune import parse_budget
    budget = parse_budget(args.budget)
    verdicts = ", ".join(f"{m.cand.knob}={m.cand.value} {m.speedup or 0:.2f}x [{m.ci_low or 0:.2f}, "
                         f"{m.ci_high or 0:.2f}] {m.cand.verdict} after {m.rounds} rounds" for m in result.candidates)
    recommended = ", ".join(f"{k}={v}" for k, v in result.recommended.items()) or "nothing"
    abs_ = ", ".join(f"{text} {s or 0:.2f}x [{lo or 0:.2f}, {hi or 0:.2f}]" for text, s, lo, hi, _ in rows)
    write_summary(args.summary, benchmark="bench_tune.py", command=command_line(),
                  figure=f"tune {tune_s:.0f} s (budget {budget:.0f} s), {tune_runs} runs for {cand_rounds} "
                         f"candidate-rounds ({per_round:.2f} runs per candidate-round); {verdicts}; "
                         f"{recommended} recommended",
                  baseline=f"one-at-a-time A/Bs at {args.ab_rounds} rounds, same run: {ab_s:.0f} s, {ab_runs} runs "
                           f"(2.00 runs per candidate-round); {abs_}",
                  target="fewer runs per candidate-round than separate A/Bs; within the budget (+10 %)",
                  met=per_round < 2.0 and tune_s <= 1.1 * budget)


if __name__ == "__main__":
    sys.exit(main())
