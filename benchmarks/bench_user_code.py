"""Speed of the user-code analyses (module tree, flame graph + folded export, FLOPs) on a big with_stack trace.

    python benchmarks/bench_user_code.py [--steps 300] [--layers 24] [--repeat 3]

Writes a synthetic Kineto trace shaped like a with_stack GPT-2 step (per layer:
module calls, Python frames 8 deep, addmm ops with shapes) into a temporary
folder and times, on the loaded model, the existing op table (the baseline:
the same trace, the same run) and then module_tree, flame and the folded export.
Target: module tree + flame graph + FLOPs within 2x the op table's time.
``--summary PATH`` writes the medians as JSON (``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

FRAMES = ["torch/nn/modules/module.py(1782): _call_impl", "model.py(40): forward", "model.py(12): helper",
          "torch/functional.py(70): fn", "utils.py(8): wrap", "utils.py(9): inner", "utils.py(10): inner2"]


def _layer(events: list, t: float, layer: int, pid: int) -> float:
    """One transformer layer: a module call holding 4 Linear calls, each with frames and an addmm."""
    start = t
    inner: list = []
    t += 1.0
    for j in range(4):
        mod_start = t
        t += 0.5
        for depth, frame in enumerate(FRAMES):
            inner.append({"ph": "X", "cat": "python_function", "name": frame, "pid": pid, "tid": pid,
                          "ts": t + depth * 0.1, "dur": 10.0 - depth * 0.2})
        inner.append({"ph": "X", "cat": "cpu_op", "name": "aten::addmm", "pid": pid, "tid": pid, "ts": t + 1.0,
                      "dur": 6.0, "args": {"Input Dims": [[256], [512, 256], [256, 256]],
                                           "Input type": ["float"] * 3}})
        t += 10.5
        inner.append({"ph": "X", "cat": "python_function", "name": f"nn.Module: Linear_{layer * 4 + j}",
                      "pid": pid, "tid": pid, "ts": mod_start, "dur": t - mod_start})
        t += 0.5
    events.append({"ph": "X", "cat": "python_function", "name": f"nn.Module: Block_{layer}", "pid": pid,
                   "tid": pid, "ts": start, "dur": t + 1.0 - start})
    events.extend(inner)
    return t + 2.0


def make_trace(path: str, steps: int, layers: int) -> int:
    pid, events, t = 1, [], 0.0
    for s in range(steps):
        s0 = t
        t += 1.0
        for layer in range(layers):
            t = _layer(events, t, layer, pid)
        events.append({"ph": "X", "cat": "user_annotation", "name": f"ProfilerStep#{s}", "pid": pid, "tid": pid,
                       "ts": s0, "dur": t - s0 + 1.0})
        t += 3.0
    with open(path, "w") as f:
        json.dump({"schemaVersion": 1, "traceEvents": events}, f)
    return len(events)


def _time(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    add_summary_option(ap)
    args = ap.parse_args()
    from analyzers.flame import write_folded
    from analyzers.loader import load_trace
    from analyzers.rank_analysis import RankAnalysis

    tmp = tempfile.mkdtemp(prefix="torchscope-bench-")
    path = os.path.join(tmp, "stacks.json")
    n = make_trace(path, args.steps, args.layers)
    model = load_trace(path)
    print(f"synthetic with_stack trace: {n:,} events, {len(model):,} slices")
    rows: dict[str, list[float]] = {"op_table (baseline)": [], "op_flops + throughput": [], "module_tree": [],
                                    "flame": [], "folded export": []}
    for _ in range(args.repeat):
        ra = RankAnalysis(model, 0)
        _ = ra.steps, ra.launches
        rows["op_table (baseline)"].append(_time(lambda: ra.op_table("name")))
        rows["op_flops + throughput"].append(_time(lambda: ra.throughput))
        rows["module_tree"].append(_time(lambda: ra.module_tree))
        rows["flame"].append(_time(lambda: ra.flame))
        rows["folded export"].append(_time(lambda: write_folded(ra.flame, os.path.join(tmp, "out.folded"))))
    med = {k: statistics.median(v) for k, v in rows.items()}
    for k, v in med.items():
        print(f"  {k:24s} median {v * 1e3:8.1f} ms")
    ours = med["op_flops + throughput"] + med["module_tree"] + med["flame"]
    ratio = ours / med["op_table (baseline)"]
    print(f"user-code analyses / op table: {ratio:.2f}x (target <= 2x)")
    write_summary(args.summary, benchmark="bench_user_code.py", command=command_line(),
                  figure=f"{len(model):,} slices: module tree {med['module_tree'] * 1e3:.0f} ms, flame "
                         f"{med['flame'] * 1e3:.0f} ms, FLOPs + throughput "
                         f"{med['op_flops + throughput'] * 1e3:.0f} ms, folded export "
                         f"{med['folded export'] * 1e3:.0f} ms: {ratio:.2f}x the op table",
                  baseline=f"op table, same trace, same run: {med['op_table (baseline)'] * 1e3:.0f} ms",
                  target="<= 2x the op table", met=ratio <= 2.0)
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
