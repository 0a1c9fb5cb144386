"""Loading a folder of N rank traces: serially vs one process per rank (analyzers/rank_loading.py).

    python benchmarks/bench_ranks.py --ranks 4 --copies 4 --repeat 3

Builds one replica trace (make_big_trace.py: --copies of a reference trace),
links it as rank-0..N-1 in a temporary folder, then loads the folder in a
fresh process for each mode (so peak RSS is that load's own) and prints the
median wall time and peak RSS of each, with the pool's speedup.  Target: the
pool is faster than serial on a machine with >= N free cores, and its peak
RSS stays within 1.3x of the serial load's (each rank is held once here).
``--summary PATH`` writes the medians as JSON (``benchmarks/summary.py``):
the figure is the pool, the baseline the serial load of the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from analyzers.rank_loading import load_tasks
folder, workers = Path(sys.argv[1]), int(sys.argv[2])
tasks = [("file", -1, str(f), "kineto-json.gz") for f in sorted(folder.glob("rank-*.json.gz"))]
t0 = time.perf_counter()
models = load_tasks(tasks, workers=workers)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "slices": sum(len(m) for m in models)}))
"""


def _run(folder: Path, workers: int) -> dict:
    script = folder / "load_child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, str(script), str(folder), str(workers)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _met(speedup: float, rss_ratio: float, ranks: int, load: float) -> bool | None:
    """The targets: RSS ratio <= 1.3 always; the speedup only counts with >= ``ranks`` free cores (else None)."""
    if rss_ratio > 1.3:
        return False
    return speedup > 1 if (os.cpu_count() or 1) - load >= ranks else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--copies", type=int, default=4, help="copies of the reference trace in each rank's trace")
    ap.add_argument("--repeat", type=int, default=3)
    add_summary_option(ap)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = folder / "replica.json.gz"
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_big_trace.py"), "--copies",
                        str(args.copies), "--out", str(one)], check=True, capture_output=True)
        for r in range(args.ranks):
            os.link(one, folder / f"rank-{r}.json.gz")
        one.unlink()
        size_mb = (folder / "rank-0.json.gz").stat().st_size / 2**20
        load = os.getloadavg()[0]
        print(f"{args.ranks} ranks of {size_mb:.1f} MB gzip each; {os.cpu_count()} cores; load average {load:.1f}")
        results: dict[str, list[dict]] = {"serial": [], "pool": []}
        for _ in range(args.repeat):  # interleaved
            results["serial"].append(_run(folder, 1))
            results["pool"].append(_run(folder, min(args.ranks, os.cpu_count() or 1)))
        med = {k: (statistics.median(x["wall_s"] for x in v), statistics.median(x["peak_rss_mb"] for x in v))
               for k, v in results.items()}
        for k, (wall, rss) in med.items():
            print(f"{k:>6}: median {wall:6.2f} s, peak RSS {rss:7.0f} MB")
        speedup, rss_ratio = med["serial"][0] / med["pool"][0], med["pool"][1] / med["serial"][1]
        print(f"pool speedup {speedup:.2f}x; RSS ratio {rss_ratio:.2f}"
              " (targets: > 1x with >= N free cores; RSS ratio <= 1.3)")
    write_summary(args.summary, benchmark="bench_ranks.py", command=command_line(),
                  figure=f"{args.ranks} ranks of {size_mb:.1f} MB gzip, {os.cpu_count()} cores, load {load:.1f}: pool "
                         f"{med['pool'][0]:.2f} s, peak RSS {med['pool'][1]:.0f} MB: {speedup:.2f}x serial, "
                         f"RSS ratio {rss_ratio:.2f}",
                  baseline=f"serial load, same run: {med['serial'][0]:.2f} s, peak RSS {med['serial'][1]:.0f} MB",
                  target="pool faster than serial with >= N free cores; RSS ratio <= 1.3",
                  met=_met(speedup, rss_ratio, args.ranks, load))


if __name__ == "__main__":
    main()
