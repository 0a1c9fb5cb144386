"""Event-loop latency of the GUI while a ~1M-event trace loads and is analyzed in the worker.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_latency.py [--events 1000000] [--trace PATH]

A QTimer fires every 10 ms on the GUI thread; the latency of a tick is how
late it fires (gap - 10 ms).  Prints median and max latency (target: max < 100 ms)
and the load + analysis wall time.  With --window the whole MainWindow is used
(views are filled on the GUI thread when the result arrives: that part is
reported separately).  ``--summary PATH`` writes the figures as JSON
(``benchmarks/summary.py``).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402
from benchmarks.tree_memory import TreeMemorySampler  # noqa: E402

TICK_MS = 10


def synth_trace(path: str, n_events: int) -> None:
    """A Kineto-like trace: steps, nested CPU ops, launches + kernels with flows (about n_events events)."""
    rng = np.random.default_rng(0)
    per_step = 5000  # events per step (cpu ops + runtime + kernels)
    steps = max(1, n_events // per_step)
    out = ['{"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "Synthetic GPU", "numSms": 108}],\n'
           '"traceEvents": [\n']
    t = 1000.0
    corr = 0
    first = True
    for s in range(steps):
        step_start = t
        chunk = []
        for _ in range(per_step // 4):
            d = float(rng.uniform(5, 40))
            chunk.append(f'{{"ph":"X","cat":"cpu_op","name":"aten::op{int(rng.integers(0, 200))}","pid":1,"tid":1,'
                         f'"ts":{t:.3f},"dur":{d + 4:.3f},"args":{{"External id":{corr},"Input Dims":[[32,64]]}}}}')
            chunk.append(f'{{"ph":"X","cat":"cuda_runtime","name":"cudaLaunchKernel","pid":1,"tid":1,'
                         f'"ts":{t + 1:.3f},"dur":2.0,"args":{{"correlation":{corr}}}}}')
            chunk.append(f'{{"ph":"X","cat":"kernel","name":"kernel_{int(rng.integers(0, 300))}","pid":0,"tid":7,'
                         f'"ts":{t + 5:.3f},"dur":{d:.3f},"args":{{"device":0,"stream":7,"correlation":{corr},'
                         f'"blocks per SM":1.5,"est. achieved occupancy %":50}}}}')
            chunk.append(f'{{"ph":"X","cat":"cpu_op","name":"aten::small","pid":1,"tid":1,'
                         f'"ts":{t + 0.5:.3f},"dur":0.3,"args":{{}}}}')
            corr += 1
            t += d + 6
        step = (f'{{"ph":"X","cat":"user_annotation","name":"ProfilerStep#{s}","pid":1,"tid":1,'
                f'"ts":{step_start - 0.5:.3f},"dur":{t - step_start + 1:.3f}}}')
        out.append(("" if first else ",\n") + step + ",\n" + ",\n".join(chunk))
        first = False
        t += 10
    out.append("\n]}\n")
    with open(path, "w") as fh:
        fh.writelines(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--trace", help="an existing trace instead of a synthetic one")
    ap.add_argument("--window", action="store_true", help="load through MainWindow (fills every view)")
    add_summary_option(ap)
    args = ap.parse_args()
    path = args.trace
    if not path:
        path = os.path.join(tempfile.gettempdir(), f"torchscope_bench_{args.events}.json")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            synth_trace(path, args.events)
            print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")

    from PySide6.QtCore import QSettings, QTimer
    from profiler_gui.app import make_app
    from profiler_gui.workers import load_task

    app = make_app()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    result: dict[str, object] = {}
    memory = TreeMemorySampler()  # the app and its loader processes together
    memory.start()
    t0 = time.perf_counter()

    if args.window:
        from profiler_gui.main_window import MainWindow
        from profiler_gui.settings import Settings

        win = MainWindow(Settings(QSettings(os.path.join(tempfile.gettempdir(), "ts_bench.ini"), QSettings.IniFormat)))
        win.show()
        setter = "set_opened" if hasattr(win, "set_opened") else "set_analysis"  # older checkouts (--repo)
        original = getattr(win, setter)

        def timed_set(a, remember=False):
            result.update(analysis=a, t_done=time.perf_counter())
            original(a, remember)

        setattr(win, setter, timed_set)
        win.open_path(path)
        win.taskFinished.connect(lambda r: (result.update(status=r, t_shown=time.perf_counter()), app.quit()))
    else:
        task = load_task(path)
        task.done.connect(lambda a: (result.update(analysis=a, status="done", t_done=time.perf_counter()), app.quit()))
        task.failed.connect(lambda m: (result.update(status="failed: " + m), app.quit()))
        task.start()
    timer.start()
    app.exec()
    timer.stop()
    result["peak_bytes"] = memory.stop()
    report(args, path, result, ticks, t0, time.perf_counter())
    return 0


def report(args: argparse.Namespace, path: str, result: dict, ticks: list[float], t0: float, t_end: float) -> None:
    """Print the latency while loading and the load time; write the --summary cells."""
    gaps = np.diff(np.array(ticks)) * 1000.0
    lat = np.maximum(gaps - TICK_MS, 0.0)
    a = result.get("analysis")
    model = None if a is None else a.model if hasattr(a, "model") else a.session.rank(a.rank).model  # or Opened
    n = len(model) if model is not None else 0
    print(f"trace: {path}")
    print(f"status: {result.get('status')}, slices: {n:,}, raw events: {getattr(model, 'raw_event_count', 0):,}")
    load_s = result.get("t_done", t_end) - t0
    print(f"load + analysis in the worker: {load_s:.2f} s")
    if "t_shown" in result:
        print(f"filling the views on the GUI thread: {result['t_shown'] - result['t_done']:.2f} s; "
              f"overview shown after {result['t_shown'] - t0:.2f} s")
    peak_gib = float(result.get("peak_bytes", 0)) / 2**30
    print(f"peak memory of the app and its loader processes together (PSS): {peak_gib:.2f} GiB")
    # latency while the worker ran (the GUI thread filling views afterwards is a single blocking step)
    t_done = result.get("t_done", t_end)
    during = lat[np.array(ticks[1:]) <= t_done] if len(ticks) > 1 else lat
    if not len(during):  # the load ended before the first tick: no latency was observed
        during = np.zeros(1)
    med, p99, mx = np.median(during), np.percentile(during, 99), during.max()
    print(f"event-loop latency while loading ({len(during)} ticks of {TICK_MS} ms): "
          f"median {med:.1f} ms, p99 {p99:.1f} ms, max {mx:.1f} ms (target max < 100 ms)")
    done = a is not None  # the analysis arrived (a failed or empty load meets no target)
    write_summary(args.summary, benchmark="bench_gui_latency.py", command=command_line(qt=True),
                  figure=f"{n:,} slices: max latency {mx:.1f} ms (p99 {p99:.1f} ms, median {med:.1f} ms), "
                         f"load + analysis {load_s:.1f} s"
                         + (f", overview shown after {result['t_shown'] - t0:.1f} s" if "t_shown" in result else "")
                         + f", all processes {peak_gib:.2f} GiB" + ("" if done else f" ({result.get('status')})"),
                  baseline="-", target="max latency < 100 ms", met=bool(done and mx < 100))


if __name__ == "__main__":
    raise SystemExit(main())
