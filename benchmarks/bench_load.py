"""Loader and full-analysis speed on a ~1M-event trace, against parse-only baselines.

    python benchmarks/bench_load.py [--events 1000000] [--repeat 3]

Prints medians over --repeat runs, each measured in a fresh child process (so
peak RSS is per run): json.loads and orjson.loads of the same bytes with the
garbage collector off and on, our load into the trace model, our full analyze
(load + metrics + rules + report), peak RSS, and Holistic Trace Analysis's
parse when it is installed.  Targets: load <= 1.5x orjson (gc off), analyze
>= 5x faster than HTA's parse, peak RSS <= 1.2 GiB.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import gc, json, resource, sys, time
sys.path.insert(0, {repo!r})
path, what = sys.argv[1], sys.argv[2]
# imports happen before the clock starts: they are app start-up, not loading
if what in ("load", "analyze"):
    from analyzers.loader import load_trace, load_traces
    from analyzers.session import AnalysisSession
elif what.startswith("orjson"):
    import orjson
elif what == "hta":
    from hta.trace_analysis import TraceAnalysis
t = time.perf_counter()
if what.startswith("json") or what.startswith("orjson"):
    data = open(path, "rb").read()
    if what.endswith("nogc"):
        gc.disable()
    t = time.perf_counter()
    if what.startswith("orjson"):
        doc = orjson.loads(data)
    else:
        doc = json.loads(data)
elif what == "load":
    m = load_trace(path)  # includes reading the file
elif what == "analyze":
    models = load_traces(path)
    t_loaded = time.perf_counter()
    report = AnalysisSession(models, path).report()
    json.dumps(report)
    print(json.dumps({{"analysis_s": time.perf_counter() - t_loaded}}))
elif what == "hta":
    import os, shutil, tempfile
    d = tempfile.mkdtemp()
    shutil.copy(path, os.path.join(d, "rank-0.json"))
    t = time.perf_counter()
    TraceAnalysis(trace_dir=d)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": dt, "peak_rss": rss}}))
"""


def run_child(path: Path, what: str, python: str = sys.executable) -> dict[str, float]:
    code = CHILD.format(repo=str(REPO))
    proc = subprocess.run([python, "-c", code, str(path), what], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip().splitlines()[-1:]}")
    out: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def median_of(path: Path, what: str, repeat: int, python: str = sys.executable) -> dict[str, float]:
    runs = [run_child(path, what, python) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the big trace here instead of a temp folder")
    ap.add_argument("--source", type=Path, help="real trace to replicate (default: the V100 reference trace)")
    ap.add_argument("--hta-python", default=sys.executable,
                    help="a Python with HolisticTraceAnalysis installed (kept out of our venv)")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "benchmarks"))
    from make_big_trace import build

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "big.json"
        doc = build(args.events, args.source)
        data = json.dumps(doc).encode()
        path.write_bytes(data)
        n_events = len(doc["traceEvents"])
        del doc
        print(f"trace: {n_events:,} events, {len(data) / 1e6:.0f} MB JSON ({path})")
        del data
        rows = {}
        for what in ("json-gc", "json-nogc", "orjson-gc", "orjson-nogc", "load", "analyze"):
            rows[what] = median_of(path, what, args.repeat)
            print(f"  {what:12s} {rows[what]['seconds']:7.2f} s   peak RSS {rows[what]['peak_rss'] / 2**30:5.2f} GiB")
        try:
            rows["hta"] = median_of(path, "hta", 1, args.hta_python)
            print(f"  {'hta-parse':12s} {rows['hta']['seconds']:7.2f} s")
        except RuntimeError as exc:
            print(f"  hta-parse    not measured ({exc}); pip install HolisticTraceAnalysis to include it")
    load, orj = rows["load"]["seconds"], rows["orjson-nogc"]["seconds"]
    print(f"load / orjson.loads (gc off): {load / orj:.2f}x  (target <= 1.5x)")
    print(f"load / orjson.loads (gc on):  {load / rows['orjson-gc']['seconds']:.2f}x")
    print(f"metrics + rules + report after load: {rows['analyze'].get('analysis_s', float('nan')):.2f} s (target <= 1.5 s)")
    print(f"peak RSS of load: {rows['load']['peak_rss'] / 2**30:.2f} GiB; of analyze: "
          f"{rows['analyze']['peak_rss'] / 2**30:.2f} GiB (target <= 1.2 GiB)")
    if "hta" in rows:
        print(f"HTA parse / our full analyze: {rows['hta']['seconds'] / rows['analyze']['seconds']:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
