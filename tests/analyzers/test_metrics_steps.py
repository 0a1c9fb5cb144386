"""Steps with the TensorBoard plugin's semantics: stretching, start rule, dropping, no steps."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyzers.loader import load_trace
from analyzers.steps import step_table
from tests.conftest import reference_path
from trace_builder import TraceBuilder


def test_step_stretched_to_gpu_work_and_next_starts_after(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.kernel("k1", 50, 80, launch_ts=10)  # ends at 130, after the host step
    b.step(2, 100, 100)
    b.kernel("k2", 150, 20, launch_ts=110)
    st = step_table(b.load(tmp_path))
    assert st.number.tolist() == [1, 2]
    assert st.host_start_ns.tolist() == [0, 100_000] and st.host_end_ns.tolist() == [100_000, 200_000]
    assert st.start_ns.tolist() == [0, 130_000]  # start = max(previous end, host start)
    assert st.end_ns.tolist() == [130_000, 200_000]
    assert st.dur_ns.tolist() == [130_000, 70_000]
    assert st.window_ns == (0, 200_000) and st.count == 2
    assert st.gpu_ops.tolist() == [1, 1]


def test_launch_straddling_step_end_is_not_counted(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 100)
    b.kernel("k1", 20, 10, launch_ts=10)
    b.kernel("late", 300, 50, launch_ts=99, launch_dur=5)  # launch call crosses the step end
    b.step(2, 110, 100)
    b.kernel("k2", 150, 20, launch_ts=120)
    st = step_table(b.load(tmp_path))
    assert st.end_ns.tolist()[0] == 100_000  # 'late' did not stretch step 1
    assert st.gpu_ops.tolist() == [1, 1]


def test_trailing_steps_without_gpu_work_dropped(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    for i in range(3):
        b.step(i, i * 100, 90)
        b.kernel(f"k{i}", i * 100 + 20, 10, launch_ts=i * 100 + 5)
    b.step(3, 300, 90)
    b.step(4, 400, 90)
    st = step_table(b.load(tmp_path))
    assert st.number.tolist() == [0, 1, 2] and st.dropped == 2


def test_incomplete_last_step_dropped(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    for i in range(3):
        b.step(i, i * 100, 90)
        n = 10 if i < 2 else 7  # 7 < 0.8 * 10
        for j in range(n):
            b.kernel("k", i * 100 + 20 + j * 2, 1, launch_ts=i * 100 + 5 + j)
    st = step_table(b.load(tmp_path))
    assert st.number.tolist() == [0, 1] and st.dropped == 1
    # exactly 0.8x is kept
    b2 = TraceBuilder.bare()
    for i in range(2):
        b2.step(i, i * 100, 90)
        for j in range(10 if i == 0 else 8):
            b2.kernel("k", i * 100 + 20 + j * 2, 1, launch_ts=i * 100 + 5 + j)
    assert step_table(b2.load(tmp_path, "b.json")).count == 2


def test_no_steps_is_one_step_over_the_trace(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.cpu_op("aten::mm", 10, 30)
    b.kernel("k", 20, 50, launch_ts=15)
    st = step_table(b.load(tmp_path))
    assert st.count == 1 and not st.from_profiler_steps
    assert st.start_ns.tolist() == [0] and st.end_ns.tolist() == [60_000]


def test_cpu_only_keeps_host_ranges_and_does_not_drop(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    b.step(1, 0, 50)
    b.cpu_op("aten::mm", 5, 30)
    b.step(2, 60, 10)  # short, no GPU: kept on CPU-only traces
    st = step_table(b.load(tmp_path))
    assert st.number.tolist() == [1, 2]
    assert st.start_ns.tolist() == [0, 60_000] and st.end_ns.tolist() == [50_000, 70_000]


def test_empty_trace(tmp_path: Path) -> None:
    p = tmp_path / "e.json"
    p.write_text('{"traceEvents": []}')
    st = step_table(load_trace(p))
    assert st.count == 0 and st.window_ns == (0, 0)


@pytest.mark.parametrize("name,steps_us", [
    # torch-tb-profiler 0.4.3 (the TensorBoard plugin, run on these files in a dev check): per-step totals in us
    ("tb_resnet50_num_workers_0.pt.trace.json.gz", [187948, 175153, 179733, 174564, 182172, 165983]),
    ("tb_resnet50_num_workers_4.pt.trace.json.gz", [182306, 126183, 127181, 123079, 163461, 124198]),
])
def test_reference_steps_match_tensorboard_plugin(name: str, steps_us: list[int]) -> None:
    st = step_table(load_trace(reference_path(name)))
    assert st.number.tolist() == [5, 6, 7, 8, 9, 10]
    np.testing.assert_allclose(st.dur_ns / 1e3, steps_us, rtol=0.02)
    assert st.gpu_ops.min() > 1000


# ------------------------------------------------------------ slow reference: the plugin's sequential algorithm
def _slow_steps(steps: list[tuple[int, int]], launches: list[tuple[int, int, int, int]],
                other_gpu: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """steps: host (s, e); launches: (call s, call e, gpu s, gpu e); other_gpu: unlaunched GPU ops."""
    dev = [[None, None, 0] for _ in steps]
    for cs, ce, gs, ge in launches:
        for i, (s, e) in enumerate(steps):
            if cs >= s and ce <= e:
                d = dev[i]
                d[0] = gs if d[0] is None else min(d[0], gs)
                d[1] = ge if d[1] is None else max(d[1], ge)
                d[2] += 1
                break
    if not any(d[2] for d in dev):
        return steps
    prev = steps[0][0]
    if dev[0][2]:
        unmatched = [ge for cs, ce, gs, ge in launches if not any(cs >= s and ce <= e for s, e in steps)]
        unmatched += [ge for _, ge in other_gpu]
        for ge in unmatched:
            if ge < dev[0][0]:
                prev = max(prev, ge)
    out = []
    for (s, e), d in zip(steps, dev):
        start = max(prev, s)
        end = max(e, d[1]) if d[2] else max(e, start)
        end = max(end, start)
        out.append((start, end))
        prev = end
    counts = [d[2] for d in dev]
    last = max(i for i, c in enumerate(counts) if c)
    keep = last + 1
    if len(out) > 1 and last > 0 and counts[last - 1] * 0.8 > counts[last]:
        keep = last
    return out[:keep] if len(out) > 1 else out


@pytest.mark.parametrize("seed", range(10))
def test_steps_match_slow_reference_on_random_traces(tmp_path: Path, seed: int) -> None:
    import random

    rnd = random.Random(seed)
    b = TraceBuilder.bare()
    host, launches, other = [], [], []
    pos = 0
    for i in range(rnd.randint(1, 5)):
        dur = rnd.randint(50, 200)
        b.step(i, pos, dur)
        host.append((pos * 1000, (pos + dur) * 1000))
        for _ in range(rnd.randint(0, 6)):
            ls = pos + rnd.randint(0, dur)
            ld = rnd.randint(1, 8)
            gs = ls + rnd.randint(1, 150)
            gd = rnd.randint(1, 60)
            b.kernel("k", gs, gd, launch_ts=ls, launch_dur=ld, stream=rnd.choice([7, 8, 9]))
            launches.append((ls * 1000, (ls + ld) * 1000, gs * 1000, (gs + gd) * 1000))
        pos += dur + rnd.randint(0, 30)
    if rnd.random() < 0.5:
        orphan = b.kernel("orphan", rnd.randint(0, 40), 3, stream=11, launch=False)  # may set the first step's start
        other.append((orphan["ts"] * 1000, (orphan["ts"] + 3) * 1000))
    st = step_table(b.load(tmp_path))
    ref = _slow_steps(host, launches, other)
    assert list(zip(st.start_ns.tolist(), st.end_ns.tolist())) == ref


def test_reference_new_schema_host_steps_match_tensorboard_plugin() -> None:
    # torch-tb-profiler 0.4.3 does not map the new 'cuda_runtime' category, so on new-schema traces it never
    # stretches steps: its step times there are the host ranges, which ours must reproduce exactly.
    st = step_table(load_trace(reference_path("hta_v100_68k_events.pt.trace.json.gz")))
    tb_plugin_us = [35115.75, 72077.5, 95697.25, 95551.0, 95699.0]
    np.testing.assert_allclose((st.host_end_ns - st.host_start_ns) / 1e3, tb_plugin_us, atol=1.0)
    assert (st.dur_ns >= 0).all() and st.end_ns[-1] >= st.host_end_ns[-1]
