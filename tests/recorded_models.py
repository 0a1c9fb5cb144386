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


def record_gpt2(path: Path, with_stack: bool = True, compile_mode: str | None = None) -> Path:
    """Record ``ACTIVE_STEPS`` inference steps of a tiny GPT-2 to ``path`` (Chrome trace JSON);
    ``compile_mode``: torch.compile(model, mode=...) first, as the collector's ``compile`` knob does."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**GPT2)).eval()
    if compile_mode is not None:
        model = torch.compile(model, mode=compile_mode)
    tokens = torch.randint(0, GPT2["vocab_size"], (BATCH, SEQ))
    with torch.no_grad():
        model(tokens)  # first call: lazy initialisation (and compilation) stays out of the trace
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


def record_compiled(path: Path, graph_break: bool) -> Path:
    """Two Linear layers compiled (backend 'eager': dynamo only, fast), 4 profiled steps; the input batch
    changes from 8 to 16 rows at step 2 (dynamic=False: every frame recompiles there).  With
    ``graph_break`` a ``torch._dynamo.graph_break()`` between the layers splits each step into two frames."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Linear(32, 64), torch.nn.Linear(64, 32)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.a(x))
            if graph_break:
                torch._dynamo.graph_break()
            return self.b(y).sum()

    torch._dynamo.reset()
    net = torch.compile(Net(), backend="eager", dynamic=False)
    batches = [torch.randn(n, 32) for n in (8, 8, 8, 16, 16)]  # the first: the profiler's warm-up step
    net(batches[0])
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 schedule=schedule(wait=0, warmup=1, active=len(batches) - 1, repeat=1),
                 on_trace_ready=lambda p: p.export_chrome_trace(str(path))) as prof:
        for x in batches:
            net(x)
            prof.step()
    torch._dynamo.reset()
    return path


def record_gpt2_training(path: Path) -> Path:
    """``ACTIVE_STEPS`` training steps (forward with labels, backward, SGD) of the tiny GPT-2, with stacks."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**GPT2))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, GPT2["vocab_size"], (BATCH, SEQ))

    def step() -> None:
        model(input_ids=tokens, labels=tokens).loss.backward()
        opt.step()
        opt.zero_grad()

    step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_stack=True, with_flops=True,
                 schedule=schedule(wait=0, warmup=1, active=ACTIVE_STEPS, repeat=1),
                 on_trace_ready=lambda p: p.export_chrome_trace(str(path))) as prof:
        for _ in range(1 + ACTIVE_STEPS):
            step()
            prof.step()
    return path
