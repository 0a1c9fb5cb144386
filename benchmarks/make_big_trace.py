"""Build a large Kineto trace by replicating a real one with shifted times and fresh ids.

Used by the benchmarks; the output goes to a temporary folder, never into git.
    python benchmarks/make_big_trace.py --events 1000000 --out /tmp/big.json
    python benchmarks/make_big_trace.py --src TRACE --copies 16 --out /tmp/replica.json.gz
Each copy shifts timestamps past the previous one and offsets ids (correlation,
External id, flow ids, ProfilerStep numbers) so events stay distinct.
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference_traces"
ID_KEYS = ("correlation", "External id", "external id")


def source_trace() -> Path:
    """A real trace to replicate: a reference trace if present, else a bundled sample."""
    for name in ("hta_v100_68k_events.pt.trace.json.gz", "tb_resnet50_num_workers_0.pt.trace.json.gz"):
        if (REFERENCE / name).is_file():
            return REFERENCE / name
    samples = sorted((REPO / "sample_traces").glob("*/trace.json.gz"), key=lambda p: -p.stat().st_size)
    if samples:
        return samples[0]
    raise SystemExit("no trace to replicate: need ../shared/reference_traces or sample_traces/")


def _load(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = json.loads(data)
    return doc if isinstance(doc, dict) else {"traceEvents": doc}


def build(events_wanted: int, src: Path | None = None, copies: int | None = None) -> dict[str, Any]:
    """A trace of about ``events_wanted`` events (or exactly ``copies`` copies) made of shifted copies of ``src``."""
    doc = _load(src or source_trace())
    base = doc["traceEvents"]
    timed = [e for e in base if e.get("ph") != "M" and isinstance(e.get("ts"), (int, float))]
    meta = [e for e in base if e.get("ph") == "M"]
    t0 = min(e["ts"] for e in timed)
    t1 = max(e["ts"] + e.get("dur", 0) for e in timed)
    span = (t1 - t0) * 1.01
    max_id = 1
    for e in timed:
        args = e.get("args") or {}
        for k in ID_KEYS:
            if isinstance(args.get(k), int):
                max_id = max(max_id, args[k])
        if isinstance(e.get("id"), int):
            max_id = max(max_id, e["id"])
    if copies is None:
        copies = max(1, round(events_wanted / max(len(timed), 1)))
    out = list(meta)
    for k in range(copies):
        shift, id_shift = k * span, k * (max_id + 1)
        for e in timed:
            if e.get("cat") == "Trace" and k:
                continue
            c = dict(e)
            c["ts"] = round(e["ts"] + shift, 3)
            if isinstance(c.get("id"), int):
                c["id"] = e["id"] + id_shift
            args = e.get("args")
            if isinstance(args, dict) and any(key in args for key in ID_KEYS):
                args = dict(args)
                for key in ID_KEYS:
                    if isinstance(args.get(key), int):
                        args[key] += id_shift
                c["args"] = args
            if isinstance(c.get("name"), str) and c["name"].startswith("ProfilerStep#"):
                c["name"] = f"ProfilerStep#{k * 1000 + int(c['name'][13:] or 0)}"
            out.append(c)
    doc = dict(doc)
    doc["traceEvents"] = out
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--copies", type=int, default=None, help="replicate the source exactly N times")
    ap.add_argument("--src", type=Path, default=None, help="the trace to replicate (default: a reference trace)")
    args = ap.parse_args()
    doc = build(args.events, args.src, args.copies)
    data = json.dumps(doc).encode()
    args.out.write_bytes(gzip.compress(data, 3) if args.out.name.endswith(".gz") else data)
    print(f"{args.out}: {len(doc['traceEvents']):,} events, {len(data) / 1e6:.0f} MB of JSON")


if __name__ == "__main__":
    main()
