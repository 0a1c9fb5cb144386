"""Tune benchmark: wall time of ``torchscope tune`` against one-at-a-time full A/Bs of the same candidates.

Runs, in the same session, (1) ``collectors.tune.run_tune`` on WORKLOAD with the
given candidates and budget, then (2) ``collectors.ab.run_ab`` for each candidate
with a fixed ``--ab-rounds`` (what one would do by hand), and prints both wall
times, each candidate's verdict and rounds, and the A/B speedups next to tune's.

    python benchmarks/bench_tune.py                                  # slow_loader, 3 candidates
    python benchmarks/bench_tune.py --candidates num_workers=2,compile=default --budget 5m --ab-rounds 5
    python benchmarks/bench_tune.py --simulate-aa 100    # sequential A/A: false verdicts of the early stopping

Long on a 2-core CPU: several minutes (each run is a fresh child process).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def simulate_aa(trials: int) -> int:
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
    args = p.parse_args()
    if args.simulate_aa:
        return simulate_aa(args.simulate_aa)
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
    print(f"\none-at-a-time A/Bs ({args.ab_rounds} rounds each, {2 * args.ab_rounds * len(cands)} runs):")
    for text, s, lo, hi, status in rows:
        print(f"  {text:<26} {s or 0:.2f}x [{lo or 0:.2f}, {hi or 0:.2f}] {status}")
    cand_rounds = sum(m.rounds for m in result.candidates) + (result.stack.rounds if result.stack else 0)
    ab_runs = 2 * args.ab_rounds * len(cands)
    print(f"\ntune: {tune_s:.0f} s, {tune_runs} runs for {cand_rounds} candidate-rounds "
          f"({tune_runs / max(cand_rounds, 1):.2f} runs each);  one-at-a-time A/Bs: {ab_s:.0f} s, {ab_runs} runs for "
          f"{args.ab_rounds * len(cands)} candidate-rounds (2.00 runs each);  wall ratio A/Bs / tune {ab_s / tune_s:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
