"""Loading a folder of N rank traces: serially vs one process per rank (analyzers/rank_loading.py).

    python benchmarks/bench_ranks.py --ranks 4 --copies 4 --repeat 3

Builds one replica trace (make_big_trace.py: --copies of a reference trace),
links it as rank-0..N-1 in a temporary folder, then loads the folder in a
fresh process for each mode (so peak RSS is that load's own) and prints the
median wall time and peak RSS of each, with the pool's speedup.  Target: the
pool is faster than serial on a machine with >= N free cores, and its peak
RSS stays within 1.3x of the serial load's (each rank is held once here).
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--copies", type=int, default=4, help="copies of the reference trace in each rank's trace")
    ap.add_argument("--repeat", type=int, default=3)
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
        print(f"{args.ranks} ranks of {size_mb:.1f} MB gzip each; {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f}")
        results: dict[str, list[dict]] = {"serial": [], "pool": []}
        for _ in range(args.repeat):  # interleaved
            results["serial"].append(_run(folder, 1))
            results["pool"].append(_run(folder, min(args.ranks, os.cpu_count() or 1)))
        med = {k: (statistics.median(x["wall_s"] for x in v), statistics.median(x["peak_rss_mb"] for x in v))
               for k, v in results.items()}
        for k, (wall, rss) in med.items():
            print(f"{k:>6}: median {wall:6.2f} s, peak RSS {rss:7.0f} MB")
        print(f"pool speedup {med['serial'][0] / med['pool'][0]:.2f}x; RSS ratio {med['pool'][1] / med['serial'][1]:.2f}"
              " (targets: > 1x with >= N free cores; RSS ratio <= 1.3)")


if __name__ == "__main__":
    main()
