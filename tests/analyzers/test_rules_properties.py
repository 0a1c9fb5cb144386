"""Property test: on random small traces, every rule runs cleanly and every finding keeps its promises."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.rules import RULES

from test_rules_synthetic import strict_findings
from trace_builder import TraceBuilder

DEVICES = [("NVIDIA A100-SXM4-40GB", 8), ("Tesla V100-SXM2-32GB", 7), ("AMD Instinct MI250X", 9), (None, 0)]
KERNELS = ["sm80_sgemm_128x64_nn", "volta_h884gemm_128x64_nn", "elementwise_kernel",
           "ncclKernel_AllReduce_RING_LL_Sum_float", "sm80_xmma_fprop_implicit_gemm"]
OPS = ["aten::mm", "aten::conv2d", "aten::add", "aten::linear", "aten::item"]
DTYPES = ["float", "c10::Half", "c10::BFloat16", None]

event = st.tuples(
    st.sampled_from(["kernel", "dataloader", "copy", "sync", "cpu", "opt"]),
    st.floats(0, 900), st.floats(1, 400), st.integers(0, 4), st.integers(0, 4), st.integers(0, 3),
    st.floats(0.1, 3.0))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(device=st.sampled_from(DEVICES), n_steps=st.integers(1, 4), events=st.lists(event, min_size=1, max_size=25))
def test_random_traces_keep_promises(device, n_steps, events):
    name, major = device
    b = TraceBuilder(gpu=name is not None, device_name=name or "", compute_major=major)
    step = 1000.0
    for t in b.steps(n_steps, step):
        for kind, off, dur, ki, oi, di, bps in events:
            dur = min(dur, step - off - 1)
            if dur <= 0:
                continue
            dtype = DTYPES[di]
            args = {"Input type": [dtype, dtype], "Input Dims": [[30, 60], [60, 90]]} if dtype else None
            if kind == "dataloader":
                b.dataloader(t + off, dur)
            elif kind == "cpu" or name is None:
                b.cpu_op(OPS[oi], t + off, dur, args=args)
            elif kind == "kernel":
                b.op_with_kernel(OPS[oi], KERNELS[ki], t + off, max(dur / 10, 2), dur, args=args,
                                 blocks_per_sm=bps)
            elif kind == "copy":
                b.memcpy(["Memcpy HtoD (Pageable -> Device)", "Memcpy DtoD (Device -> Device)"][ki % 2], t + off + 6,
                         dur, launch_ts=t + off)
            elif kind == "sync":
                b.sync(t + off, dur)
            elif kind == "opt":
                b.annotation("Optimizer.step#SGD.step", t + off, dur)
    with tempfile.TemporaryDirectory() as tmp:
        model = b.load(Path(tmp))
        found = strict_findings(model)
    ids = {f.rule for f in found}
    if name is None:
        assert not ids & {r for r, s in RULES.items() if s.gpu}
    if model.vendor != "nvidia":
        assert not any(f.vendor_specific for f in found)
