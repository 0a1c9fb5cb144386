"""Timeline speed on a ~1M-event synthetic trace (a benchmark, not a test).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_timeline.py [--events 1000000]

Prints: pyramid build time, first paint after the data is ready, and the
frame time (median / max over 30 frames) at the whole-trace, one-step
(100 ms) and 1 ms zoom levels, rendering offscreen with widget.grab().
Targets (issue 14, at 1920x1000 on the real-trace replica, e.g.
``make_big_trace.py --src hta_v100_68k_events.pt.trace.json.gz --copies 16``):
pyramid < 1 s, first paint <= 300 ms after the data is ready, frames median
<= 16 ms and max <= 33 ms at every zoom.  On a shared machine, compare the CPU
median (this thread) and run the old checkout in the same session.
``--summary PATH`` writes the figures as JSON (``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from analyzers.trace_model import TraceModel
    from profiler_gui.timeline.data import TimelineData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402

STEPS = 100
STEP_US = 100_000.0  # 100 ms steps -> 10 s trace


def write_trace(path: Path, n_events: int, seed: int = 0) -> None:
    """Kineto-like JSON: per step a ProfilerStep, CPU ops each with a cudaLaunchKernel, one kernel each
    (microsecond kernels, median ~5 us, on 2 streams) plus a GPU utilization counter."""
    rng = np.random.default_rng(seed)
    per_step = max(1, (n_events - STEPS) // (3 * STEPS))
    out = []
    w = out.append
    w('{"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "Synthetic GPU"}], "traceEvents": [\n')
    w('{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "python"}},\n')
    w('{"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "main"}}')
    corr = 0
    gpu_free = {7: 0.0, 13: 0.0}
    gap = STEP_US / per_step
    names = [f"aten::op_{i}" for i in range(40)]
    knames = [f"void kernel_{i}<float, 128>(float*, float const*, int)" for i in range(60)]
    for s in range(STEPS):
        t0 = s * STEP_US
        w(f',\n{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{s}", "pid": 1, "tid": 1, '
          f'"ts": {t0 + 1:.3f}, "dur": {STEP_US - 2:.3f}}}')
        op_ts = t0 + 2 + np.arange(per_step) * gap
        op_dur = gap * 0.7
        kdur = np.clip(rng.lognormal(np.log(5.0), 0.6, per_step), 1.0, gap * 0.9)
        ops = rng.integers(0, len(names), per_step)
        ks = rng.integers(0, len(knames), per_step)
        lines = []
        for i in range(per_step):
            corr += 1
            ts = op_ts[i]
            stream = 7 if i % 5 else 13
            lts = ts + op_dur * 0.3
            kts = max(gpu_free[stream] + 0.5, lts + 4.0)
            gpu_free[stream] = kts + kdur[i]
            lines.append(
                f'{{"ph": "X", "cat": "cpu_op", "name": "{names[ops[i]]}", "pid": 1, "tid": 1, "ts": {ts:.3f}, '
                f'"dur": {op_dur:.3f}, "args": {{"External id": {corr}}}}},\n'
                f'{{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, '
                f'"ts": {lts:.3f}, "dur": {op_dur * 0.4:.3f}, "args": {{"correlation": {corr}, "External id": {corr}}}}},\n'
                f'{{"ph": "X", "cat": "kernel", "name": "{knames[ks[i]]}", "pid": 0, "tid": {stream}, '
                f'"ts": {kts:.3f}, "dur": {kdur[i]:.3f}, "args": {{"device": 0, "stream": {stream}, '
                f'"correlation": {corr}, "External id": {corr}, "grid": [80, 1, 1], "block": [128, 1, 1]}}}}')
        w(",\n" + ",\n".join(lines))
    util_ts = np.arange(0, STEPS * STEP_US, 1000.0)
    util = np.clip(50 + 30 * np.sin(util_ts / 3e5) + rng.normal(0, 10, len(util_ts)), 0, 100)
    w(",\n" + ",\n".join(f'{{"ph": "C", "name": "GPU utilization", "pid": 0, "tid": 0, "ts": {t:.1f}, '
                         f'"args": {{"util": {u:.1f}}}}}' for t, u in zip(util_ts, util)))
    w("\n]}\n")
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write("".join(out))


def frames(app, widget, ranges) -> tuple[float, float, float]:
    """(median wall ms, max wall ms, median CPU ms of this thread) per zoom + full offscreen grab."""
    times, cpu = [], []
    for a, b in ranges:
        t = time.perf_counter()
        c = time.thread_time()
        widget.zoom_to(a, b)
        widget.grab()
        cpu.append((time.thread_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), statistics.median(cpu)


def zoom_frames(app: Any, w: Any, data: TimelineData) -> list[tuple[str, float, float]]:
    """Print and return (zoom, median ms, max ms) of 30 frames at the whole-trace, one-step and 1 ms zooms."""
    span = data.t_max - data.t_min
    rng = np.random.default_rng(1)
    n = 30
    pad = span * 0.02
    whole = [(data.t_min - pad * (1 + 0.01 * i), data.t_max + pad) for i in range(n)]
    step = 100e6
    step_r = [(a, a + step) for a in rng.uniform(data.t_min, data.t_max - step, n)]
    ms1 = [(a, a + 1e6) for a in rng.uniform(data.t_min, data.t_max - 1e6, n)]
    out = []
    for label, ranges in (("whole trace", whole), ("one step (100 ms)", step_r), ("1 ms", ms1)):
        frames(app, w, ranges[:3])  # warm-up
        med, mx, cpu = frames(app, w, ranges)
        out.append((label, med, mx))
        print(f"frame {label:>18}: median {med:6.1f} ms  max {mx:6.1f} ms  (CPU median {cpu:5.1f} ms, "
              f"{w.rect_count():,} rects)  target median <= 16, max <= 33")
    return out


def load_model(args: argparse.Namespace) -> TraceModel:
    """The --trace trace, or the synthetic one of --events (written once into the temporary folder)."""
    from analyzers.loader import load_trace

    if args.trace:
        path = Path(args.trace)
    else:
        path = Path(tempfile.gettempdir()) / f"torchscope_bench_timeline_{args.events}.pt.trace.json.gz"
        if not path.exists():
            t = time.perf_counter()
            write_trace(path, args.events)
            print(f"wrote synthetic trace {path} in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    model = load_trace(path)
    print(f"loaded {len(model):,} slices ({model.raw_event_count:,} events, {len(model.flows):,} flows) "
          f"in {time.perf_counter() - t:.1f} s")
    return model


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--trace", type=str, default="", help="use this trace instead of the synthetic one")
    add_summary_option(ap)
    args = ap.parse_args()

    from pyqtgraph.Qt import QtWidgets

    model = load_model(args)

    from profiler_gui.timeline import build_pyramids
    from profiler_gui.timeline.widget import TimelineWidget

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    t = time.perf_counter()
    data = build_pyramids(model, screen_px=args.width)
    t_pyr = time.perf_counter() - t
    levels = sum(len(l.levels) for g in data.groups for l in g.lanes)
    print(f"pyramid build: {t_pyr * 1000:.0f} ms  ({data.n_events:,} events, "
          f"{sum(len(g.lanes) for g in data.groups)} lanes, {levels} levels)  target < 1000 ms")

    w = TimelineWidget()
    w.resize(args.width + 240, args.height)
    w.show()
    app.processEvents()
    t = time.perf_counter()
    w.set_model(model, data)
    w.grab()
    t_first = time.perf_counter() - t
    print(f"first paint: {t_first * 1000:.0f} ms  ({w.rect_count():,} rects)  target <= 300 ms")

    zooms = zoom_frames(app, w, data)
    ok = all(med <= 16 and mx <= 33 for _, med, mx in zooms) and t_pyr < 1 and t_first <= 0.3
    try:
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores (wall times include waiting for the CPU)")
    except OSError:  # no load average on this platform: the figure is informational
        pass
    print("ALL TARGETS MET" if ok else "SOME TARGETS MISSED")
    write_summary(args.summary, benchmark="bench_timeline.py", command=command_line(qt=True),
                  figure=f"{len(model):,} slices at {args.width}x{args.height}: "
                         + "; ".join(f"{label}: median {med:.1f} ms (max {mx:.1f})" for label, med, mx in zooms)
                         + f"; first paint {t_first * 1000:.0f} ms; pyramid {t_pyr * 1000:.0f} ms",
                  baseline="-", target="median <= 16 ms, max <= 33 ms at each zoom; first paint <= 300 ms; "
                                       "pyramid < 1 s", met=bool(ok))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
