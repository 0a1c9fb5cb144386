"""Gzip bombs are refused fast and in little memory; a big legitimate trace still opens.

    python benchmarks/bench_bombs.py [--gb 2] [--repeat 3] [--legit-events 0]

Builds (once, in a temporary folder, never in git) a zeros bomb and a bomb of
spaces inside a valid ``{"traceEvents": [`` header, each ``--gb`` GB expanded,
then loads each with ``analyzers.loader.load_trace`` in a fresh child process
and prints the median wall time and peak RSS over ``--repeat`` runs, plus the
one-line error.  Targets: refused in < 2 s with < 300 MB peak RSS.
With ``--legit-events N`` it also loads a replicated real trace of N events
(``make_big_trace``) gzipped, which must open.  With ``--legit-gb G`` it
gunzips (``read_trace_bytes`` only: the part that bounds decompression) a
G GB trace made of a reference trace's events repeated, which must pass.
``--gb 0`` skips the bombs (e.g. ``--gb 0 --legit-gb 1``).  ``--summary PATH``
writes the medians as JSON (``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

HEADER = b'{"traceEvents": ['

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from analyzers.errors import TraceLoadError
from analyzers.loader import load_trace
from analyzers.trace_files import read_trace_bytes
t = time.perf_counter()
try:
    if sys.argv[2] == "read":
        outcome = f"read: {{len(read_trace_bytes(sys.argv[1])) / 1e9:.2f}} GB of JSON"
    else:
        m = load_trace(sys.argv[1])
        outcome = f"opened: {{len(m):,}} slices"
except TraceLoadError as exc:
    outcome = f"refused: {{exc}}"
wall = time.perf_counter() - t
print(json.dumps({{"wall_s": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}}))
"""


def write_bomb(path: Path, head: bytes, fill: bytes, total_bytes: int) -> None:
    """A gzip of ``head`` followed by ``fill`` bytes up to ``total_bytes``, written in a stream."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = fill * (8 << 20)
    with open(path, "wb") as fh:
        fh.write(comp.compress(head))
        left = total_bytes - len(head)
        while left > 0:
            fh.write(comp.compress(block[:left]))
            left -= len(block)
        fh.write(comp.flush())


def write_legit(path: Path, total_bytes: int) -> None:
    """A valid trace of about ``total_bytes``: a reference trace's events repeated (read-path check only)."""
    from benchmarks.make_big_trace import _load, source_trace
    events = _load(source_trace())["traceEvents"]
    body = ",\n".join(json.dumps(e) for e in events).encode()
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(path, "wb") as fh:
        fh.write(comp.compress(HEADER + body))
        for _ in range(max(0, total_bytes // (len(body) + 2) - 1)):
            fh.write(comp.compress(b",\n" + body))
        fh.write(comp.compress(b"]}") + comp.flush())


def run_child(path: Path, what: str = "load") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO)), str(path), what],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(label: str, path: Path, repeat: int, what: str = "load") -> dict:
    """Load ``path`` ``repeat`` times in fresh children; print and return the medians and the outcome."""
    runs = [run_child(path, what) for _ in range(repeat)]
    wall = statistics.median(r["wall_s"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    size_mb = path.stat().st_size / 1e6
    walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
    print(f"{label:<14} {size_mb:8.1f} MB gz  median {wall:6.2f} s  peak RSS {peak:7.0f} MB  "
          f"[{walls}]  {runs[0]['outcome'][:160]}")
    return {"label": label, "wall_s": wall, "peak_mb": peak, "outcome": runs[0]["outcome"]}


def summary_cells(bombs: list[dict], legit: list[dict], gb: float) -> dict:
    """The --summary cells: bombs refused fast and small, legitimate traces opened."""
    figure = [f"{r['label']} ({gb:g} GB): {r['outcome'].split(':')[0]} in {r['wall_s']:.2f} s, peak RSS "
              f"{r['peak_mb']:.0f} MB" for r in bombs]
    figure += [f"{r['label']}: {r['outcome'][:60]} in {r['wall_s']:.2f} s, peak RSS {r['peak_mb']:.0f} MB"
               for r in legit]
    target = []
    if bombs:
        target.append("bombs refused in < 2 s, < 300 MB")
    if legit:
        target.append("the legitimate trace still opens")
    met = (all(r["outcome"].startswith("refused") and r["wall_s"] < 2 and r["peak_mb"] < 300 for r in bombs)
           and not any(r["outcome"].startswith("refused") for r in legit))
    return {"figure": "; ".join(figure) or "nothing measured", "baseline": "-", "target": "; ".join(target) or "-",
            "met": met if bombs or legit else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gb", type=float, default=2.0, help="expanded size of each bomb, GB (0: no bombs)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--legit-events", type=int, default=0, help="also open a replicated trace of N events")
    ap.add_argument("--legit-gb", type=float, default=0.0, help="also gunzip a legitimate trace of G GB")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "torchscope-bench-bombs")
    add_summary_option(ap)
    args = ap.parse_args()
    args.dir.mkdir(exist_ok=True)
    total = int(args.gb * 1e9)
    bombs = {"zeros": (b"", b"\0"), "spaces-in-json": (HEADER, b" ")} if args.gb > 0 else {}
    measured, legit = [], []
    for label, (head, fill) in bombs.items():
        path = args.dir / f"{label}-{args.gb:g}gb.json.gz"
        if not path.is_file():
            write_bomb(path, head, fill, total)
        measured.append(measure(label, path, args.repeat))
    if args.legit_events:
        path = args.dir / f"legit-{args.legit_events}.json.gz"
        if not path.is_file():
            subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_big_trace.py"),
                            "--events", str(args.legit_events), "--out", str(path)], check=True)
        legit.append(measure("legit", path, args.repeat))
    if args.legit_gb:
        path = args.dir / f"legit-{args.legit_gb:g}gb.json.gz"
        if not path.is_file():
            write_legit(path, int(args.legit_gb * 1e9))
        legit.append(measure(f"legit-read ({args.legit_gb:g} GB)", path, args.repeat, "read"))
    write_summary(args.summary, benchmark="bench_bombs.py", command=command_line(),
                  **summary_cells(measured, legit, args.gb))


if __name__ == "__main__":
    main()
