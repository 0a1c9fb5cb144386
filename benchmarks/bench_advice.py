"""Advice benchmark: does the analysis propose the fix that measures best?

For each workload: profile it, read the findings, then A/B every candidate knob
of a fixed list (interleaved rounds, bootstrap CI) and print a table: the
measured best fix, whether it is among the top-3 findings' fixes, and every
finding whose fix measured slower (95 % CI entirely below 1).  Goal: the best
fix in the top 3 for at least 5 of 6 workloads, no finding slower.

    python benchmarks/bench_advice.py                      # all workloads (needs `pip install -e '.[models]'`)
    python benchmarks/bench_advice.py --workloads lstm_infer tiny_gpt --rounds 3 --steps 6

The transformers models are built from configs with random weights; nothing is downloaded.
Results also go to bench_out/advice.json.  Long: minutes per workload on a 2-core CPU.
``--summary PATH`` writes the outcome as JSON (``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
HERE = Path(__file__).resolve().parent / "advice_workloads"
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

#: workload -> (reference, kind); the transformers ones need the [models] extra
WORKLOADS: dict[str, tuple[str, str]] = {  # quickest first
    "mlp_infer": ("mlp_infer", "infer"),
    "lstm_infer": (str(HERE / "lstm_infer.py"), "infer"),
    "convnet": ("convnet", "train"),
    "tiny_gpt": ("tiny_gpt", "train"),
    "mobilenet_train": (str(HERE / "mobilenet_train.py"), "train"),
    "bert_train": (str(HERE / "bert_train.py"), "train"),
    "gpt2_train": (str(HERE / "gpt2_train.py"), "train"),
}
CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "train": [{"amp": "bf16"}, {"compile": "default"}, {"channels_last": True}, {"optimizer_impl": "fused"}],
    "infer": [{"amp": "bf16"}, {"compile": "default"}, {"dynamic_quant": True}, {"inference_mode": True}],
}


def _top_fixes(bundle: str, n: int = 3) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(knob settings of the top-n findings with a knob, every finding as rule/knob/value/gain)."""
    from analyzers.session import AnalysisSession

    found = AnalysisSession.load(bundle).findings()
    with_knob = [f for f in found if f.knob is not None]
    rows = [{"rule": f.rule, "knob": f.knob, "value": f.knob_value, "gain_ms": f.gain_ms} for f in found]
    return [{f.knob: f.knob_value} for f in with_knob[:n]], rows


def _ab(ref: str, fix: dict[str, Any], args: argparse.Namespace, out: str) -> dict[str, Any]:
    from analyzers.knobs import KnobError
    from collectors.ab import run_ab

    try:
        r = run_ab(ref, {"threads": args.threads} if args.threads else {}, fix, rounds=args.rounds, out_dir=out,
                   warmup_steps=args.warmup, profile_steps=1, timed_steps=args.steps, device="cpu",
                   timeout_s=args.timeout)
    except KnobError as exc:  # KnobRefused too: a knob with nothing to act on
        return {"fix": fix, "status": "refused", "error": str(exc)}
    return {"fix": fix, "status": r.status, "error": r.error, "speedup": r.speedup, "ci_low": r.ci_low,
            "ci_high": r.ci_high, "round_speedups": r.round_speedups}


def evaluate(name: str, args: argparse.Namespace, out: str) -> dict[str, Any]:
    """Profile one workload, read its findings, A/B every candidate; the row of the table."""
    from collectors.runner import run_workload

    ref, kind = WORKLOADS[name]
    base = {"threads": args.threads} if args.threads else {}
    run = run_workload(ref, base, out, args.timeout, None, None, name=f"{name}-profile", device="cpu",
                       warmup_steps=args.warmup, profile_steps=args.profile_steps, timed_steps=args.steps)
    if run.status != "ok":
        return {"workload": name, "status": run.status, "error": run.error}
    top, findings = _top_fixes(run.bundle_path)
    abs_ = [_ab(ref, fix, args, out) for fix in CANDIDATES[kind]]
    ok = [a for a in abs_ if a["status"] == "ok" and a.get("speedup")]
    # a win: the CI excludes 1 and every round agrees (pooled CIs are too narrow on a loaded machine)
    wins = [a for a in ok if (a["ci_low"] or 0) > 1.0 and min(a["round_speedups"] or [0.0]) > 1.0]
    best_real = max(wins, key=lambda a: a["speedup"], default=None)
    slower = [a["fix"] for a in ok if (a["ci_high"] or 2.0) < 1.0 and a["fix"] in top]
    return {"workload": name, "status": "ok", "findings": findings, "top3": top, "ab": abs_,
            "best": best_real["fix"] if best_real else None,
            "best_in_top3": (best_real is None and not top) or (best_real is not None and best_real["fix"] in top),
            "proposed_but_slower": slower}


def _fmt_fix(fix: dict[str, Any] | None) -> str:
    return "none measured faster" if not fix else ", ".join(f"{k}={v}" for k, v in fix.items())


def table(rows: list[dict[str, Any]]) -> str:
    """The benchmark's table: best fix, in the top 3, findings that measured slower."""
    lines = [f"{'workload':<17}{'measured best fix':<28}{'in top-3':<10}{'top-3 findings fixes':<44}slower"]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"{r['workload']:<17}{r.get('status')}: {r.get('error')}")
            continue
        ab = {json.dumps(a["fix"], sort_keys=True): a for a in r["ab"]}
        best = ab.get(json.dumps(r["best"], sort_keys=True)) if r["best"] else None
        best_txt = _fmt_fix(r["best"]) + (f" {best['speedup']:.2f}x [{best['ci_low']:.2f},{best['ci_high']:.2f}]"
                                           if best else "")
        lines.append(f"{r['workload']:<17}{best_txt:<28}{'yes' if r['best_in_top3'] else 'NO':<10}"
                     f"{'; '.join(_fmt_fix(f) for f in r['top3']) or '-':<44}"
                     f"{'; '.join(_fmt_fix(f) for f in r['proposed_but_slower']) or 'none'}")
    hits = sum(1 for r in rows if r.get("best_in_top3"))
    lines.append(f"best fix in the top 3: {hits} of {len(rows)}; goal >= 5 of 6, no finding slower")
    return "\n".join(lines)


def summary_cells(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The --summary cells: per workload the measured best fix and whether it is in the top 3."""
    parts = []
    for r in rows:
        if r.get("status") != "ok":
            parts.append(f"{r['workload']} {r.get('status')}")
            continue
        best = next((a for a in r["ab"] if a["fix"] == r["best"]), None) if r["best"] else None
        best_txt = (f"best {_fmt_fix(r['best'])} {best['speedup']:.2f}x [{best['ci_low']:.2f}, {best['ci_high']:.2f}]"
                    if best else "no win established")
        slower = "; ".join(_fmt_fix(f) for f in r["proposed_but_slower"])
        parts.append(f"{r['workload']} {best_txt}, {'in' if r['best_in_top3'] else 'NOT in'} top 3"
                     + (f", proposed but slower: {slower}" if slower else ""))
    hits = sum(1 for r in rows if r.get("best_in_top3"))
    slower_any = any(r.get("proposed_but_slower") for r in rows)
    return {"figure": f"best fix in the top 3: {hits} of {len(rows)}; " + "; ".join(parts), "baseline": "-",
            "target": "best fix in the top 3 for >= 5 of 6, no proposed fix slower",
            "met": bool(rows) and 6 * hits >= 5 * len(rows) and not slower_any}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="*", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per child")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--profile-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads on both sides (0: default)")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--out", default=str(REPO / "bench_out"))
    add_summary_option(ap)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs = tempfile.mkdtemp(prefix="torchscope-advice-")
    rows = []
    for name in args.workloads:
        rows.append(evaluate(name, args, runs))
        print(table(rows[-1:]).splitlines()[1], flush=True)
        Path(args.out, "advice.json").write_text(json.dumps(rows, indent=2, default=str))  # kept as it goes
    print()
    print(table(rows))
    write_summary(args.summary, benchmark="bench_advice.py", command=command_line(), **summary_cells(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
