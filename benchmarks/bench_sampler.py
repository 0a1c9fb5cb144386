"""Sampler overhead: median step time with and without the sampler thread, in one run.

The sampler normally runs in the parent process; here it runs in the same
process as the steps (the worst case: it competes for the GIL too), sampling
host CPU/RSS and NVML (when there is a GPU) at the production rates.  Steps
are timed in alternating blocks (off, on, off, on, ...) so machine drift hits
both sides.  Usage: python benchmarks/bench_sampler.py [--blocks 10] [--block-s 1.5] [--threads N]
``--summary PATH`` writes the medians as JSON (``benchmarks/summary.py``): the
figure is the step with the sampler, the baseline the step without it (same
run); the script sets no target.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks.summary import add_summary_option, command_line, write_summary  # noqa: E402
from collectors.sampler import SamplerThread  # noqa: E402


def make_step() -> "callable":
    """A small training step of a few milliseconds on CPU (or a GPU when present)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 512, device=device)
    y = torch.randint(0, 10, (64,), device=device)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
    return step


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=10, help="blocks per side (alternating)")
    p.add_argument("--block-s", type=float, default=1.5,
                   help="seconds per block (many sampling periods, so the sampler really runs)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    add_summary_option(p)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    step = make_step()
    for _ in range(20):
        step()
    times: dict[bool, list[float]] = {False: [], True: []}
    samples = 0
    nvml_status = "?"
    for block in range(2 * args.blocks):
        on = block % 2 == 1
        sampler = SamplerThread(pid=os.getpid()).start() if on else None
        end = time.perf_counter() + args.block_s
        while time.perf_counter() < end:
            t0 = time.perf_counter_ns()
            step()
            times[on].append((time.perf_counter_ns() - t0) / 1e6)
        if sampler is not None:
            samples += len(sampler.stop())
            nvml_status = sampler.nvml_status
    off_ms = statistics.median(times[False])
    on_ms = statistics.median(times[True])
    # direct cost of one sampling round (host + NVML), for the record
    probe = SamplerThread(pid=os.getpid())
    probe.nvml.open()
    t0 = time.perf_counter_ns()
    for _ in range(50):
        probe.nvml.sample(time.time_ns(), pcie=False)
        probe.host.sample(time.time_ns())
    round_us = (time.perf_counter_ns() - t0) / 50 / 1e3
    probe.nvml.close()
    print(f"nvml: {nvml_status}; {samples} sample rows while on; one sampling round: {round_us:.0f} us "
          f"= {round_us / (probe.interval_s * 1e6) * 100:.2f} % of one core at {1 / probe.interval_s:g} Hz")
    print(f"median step without sampler: {off_ms:.3f} ms ({len(times[False])} steps)")
    print(f"median step with sampler:    {on_ms:.3f} ms ({len(times[True])} steps)")
    print(f"torch threads: {torch.get_num_threads()}, cpu count: {os.cpu_count()}")
    print(f"ratio with/without: {on_ms / off_ms:.4f}  (overhead {100 * (on_ms / off_ms - 1):+.2f} %)")
    write_summary(args.summary, benchmark="bench_sampler.py", command=command_line(),
                  figure=f"median step with the sampler {on_ms:.3f} ms ({100 * (on_ms / off_ms - 1):+.2f} %); one "
                         f"sampling round {round_us:.0f} us; nvml: {nvml_status}",
                  baseline=f"median step without the sampler, alternating blocks: {off_ms:.3f} ms",
                  target="-", met=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
