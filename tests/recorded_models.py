"""Small real models recorded with torch.profiler for the user-code tests (module tree, flame graph, FLOPs).

``record_gpt2``: a transformers GPT-2 built from a config (random weights, never downloaded), inference,
profiled with ``with_stack=True`` and ``with_flops=True`` like the collector does.  A few seconds on a CPU.
"""
from __future__ import annotations

from pathlib import Path

#: the GPT-2 the tests record: the expected FLOPs are computed from these numbers
GPT2 = {"n_layer": 2, "n_embd": 64, "n_head": 2, "vocab_size": 512, "n_positions": 64}
BATCH, SEQ = 2, 32
ACTIVE_STEPS = 3


def record_gpt2(path: Path, with_stack: bool = True) -> Path:
    """Record ``ACTIVE_STEPS`` inference steps of a tiny GPT-2 to ``path`` (Chrome trace JSON)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**GPT2)).eval()
    tokens = torch.randint(0, GPT2["vocab_size"], (BATCH, SEQ))
    with torch.no_grad():
        model(tokens)  # first call: lazy initialisation stays out of the trace
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_stack=with_stack,
                     with_flops=True, schedule=schedule(wait=0, warmup=1, active=ACTIVE_STEPS, repeat=1),
                     on_trace_ready=lambda p: p.export_chrome_trace(str(path))) as prof:
            for _ in range(1 + ACTIVE_STEPS):
                model(tokens)
                prof.step()
    assert path.is_file()
    return path


def expected_gpt2_gflop_per_step() -> float:
    """Matmul FLOPs of one forward, by hand: per layer the four projections (24*T*d^2) and attention
    (Q@K^T and P@V: 4*B*L^2*d), plus the LM head (2*T*d*V); T = B*L tokens."""
    d, layers, vocab = GPT2["n_embd"], GPT2["n_layer"], GPT2["vocab_size"]
    tokens = BATCH * SEQ
    per_layer = 24 * tokens * d * d + 4 * BATCH * SEQ * SEQ * d
    return (layers * per_layer + 2 * tokens * d * vocab) / 1e9
