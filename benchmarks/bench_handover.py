"""Hand-over of a big trace's Analysis from the loader child process to the app.

    python benchmarks/bench_handover.py --trace BIG.json.gz [--repeat 3] [--repo DIR]

Runs ``profiler_gui.isolated_load.load_isolated`` in a fresh parent process
per run and prints the median wall time of the whole isolated load, the time
after the child finished (receiving: mapping the .npy columns, or unpickling
with the old code), the parent's peak RSS and the bytes of the model's
columns.  ``--repo`` points at another checkout (e.g. the code before the
change) to compare in the same run.  Target: the parent holds one copy of
the columns (peak RSS well under 2x their size on top of the app) and
nothing is unpickled.  ``--summary PATH`` writes the medians as JSON
(``benchmarks/summary.py``): the figure is this checkout's run (else the
last ``--repo``), the baseline the other ``--repo`` runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

CHILD = r"""
import json, resource, sys, threading, time
sys.path.insert(0, {repo!r})
import numpy as np
import profiler_gui.isolated_load as iso
phases = {{}}
def progress(phase, frac):
    phases.setdefault(phase, time.perf_counter())
base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
a = iso.load_isolated(sys.argv[1], progress, threading.Event())
end = time.perf_counter()
m = a.model if hasattr(a, "model") else a.session.rank(a.rank).model  # Analysis (older checkouts) or Opened
col_bytes = sum(v.nbytes for v in vars(m).values() if isinstance(v, np.ndarray))
recv = phases.get("receiving the analysis", end)
print(json.dumps({{"wall_s": end - t, "receive_s": end - recv, "col_mb": col_bytes / 2**20,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "base_mb": base_mb,
                  "slices": len(m)}}))
"""


def run_once(repo: Path, trace: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(repo)), str(trace)], capture_output=True,
                         text=True, check=True, cwd=str(repo))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _describe(med: dict) -> str:
    """One checkout's medians as a table cell."""
    return (f"receive {med['receive_s'] * 1000:.0f} ms, load {med['wall_s']:.1f} s, parent peak RSS "
            f"{med['peak_mb']:.0f} MB (app {med['base_mb']:.0f} MB before; {med['col_mb']:.0f} MB of columns)")


def summary_cells(measured: dict[Path, dict]) -> dict:
    """The --summary cells: this checkout (else the last one) against the others measured in the run."""
    repos = list(measured)
    now = next((r for r in repos if r.resolve() == REPO), repos[-1])
    med = measured[now]
    others = [f"{r}: {_describe(measured[r])}" for r in repos if r != now]
    growth = med["peak_mb"] - med["base_mb"]
    return {"figure": f"{med['slices']:,} slices: {_describe(med)}", "baseline": "; ".join(others) or "-",
            "target": "parent peak RSS < app + 2x the columns (one copy of the columns, no pickle)",
            "met": growth < 2 * med["col_mb"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trace", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repo", type=Path, action="append", help="checkout(s) to measure (default: this one)")
    add_summary_option(ap)
    args = ap.parse_args()
    measured: dict[Path, dict] = {}
    for repo in args.repo or [REPO]:
        runs = [run_once(repo, args.trace) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "receive_s", "peak_mb", "base_mb")}
        med.update(col_mb=runs[0]["col_mb"], slices=runs[0]["slices"])
        measured[repo] = med
        receives = ", ".join(f"{r['receive_s'] * 1000:.0f}" for r in runs)
        print(f"{str(repo):<24} {runs[0]['slices']:,} slices, columns {runs[0]['col_mb']:.0f} MB: "
              f"load {med['wall_s']:.1f} s, receive {med['receive_s'] * 1000:.0f} ms, parent peak RSS "
              f"{med['peak_mb']:.0f} MB (app before load {med['base_mb']:.0f} MB)  [receive runs: {receives}]")
    write_summary(args.summary, benchmark="bench_handover.py", command=command_line(), **summary_cells(measured))


if __name__ == "__main__":
    main()
