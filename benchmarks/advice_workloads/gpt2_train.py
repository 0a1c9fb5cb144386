"""GPT-2 training built from a config (random weights; nothing downloaded): 4 layers, d=256, seq 128, batch 8."""
from __future__ import annotations

import torch

from collectors.workload_api import RunConfig, Workload


def build(config: RunConfig) -> Workload:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=4, n_embd=256, n_head=4, n_positions=128, vocab_size=8192)
    model = GPT2LMHeadModel(cfg)
    batch = config.batch_size(8)
    ids = torch.randint(0, cfg.vocab_size, (batch, 128))

    def forward_loss(m: torch.nn.Module, b: tuple) -> torch.Tensor:
        x, _ = b
        return m(input_ids=x, labels=x).loss

    return Workload(model=model, loader=[(ids, ids)] * 4, optimizer=lambda p: torch.optim.AdamW(p, lr=1e-4),
                    forward_loss=forward_loss, description="transformers GPT-2 (4 layers, d=256), AdamW")
