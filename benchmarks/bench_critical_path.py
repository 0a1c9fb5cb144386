"""HTA-parity figures and the critical path on a big trace, against TorchScope's own HTA-style figures.

    python benchmarks/bench_critical_path.py --trace /tmp/replica16.json.gz [--repeat 3]

Loads the trace once, then per repeat builds a fresh RankAnalysis and times, after the shared launch links:
our own idle time + launch statistics + temporal breakdown (the baseline, same run), HTA 0.5's figures
(``hta_figures``: its event selection and clock) and the default step's critical path.  Prints medians.
Target: HTA figures + critical path <= 1 s on the 1.1M-event V100 replica (``make_big_trace.py --copies 16``).
``--summary PATH`` writes the medians as JSON (``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzers.rank_analysis import RankAnalysis  # noqa: E402
from analyzers.session import AnalysisSession  # noqa: E402
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402


def one_run(model: object) -> dict[str, float]:
    ra = RankAnalysis(model, 0)
    _ = ra.launches, ra.launch_of
    out = {}
    t = time.perf_counter()
    _ = ra.idle_summary, ra.launch_summary, ra.temporal
    out["own idle+launch+temporal (baseline)"] = time.perf_counter() - t
    t = time.perf_counter()
    _ = ra.hta_figures
    out["hta_figures"] = time.perf_counter() - t
    t = time.perf_counter()
    cp = ra.critical_path()
    out["critical_path"] = time.perf_counter() - t
    out["_length_ms"] = getattr(cp, "length_ms", float("nan"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    add_summary_option(ap)
    args = ap.parse_args()
    session = AnalysisSession.load(args.trace)
    model = session.rank(session.ranks[0]).model
    runs = [one_run(model) for _ in range(args.repeat)]
    print(f"{args.trace}: {len(model):,} slices, {args.repeat} runs (medians)")
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0] if not key.startswith("_")}
    for key, value in med.items():
        print(f"  {key:<40} {value * 1e3:8.0f} ms")
    total = statistics.median(r["hta_figures"] + r["critical_path"] for r in runs)
    print(f"  critical path length {runs[0]['_length_ms']:.3f} ms; HTA figures + critical path {total:.2f} s "
          f"(target <= 1 s)")
    write_summary(args.summary, benchmark="bench_critical_path.py", command=command_line(),
                  figure=f"{len(model):,} slices: hta_figures {med['hta_figures'] * 1e3:.0f} ms, critical_path "
                         f"{med['critical_path'] * 1e3:.0f} ms, together {total:.2f} s "
                         f"(median of {args.repeat})",
                  baseline=f"own idle + launch + temporal in the same run: "
                           f"{med['own idle+launch+temporal (baseline)'] * 1e3:.0f} ms",
                  target="<= 1 s together", met=total <= 1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
